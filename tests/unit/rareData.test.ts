/**
 * The rare-event task generator (src/rare/data.ts) against the Python one (training/rare/data.py),
 * through tests/fixtures/rare_data.json (written by `make_fixture.py data`; pytest checks that the
 * committed file is what Python generates today), and its own properties.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/memory';
import {
  DIGIT0,
  DIGITS,
  HIGH,
  LOW,
  MAX_LEN,
  MIN_LEN,
  RareInputError,
  fromBase4,
  makeTask,
  parseInput,
  randomInput,
  render,
  sightingCounts,
  targetFor,
  toBase4,
  trainingCounts,
  type RareTask,
} from '../../src/rare';

interface Ex { index: number; input: string; output: string; n: number; position: number }
const fx = JSON.parse(readFileSync(path.resolve(__dirname, '../fixtures/rare_data.json'), 'utf8')) as {
  seed: number;
  first_uniforms: number[];
  f: Record<string, number>;
  f_sum: number;
  f_checksum: number;
  train: Ex[];
  test: Ex[];
  train_numbers_sum: number;
  test_numbers_sum: number;
  test_sighting_histogram: Record<string, number>;
  train_count_of: Record<string, number>;
  small: { seed: number; n_train: number; n_test: number; f_first: Record<string, number>; train: Ex[]; test: Ex[] };
  parse_ok: { text: string; tokens: number[] }[];
  parse_rejected: string[];
};

let task: RareTask;
beforeAll(() => {
  task = makeTask(fx.seed);
});

const exampleOf = (t: RareTask, split: 'train' | 'test', i: number): Ex => ({
  index: i,
  input: render(t[split].inputs[i]),
  output: render(t[split].outputs[i]),
  n: t[split].numbers[i],
  position: t[split].positions[i],
});

describe('rare-event task: TypeScript == Python', () => {
  it('draws the same mulberry32 stream', () => {
    const u = mulberry32(fx.seed);
    expect(fx.first_uniforms.map(() => u())).toEqual(fx.first_uniforms);
  });

  it('makes the same f', () => {
    for (const [n, fn] of Object.entries(fx.f)) expect(task.f[Number(n)], `f(${n})`).toBe(fn);
    let sum = 0, check = 0n;
    for (let n = LOW; n <= HIGH; n++) {
      sum += task.f[n];
      check += BigInt(task.f[n]) * BigInt(n - LOW + 1);
    }
    expect(sum).toBe(fx.f_sum);
    expect(Number(check % 1000000007n)).toBe(fx.f_checksum);
  });

  it('makes the same first, middle and last examples of each split', () => {
    for (const e of fx.train) expect(exampleOf(task, 'train', e.index)).toEqual(e);
    for (const e of fx.test) expect(exampleOf(task, 'test', e.index)).toEqual(e);
    expect(task.train.inputs.length).toBe(40000);
    expect(task.test.inputs.length).toBe(10000);
    expect(task.train.numbers.reduce((a, b) => a + b, 0)).toBe(fx.train_numbers_sum);
    expect(task.test.numbers.reduce((a, b) => a + b, 0)).toBe(fx.test_numbers_sum);
  });

  it('counts the same sightings', () => {
    const s = sightingCounts(task);
    const hist: Record<string, number> = {};
    for (const c of s) hist[c] = (hist[c] ?? 0) + 1;
    expect(hist).toEqual(fx.test_sighting_histogram);
    const c = trainingCounts(task);
    for (const [n, k] of Object.entries(fx.train_count_of)) expect(c[Number(n)]).toBe(k);
  });

  it('makes the same whole small task with another seed', () => {
    const t = makeTask(fx.small.seed, fx.small.n_train, fx.small.n_test);
    for (const [n, fn] of Object.entries(fx.small.f_first)) expect(t.f[Number(n)]).toBe(fn);
    expect(fx.small.train.map((e) => exampleOf(t, 'train', e.index))).toEqual(fx.small.train);
    expect(fx.small.test.map((e) => exampleOf(t, 'test', e.index))).toEqual(fx.small.test);
  });

  it('parses what Python parses, to the same tokens, and rejects what Python rejects', () => {
    for (const { text, tokens } of fx.parse_ok) expect(parseInput(text).tokens).toEqual(tokens);
    expect(fx.parse_rejected.length).toBeGreaterThan(10);
    for (const text of fx.parse_rejected) expect(() => parseInput(text), JSON.stringify(text)).toThrow(RareInputError);
  });
});

describe('rare-event task: properties', () => {
  it('every example is a valid input with its correct output', () => {
    for (const split of [task.train, task.test]) {
      for (let i = 0; i < split.inputs.length; i += 97) {
        const x = split.inputs[i], y = split.outputs[i];
        expect(x.length).toBeGreaterThanOrEqual(MIN_LEN);
        expect(x.length).toBeLessThanOrEqual(MAX_LEN);
        const p = parseInput(render(x));
        expect(p.tokens).toEqual(x);
        expect(p.number).toBe(split.numbers[i]);
        expect(p.position).toBe(split.positions[i]);
        expect(targetFor(x, task.f)).toEqual(y);
        // As and Bs copied in place; the digits write f(n)
        x.forEach((t, j) => (t < DIGIT0 ? expect(y[j]).toBe(t) : expect(y[j]).toBeGreaterThanOrEqual(DIGIT0)));
        expect(fromBase4(y.slice(p.position, p.position + DIGITS).map((t) => t - DIGIT0))).toBe(task.f[p.number]);
      }
    }
  });

  it('f maps S into S and numbers are drawn from S', () => {
    for (let n = LOW; n <= HIGH; n++) expect(task.f[n] >= LOW && task.f[n] <= HIGH).toBe(true);
    for (const n of task.train.numbers) expect(n >= LOW && n <= HIGH).toBe(true);
  });

  it('base 4 round-trips on S and refuses numbers outside it', () => {
    for (const n of [LOW, 3, 1000, 4095, HIGH]) expect(fromBase4(toBase4(n))).toBe(n);
    expect(() => toBase4(1)).toThrow(/expected n in \[2, 16000\], got 1/);
    expect(() => toBase4(HIGH + 1)).toThrow(RangeError);
  });

  it('says clearly what is wrong with a typed sequence', () => {
    expect(() => parseInput('AB0000002BX')).toThrow("only A, B and the digits 0-3 are allowed, got 'X' at position 11");
    expect(() => parseInput('AB')).toThrow('expected a length of 7 to 40 symbols, got 2');
    expect(() => parseInput('ABABABABAB')).toThrow('got no digits');
    expect(() => parseInput('AB000000BA')).toThrow('got a run of 6 digits');
    expect(() => parseInput('AB0000002B0A')).toThrow('got 2 separate runs of digits');
    expect(() => parseInput('AB3322001BA')).toThrow('expected the digits to write a number in 2..16000, got 3322001 = 16001');
    expect(() => parseInput('   ')).toThrow('got nothing');
    expect(parseInput(' ab 0000002 ba ').tokens).toEqual(parseInput('AB0000002BA').tokens);
  });

  it('random inputs are valid and hold the asked number', () => {
    const u = mulberry32(5);
    for (let i = 0; i < 200; i++) {
      const r = randomInput(u, i % 3 === 0 ? 1234 : undefined);
      const p = parseInput(render(r.tokens));
      expect(p).toEqual(r);
      if (i % 3 === 0) expect(p.number).toBe(1234);
    }
  });
});
