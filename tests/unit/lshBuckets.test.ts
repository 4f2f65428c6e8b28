/** LshBuckets (one LSH table's bucket store): under random churn it holds exactly what a plain Map of Sets would. */
import { describe, expect, it, vi } from 'vitest';
import { LshBuckets } from '../../src/memory/lshBuckets';
import { mulberry32 } from '../../src/memory/random';

function contents(b: LshBuckets): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const code of b.codesInUse()) out.set(code, b.slotsOf(code).sort((x, y) => x - y));
  return out;
}

function modelContents(model: Map<number, number>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const [slot, code] of model) out.set(code, [...(out.get(code) ?? []), slot]);
  for (const list of out.values()) list.sort((x, y) => x - y);
  return out;
}

describe('LshBuckets', () => {
  it.each([
    [11, 'dense directory'],
    [24, 'Map directory'],
  ])('%i-bit codes (%s): matches a plain model through inserts, removals, bucket growth, compaction and id reuse', (bits) => {
    const n = 3000;
    const rand = mulberry32(5);
    const b = new LshBuckets(n, bits);
    const spread = (c: number) => (c * 4099) % 2 ** bits; // codes spread over the whole range
    const model = new Map<number, number>(); // slot -> code
    for (let step = 0; step < 60000; step++) {
      const slot = Math.floor(rand() * n);
      // phases: few codes (big buckets that grow), then many (small buckets, emptied and reused)
      const codes = [7, 900, 40, 3, 2000, 11][Math.floor(step / 10000)];
      if (rand() < 0.3) {
        b.remove(slot);
        model.delete(slot);
      } else {
        const code = spread(Math.floor(rand() * codes));
        b.remove(slot);
        b.insert(slot, code);
        model.set(slot, code);
      }
      if (step % 5000 === 4999) {
        const want = modelContents(model);
        expect(contents(b)).toEqual(want);
        for (let s = 0; s < n; s++) expect(b.codes[s]).toBe(model.get(s) ?? -1);
        // every code the test ever used: in the directory exactly when it holds slots, and those slots
        for (let c = 0; c < 2000; c++) {
          const code = spread(c);
          expect(b.idOf(code) >= 0).toBe(want.has(code));
          expect(b.slotsOf(code).sort((x, y) => x - y)).toEqual(want.get(code) ?? []);
        }
      }
    }
    // the runs left behind by moved buckets are reclaimed: storage stays a small multiple of n
    expect(b.slots.length).toBeLessThanOrEqual(8 * n);
    // no empty bucket stays in the directory; every run lies inside the slot array
    for (const code of b.codesInUse()) {
      const id = b.idOf(code);
      expect(b.size[id]).toBeGreaterThan(0);
      expect(b.start[id] + b.size[id]).toBeLessThanOrEqual(b.slots.length);
      expect(b.slotsOf(code).length).toBe(b.size[id]);
    }
  });

  it('after a mass removal, writes stay cheap: compactions are rare and the storage shrinks', () => {
    const n = 20000;
    const b = new LshBuckets(n, 24);
    for (let s = 0; s < n; s++) b.insert(s, s * 17); // one slot per bucket: 20k bucket ids
    for (let s = 2; s < n; s++) b.remove(s);
    const compact = vi.spyOn(LshBuckets.prototype as unknown as { compact: () => void }, 'compact');
    const rand = mulberry32(9);
    for (let i = 0; i < 10000; i++) {
      const slot = 2 + Math.floor(rand() * 100);
      b.remove(slot);
      b.insert(slot, Math.floor(rand() * 2 ** 24));
    }
    // each compaction renumbers the live buckets and sizes the array from them (~100 live slots)
    expect(compact.mock.calls.length).toBeLessThan(1000);
    expect(b.slots.length).toBeLessThan(4000);
    expect(b.idCount).toBeLessThan(500); // not the 20k ids of before the removal: a compaction scans only these
    compact.mockRestore();
  });

  it('rejects a bucket code outside [0, 2^bits) and leaves the table unchanged', () => {
    const b = new LshBuckets(10, 8);
    b.insert(1, 255);
    for (const bad of [256, -1, 1.5, NaN]) expect(() => b.insert(2, bad)).toThrow(/bucket code in \[0, 256\)/);
    expect(b.codes[2]).toBe(-1);
    expect(contents(b)).toEqual(new Map([[255, [1]]]));
  });

  it('removing a slot that is in no bucket changes nothing', () => {
    const b = new LshBuckets(10, 8);
    b.insert(3, 42);
    b.remove(7);
    expect(contents(b)).toEqual(new Map([[42, [3]]]));
    b.remove(3);
    expect(b.codesInUse()).toEqual([]);
    expect(b.idOf(42)).toBe(-1);
    expect(b.codes[3]).toBe(-1);
  });
});
