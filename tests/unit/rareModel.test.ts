/**
 * The TS rare-event model (src/rare/model.ts) against train.py's decode on the same exported files:
 * every tests/fixtures/rare/*.parity.json (written by `make_fixture.py parity --model=DIR`) names
 * its model folder; outputs, n1, memory values and outputs without memory must be equal,
 * confidences, logits and queries within 1e-4. The tiny fixture model (tests/fixtures/rare-tiny,
 * random init, `make_fixture.py tiny`) is always there; a trained model's fixture needs its folder.
 * A case is compared up to its first near tie (compare_until; all of it when there is none: every
 * case of the tiny model), since float32 noise may decide a tie either way and the greedy prefix
 * differs after it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTask, parseInput, render, targetFor } from '../../src/rare';
import { RareModel, RareModelMissingError, type RareFileReader } from '../../src/rare/model';
import { folderReader, loadRareModelFromDir } from '../../src/rare/node';
import { useBackend } from './memorySetup';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'tests/fixtures/rare');
const TINY = path.join(ROOT, 'tests/fixtures/rare-tiny');

interface Case {
  input: string;
  expected: number[];
  output: number[];
  output_without_memory: number[];
  memory_steps: number[];
  n1: number[];
  memory_value: number[];
  confidence: number[];
  logits?: number[][];
  queries?: number[][];
  /** the first step with a near tie (n1 or argmax within 5e-5): steps from there on are not compared */
  compare_until: number;
  compare_until_without_memory: number;
}
interface Parity { model: string; use_memory: boolean; memory_steps: string; filled: number; cases: Case[] }

const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.parity.json')).sort();

beforeAll(async () => {
  await useBackend('wasm');
});

function near(actual: ArrayLike<number>, expected: number[], tol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) throw new Error(`${what}[${i}]: expected ${expected[i]}, got ${actual[i]} (tolerance ${tol})`);
  }
}

it('has the tiny model fixture (the parity test always runs on it)', () => {
  expect(fixtures).toContain('rare-tiny.parity.json');
});

