// Picking a slot with a finger (src/app/slotPick.ts): the nearest filled slot within reach, else none.
import { describe, expect, it } from 'vitest';
import { nearestFilledSlot } from '../../src/app/slotPick';

// a 4x4 grid of 10 px slots; slots 5 and 10 filled
const values = Int32Array.from({ length: 16 }, (_, i) => (i === 5 || i === 10 ? 1 : -1));
const centre = (i: number) => ({ x: (i % 4) * 10 + 5, y: Math.floor(i / 4) * 10 + 5 });

describe('nearestFilledSlot', () => {
  it('picks the nearest filled slot within the radius', () => {
    expect(nearestFilledSlot(values, centre, 1, 1, 22)).toBe(5); // on empty slot 0: slot 5 is 14 px away
    expect(nearestFilledSlot(values, centre, 34, 34, 22)).toBe(10); // on empty slot 15
    expect(nearestFilledSlot(values, centre, 16, 14, 22)).toBe(5); // between 5 and 10: 5 is nearer
  });
  it('none beyond the radius, none when nothing is filled, slots not shown are skipped', () => {
    expect(nearestFilledSlot(values, centre, 1, 1, 10)).toBeNull();
    expect(nearestFilledSlot(new Int32Array(16).fill(-1), centre, 15, 15, 22)).toBeNull();
    expect(nearestFilledSlot(values, (i) => (i === 5 ? null : centre(i)), 15, 15, 22)).toBe(10);
  });
});
