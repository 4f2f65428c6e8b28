/** Shared test setup: the wasm backend (as in Node production use) and small key helpers. */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend';

export async function useBackend(name: 'wasm' | 'cpu' = 'wasm'): Promise<void> {
  await selectBackend({ force: name });
}

/** Unit vector with 1 at `i` (size d). */
export function e(i: number, d: number): number[] {
  const v = new Array<number>(d).fill(0);
  v[i] = 1;
  return v;
}

export function unit(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** Assert that `f` does not change tf.memory().numTensors. */
export function noLeak<T>(f: () => T): T {
  const before = tf.memory().numTensors;
  const out = f();
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`tensor leak: numTensors ${before} -> ${after}`);
  return out;
}
