/**
 * Replays tests/fixtures/memory_trace.json, written by the Python training memory
 * (training/memory.py via training/make_fixtures.py), on the TS memory (exact lookup): decisions
 * (indices, cases, slots, np, nb, values) must agree exactly, numbers to 1e-5.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyValueMemory } from '../../src/memory';
import { useBackend } from './memorySetup';

const FIXTURES = {
  'no age noise': path.resolve(__dirname, '../fixtures/memory_trace.json'),
  'age noise 8 (hash shared with Python)': path.resolve(__dirname, '../fixtures/memory_trace_noisy.json'),
};

interface Trace {
  config: { memorySize: number; keySize: number; k: number; inverseTemperature: number; alpha: number; ageNoise: number; seed: number };
  steps: (
    | { op: 'query'; q: number[][]; expected: { indices: number[][]; similarities: number[][]; values: number[][]; prediction: number[]; softmax: number[][] } }
    | { op: 'loss'; q: number[][]; v: number[]; expected: { loss: number[]; np: number[]; nb: number[] }; npOutsideTopK: boolean[] }
    | {
        op: 'write';
        q: number[][];
        v: number[];
        expected: { cases: ('update' | 'new')[]; slots: number[]; previousValues?: number[]; previousAges?: number[] };
        after: { keys: number[][]; values: number[]; ages: number[] };
      }
  )[];
}

function close(actual: number[], expected: number[], what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  actual.forEach((a, i) => {
    if (Math.abs(a - expected[i]) > 1e-5) throw new Error(`${what}[${i}]: expected ${expected[i]}, got ${a}`);
  });
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('memory trace from the Python training memory', () => {
  const cases = (['simd', 'in-place', 'blocked'] as const).flatMap((storage) =>
    Object.entries(FIXTURES).map(([name, file]) => [storage, name, file] as const),
  );
  it.each(cases)('replays every step with the same decisions and numbers (%s key storage, %s)', (storage, _name, FIXTURE) => {
    if (!existsSync(FIXTURE)) {
      throw new Error(`missing ${FIXTURE}: it is written by the Python training memory (training/make_fixtures.py); run that first`);
    }
    const trace = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Trace;
    const m = KeyValueMemory.create({ ...trace.config, lookup: 'exact', storage, blockRows: 5 });
    const counts = { query: 0, loss: 0, write: 0, update: 0, evict: 0, npMissing: 0, nbMissing: 0, npOutside: 0 };
    trace.steps.forEach((step, si) => {
      const at = `step ${si} (${step.op})`;
      counts[step.op]++;
      if (step.op === 'query') {
        const r = m.query(step.q);
        expect(r.indices, at).toEqual(step.expected.indices);
        expect(r.values, at).toEqual(step.expected.values);
        expect(r.prediction, at).toEqual(step.expected.prediction);
        r.similarities.forEach((s, b) => close(s, step.expected.similarities[b], `${at} similarities[${b}]`));
        r.softmax.forEach((s, b) => close(s, step.expected.softmax[b], `${at} softmax[${b}]`));
      } else if (step.op === 'loss') {
        const r = m.loss(step.q, step.v);
        expect(r.np, at).toEqual(step.expected.np);
        expect(r.nb, at).toEqual(step.expected.nb);
        close(r.loss, step.expected.loss, `${at} loss`);
        counts.npMissing += r.np.filter((p) => p === -1).length;
        counts.nbMissing += r.nb.filter((p) => p === -1).length;
        counts.npOutside += step.npOutsideTopK.filter(Boolean).length;
      } else {
        const r = m.write(step.q, step.v);
        expect(r.map((w) => w.case), at).toEqual(step.expected.cases);
        expect(r.map((w) => w.slot), at).toEqual(step.expected.slots);
        if (step.expected.previousValues) expect(r.map((w) => w.previous.value), at).toEqual(step.expected.previousValues);
        if (step.expected.previousAges) expect(r.map((w) => w.previous.age), at).toEqual(step.expected.previousAges);
        counts.update += r.filter((w) => w.case === 'update').length;
        counts.evict += r.filter((w) => w.case === 'new' && !w.previous.empty).length;
        expect(Array.from(m.values), `${at} values`).toEqual(step.after.values);
        expect(Array.from(m.ages), `${at} ages`).toEqual(step.after.ages);
        step.after.keys.forEach((k, i) => close(Array.from(m.getKey(i)), k, `${at} key ${i}`));
      }
    });
    // the trace must exercise both cases of the update rule, a full memory, and every loss case
    expect(counts.npMissing, 'np = -1 (no slot holds v)').toBeGreaterThan(0);
    expect(counts.nbMissing, 'nb = -1 (every slot holds v)').toBeGreaterThan(0);
    expect(counts.npOutside, 'np found outside the top k').toBeGreaterThan(0);
    // (that the noise changes eviction choices is checked on the Python side: training/tests/test_fixtures.py)
    expect(counts.update).toBeGreaterThan(0);
    expect(counts.evict).toBeGreaterThan(0);
    expect(counts.write).toBeGreaterThan(0);
    expect(counts.query).toBeGreaterThan(0);
    m.dispose();
  });
});
