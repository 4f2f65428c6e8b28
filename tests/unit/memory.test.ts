/** Each rule of the paper's memory (section 2) on a small exact case, plus API behaviour. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyValueMemory, referenceInverseTemperature, softmaxOf } from '../../src/memory';
import { e, noLeak, unit, useBackend } from './memorySetup';

beforeAll(async () => {
  await useBackend('wasm');
});

const D = 4;
function mem(extra: Partial<Parameters<typeof KeyValueMemory.create>[0]> = {}) {
  return KeyValueMemory.create({ memorySize: 4, keySize: D, k: 4, ageNoise: 0, ...extra });
}

describe('empty slots', () => {
  it('a new memory is empty and a query returns no neighbour', () => {
    const m = mem();
    expect(m.filledCount).toBe(0);
    expect(Array.from(m.values)).toEqual([-1, -1, -1, -1]);
    const r = m.query([e(0, D)]);
    expect(r.indices).toEqual([[]]);
    expect(r.prediction).toEqual([-1]);
    m.dispose();
  });

  it('writes fill the lowest-index empty slot first, and empty slots are never neighbours (k capped)', () => {
    const m = mem({ k: 256 });
    expect(m.write([e(0, D)], [1])[0]).toMatchObject({ case: 'new', slot: 0, previous: { empty: true, value: -1, age: 0 } });
    expect(m.write([e(1, D)], [2])[0]).toMatchObject({ case: 'new', slot: 1 });
    const r = m.query([e(2, D)]); // orthogonal to both: empty zero keys would tie at 0, but they are masked
    expect(r.indices[0].sort()).toEqual([0, 1]);
    expect(r.values[0].every((v) => v >= 0)).toBe(true);
    // free slot 0 -> next new write goes to 0 (lowest empty), not 2
    m.deleteLabel(1);
    expect(m.write([e(3, D)], [3])[0].slot).toBe(0);
    expect(m.write([e(2, D)], [4])[0].slot).toBe(2);
    m.dispose();
  });
});

describe('query', () => {
  it('returns top-k by cosine similarity, V[n1], and softmax(t * s)', () => {
    const m = mem({ k: 3, inverseTemperature: 10 });
    m.write([e(0, D)], [5]);
    m.write([unit([1, 1, 0, 0])], [6]);
    m.write([e(1, D)], [7]);
    m.write([e(3, D)], [8]);
    const q = unit([1, 0.2, 0, 0]);
    const r = m.query([q]);
    const sims = [q[0], (q[0] + q[1]) / Math.SQRT2, q[1]];
    expect(r.indices[0]).toEqual([0, 1, 2]);
    r.similarities[0].forEach((s, i) => expect(s).toBeCloseTo(sims[i], 6));
    expect(r.values[0]).toEqual([5, 6, 7]);
    expect(r.prediction).toEqual([5]);
    const ex = sims.map((s) => Math.exp(10 * s));
    const z = ex.reduce((a, b) => a + b);
    r.softmax[0].forEach((p, i) => expect(p).toBeCloseTo(ex[i] / z, 6));
    m.dispose();
  });

  it('normalises keys that are not unit length', () => {
    const m = mem();
    m.write([[3, 0, 0, 0]], [1]);
    expect(Array.from(m.getKey(0))).toEqual([1, 0, 0, 0]);
    expect(m.query([[0, 0.5, 0, 0.5]]).similarities[0][0]).toBeCloseTo(0, 6);
    m.dispose();
  });

  it('the reference inverse temperature for k=256, alpha=0.1 is ~39.4 (paper: 40)', () => {
    expect(referenceInverseTemperature(256, 0.1)).toBeCloseTo(Math.log(51.2) / 0.1, 9);
    expect(referenceInverseTemperature(1, 0.1)).toBe(1);
    expect(softmaxOf([0, 0], 40)).toEqual([0.5, 0.5]);
  });
});

describe('write: the update rule', () => {
  it('case 1 (V[n1] == v): K[n1] = normalize(q + K[n1]), A[n1] = 0, others age +1', () => {
    const m = mem();
    m.write([e(0, D)], [1]);
    m.write([e(1, D)], [2]);
    expect(Array.from(m.ages)).toEqual([1, 0, 0, 0]);
    const q = unit([2, 1, 0, 0]); // n1 = slot 0 (label 1)
    const [w] = m.write([q], [1]);
    expect(w).toMatchObject({ case: 'update', slot: 0, nearest: 0, previous: { empty: false, value: 1, age: 1 } });
    const sum = [q[0] + 1, q[1], 0, 0];
    const expected = unit(sum);
    Array.from(m.getKey(0)).forEach((x, i) => expect(x).toBeCloseTo(expected[i], 6));
    expect(Array.from(m.ages)).toEqual([0, 1, 0, 0]);
    expect(Array.from(m.values)).toEqual([1, 2, -1, -1]);
    m.dispose();
  });

  it('case 2 (V[n1] != v) on a full memory writes to the oldest slot n\' and ages the others', () => {
    const m = mem();
    for (let i = 0; i < 4; i++) m.write([e(i, D)], [i]);
    expect(Array.from(m.ages)).toEqual([3, 2, 1, 0]);
    const [w] = m.write([unit([0, 0, 1, 1])], [9]); // n1 = slot 2 (label 2 != 9) -> oldest slot 0
    expect(w).toMatchObject({ case: 'new', slot: 0, nearest: 2, previous: { empty: false, value: 0, age: 3 } });
    expect(Array.from(m.values)).toEqual([9, 1, 2, 3]);
    expect(Array.from(m.ages)).toEqual([0, 3, 2, 1]);
    const [w2] = m.write([e(2, D)], [8]);
    expect(w2.slot).toBe(1);
    expect(m.slotsOf(0)).toEqual([]);
    m.dispose();
  });

  it('ties between oldest slots go to the lowest index', () => {
    const m = mem();
    const snap = m.snapshot();
    const keys = new Float32Array(4 * D);
    for (let i = 0; i < 4; i++) keys[i * D + i] = 1;
    m.restore({ ...snap, keys, values: new Int32Array([0, 1, 2, 3]), ages: new Int32Array([1, 5, 5, 2]), writeCount: 5 });
    expect(m.write([unit([1, 1, 1, 1])], [7])[0].slot).toBe(1);
    m.dispose();
  });

  it('age noise r ~ U[0, ageNoise) can pick a slot that is not the oldest, reproducibly per seed', () => {
    const picks = (seed: number) => {
      const m = mem({ memorySize: 16, ageNoise: 8, seed });
      const out: number[] = [];
      for (let i = 0; i < 40; i++) out.push(m.write([unit([1, i % 3, (i * 7) % 5, 1])], [i])[0].slot);
      m.dispose();
      return out;
    };
    const a = picks(1);
    expect(picks(1)).toEqual(a);
    expect(picks(2)).not.toEqual(a);
    // without noise the slots would be written round-robin 0..15, 0..15, ...
    const roundRobin = Array.from({ length: 40 }, (_, i) => i % 16);
    expect(a.slice(0, 16)).toEqual(roundRobin.slice(0, 16)); // filling empty slots: no noise
    expect(a.slice(16)).not.toEqual(roundRobin.slice(16));
  });

  it('slotForNewKey names the slot the next case-2 write takes (empty ones first, then the noisy oldest) and changes nothing', () => {
    const m = mem({ memorySize: 16, ageNoise: 8, seed: 5 });
    for (let i = 0; i < 40; i++) {
      const before = { values: Array.from(m.values), ages: Array.from(m.ages), version: m.version };
      const peek = m.slotForNewKey();
      expect({ values: Array.from(m.values), ages: Array.from(m.ages), version: m.version }).toEqual(before);
      const [w] = m.write([unit([1, i % 3, (i * 7) % 5, 1])], [i]); // a new label: always case 2
      expect(w.case).toBe('new');
      expect(w.slot, `write ${i}`).toBe(peek);
    }
    m.dispose();
  });

  it('a batch is written as if one write at a time in batch order', () => {
    const m = mem();
    const q = [e(0, D), unit([1, 0.1, 0, 0]), e(1, D)];
    const r = m.write(q, [1, 1, 2]);
    // write 2 sees write 1 (same label, nearest) -> update of slot 0
    expect(r.map((w) => [w.case, w.slot])).toEqual([['new', 0], ['update', 0], ['new', 1]]);
    const seq = mem();
    q.forEach((row, i) => seq.write([row], [[1, 1, 2][i]]));
    expect(Array.from(m.getKey(0))).toEqual(Array.from(seq.getKey(0)));
    expect(Array.from(m.ages)).toEqual(Array.from(seq.ages));
    m.dispose();
    seq.dispose();
  });

  it('write with a queryResult gives the same result as without; a stale queryResult is refused', () => {
    const a = mem({ memorySize: 8 });
    const b = mem({ memorySize: 8 });
    const rows = [e(0, D), e(1, D), unit([1, 1, 0, 0]), e(2, D), unit([0, 1, 1, 0]), e(3, D)];
    const labels = [0, 1, 0, 2, 1, 3];
    for (let i = 0; i < rows.length; i += 2) {
      const batch = rows.slice(i, i + 2);
      const qr = b.query(batch);
      expect(b.write(batch, labels.slice(i, i + 2), { queryResult: qr })).toEqual(a.write(batch, labels.slice(i, i + 2)));
    }
    const stale = b.query([e(0, D)]);
    b.write([e(0, D)], [5]);
    expect(() => b.write([e(0, D)], [5], { queryResult: stale })).toThrow(/version/);
    a.dispose();
    b.dispose();
  });
});

describe('loss', () => {
  it('np and nb inside the top-k: [q.K[nb] - q.K[np] + alpha]_+', () => {
    const m = mem({ alpha: 0.1 });
    m.write([e(0, D)], [1]);
    m.write([e(1, D)], [2]);
    const q = unit([1, 0.9, 0, 0]);
    const r = m.loss([q], [2]); // nearest is slot 0 (label 1) = nb; np = slot 1
    expect(r.np).toEqual([1]);
    expect(r.nb).toEqual([0]);
    expect(r.loss[0]).toBeCloseTo(q[0] - q[1] + 0.1, 6);
    const r2 = m.loss([q], [1]); // np = slot 0 is first: q0 > q1 + 0.1 -> 0
    expect(r2.np).toEqual([0]);
    expect(r2.loss[0]).toBeCloseTo(Math.max(0, q[1] - q[0] + 0.1), 6);
    m.dispose();
  });

  it('np outside the top-k is the most similar slot with value v anywhere in memory', () => {
    const m = mem({ k: 1 });
    m.write([e(0, D)], [1]);
    m.write([e(1, D)], [2]);
    m.write([unit([0.2, 0.1, 1, 0])], [2]);
    const q = unit([1, 0.5, 0.1, 0]);
    const r = m.loss([q], [2]);
    expect(r.nb).toEqual([0]); // the only top-1 neighbour
    expect(r.np).toEqual([1]); // sim 0.5 > slot 2's
    expect(r.loss[0]).toBeCloseTo(Math.max(0, q[0] - q[1] + 0.1), 6);
    m.dispose();
  });

  it('no slot with value v: np = -1 counted as similarity 0; no negative: nb = -1, similarity 0', () => {
    const m = mem();
    m.write([e(0, D)], [1]);
    const q = unit([1, 1, 0, 0]);
    const r = m.loss([q, q], [3, 1]);
    expect(r.np).toEqual([-1, 0]);
    expect(r.nb).toEqual([0, -1]);
    expect(r.loss[0]).toBeCloseTo(q[0] - 0 + 0.1, 6);
    expect(r.loss[1]).toBeCloseTo(Math.max(0, 0 - q[0] + 0.1), 6);
    m.dispose();
  });
});

describe('labels', () => {
  it('set, rename and delete label names; deleting frees the slots', () => {
    const m = mem();
    m.write([e(0, D), e(1, D), unit([-1, 0, 1, 0])], [4, 5, 4]); // row 3: n1 = slot 1 (label 5) -> new
    m.setLabelName(4, 'alpha');
    m.renameLabel(4, 'a');
    expect(m.labelNames.get(4)).toBe('a');
    expect(() => m.renameLabel(5, 'b')).toThrow(/label 5 which has none/);
    expect(m.deleteLabel(4)).toEqual([0, 2]);
    expect(Array.from(m.values)).toEqual([-1, 5, -1, -1]);
    expect(m.filledCount).toBe(1);
    expect(m.labelNames.has(4)).toBe(false);
    expect(m.query([e(0, D)]).indices).toEqual([[1]]);
    expect(Array.from(m.getKey(0))).toEqual([0, 0, 0, 0]);
    m.dispose();
  });
});

describe('keys past or below the 32-bit float range', () => {
  it('are normalised from the numbers given: 1e39 and 1e-50 are directions, not Infinity or a zero vector', () => {
    const m = mem();
    m.write([[1e39, 0, 0, 0], [0, 1e-50, 0, 0], [3e300, 4e300, 0, 0]], [1, 2, 3]);
    expect(Array.from(m.getKey(0))).toEqual([1, 0, 0, 0]);
    expect(Array.from(m.getKey(1))).toEqual([0, 1, 0, 0]);
    expect(Array.from(m.getKey(2))).toEqual([Math.fround(0.6), Math.fround(0.8), 0, 0]);
    expect(m.query([[0, 1e-45, 0, 0]]).indices[0][0]).toBe(1);
    // subnormal 32-bit values keep a bit or two: 3e-45 : 1e-45 would become 3 : 1 (0.949, 0.316), not 2 : 1
    const q = m.query([[3e-45, 1e-45, 0, 0]]);
    expect(q.similarities[0][0]).toBeCloseTo(3 / Math.sqrt(10), 5);
    m.dispose();
  });
});

describe('restore: keys near unit length', () => {
  it('a key within the tolerance is made unit (no similarity past 1); one this memory wrote comes back to the bit', () => {
    const m = mem();
    m.write([[1, 2, 3, 4], [4, 3, 2, 1]], [1, 2]);
    const snap = m.snapshot();
    const own = Array.from(snap.keys);
    m.restore(snap);
    expect(Array.from(m.getKey(0)).concat(Array.from(m.getKey(1)))).toEqual(own.slice(0, 8));
    const longer = m.snapshot();
    for (let c = 0; c < D; c++) longer.keys[c] *= 1.0008;
    m.restore(longer);
    const k = Array.from(m.getKey(0));
    expect(Math.abs(Math.hypot(...k) - 1)).toBeLessThan(1e-6);
    expect(m.query([k]).similarities[0][0]).toBeLessThanOrEqual(1 + 1e-6);
    m.dispose();
  });
});

describe('bad input: an Error that says what was expected, state unchanged', () => {
  const bad: [string, (m: KeyValueMemory) => unknown, RegExp][] = [
    ['wrong key size', (m) => m.query([[1, 0]]), /expected a key of size 4, got 2/],
    ['wrong key size (tensor)', (m) => tf.tidy(() => { m.query(tf.ones([1, 3]) as tf.Tensor2D); }), /expected a key of size 4, got 3/],
    ['NaN', (m) => m.write([[1, NaN, 0, 0]], [1]), /expected finite key values, got NaN/],
    ['Infinity', (m) => m.query([[1, Infinity, 0, 0]]), /expected finite key values, got Infinity/],
    ['zero vector', (m) => m.write([[0, 0, 0, 0]], [1]), /expected a non-zero key, got a zero vector/],
    ['a string for a number', (m) => m.write([[1, '0' as unknown as number, 0, 0]], [1]), /expected finite key values, got 0 at row 0, column 1/],
    ['non-integer label', (m) => m.write([e(0, D)], [1.5]), /expected labels to be integers.*got 1.5/],
    ['negative label', (m) => m.write([e(0, D)], [-2]), /got -2/],
    ['batch mismatch', (m) => m.write([e(0, D), e(1, D)], [1]), /expected 2 labels \(one per key\), got 1/],
    ['empty batch', (m) => m.query([]), /expected at least one key/],
    ['bad loss label', (m) => m.loss([e(0, D)], [NaN]), /expected labels/],
    ['bad slot', (m) => m.getKey(9), /expected a slot index in \[0, 3\], got 9/],
    ['restore other key size', (m) => m.restore({ ...KeyValueMemory.create({ memorySize: 4, keySize: 8 }).snapshot() }), /expected a snapshot with key size 4, got 8/],
    ['restore malformed', (m) => m.restore({ format: 'x' }), /expected a memory snapshot/],
    ['restore non-unit keys', (m) => { const s = m.snapshot(); s.values[3] = 1; return m.restore(s); }, /expected unit-length keys, got norm 0 at slot 3/],
  ];
  for (const [name, f, msg] of bad) {
    it(name, () => {
      const m = mem();
      m.write([e(0, D), e(1, D)], [1, 2]);
      const before = m.snapshot();
      const v = m.version;
      expect(() => f(m)).toThrow(msg);
      expect(m.snapshot()).toEqual(before);
      expect(m.version).toBe(v);
      m.dispose();
    });
  }

  it('bad configs', () => {
    expect(() => KeyValueMemory.create({ memorySize: 0 })).toThrow(/expected memorySize to be an integer in \[1, \d+\], got 0/);
    expect(() => KeyValueMemory.create({ memorySize: 4, k: 0 })).toThrow(/expected k to be an integer >= 1, got 0/);
    expect(() => KeyValueMemory.create({ memorySize: 4, keySize: 2.5 })).toThrow(/keySize/);
    expect(() => KeyValueMemory.create({ memorySize: 4, lookup: 'ann' as never })).toThrow(/expected lookup 'exact' or 'lsh', got 'ann'/);
    expect(() => KeyValueMemory.create({ memorySize: 4, inverseTemperature: -1 })).toThrow(/inverseTemperature/);
    expect(() => KeyValueMemory.create({ memorySize: 4, keySize: 6, storage: 'simd' })).toThrow(/divisible by 4 .*got keySize 6/);
  });
});

describe('tensors', () => {
  it('numTensors is unchanged by every public call (create/dispose balance)', () => {
    for (const storage of ['simd', 'in-place', 'blocked'] as const) {
      for (const lookup of ['exact', 'lsh'] as const) {
        const start = tf.memory().numTensors;
        const m = KeyValueMemory.create({ memorySize: 10, keySize: D, k: 3, lookup, storage, blockRows: 4 });
        noLeak(() => m.write([e(0, D), e(1, D)], [1, 2]));
        noLeak(() => m.query([e(0, D)]));
        const qr = noLeak(() => m.query([e(2, D)]));
        noLeak(() => m.write([e(2, D)], [3], { queryResult: qr }));
        noLeak(() => tf.tidy(() => { m.query(tf.tensor2d([e(3, D)])); }));
        noLeak(() => m.loss([e(0, D)], [2]));
        const snap = noLeak(() => m.snapshot());
        noLeak(() => m.deleteLabel(1));
        noLeak(() => m.restore(snap));
        noLeak(() => m.setLabelName(1, 'x'));
        noLeak(() => expect(() => m.query([[1]])).toThrow());
        noLeak(() => m.getKey(0));
        m.dispose();
        expect(tf.memory().numTensors).toBe(start);
      }
    }
  });

  // keySize 8 runs the plain SIMD kernel, 32 the 4x-unrolled one (keySize % 16 == 0)
  it.each([
    ['blocked', 8],
    ['simd', 8],
    ['simd', 32],
  ] as const)('%s and in-place key storage give the same results (keySize %i)', (storage, keySize) => {
    const a = KeyValueMemory.create({ memorySize: 37, keySize, k: 5, storage: 'in-place', ageNoise: 8, seed: 3 });
    const b = KeyValueMemory.create({ memorySize: 37, keySize, k: 5, storage, blockRows: 5, ageNoise: 8, seed: 3 });
    let s = 1;
    const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
    for (let i = 0; i < 30; i++) {
      const q = Array.from({ length: 3 }, () => Array.from({ length: keySize }, rnd));
      const v = [i % 7, (i * 3) % 7, (i * 5) % 11];
      const qa = a.query(q);
      const qb = b.query(q);
      expect(qb.indices).toEqual(qa.indices);
      qb.similarities.flat().forEach((x, i) => expect(x).toBeCloseTo(qa.similarities.flat()[i], 6));
      expect(b.write(q, v)).toEqual(a.write(q, v));
    }
    const [sa, sb] = [a.snapshot(), b.snapshot()];
    expect(sb.values).toEqual(sa.values);
    expect(sb.ages).toEqual(sa.ages);
    Array.from(sb.keys).forEach((x, i) => expect(x).toBeCloseTo(sa.keys[i], 6));
    a.dispose();
    b.dispose();
  });
});

describe('snapshot / restore', () => {
  it('fromSnapshot with other LSH tables or bits: the plane pool and hit count follow them, unless given', () => {
    const m = mem({ memorySize: 6, lookup: 'lsh', lsh: { tables: 13, bits: 8 } });
    m.write([e(0, D), e(1, D)], [1, 2]);
    const snap = m.snapshot();
    const r = KeyValueMemory.fromSnapshot(snap, { lsh: { bits: 3 } }); // the snapshot's pool (13 x 8 planes) is past 13 x 3
    expect(r.query([e(1, D)]).indices[0][0]).toBe(1);
    r.dispose();
    const same = KeyValueMemory.fromSnapshot(snap, { lookup: 'exact' });
    expect(same.snapshot().settings.lsh).toEqual(snap.settings.lsh);
    same.dispose();
    m.dispose();
  });
  it('round trip (typed arrays and through JSON)', () => {
    const m = mem({ memorySize: 6, ageNoise: 2, seed: 9 });
    m.write([e(0, D), e(1, D), unit([1, 1, 0, 0]), e(3, D)], [1, 2, 1, 3]);
    m.setLabelName(2, 'two');
    const snap = m.snapshot();
    const json = JSON.parse(JSON.stringify({ ...snap, keys: Array.from(snap.keys), values: Array.from(snap.values), ages: Array.from(snap.ages) }));
    for (const s of [snap, json]) {
      const r = KeyValueMemory.create({ memorySize: 6, keySize: D, seed: 9 }); // same LSH seed (lookup settings are the memory's)
      r.restore(s);
      expect(r.snapshot()).toEqual(snap);
      expect(r.labelNames.get(2)).toBe('two');
      // same future
      const q = [unit([0.3, 0.2, 0.1, 1]), unit([1, 0, 0.2, 0])];
      expect(r.write(q, [4, 5])).toEqual(KeyValueMemory.fromSnapshot(snap).write(q, [4, 5]));
      r.dispose();
    }
    m.dispose();
  });
});
