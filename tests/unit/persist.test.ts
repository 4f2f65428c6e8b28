import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { fromFile, toFile, saveToIndexedDb, loadFromIndexedDb, type SavedMemory } from '../../src/app/persist';
import { DEFAULT_SETTINGS } from '../../src/app/types';

function unit(d: number, seed: number): Float32Array {
  const v = new Float32Array(d);
  for (let i = 0; i < d; i++) v[i] = Math.sin(seed * 13.1 + i * 0.7);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const sample = (): SavedMemory => ({
  settings: { ...DEFAULT_SETTINGS, memorySize: 16 },
  size: 16,
  keySize: 8,
  labels: [{ id: 0, name: 'alpha' }, { id: 3, name: 'beta' }],
  slots: [
    { slot: 2, label: 0, age: 1, key: unit(8, 1), thumb: new Uint8Array(784).fill(7) },
    { slot: 9, label: 3, age: 0, key: unit(8, 2), thumb: new Uint8Array(784).fill(200) },
  ],
});

describe('memory file', () => {
  it('round-trips through JSON', () => {
    const m = sample();
    const back = fromFile(JSON.parse(JSON.stringify(toFile(m))), 8);
    expect(back.size).toBe(16);
    expect(back.labels).toEqual(m.labels);
    expect(back.slots.map((s) => [s.slot, s.label, s.age])).toEqual([[2, 0, 1], [9, 3, 0]]);
    expect(Array.from(back.slots[1].key)).toEqual(Array.from(m.slots[1].key));
    expect(back.slots[1].thumb[5]).toBe(200);
  });

  it.each([
    ['not an object', 42, /expected a JSON object/],
    ['another format', { format: 'x' }, /expected format/],
    ['another version', { ...toFile(sample()), version: 2 }, /unsupported file version/],
    ['missing labels', { ...toFile(sample()), labels: undefined }, /labels/],
    ['slot outside memory', (() => { const f = toFile(sample()); f.slots[0].slot = 99; return f; })(), /outside a memory of 16/],
    ['unknown label', (() => { const f = toFile(sample()); f.slots[0].label = 5; return f; })(), /not in labels/],
    ['truncated key', (() => { const f = toFile(sample()); f.slots[0].key = f.slots[0].key.slice(0, 8); return f; })(), /key has|base64/],
    ['corrupt base64', (() => { const f = toFile(sample()); f.slots[0].thumb = '!!!'; return f; })(), /base64/],
  ])('refuses %s with a clear message', (_name, data, msg) => {
    expect(() => fromFile(data, 8)).toThrow(msg);
  });

  it('refuses keys of another size and keys not of unit length', () => {
    expect(() => fromFile(toFile(sample()), 128)).toThrow(/keys of size 8.*size 128/);
    const m = sample();
    m.slots[0].key = new Float32Array(8).fill(1);
    expect(() => fromFile(toFile(m), 8)).toThrow(/unit length/);
  });

  it('saves to and loads from IndexedDB', async () => {
    await saveToIndexedDb(sample());
    const back = fromFile(await loadFromIndexedDb(), 8);
    expect(back.slots.length).toBe(2);
  });
});
