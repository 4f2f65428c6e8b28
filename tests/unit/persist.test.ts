import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { fileCharsEstimate, fileTooLarge, fromFile, fromFileText, fromLinkFile, MAX_FILE_CHARS, toFile, type SavedMemory } from '../../src/app/persist';
import { readAutosave, savedFromAutosave, writeWholeMemory } from '../../src/app/autosave';
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
    ['truncated key', (() => { const f = toFile(sample()); f.slots[0].key = f.slots[0].key!.slice(0, 8); return f; })(), /key has|base64/],
    ['missing key (only a shared link may leave keys out)', (() => { const f = toFile(sample()); delete f.slots[0].key; return f; })(), /slots\.0\.key is missing/],
    ['corrupt base64', (() => { const f = toFile(sample()); f.slots[0].thumb = '!!!'; return f; })(), /base64/],
  ])('refuses %s with a clear message', (_name, data, msg) => {
    expect(() => fromFile(data, 8)).toThrow(msg);
  });

  it('a shared link may leave a key out (made from the drawing on opening), never for a blank drawing', () => {
    const f = toFile(sample());
    delete f.slots[1].key;
    const m = fromLinkFile(JSON.parse(JSON.stringify(f)), 8);
    expect(m.slots[0].key).not.toBeNull();
    expect(m.slots[1].key).toBeNull();
    expect(m.slots[1].thumb[0]).toBe(200);
    const blank = toFile(sample());
    delete blank.slots[0].key;
    blank.slots[0].thumb = toFile({ ...sample(), slots: [{ ...sample().slots[0], thumb: new Uint8Array(784) }] }).slots[0].thumb;
    expect(() => fromLinkFile(blank, 8)).toThrow(/slots\.0 has no key and a blank drawing/);
    // the other checks stay: a key that is there must be right
    const bad = toFile(sample());
    delete bad.slots[1].key;
    bad.slots[0].key = bad.slots[0].key!.slice(0, 8);
    expect(() => fromLinkFile(bad, 8)).toThrow(/key has|base64/);
  });

  it('refuses keys of another size and keys not of unit length', () => {
    expect(() => fromFile(toFile(sample()), 128)).toThrow(/keys of size 8.*size 128/);
    const m = sample();
    m.slots[0].key = new Float32Array(8).fill(1);
    expect(() => fromFile(toFile(m), 8)).toThrow(/unit length/);
  });

  it('saves to and loads from IndexedDB (one record per slot)', async () => {
    await writeWholeMemory(sample());
    const st = await readAutosave();
    expect(st.kind).toBe('slots');
    if (st.kind !== 'slots') return;
    expect(st.slots.length).toBe(2);
    const back = savedFromAutosave(st.meta, st.slots, 8);
    expect(back.slots.map((s) => [s.slot, s.label, s.age])).toEqual([[2, 0, 1], [9, 3, 0]]);
  });
});

/** A file (as JSON) with one field changed by `edit`. */
function crafted(edit: (f: ReturnType<typeof toFile>) => void) {
  const f = toFile(sample());
  edit(f);
  return JSON.stringify(f);
}

describe('crafted but schema-shaped files are refused with a message that says what is wrong', () => {
  it.each([
    ['label id 2^31', (f) => ((f.labels[0].id = 2 ** 31), (f.slots[0].label = 2 ** 31)), /labels\.0\.id.*(2147483646|less than or equal)/],
    ['label id 2^32 + 3 (would wrap to 3 in an Int32Array)', (f) => ((f.labels[0].id = 2 ** 32 + 3), (f.slots[0].label = 2 ** 32 + 3)), /labels\.0\.id/],
    ['age 2^31 - 1 (would overflow on the next write)', (f) => (f.slots[0].age = 2 ** 31 - 1), /slots\.0\.age/],
    ['age 1e20', (f) => (f.slots[0].age = 1e20), /slots\.0\.age/],
    ['age 1e308', (f) => (f.slots[0].age = 1e308), /slots\.0\.age/],
    ['a fractional age', (f) => (f.slots[0].age = 1.5), /slots\.0\.age.*expected int/],
    ['label "   "', (f) => (f.labels[0].name = '   '), /labels\.0\.name: a label needs a name/],
    ['label "alpha " (trailing space)', (f) => (f.labels[0].name = 'alpha '), /cannot start or end with spaces/],
    ['label with a line break', (f) => (f.labels[0].name = 'al\npha'), /control characters/],
    ['label of 81 characters', (f) => (f.labels[0].name = 'x'.repeat(81)), /at most 80 characters, this one has 81/],
    ['a label no slot holds', (f) => f.labels.push({ id: 7, name: 'ghost' }), /"ghost" \(id 7\) is held by no slot/],
    ['memory size above the Settings maximum', (f) => ((f.size = 600_000), (f.settings.memorySize = 600_000)), /size.*500000/],
    ['k of 1e9', (f) => (f.settings.k = 1e9), /settings\.k/],
    ['base64 that atob cannot read', (f) => (f.slots[0].key = 'AAAAA'), /slots\.0\.key is not base64 text/],
  ] as [string, (f: ReturnType<typeof toFile>) => void, RegExp][])('%s', (_name, edit, msg) => {
    expect(() => fromFileText(crafted(edit), 8)).toThrow(msg);
  });

  it('a label name of 80 characters (the limit) is accepted, emoji count as one character', () => {
    const ok = fromFileText(crafted((f) => (f.labels[0].name = '🙂'.repeat(80))), 8);
    expect(ok.labels[0].name).toBe('🙂'.repeat(80));
  });

  it('text that is not JSON says so', () => {
    expect(() => fromFileText('{"format": "memory-lab/mem', 8)).toThrow(/^the file is not JSON/);
    expect(() => fromFileText('[1,2]', 8)).toThrow(/expected a JSON object/);
  });
});

describe('a memory too large for one file', () => {
  it('estimates a file\'s length to within 2% and refuses, with what to do, only past what a browser reads as one text', () => {
    for (const keySize of [64, 128, 256]) {
      const slots = Array.from({ length: 300 }, (_, i) => {
        const key = new Float32Array(keySize).map(() => Math.random() - 0.5);
        return { slot: i, label: i % 7, age: i * 1000, key, thumb: new Uint8Array(784).map(() => (Math.random() < 0.2 ? 255 : 0)) };
      });
      const labels = Array.from({ length: 7 }, (_, id) => ({ id, name: `name ${id}` }));
      const m = { settings: { ...DEFAULT_SETTINGS, memorySize: 300 }, size: 300, keySize, labels, slots };
      const chars = JSON.stringify(toFile(m)).length;
      const est = fileCharsEstimate(300, keySize, labels.reduce((n, l) => n + l.name.length + 24, 0));
      expect(Math.abs(est - chars) / chars, `key size ${keySize}: estimate ${est}, file ${chars}`).toBeLessThan(0.02);
    }
    expect(fileTooLarge(100_000, 128)).toBeNull();
    const most = Math.floor((MAX_FILE_CHARS - 2_000) / (fileCharsEstimate(1, 128) - 2_000));
    expect(fileTooLarge(most, 128)).toBeNull();
    const why = fileTooLarge(most + 1, 128)!;
    expect(why).toMatch(/too large for one file/);
    expect(why).toMatch(/make the memory smaller \(Settings\) or delete names/);
    expect(why).toContain(`about ${most.toLocaleString('en')} drawings`);
    // V8's longest string is 536,870,888 units: the limit stays below it
    expect(MAX_FILE_CHARS).toBeLessThan(536_870_888);
  });
});
