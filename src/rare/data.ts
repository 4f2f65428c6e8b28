/**
 * The synthetic rare-event task of Kaiser et al. 2017 (section 4, Table 2): the TypeScript twin of
 * training/rare/data.py (same mulberry32 stream, same draw order, same token ids), proven equal by
 * tests/fixtures/rare_data.json (written by training/rare/make_fixture.py).
 *
 * A fixed random f: S -> S on S = {2, ..., 16000}. An input is a sequence over {A, B, 0, 1, 2, 3}
 * of length 7..40 with exactly one contiguous run of 7 base-4 digits writing n in S (most
 * significant first, zero-padded); the output copies the As and Bs in place and replaces the digits
 * by the 7 base-4 digits of f(n). Draw order: f(2..16000), then each training example, then each
 * test example; per example: length, digit position, n, then one A/B draw per non-digit position.
 */
import { mulberry32 } from '../memory/random';

export const LOW = 2;
export const HIGH = 16000;
export const DIGITS = 7;
export const MIN_LEN = 7;
export const MAX_LEN = 40;
/** Token ids, shared with the Python task and the exported model. */
export const PAD = 0;
export const GO = 1;
export const TOK_A = 2;
export const TOK_B = 3;
/** '0'..'3' -> 4..7 */
export const DIGIT0 = 4;
export const VOCAB = 8;
export const SYMBOLS = ['<pad>', '<go>', 'A', 'B', '0', '1', '2', '3'] as const;

/** Token ids of one sequence (no padding). */
export type Tokens = number[];

export interface RareSplit {
  inputs: Tokens[];
  outputs: Tokens[];
  /** n of each example */
  numbers: Int32Array;
  /** index of the first digit of each example */
  positions: Int32Array;
}

export interface RareTask {
  seed: number;
  /** f[n] for n in [0, HIGH]; f[0] = f[1] = 0 (unused) */
  f: Int32Array;
  train: RareSplit;
  test: RareSplit;
}

/** The mulberry32 stream of data.py's Mulberry32: uniform() and below(n) = floor(uniform * n). */
class Draws {
  private readonly u: () => number;
  constructor(seed: number) {
    this.u = mulberry32(seed);
  }
  uniform(): number {
    return this.u();
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.u() * n);
  }
}

/** n in [LOW, HIGH] -> its 7 base-4 digits, most significant first. */
export function toBase4(n: number): number[] {
  if (!Number.isInteger(n) || n < LOW || n > HIGH) throw new RangeError(`expected n in [${LOW}, ${HIGH}], got ${n}`);
  return Array.from({ length: DIGITS }, (_, i) => (n >> (2 * (DIGITS - 1 - i))) & 3);
}

/** Base-4 digits, most significant first -> the number. */
export function fromBase4(digits: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < digits.length; i++) n = n * 4 + digits[i];
  return n;
}

function makeExample(rng: Draws, f: Int32Array): { x: Tokens; y: Tokens; n: number; pos: number } {
  const length = MIN_LEN + rng.below(MAX_LEN - MIN_LEN + 1);
  const pos = rng.below(length - DIGITS + 1);
  const n = LOW + rng.below(HIGH - LOW + 1);
  const dn = toBase4(n);
  const df = toBase4(f[n]);
  const x: Tokens = [];
  const y: Tokens = [];
  for (let i = 0; i < length; i++) {
    if (i >= pos && i < pos + DIGITS) {
      x.push(DIGIT0 + dn[i - pos]);
      y.push(DIGIT0 + df[i - pos]);
    } else {
      const t = rng.uniform() < 0.5 ? TOK_A : TOK_B;
      x.push(t);
      y.push(t);
    }
  }
  return { x, y, n, pos };
}

/** The task: f and the seeded training and test examples (data.py's make_task). */
export function makeTask(seed = 1, nTrain = 40000, nTest = 10000): RareTask {
  for (const [name, v] of [['seed', seed], ['nTrain', nTrain], ['nTest', nTest]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`expected ${name} to be an integer >= 0, got ${v}`);
  }
  const rng = new Draws(seed);
  const f = new Int32Array(HIGH + 1);
  for (let n = LOW; n <= HIGH; n++) f[n] = LOW + rng.below(HIGH - LOW + 1);
  const split = (count: number): RareSplit => {
    const s: RareSplit = { inputs: [], outputs: [], numbers: new Int32Array(count), positions: new Int32Array(count) };
    for (let i = 0; i < count; i++) {
      const e = makeExample(rng, f);
      s.inputs.push(e.x);
      s.outputs.push(e.y);
      s.numbers[i] = e.n;
      s.positions[i] = e.pos;
    }
    return s;
  };
  const train = split(nTrain);
  const test = split(nTest);
  return { seed, f, train, test };
}

