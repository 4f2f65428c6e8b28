/**
 * Property-based: random sequences of writes, queries, losses and label deletions on the memory
 * and on the brute-force reference (tests/unit/memoryReference.ts) agree: decisions exactly,
 * numbers to 1e-5. With age noise too: both draw r from the same seeded counter-based PRNG.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyValueMemory } from '../../src/memory';
import { ReferenceMemory, referenceDeleteLabel, referenceFreeSlot } from './memoryReference';
import { useBackend } from './memorySetup';

beforeAll(async () => {
  await useBackend('wasm');
});

// Components uniform in value: fc.double is uniform over bit patterns (mostly tiny numbers) and
// biased to 0, which makes similarities that differ only below float32 resolution, where the
// float32 memory and the float64 reference may order two slots differently (neither is wrong).
const key = (d: number) =>
  fc
    .array(fc.noBias(fc.integer({ min: -1_000_000, max: 1_000_000 })).map((x) => x / 1_000_000), { minLength: d, maxLength: d })
    .filter((v) => Math.hypot(...v) > 0.1);

type Op =
  | { op: 'write'; q: number[][]; v: number[] }
  | { op: 'query'; q: number[][] }
  | { op: 'loss'; q: number[][]; v: number[] }
  | { op: 'delete'; label: number }
  | { op: 'free'; slot: number };

const scenario = fc
  .record({
    memorySize: fc.integer({ min: 1, max: 10 }),
    keySize: fc.constantFrom(2, 3, 4, 5, 8),
    k: fc.integer({ min: 1, max: 6 }),
    ageNoise: fc.constantFrom(0, 0, 3, 8),
    seed: fc.integer({ min: 0, max: 1000 }),
    storage: fc.constantFrom('in-place' as const, 'blocked' as const, 'simd' as const),
  })
  .chain((cfg) => {
    const rows = fc.array(key(cfg.keySize), { minLength: 1, maxLength: 3 });
    const label = fc.integer({ min: 0, max: 3 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: rows.chain((q) => fc.array(label, { minLength: q.length, maxLength: q.length }).map((v) => ({ op: 'write' as const, q, v }))) },
      { weight: 2, arbitrary: rows.map((q) => ({ op: 'query' as const, q })) },
      { weight: 2, arbitrary: rows.chain((q) => fc.array(label, { minLength: q.length, maxLength: q.length }).map((v) => ({ op: 'loss' as const, q, v }))) },
      { weight: 1, arbitrary: label.map((l) => ({ op: 'delete' as const, label: l })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: cfg.memorySize - 1 }).map((slot) => ({ op: 'free' as const, slot })) },
    );
    return fc.record({ cfg: fc.constant(cfg), ops: fc.array(op, { minLength: 1, maxLength: 25 }) });
  });

function near(a: number[], b: number[], what: string) {
  expect(a.length, what).toBe(b.length);
  a.forEach((x, i) => {
    if (Math.abs(x - b[i]) > 1e-5) throw new Error(`${what}[${i}]: expected ${b[i]}, got ${x}`);
  });
}

describe('memory vs brute-force reference', () => {
  it('agrees on random sequences of writes, queries, losses, label deletions and freed slots', () => {
    fc.assert(
      fc.property(scenario, ({ cfg, ops }) => {
        const settings = { ...cfg, inverseTemperature: 40, alpha: 0.1 };
        const storage = cfg.storage === 'simd' && cfg.keySize % 4 !== 0 ? 'in-place' : cfg.storage;
        const m = KeyValueMemory.create({ ...settings, storage, lookup: 'exact', blockRows: 3 });
        const ref = new ReferenceMemory(settings);
        try {
          ops.forEach((o, si) => {
            const at = `op ${si} ${o.op}`;
            if (o.op === 'write') {
              const got = m.write(o.q, o.v);
              const want = o.q.map((q, i) => ref.write(q, o.v[i]));
              expect(got.map((w) => [w.case, w.slot]), at).toEqual(want.map((w) => [w.case, w.slot]));
            } else if (o.op === 'query') {
              const got = m.query(o.q);
              o.q.forEach((q, b) => {
                const want = ref.query(q);
                expect(got.indices[b], at).toEqual(want.indices);
                expect(got.values[b], at).toEqual(want.values);
                expect(got.prediction[b], at).toBe(want.prediction);
                near(got.similarities[b], want.similarities, `${at} sims`);
                near(got.softmax[b], want.softmax, `${at} softmax`);
              });
            } else if (o.op === 'loss') {
              const got = m.loss(o.q, o.v);
              o.q.forEach((q, b) => {
                const want = ref.loss(q, o.v[b]);
                expect([got.np[b], got.nb[b]], at).toEqual([want.np, want.nb]);
                near([got.loss[b]], [want.loss], `${at} loss`);
              });
            } else if (o.op === 'free') {
              expect(m.freeSlot(o.slot), at).toBe(referenceFreeSlot(ref, o.slot));
            } else {
              m.deleteLabel(o.label);
              referenceDeleteLabel(ref, o.label);
            }
            expect(Array.from(m.values), `${at} values`).toEqual(Array.from(ref.values));
            expect(Array.from(m.ages), `${at} ages`).toEqual(Array.from(ref.ages));
            near(Array.from(m.snapshot().keys), Array.from(ref.keys), `${at} keys`);
          });
        } finally {
          m.dispose();
        }
      }),
      { numRuns: 300, seed: 20170301 },
    );
  });
});

// A batch write is defined as B writes one at a time (src/memory/README.md); in LSH mode "one at a
// time" means each row's n1 is what an LSH search would find after the earlier rows, so the only
// reference is the same memory written row by row. Clustered keys so that LSH has near neighbours
// to miss and to find; small tables so that some are missed.
const batchScenario = fc
  .record({
    memorySize: fc.integer({ min: 1, max: 40 }),
    keySize: fc.constantFrom(4, 8, 12),
    k: fc.integer({ min: 1, max: 6 }),
    ageNoise: fc.constantFrom(0, 3, 8),
    seed: fc.integer({ min: 0, max: 1000 }),
    lookup: fc.constantFrom('exact' as const, 'lsh' as const, 'lsh' as const),
    storage: fc.constantFrom('auto' as const, 'in-place' as const),
    lsh: fc.record({ tables: fc.integer({ min: 1, max: 6 }), bits: fc.integer({ min: 1, max: 5 }), probes: fc.integer({ min: 1, max: 4 }), minHits: fc.integer({ min: 1, max: 3 }), shared: fc.boolean() }),
    centres: fc.integer({ min: 1, max: 5 }),
  })
  .chain((cfg) => {
    const centre = fc.integer({ min: 0, max: cfg.centres - 1 });
    const noise = fc.array(fc.noBias(fc.integer({ min: -300_000, max: 300_000 })).map((x) => x / 1_000_000), { minLength: cfg.keySize, maxLength: cfg.keySize });
    const row = fc.tuple(centre, noise);
    const rows = fc.array(row, { minLength: 1, maxLength: 8 });
    const label = fc.integer({ min: 0, max: 3 });
    const op = fc.oneof(
      { weight: 6, arbitrary: rows.chain((q) => fc.array(label, { minLength: q.length, maxLength: q.length }).map((v) => ({ op: 'write' as const, q, v }))) },
      { weight: 2, arbitrary: rows.map((q) => ({ op: 'query' as const, q })) },
      { weight: 1, arbitrary: label.map((l) => ({ op: 'delete' as const, label: l })) },
    );
    return fc.record({ cfg: fc.constant(cfg), ops: fc.array(op, { minLength: 1, maxLength: 20 }) });
  });

describe('batch writes equal row-by-row writes', () => {
  it('in exact and LSH mode: same cases, slots, keys, values, ages and later queries', () => {
    let lshRows = 0;
    fc.assert(
      fc.property(batchScenario, ({ cfg, ops }) => {
        const d = cfg.keySize;
        // fixed, well-separated centres; a row is centre + noise
        const centres = Array.from({ length: cfg.centres }, (_, c) => Array.from({ length: d }, (_, j) => Math.sin(1 + c * 7.3 + j * 2.1)));
        const keyOf = ([c, g]: [number, number[]]) => centres[c].map((x, j) => x + g[j]);
        const { tables, bits, probes, minHits, shared } = cfg.lsh;
        const config = {
          memorySize: cfg.memorySize, keySize: d, k: cfg.k, ageNoise: cfg.ageNoise, seed: cfg.seed, lookup: cfg.lookup, storage: cfg.storage,
          lsh: { tables, bits, probes, minHits: Math.min(minHits, tables), planes: shared ? bits : tables * bits },
        };
        const batch = KeyValueMemory.create(config);
        const rows = KeyValueMemory.create(config);
        try {
          ops.forEach((o, si) => {
            const at = `op ${si} ${o.op}`;
            if (o.op === 'write') {
              const q = o.q.map(keyOf);
              const got = batch.write(q, o.v);
              const want = q.flatMap((row, i) => rows.write([row], [o.v[i]]));
              if (cfg.lookup === 'lsh') lshRows += q.length;
              expect(got, at).toEqual(want);
            } else if (o.op === 'query') {
              const q = o.q.map(keyOf);
              // version differs by design: a batch is one version step
              expect({ ...batch.query(q), version: 0 }, at).toEqual({ ...rows.query(q), version: 0 });
            } else {
              expect(batch.deleteLabel(o.label), at).toEqual(rows.deleteLabel(o.label));
            }
            expect(Array.from(batch.values), `${at} values`).toEqual(Array.from(rows.values));
            expect(Array.from(batch.ages), `${at} ages`).toEqual(Array.from(rows.ages));
            expect(Array.from(batch.snapshot().keys), `${at} keys`).toEqual(Array.from(rows.snapshot().keys));
          });
        } finally {
          batch.dispose();
          rows.dispose();
        }
      }),
      { numRuns: 400, seed: 20170302 },
    );
    expect(lshRows).toBeGreaterThan(1000); // the LSH half of the property was exercised
  });
});

// The same key twice in one batch: its update makes a slot whose similarity to the key ties the
// key's other copies' to the last bit, where the batch's own re-score (64-bit sums) and a search
// kernel (32-bit) round differently. The batch must still pick what a fresh search picks.
describe('a batch with repeated keys is written as row by row, also on ties of rounding', () => {
  for (const storage of ['simd', 'in-place'] as const) {
    it(`${storage} storage, keys of 128 numbers`, () => {
      let seed = 1;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5);
      for (let trial = 0; trial < 60; trial++) {
        const x = Array.from({ length: 128 }, rnd);
        const batch = KeyValueMemory.create({ memorySize: 16, keySize: 128, storage });
        const rows = KeyValueMemory.create({ memorySize: 16, keySize: 128, storage });
        try {
          batch.write([x], [0]);
          const b = batch.write([x, x], [1, 1]);
          rows.write([x], [0]);
          const r = [rows.write([x], [1])[0], rows.write([x], [1])[0]];
          expect(b.map((w) => [w.case, w.slot]), `trial ${trial}`).toEqual(r.map((w) => [w.case, w.slot]));
          expect(Array.from(batch.values)).toEqual(Array.from(rows.values));
        } finally {
          batch.dispose();
          rows.dispose();
        }
      }
    });
  }
});
