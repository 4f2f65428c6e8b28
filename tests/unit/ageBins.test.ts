// The Memory view's age histogram: bins of equal width, and no call-stack overflow however many
// slots are filled (a spread of 125,000+ ages into Math.max blanked the whole app).
import { describe, expect, it } from 'vitest';
import { ageBins } from '../../src/app/ageBins';

describe('ageBins', () => {
  it('counts filled slots by age, in at most 12 bins', () => {
    expect(ageBins(Int32Array.from([0, -1, 1]), Float32Array.from([0, 9, 2]))).toEqual([
      { age: '0', slots: 1 },
      { age: '1', slots: 0 },
      { age: '2', slots: 1 },
    ]);
    expect(ageBins(Int32Array.from([-1]), Float32Array.from([0]))).toEqual([]);
  });

  it('takes 500,000 filled slots (the largest memory Settings allow)', () => {
    const n = 500_000;
    const bins = ageBins(new Int32Array(n), Float32Array.from({ length: n }, (_, i) => i));
    expect(bins.length).toBe(12);
    expect(bins.reduce((s, b) => s + b.slots, 0)).toBe(n);
  });
});
