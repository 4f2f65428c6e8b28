/** Input checks shared by the learners: every bad input is an Error saying what was expected and what came. */
import type { Key, LabelScore } from './types';
import { unitInto } from '../memory/unit';

export const MAX_LABEL = 2 ** 31 - 1;

/** A copy of `key` normalised to unit length; throws on a wrong size, NaN/Inf or a zero vector. */
export function unitKey(key: Key, keySize: number, what = 'the key'): Float32Array {
  if (key === null || typeof key !== 'object' || typeof (key as ArrayLike<number>).length !== 'number') {
    throw new Error(`expected ${what} as an array of ${keySize} numbers, got ${key === null ? 'null' : typeof key}`);
  }
  if (key.length !== keySize) throw new Error(`expected a key of size ${keySize}, got ${key.length} (${what})`);
  const out = new Float32Array(keySize);
  // in 64-bit before the 32-bit copy: 1e39 or 1e-50 is a direction, not Infinity or a zero vector
  unitInto(key, out, 0, keySize, (i) => `column ${i} of ${what}`, `(${what})`);
  return out;
}

export function checkLabel(label: unknown, what = 'the label'): number {
  if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label > MAX_LABEL) {
    throw new Error(`expected ${what} to be an integer in [0, ${MAX_LABEL}], got ${String(label)}`);
  }
  return label;
}

export function checkKeySize(keySize: unknown): number {
  if (typeof keySize !== 'number' || !Number.isInteger(keySize) || keySize < 1 || keySize > 65536) {
    throw new Error(`expected keySize to be an integer in [1, 65536], got ${String(keySize)}`);
  }
  return keySize;
}

export function checkPositive(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`expected ${name} to be a finite number > 0, got ${String(v)}`);
  return v;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** softmax of `logits` (max-subtracted), as probabilities per label, descending. */
export function softmaxScores(labels: number[], logits: number[]): LabelScore[] {
  if (labels.length === 0) return [];
  let m = -Infinity;
  for (const l of logits) m = Math.max(m, l);
  const e = logits.map((l) => Math.exp(l - m));
  const z = e.reduce((s, x) => s + x, 0);
  return labels.map((label, i) => ({ label, p: e[i] / z })).sort((a, b) => b.p - a.p || a.label - b.label);
}

/** -1 and confidence 0 when nothing is known; else the best label. */
export function predictionOf(scores: LabelScore[]) {
  return scores.length === 0 ? { label: -1, confidence: 0, scores } : { label: scores[0].label, confidence: scores[0].p, scores };
}