/** How many training examples hold each number: [HIGH + 1]. */
export function trainingCounts(task: RareTask): Int32Array {
  const c = new Int32Array(HIGH + 1);
  for (const n of task.train.numbers) c[n]++;
  return c;
}

/** For each test example: how many training examples hold its number (data.py's sighting_counts). */
export function sightingCounts(task: RareTask): Int32Array {
  const c = trainingCounts(task);
  return task.test.numbers.map((n) => c[n]);
}

/** A sequence the user typed, or that came from anywhere outside the generator, is not valid. */
export class RareInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RareInputError';
  }
}

export interface ParsedInput {
  tokens: Tokens;
  /** the number n the digits write */
  number: number;
  /** index of the first digit */
  position: number;
}

const CHAR_TOKEN: Record<string, number> = { A: TOK_A, B: TOK_B, '0': DIGIT0, '1': DIGIT0 + 1, '2': DIGIT0 + 2, '3': DIGIT0 + 3 };

/**
 * 'AAB0123012BA' (spaces allowed, lower-case a/b accepted) -> token ids, n and the digits' position.
 * Throws RareInputError saying what was expected and what came (data.py's parse, same rules).
 */
export function parseInput(text: string): ParsedInput {
  if (typeof text !== 'string') throw new RareInputError(`expected a sequence as text, got ${typeof text}`);
  const s = text.replace(/\s+/g, '').replace(/a/g, 'A').replace(/b/g, 'B');
  if (s.length === 0) throw new RareInputError(`expected a sequence of A, B and one run of ${DIGITS} digits 0-3, got nothing`);
  for (let i = 0; i < s.length; i++) {
    if (!(s[i] in CHAR_TOKEN)) {
      throw new RareInputError(`only A, B and the digits 0-3 are allowed, got '${s[i]}' at position ${i + 1}`);
    }
  }
  if (s.length < MIN_LEN || s.length > MAX_LEN) {
    throw new RareInputError(`expected a length of ${MIN_LEN} to ${MAX_LEN} symbols, got ${s.length}`);
  }
  const tokens = [...s].map((c) => CHAR_TOKEN[c]);
  const runs: string[] = s.match(/[0-3]+/g) ?? [];
  if (runs.length !== 1 || runs[0].length !== DIGITS) {
    const got = runs.length === 0 ? 'no digits' : runs.length > 1 ? `${runs.length} separate runs of digits` : `a run of ${runs[0]!.length} digits`;
    throw new RareInputError(`expected exactly one run of ${DIGITS} base-4 digits (0-3), got ${got}`);
  }
  const position = s.search(/[0-3]/);
  const number = fromBase4(tokens.slice(position, position + DIGITS).map((t) => t - DIGIT0));
  if (number < LOW || number > HIGH) {
    throw new RareInputError(`expected the digits to write a number in ${LOW}..${HIGH}, got ${s.slice(position, position + DIGITS)} = ${number}`);
  }
  return { tokens, number, position };
}

/** Token ids -> text (padding and GO dropped). */
export function render(tokens: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < tokens.length; i++) if (tokens[i] >= TOK_A && tokens[i] < VOCAB) s += SYMBOLS[tokens[i]];
  return s;
}

/** The correct output for an input: As and Bs copied, the digits of n replaced by those of f(n). */
export function targetFor(tokens: Tokens, f: Int32Array): Tokens {
  const first = tokens.findIndex((t) => t >= DIGIT0);
  if (first < 0) throw new RareInputError('expected an input with a run of digits, got none');
  const n = fromBase4(tokens.slice(first, first + DIGITS).map((t) => t - DIGIT0));
  const df = toBase4(f[n]);
  return tokens.map((t, i) => (i >= first && i < first + DIGITS ? DIGIT0 + df[i - first] : t));
}

/** A random input for number n (or a random n), drawn from the given uniform source; not part of the task's stream. */
export function randomInput(uniform: () => number, n?: number, length?: number): ParsedInput {
  const num = n ?? LOW + Math.floor(uniform() * (HIGH - LOW + 1));
  const len = length ?? MIN_LEN + Math.floor(uniform() * (MAX_LEN - MIN_LEN + 1));
  if (!Number.isInteger(len) || len < MIN_LEN || len > MAX_LEN) throw new RangeError(`expected a length in ${MIN_LEN}..${MAX_LEN}, got ${len}`);
  const pos = Math.floor(uniform() * (len - DIGITS + 1));
  const d = toBase4(num);
  const tokens = Array.from({ length: len }, (_, i) => (i >= pos && i < pos + DIGITS ? DIGIT0 + d[i - pos] : uniform() < 0.5 ? TOK_A : TOK_B));
  return { tokens, number: num, position: pos };
}