describe.each(fixtures)('parity with train.py decode: %s', (file) => {
  const fx = JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as Parity;
  let model: RareModel;
  beforeAll(async () => {
    // a fixture without its model folder fails here, with the folder's name (never skipped)
    model = await loadRareModelFromDir(path.join(ROOT, fx.model));
  });
  afterAll(() => model?.dispose());

  it('loads the exported memory into the project memory', () => {
    expect(model.memory.filledCount).toBe(fx.filled);
    expect(model.memory.keySize).toBe(model.config.key_size);
    expect(fx.cases.length).toBeGreaterThanOrEqual(6);
  });

  it('decodes each case as decode() did: outputs, n1, memory values, confidences', async () => {
    const xs = fx.cases.map((c) => parseInput(c.input).tokens);
    const before = tf.memory().numTensors;
    const got = await model.decode(xs, { batchSize: 5 }); // lockstep batches of mixed lengths
    expect(tf.memory().numTensors).toBe(before);
    let compared = 0;
    fx.cases.forEach((c, i) => {
      const g = got[i];
      const cu = c.compare_until;
      expect(g.output.slice(0, cu), `output of ${c.input}`).toEqual(c.output.slice(0, cu));
      const js = c.memory_steps.map((t, j) => [t, j]).filter(([t]) => t < cu);
      expect(js.map(([t]) => g.n1[t]), `n1 of ${c.input}`).toEqual(js.map(([, j]) => c.n1[j]));
      expect(js.map(([t]) => g.memoryValue[t]), `memory value of ${c.input}`).toEqual(js.map(([, j]) => c.memory_value[j]));
      near(js.map(([t]) => g.confidence[t]), js.map(([, j]) => c.confidence[j]), 1e-4, `confidence of ${c.input}`);
      // steps that do not consult the memory have no value
      g.n1.forEach((n, t) => (c.memory_steps.includes(t) ? null : expect(n).toBe(-1)));
      compared += cu;
    });
    expect(compared, 'steps compared').toBeGreaterThan(0);
  });

  it('decodes without the memory as decode(use_memory=False) did', async () => {
    const xs = fx.cases.map((c) => parseInput(c.input).tokens);
    const got = await model.decode(xs, { useMemory: false });
    fx.cases.forEach((c, i) => {
      const cu = c.compare_until_without_memory;
      expect(got[i].output.slice(0, cu), `output without memory of ${c.input}`).toEqual(c.output_without_memory.slice(0, cu));
    });
  });

  it('computes the same decoder step: logits and memory queries at every step', async () => {
    const withLogits = fx.cases.filter((c) => c.logits);
    expect(withLogits.length).toBeGreaterThan(0);
    for (const c of withLogits) {
      const before = tf.memory().numTensors;
      const r = await model.logits(parseInput(c.input).tokens);
      expect(tf.memory().numTensors).toBe(before);
      c.logits!.slice(0, c.compare_until).forEach((row, t) => near(r.logits[t], row, 1e-4, `logits of ${c.input} at step ${t}`));
      const qs = r.queries.map((q) => {
        const n = Math.hypot(...q);
        return Array.from(q, (v) => v / n);
      });
      // the query at step t depends only on the outputs before t
      c.queries!.forEach((row, j) => (c.memory_steps[j] <= c.compare_until ? near(qs[j], row, 1e-4, `query of ${c.input} at memory step ${j}`) : null));
    }
  });

  it('explains a case: the same output, neighbours best first with their origin, softmax over the vocabulary', async () => {
    const c = fx.cases[0];
    const before = tf.memory().numTensors;
    const e = await model.explain(parseInput(c.input).tokens, 5);
    expect(tf.memory().numTensors).toBe(before);
    expect(e.output.slice(0, c.compare_until)).toEqual(c.output.slice(0, c.compare_until));
    expect(e.outputWithoutMemory.slice(0, c.compare_until_without_memory)).toEqual(c.output_without_memory.slice(0, c.compare_until_without_memory));
    for (const [j, t] of c.memory_steps.entries()) {
      if (t >= c.compare_until) break;
      const s = e.steps[t];
      expect(s.memoryStep).toBe(fx.use_memory);
      if (!fx.use_memory) continue;
      expect(s.n1).toBe(c.n1[j]);
      expect(s.neighbours.length).toBe(5);
      expect(s.neighbours[0].slot).toBe(c.n1[j]);
      expect(s.neighbours[0].value).toBe(c.memory_value[j]);
      for (let k = 1; k < 5; k++) expect(s.neighbours[k].similarity).toBeLessThanOrEqual(s.neighbours[k - 1].similarity);
      expect(s.neighbours[0].origin.kind).toBe('training');
    }
    for (const s of e.steps) expect(s.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
});

describe('the memory-augmented decoder on the tiny model', () => {
  let model: RareModel;
  beforeAll(async () => {
    model = await loadRareModelFromDir(TINY);
  });
  afterAll(() => model?.dispose());

  it('the memory input changes the decoder output (with != without on some step)', async () => {
    const task = makeTask(1, 40, 20);
    const xs = task.test.inputs;
    const a = await model.decode(xs);
    const b = await model.decode(xs, { useMemory: false });
    expect(a.some((s, i) => render(s.output) !== render(b[i].output))).toBe(true);
  });

  it('one labelled pass writes every memory step, and the memory then returns the correct digits', async () => {
    const task = makeTask(1, 0, 0);
    const p = parseInput('ABBA0102031BAB'.replace('0102031', '3030303'));
    const y = targetFor(p.tokens, task.f);
    const version = model.memory.version;
    const before = tf.memory().numTensors;
    const r = await model.teach(p.tokens, y, p.number, render(p.tokens));
    expect(tf.memory().numTensors).toBe(before);
    expect(model.memory.version).toBe(version + 1);
    expect(r.steps).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(r.labels).toEqual(r.steps.map((t) => y[t]));
    expect(r.writes.length).toBe(7);
    expect(r.loss.loss.every((l) => l >= 0 && l <= 2 + model.memory.settings.alpha)).toBe(true);
    for (const w of r.writes) {
      expect(['update', 'new']).toContain(w.case);
      expect(model.slotOrigin(w.slot)).toEqual({ kind: 'session', number: p.number, input: render(p.tokens) });
    }
    // the same input decoded again: each memory step's value is the digit just written
    const [d] = await model.decode([p.tokens]);
    expect(r.steps.map((t) => d.memoryValue[t])).toEqual(r.labels);
  });

  it('bad input: a clear error and the memory unchanged', async () => {
    const version = model.memory.version;
    const x = parseInput('AB0000002BA').tokens;
    await expect(model.teach(x, x.slice(0, 5), 2, 'x')).rejects.toThrow('expected an output as long as the input (11), got 5');
    await expect(model.decode([[2, 3, 9]])).rejects.toThrow('expected tokens in [2, 7] (A, B, digits), got 9 at position 2 of input 0');
    await expect(model.decode([])).rejects.toThrow('expected at least one input sequence');
    expect(model.memory.version).toBe(version);
  });
});

describe('loading: clear errors on missing, corrupt or mismatched files', () => {
  const files = (over: Record<string, ArrayBuffer | null | ((b: ArrayBuffer) => ArrayBuffer)>): RareFileReader => {
    const base = folderReader(TINY);
    return async (name) => {
      const o = over[name];
      if (o === undefined) return base(name);
      if (typeof o === 'function') return o((await base(name))!);
      return o;
    };
  };
  const json = JSON.parse(readFileSync(path.join(TINY, 'model.json'), 'utf8'));
  const text = (o: unknown) => new TextEncoder().encode(JSON.stringify(o)).buffer as ArrayBuffer;
  const load = (r: RareFileReader) => RareModel.load(r, 'tiny');

  it('says the model is missing when there is no model.json', async () => {
    await expect(loadRareModelFromDir(path.join(ROOT, 'tests/fixtures/no-such-model'))).rejects.toThrow(RareModelMissingError);
  });

  it('names the file and what was wrong', async () => {
    const n = tf.memory().numTensors;
    await expect(load(files({ 'model.json': text({ ...json, format: 'other' }) }))).rejects.toThrow(/model.json: expected a memory-lab\/rare-seq2seq v1 model description.*format/);
    await expect(load(files({ 'model.json': new TextEncoder().encode('{ not json').buffer as ArrayBuffer }))).rejects.toThrow('is not valid JSON');
    await expect(load(files({ 'weights.bin': (b) => b.slice(0, b.byteLength - 4) }))).rejects.toThrow(/weights.bin: expected \d+ bytes, got \d+/);
    await expect(load(files({ 'memory.keys.bin': null }))).rejects.toThrow('tiny/memory.keys.bin is missing');
    await expect(load(files({ 'memory.values.bin': (b) => { const v = new Int8Array(b.slice(0)); v[3] = 9; return v.buffer; } }))).rejects.toThrow('expected values in [-1, 7], got 9 at slot 3');
    await expect(load(files({ 'memory.values.bin': (b) => { const v = new Int8Array(b.slice(0)); v[0] = -1; return v.buffer; } }))).rejects.toThrow(/says \d+ filled slots, the file has \d+/);
    const shapes = { ...json, weights: json.weights.map((w: { name: string; shape: number[] }) => (w.name === 'att.weight' ? { ...w, shape: [w.shape[0], w.shape[1] + 1] } : w)) };
    await expect(load(files({ 'model.json': text(shapes) }))).rejects.toThrow("expected weight 'att.weight' of shape [16, 16], got [16, 17]");
    await expect(load(files({ 'model.json': text({ ...json, weights: json.weights.slice(1) }) }))).rejects.toThrow(`missing weights ${json.weights[0].name}`);
    await expect(load(files({ 'weights.bin': (b) => { const f = new Float32Array(b.slice(0)); f[10] = NaN; return f.buffer; } }))).rejects.toThrow('expected finite weights');
    expect(tf.memory().numTensors).toBe(n); // nothing left allocated by a failed load
  });
});
