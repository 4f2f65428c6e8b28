// The app's Engine in Node: WASM backend, the bundled encoder read from models/, the shared memory.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { selectBackend } from '../../src/backend';
import { loadEncoderFromDir } from '../../src/encoder/node';
import { Engine } from '../../src/app/engine';
import { cleanLabelName, fromFile, toFile } from '../../src/app/persist';
import { DEFAULT_SETTINGS } from '../../src/app/types';
import { strokesToInput, type StrokePoint } from '../../src/strokes';

const line = (pts: [number, number][]): StrokePoint[] => pts.map(([x, y], i) => ({ x, y, pressure: 0.5, t: i }));
const RING = [line(Array.from({ length: 25 }, (_, i) => [150 + 90 * Math.cos((i / 24) * 2 * Math.PI), 150 + 90 * Math.sin((i / 24) * 2 * Math.PI)]))];
const CROSS = [line([[40, 150], [260, 150]]), line([[150, 40], [150, 260]])];
const ZIGZAG = [line([[30, 100], [90, 220], [150, 100], [210, 220], [270, 100]])];

let engine: Engine;

async function start(memorySize = 16) {
  return Engine.start({ ...DEFAULT_SETTINGS, memorySize, ageNoise: 0 }, undefined, {
    startBackend: async (force) => {
      const sel = await selectBackend({ force: force ?? 'wasm' });
      return { name: sel.backend, skipped: [] };
    },
    loadEncoder: () => loadEncoderFromDir('models/omniglot-conv4'),
  });
}

beforeAll(async () => {
  engine = await start();
});
afterAll(() => engine.dispose());

