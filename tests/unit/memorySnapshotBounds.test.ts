// Snapshot restore from plain arrays (after JSON) must not wrap values into Int32 silently, and an
// evicted label leaves no entry behind.
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyValueMemory } from '../../src/memory';
import { e, useBackend } from './memorySetup';

beforeAll(() => useBackend('wasm'));

const D = 4;
function plainSnapshot(values: number[], ages: number[]) {
  const m = KeyValueMemory.create({ memorySize: 2, keySize: D, k: 2, ageNoise: 0 });
  const s = m.snapshot();
  m.dispose();
  return { ...s, keys: [...e(0, D), ...e(1, D)], values, ages, labelNames: {} };
}

describe('snapshot bounds', () => {
  it.each([
    ['a label id of 2^32 + 1 (wraps to 1 in an Int32Array)', [2 ** 32 + 1, 0], [0, 1], /values/],
    ['a label id of 2^31', [2 ** 31, 0], [0, 1], /values/],
    ['an age of 2^32', [0, 1], [2 ** 32, 0], /ages/],
  ])('refuses %s', (_n, values, ages, msg) => {
    const m = KeyValueMemory.create({ memorySize: 2, keySize: D, k: 2, ageNoise: 0 });
    try {
      expect(() => m.restore(plainSnapshot(values, ages))).toThrow(msg);
      expect(m.filledCount).toBe(0);
    } finally {
      m.dispose();
    }
  });

  it('accepts the largest Int32 label id from plain arrays unchanged', () => {
    const m = KeyValueMemory.create({ memorySize: 2, keySize: D, k: 2, ageNoise: 0 });
    try {
      m.restore(plainSnapshot([2 ** 31 - 1, 0], [0, 1]));
      expect(Array.from(m.values)).toEqual([2 ** 31 - 1, 0]);
    } finally {
      m.dispose();
    }
  });

  it('an evicted label leaves no slot list behind (slotsOf is empty, memory does not grow per label)', () => {
    const m = KeyValueMemory.create({ memorySize: 1, keySize: D, k: 1, ageNoise: 0 });
    try {
      for (let label = 0; label < 50; label++) m.write([e(label % D, D)], [label]);
      expect(m.slotsOf(48)).toEqual([]);
      expect(m.slotsOf(49)).toEqual([0]);
      // the private map holds one entry (the live label), not 50
      expect((m as unknown as { labelSlots: Map<number, Set<number>> }).labelSlots.size).toBe(1);
    } finally {
      m.dispose();
    }
  });
});
