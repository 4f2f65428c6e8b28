/**
 * Property-based: random sequences of writes, queries, losses and label deletions on the memory
 * and on the brute-force reference (tests/unit/memoryReference.ts) agree: decisions exactly,
 * numbers to 1e-5. With age noise too: both draw r from the same seeded counter-based PRNG.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyValueMemory } from '../../src/memory';
import { ReferenceMemory, referenceDeleteLabel } from './memoryReference';
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
  | { op: 'delete'; label: number };

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
  it('agrees on random sequences of writes, queries, losses and label deletions', () => {
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
