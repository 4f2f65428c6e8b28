/** Backend selection in Node: WebGPU and WebGL are skipped with a reason, WASM runs; forcing works. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { describeSelection, selectBackend } from '../../src/backend';

describe('selectBackend', () => {
  it('falls back to WASM in Node and says why WebGPU and WebGL were skipped', async () => {
    const sel = await selectBackend();
    expect(sel.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(sel.attempts.map((a) => a.backend)).toEqual(['webgpu', 'webgl', 'wasm']);
    expect(sel.attempts[0].skipped).toMatch(/navigator.gpu/);
    expect(sel.attempts[1].skipped).toMatch(/WebGL/);
    expect(sel.attempts[2].skipped).toBeUndefined();
    expect(describeSelection(sel)).toMatch(/^wasm \(webgpu: .*; webgl: .*\)$/);
  });

  it('can force a backend, and reports a forced one that cannot start', async () => {
    expect((await selectBackend({ force: 'cpu' })).backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    await expect(selectBackend({ force: 'webgpu' })).rejects.toThrow(/no tfjs backend could start \(webgpu: navigator.gpu/);
    await expect(selectBackend({ force: 'tpu' as never })).rejects.toThrow(/expected a backend among webgpu, webgl, wasm, cpu, got 'tpu'/);
    expect((await selectBackend({ force: 'wasm' })).backend).toBe('wasm');
  });

  it('honours an explicit candidate order', async () => {
    const sel = await selectBackend({ order: ['webgl', 'cpu'] });
    expect(sel.backend).toBe('cpu');
    expect(sel.attempts[0].skipped).toMatch(/WebGL/);
  });

  it('runs concurrent selections one after the other (React StrictMode starts the app twice in dev)', async () => {
    const order: string[] = [];
    const calls = (['cpu', 'wasm', 'cpu', 'wasm'] as const).map((force) =>
      selectBackend({ force }).then((sel) => {
        order.push(sel.backend);
        return sel;
      }),
    );
    const results = await Promise.all(calls);
    expect(results.map((r) => r.backend)).toEqual(['cpu', 'wasm', 'cpu', 'wasm']);
    expect(order).toEqual(['cpu', 'wasm', 'cpu', 'wasm']); // settled in call order
    expect(tf.getBackend()).toBe('wasm'); // the last call wins
  });
});
