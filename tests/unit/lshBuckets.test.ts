/** LshBuckets (one LSH table's bucket store): under random churn it holds exactly what a plain Map of Sets would. */
import { describe, expect, it } from 'vitest';
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
        expect(contents(b)).toEqual(modelContents(model));
        for (let s = 0; s < n; s++) expect(b.codes[s]).toBe(model.get(s) ?? -1);
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