describe('Engine (app session over the shared memory)', () => {
  it('reports the paper update cases, the eviction and the loss', async () => {
    await engine.clear();
    const ring = strokesToInput(RING), cross = strokesToInput(CROSS), zig = strokesToInput(ZIGZAG);
    const a = await engine.remember(ring, 'ring');
    expect(a.write).toMatchObject({ case: 'new', name: 'ring', evicted: null, loss: null });
    const b = await engine.remember(cross, ' cross ');
    expect(b.write.case).toBe('new');
    expect(b.write.name).toBe('cross');
    expect(b.write.loss).not.toBeNull();
    expect(b.write.nb).toBe(a.write.slot); // the only other slot
    expect(b.write).toMatchObject({ np: -1, npName: null, nbName: 'ring' });
    const again = await engine.remember(ring, 'ring');
    expect(again.write).toMatchObject({ case: 'update', slot: a.write.slot });
    expect(engine.summary().ages[a.write.slot]).toBe(0);
    expect(engine.summary().ages[b.write.slot]).toBe(1);
    expect(engine.labelList()).toEqual([{ id: 0, name: 'ring', count: 1 }, { id: 1, name: 'cross', count: 1 }]);
    // prediction: the stored drawing is the nearest neighbour
    const p = await engine.predict(ring);
    expect(p.prediction.name).toBe('ring');
    expect(p.prediction.neighbours[0].slot).toBe(a.write.slot);
    expect(p.prediction.neighbours[0].similarity).toBeCloseTo(1, 4);
    const sum = p.prediction.perLabel.reduce((s, l) => s + l.p, 0);
    expect(sum).toBeCloseTo(1, 5);
    expect(engine.thumbnail(a.write.slot)?.length).toBe(784);
    void zig;
  });

  it('evicts the oldest slot of a full memory and forgets a label with no slot left', async () => {
    const small = await start(2);
    try {
      const ring = await small.remember(strokesToInput(RING), 'ring');
      await small.remember(strokesToInput(CROSS), 'cross');
      const z = await small.remember(strokesToInput(ZIGZAG), 'zigzag');
      expect(z.write).toMatchObject({ case: 'new', slot: ring.write.slot, evicted: { name: 'ring', age: 1, lastOfName: true } });
      expect(small.labelList().map((l) => l.name)).toEqual(['cross', 'zigzag']);
      // a second zigzag evicts the cross's only drawing; then a ring evicts a zigzag, not the name's last
      const z2 = await small.remember(strokesToInput(RING), 'zigzag');
      expect(z2.write.evicted).toMatchObject({ name: 'cross', lastOfName: true });
      const r2 = await small.remember(strokesToInput(RING), 'ring');
      expect(r2.write.evicted).toMatchObject({ name: 'zigzag', lastOfName: false });
    } finally {
      small.dispose();
    }
  });

  it('says "I don\'t know" on an empty memory', async () => {
    await engine.clear();
    const p = await engine.predict(strokesToInput(RING));
    expect(p.prediction).toMatchObject({ label: null, unknownReason: 'empty-memory' });
  });

  it('renames, deletes (freeing slots) and refuses bad names', async () => {
    await engine.clear();
    await engine.remember(strokesToInput(RING), 'ring');
    await engine.remember(strokesToInput(CROSS), 'cross');
    expect(engine.renameLabel(0, 'circle')).toEqual({ name: 'circle', changed: true });
    const v = engine.summary().version;
    expect(engine.renameLabel(0, ' circle ')).toEqual({ name: 'circle', changed: false });
    expect(engine.summary().version).toBe(v); // an unchanged name changes nothing
    expect(() => engine.renameLabel(0, 'cross')).toThrow(/exists already/);
    // one name however its spaces and accents were typed; case makes another
    expect(cleanLabelName(' a \t b ')).toBe('a b');
    expect(cleanLabelName('e\u0301te\u0301')).toBe('\u00e9t\u00e9');
    expect(cleanLabelName('A b')).toBe('A b');
    // characters that show nothing (pasted with a name) go: "sun" and "sun" + a zero-width space are one name
    expect(cleanLabelName('sun\u200b')).toBe('sun');
    expect(cleanLabelName('\ufeffs\u00adu\u2060n\u200d ')).toBe('sun');
    expect(cleanLabelName('\u{1F468}\u200d\u{1F469}')).toBe('\u{1F468}\u200d\u{1F469}'); // a joiner inside an emoji stays
    expect(cleanLabelName('\u200b\u200d')).toBe('');
    expect(cleanLabelName('e\u00ad\u0301')).toBe('\u00e9'); // NFC after the removal: one "é", however it was typed
    // names that looked empty, or like another name
    for (const blank of ['\u3164', '\u2800', '\u034f', '\u115f\u1160', '\uffa0', '\u180e']) expect(cleanLabelName(blank)).toBe('');
    expect(cleanLabelName('sun\u2061')).toBe('sun');
    expect(cleanLabelName('\u202enus')).toBe('nus'); // an override showed it as "sun"
    expect(cleanLabelName('a\u202db')).toBe('ab');
    expect(cleanLabelName('\u05e9\u200f1')).toBe('\u05e9\u200f1'); // a direction mark inside stays
    expect(cleanLabelName('\u2764\ufe0f')).toBe('\u2764\ufe0f'); // an emoji's variation selector stays
    expect(() => engine.renameLabel(0, '\u3164')).toThrow(/needs a name/);
    expect(() => engine.renameLabel(0, '\u200b')).toThrow(/needs a name/);
    const pasted = await engine.remember(strokesToInput(CROSS), 'cross\u200b');
    expect(pasted.write.name).toBe('cross');
    await engine.undoRemember(pasted.undo!);
    expect(() => engine.renameLabel(0, '  ')).toThrow(/needs a name/);
    await expect(engine.remember(strokesToInput(RING), '   ')).rejects.toThrow(/needs a name/);
    await engine.deleteLabel(1);
    expect(engine.filled()).toBe(1);
    expect(engine.labelList()).toEqual([{ id: 0, name: 'circle', count: 1 }]);
  });

  it('saves and restores through the file format; a bad file changes nothing', async () => {
    await engine.clear();
    await engine.remember(strokesToInput(RING), 'ring');
    await engine.remember(strokesToInput(CROSS), 'cross');
    const before = engine.summary();
    const file = JSON.parse(JSON.stringify(toFile(engine.saved())));
    await engine.clear();
    await engine.restore(fromFile(file, engine.keySize));
    const after = engine.summary();
    expect(Array.from(after.values)).toEqual(Array.from(before.values));
    expect(Array.from(after.ages)).toEqual(Array.from(before.ages));
    expect(after.labels).toEqual(before.labels);
    expect((await engine.predict(strokesToInput(CROSS))).prediction.name).toBe('cross');
    // names of a file are kept as typed today (two spaces made one): a typed name finds them
    const spaced = fromFile(file, engine.keySize);
    await engine.restore({ ...spaced, labels: spaced.labels.map((l) => (l.name === 'ring' ? { ...l, name: 'ring  o' } : l)) });
    expect(engine.labelList().map((l) => l.name)).toEqual(['ring o', 'cross']);
    expect(engine.labelIdFor('ring o')).toBe(engine.labelList()[0].id);
    // an older file's name of invisible characters alone is kept as it was (never made empty), one
    // with a zero-width space at its end becomes the typed name
    await engine.restore({ ...spaced, labels: spaced.labels.map((l) => ({ ...l, name: l.name === 'ring' ? '\u200b' : 'cross\u200b' })) });
    expect(engine.labelList().map((l) => l.name)).toEqual(['\u200b', 'cross']);
    // that name, picked as held (its chip), is that label: not refused as empty, not another name
    expect(engine.labelIdFor('\u200b')).toBe(engine.labelList()[0].id);
    await engine.restore(fromFile(file, engine.keySize));
    // a slot outside the memory passes nothing on
    const bad = { ...fromFile(file, engine.keySize) };
    bad.slots = bad.slots.map((s) => ({ ...s, slot: s.slot + 100 }));
    await expect(engine.restore(bad)).rejects.toThrow(/outside a memory/);
    expect(Array.from(engine.summary().values)).toEqual(Array.from(before.values));
  });

  it('changes memory size keeping the youngest slots, and k/t/alpha without losing content', async () => {
    await engine.clear();
    await engine.remember(strokesToInput(RING), 'ring');
    await engine.remember(strokesToInput(CROSS), 'cross');
    await engine.remember(strokesToInput(ZIGZAG), 'zig');
    await engine.applySettings({ ...engine.settings, k: 2, t: 10 });
    expect(engine.filled()).toBe(3);
    expect((await engine.predict(strokesToInput(ZIGZAG))).prediction.neighbours.length).toBe(2);
    await engine.applySettings({ ...engine.settings, memorySize: 2 });
    expect(engine.summary().size).toBe(2);
    expect(engine.labelList().map((l) => l.name)).toEqual(['cross', 'zig']);
    await engine.applySettings({ ...engine.settings, memorySize: 16 });
  });

  it('a backend that cannot start is refused and the engine stays where it was', async () => {
    await engine.clear();
    await engine.remember(strokesToInput(RING), 'ring');
    await expect(engine.switchBackend('webgpu')).rejects.toThrow(/navigator.gpu/);
    expect(engine.backend.name).toBe('wasm');
    expect(engine.settings.backend).toBe('auto');
    expect((await engine.predict(strokesToInput(RING))).prediction.name).toBe('ring');
  });

  it('leaks no tensors around predict and remember', async () => {
    await engine.clear();
    const input = strokesToInput(RING);
    await engine.predict(input);
    await engine.remember(input, 'ring');
    const n = tf.memory().numTensors;
    await engine.predict(input);
    await engine.remember(strokesToInput(CROSS), 'cross');
    await engine.predict(strokesToInput(CROSS));
    expect(tf.memory().numTensors).toBe(n);
  });

  it('leaks no tensors around undoing a Remember and a delete (each rebuilds the memory)', async () => {
    await engine.clear();
    await engine.remember(strokesToInput(RING), 'ring');
    await engine.predict(strokesToInput(RING));
    const n = tf.memory().numTensors;
    const r = await engine.remember(strokesToInput(CROSS), 'cross');
    await engine.undoRemember(r.undo!);
    const d = await engine.deleteLabel(engine.labelList()[0].id);
    await engine.undoDelete(d);
    await engine.predict(strokesToInput(RING));
    expect(engine.labelList().map((l) => l.name)).toEqual(['ring']);
    expect(tf.memory().numTensors).toBe(n);
  });

  it('LSH: a drawing that shares no bucket with any stored one is "no candidates", not an empty memory', async () => {
    // 100,000 slots: 11 bits per table, so two stored drawings rarely share a bucket with a third;
    // the memory's LSH seed (Math.random) fixed to one where they share none
    const seed = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const lsh = await Engine.start({ ...DEFAULT_SETTINGS, memorySize: 100_000, lookup: 'lsh', ageNoise: 0 }, undefined, {
      startBackend: async (force) => ({ name: (await selectBackend({ force: force ?? 'wasm' })).backend, skipped: [] }),
      loadEncoder: () => loadEncoderFromDir('models/omniglot-conv4'),
    });
    seed.mockRestore();
    try {
      await lsh.remember(strokesToInput(RING), 'ring');
      await lsh.remember(strokesToInput(CROSS), 'cross');
      // a short dash: no bucket in common with the ring or the cross (the hyperplanes are seeded)
      const p = (await lsh.predict(strokesToInput([line([[140, 140], [160, 160]])]))).prediction;
      expect(p.neighbours).toEqual([]);
      expect(p).toMatchObject({ unknownReason: 'no-candidates', label: null, guess: null });
      // the exact lookup compares it with both
      await engine.clear();
      await engine.remember(strokesToInput(RING), 'ring');
      await engine.remember(strokesToInput(CROSS), 'cross');
      expect((await engine.predict(strokesToInput([line([[140, 140], [160, 160]])]))).prediction.neighbours.length).toBeGreaterThan(0);
      // no candidate is never "close", even with a cut-off of 0
      await lsh.applySettings({ ...lsh.settings, nearCutoff: 0 });
      expect((await lsh.predict(strokesToInput([line([[140, 140], [160, 160]])]))).prediction).toMatchObject({ unknownReason: 'no-candidates', label: null });
    } finally {
      lsh.dispose();
    }
  });

  it('merges two names into one (keys, ages and drawings kept) and parts them again exactly', async () => {
    await engine.clear();
    await engine.remember(strokesToInput(RING), 'Ring');
    await engine.remember(strokesToInput(CROSS), 'cross');
    await engine.remember(strokesToInput(ZIGZAG), 'ring');
    const [upper, cross, lower] = engine.labelList();
    const before = engine.saved();
    const n = tf.memory().numTensors;
    const m = await engine.mergeLabels(upper.id, lower.id);
    expect(m).toMatchObject({ fromName: 'Ring', intoName: 'ring', at: 0, moved: [0] });
    expect(engine.labelList()).toEqual([{ id: cross.id, name: 'cross', count: 1 }, { id: lower.id, name: 'ring', count: 2 }]);
    const merged = engine.saved();
    // only the label changed: the same slots, keys, ages and drawings, the same write clock
    expect(merged.clock).toBe(before.clock);
    expect(merged.slots.map((s) => ({ ...s, label: s.label === lower.id ? upper.id : s.label })).filter((s) => s.slot === 0)).toEqual(before.slots.filter((s) => s.slot === 0));
    expect(merged.slots.map((s) => [s.slot, s.age])).toEqual(before.slots.map((s) => [s.slot, s.age]));
    expect((await engine.predict(strokesToInput(RING))).prediction.name).toBe('ring');
    await engine.undoMerge(m);
    expect(engine.labelList()).toEqual([upper, cross, lower]);
    expect(engine.saved().slots).toEqual(before.slots);
    expect((await engine.predict(strokesToInput(RING))).prediction.name).toBe('Ring');
    expect(tf.memory().numTensors).toBe(n);
    // refused, nothing changed: an unknown name, a name into itself, an undo after another change
    await expect(engine.mergeLabels(upper.id, 999)).rejects.toThrow(/no label with id 999/);
    await expect(engine.mergeLabels(upper.id, upper.id)).rejects.toThrow(/into itself/);
    const again = await engine.mergeLabels(upper.id, lower.id);
    await engine.remember(strokesToInput(CROSS), 'cross');
    await expect(engine.undoMerge(again)).rejects.toThrow(/changed since the merge/);
    expect(engine.labelList().map((l) => l.name)).toEqual(['cross', 'ring']);
  });

  it('keeps no second copy of the memory: saves, autosave records and views read the memory itself', async () => {
    const big = await start(4096);
    try {
      const ring = strokesToInput(RING), cross = strokesToInput(CROSS);
      const a = await big.remember(ring, 'ring');
      await big.remember(cross, 'cross');
      const before = big.slotRecord(a.write.slot).key;
      // a second, wobbly ring: its nearest slot is the first ring's, so the key merges
      const wobbly = [line(Array.from({ length: 25 }, (_, i) => {
        const r = 90 + 8 * Math.sin((i / 24) * 6 * Math.PI);
        return [150 + r * Math.cos((i / 24) * 2 * Math.PI), 150 + r * Math.sin((i / 24) * 2 * Math.PI)] as [number, number];
      }))];
      const again = await big.remember(strokesToInput(wobbly), 'ring');
      expect(again.write.case).toBe('update');
      // the merged key normalize(q + K[n1]) is what every reader sees, straight after the write
      const after = big.slotRecord(again.write.slot).key;
      expect(Array.from(after)).not.toEqual(Array.from(before));
      const saved = big.saved().slots.find((s) => s.slot === again.write.slot)!;
      expect(Array.from(saved.key)).toEqual(Array.from(after));
      const fk = big.filledKeys();
      const j = fk.slots.indexOf(again.write.slot);
      expect(Array.from(fk.keys.subarray(j * big.keySize, (j + 1) * big.keySize))).toEqual(Array.from(after));
      expect(big.slotRecord(again.write.slot).time).toBe(big.savedMeta().clock);
      expect(big.filled()).toBe(2);
      // no typed array on the engine as large as the key matrix (the memory holds the only one)
      const n = 4096 * big.keySize;
      const arrays = Object.values(big as unknown as Record<string, unknown>).filter(ArrayBuffer.isView) as unknown as { length: number }[];
      expect(arrays.every((x) => x.length < n)).toBe(true);
      // the views' summary follows renames and deletions (its slot arrays are read once per change)
      const s1 = big.summary();
      expect(big.summary().values).toBe(s1.values);
      const ringId = big.labelList().find((l) => l.name === 'ring')!.id;
      big.renameLabel(ringId, 'circle');
      expect(big.summary().labels.find((l) => l.id === ringId)?.name).toBe('circle');
      const freed = (await big.deleteLabel(ringId)).slots.map((x) => x.slot);
      expect(freed).toContain(again.write.slot);
      expect(big.summary().values[again.write.slot]).toBe(-1);
      expect(() => big.slotRecord(again.write.slot)).toThrow(/empty/);
      expect(() => big.slotRecord(-1)).toThrow(/empty/);
    } finally {
      big.dispose();
    }
  });
});
