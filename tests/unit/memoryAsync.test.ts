/**
 * queryAsync and the loss's queryResult option on the CPU lookups (Node, wasm backend). The WebGPU
 * lookup behind queryAsync is checked in Chromium's WebGPU: tests/e2e/webgpuLookup.spec.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyValueMemory, mulberry32 } from '../../src/memory';
import { useBackend } from './memorySetup';

beforeAll(async () => {
  await useBackend('wasm');
});

const D = 16;
function rows(seed: number, count: number): number[][] {
  const r = mulberry32(seed);
  return Array.from({ length: count }, () => Array.from({ length: D }, () => r() * 2 - 1));
}

describe('queryAsync', () => {
  for (const config of [{ storage: 'simd' as const }, { storage: 'in-place' as const }, { lookup: 'lsh' as const }]) {
    it(`gives what query gives (${JSON.stringify(config)}), a tensor query included, without leaking tensors`, async () => {
      const m = KeyValueMemory.create({ memorySize: 300, keySize: D, k: 8, seed: 1, ...config });
      const keys = rows(1, 200);
      m.write(keys, keys.map((_, i) => i % 7));
      const q = [...rows(2, 3), keys[5]];
      const before = tf.memory().numTensors;
      const sync = m.query(q);
      expect(await m.queryAsync(q)).toEqual(sync);
      const qt = tf.tensor2d(q);
      expect(await m.queryAsync(qt)).toEqual(sync);
      qt.dispose();
      expect(tf.memory().numTensors).toBe(before);
      m.dispose();
    });
  }

  it('says which engine looks up; storage webgpu needs the webgpu backend', () => {
    const simd = KeyValueMemory.create({ memorySize: 10, keySize: D, storage: 'simd' });
    expect(simd.lookupEngine).toBe('wasm-simd');
    simd.dispose();
    expect(() => KeyValueMemory.create({ memorySize: 10, keySize: D, storage: 'webgpu' })).toThrow(/webgpu backend.*got backend 'wasm'/);
  });

  it('checks its input like query: bad sizes, zero vectors', async () => {
    const m = KeyValueMemory.create({ memorySize: 10, keySize: D });
    await expect(m.queryAsync([[1, 2]])).rejects.toThrow(`expected a key of size ${D}, got 2`);
    await expect(m.queryAsync([new Array(D).fill(0)])).rejects.toThrow(/non-zero key/);
    m.dispose();
  });

  it('a write made while a query is pending is seen by that query', async () => {
    const m = KeyValueMemory.create({ memorySize: 20, keySize: D, k: 4 });
    const [a, b] = rows(3, 2);
    m.write([a], [1]);
    const pending = m.queryAsync([b]);
    m.write([b], [2]); // lands before the pending query resolves
    const r = await pending;
    expect(r.prediction).toEqual([2]);
    expect(r.version).toBe(m.version);
    m.dispose();
  });
});

describe('loss with a queryResult', () => {
  it('equals the loss with its own lookup, and refuses a result from another version', async () => {
    const m = KeyValueMemory.create({ memorySize: 100, keySize: D, k: 5, seed: 2 });
    const keys = rows(4, 60);
    m.write(keys, keys.map((_, i) => i % 4));
    const q = rows(5, 3);
    const labels = [0, 1, 3];
    const r = await m.queryAsync(q);
    expect(m.loss(q, labels, { queryResult: r })).toEqual(m.loss(q, labels));
    m.write([keys[0]], [9]);
    expect(() => m.loss(q, labels, { queryResult: r })).toThrow(/expected a queryResult from memory version/);
    m.dispose();
  });
});
