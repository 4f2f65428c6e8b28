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

const FIXTURE = path.resolve(__dirname, '../fixtures/memory_trace.json');

interface Trace {
  config: { memorySize: number; keySize: number; k: number; inverseTemperature: number; alpha: number; ageNoise: number };
  steps: (
    | { op: 'query'; q: number[][]; expected: { indices: number[][]; similarities: number[][]; values: number[][]; prediction: number[]; softmax: number[][] } }
    | { op: 'loss'; q: number[][]; v: number[]; expected: { loss: number[]; np: number[]; nb: number[] } }
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
  it.each(['simd', 'in-place', 'blocked'] as const)('replays every step with the same decisions and numbers (%s key storage)', (storage) => {
    if (!existsSync(FIXTURE)) {
      throw new Error(`missing ${FIXTURE}: it is written by the Python training memory (training/make_fixtures.py); run that first`);
    }
    const trace = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Trace;
    expect(trace.config.ageNoise).toBe(0);
    const m = KeyValueMemory.create({ ...trace.config, lookup: 'exact', storage, blockRows: 5 });
    const counts = { query: 0, loss: 0, write: 0, update: 0, evict: 0 };
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
    // the trace must exercise both cases of the update rule and a full memory
    expect(counts.update).toBeGreaterThan(0);
    expect(counts.evict).toBeGreaterThan(0);
    expect(counts.write).toBeGreaterThan(0);
    expect(counts.query).toBeGreaterThan(0);
    m.dispose();
  });
});
