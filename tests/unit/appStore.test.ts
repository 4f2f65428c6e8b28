// The store's memory actions over a real Engine (Node: WASM backend, bundled encoder) and a real
// IndexedDB implementation (fake-indexeddb): what is shown is saved, sizes up to the Settings
// maximum round-trip, a save that cannot be restored is kept aside, one change at a time.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/app/engine';
import { asideToText, metaOf, readAside, readAutosave, savedFromAutosave, writeWholeMemory } from '../../src/app/autosave';
import { fromFileText, toFile, type SavedMemory } from '../../src/app/persist';
import { flushSave, refusalNow, restoreSaved, useApp } from '../../src/app/store';
import { DEFAULT_SETTINGS, SETTING_BOUNDS } from '../../src/app/types';
import { shrinkLoss, youngestSlots } from '../../src/app/shrink';
import { mulberry32 } from '../../src/memory/random';
import { CROSS, RING, startStoreEngine, withWritesRefused } from './storeHarness';
import { strokesToInput, type StrokePoint } from '../../src/strokes';


let engine: Engine;

beforeAll(async () => {
  engine = await startStoreEngine();
});
afterAll(() => engine.dispose());

const st = () => useApp.getState();

async function rememberDrawing(strokes: StrokePoint[][], name: string) {
  st().setStrokes(strokes, false);
  useApp.setState({ input: strokesToInput(strokes) });
  return st().remember(name);
}

async function savedNow(): Promise<SavedMemory> {
  const s = await readAutosave();
  if (s.kind !== 'slots') throw new Error(`expected the autosave, got ${s.kind}`);
  return savedFromAutosave(s.meta, s.slots, engine.keySize);
}

/** A memory file with `filled` random unit keys spread over a memory of `size` slots. */
function syntheticFile(size: number, filled: number, seed: number): string {
  const rnd = mulberry32(seed);
  const d = engine.keySize;
  const slots = new Set<number>();
  while (slots.size < filled) slots.add(Math.floor(rnd() * size));
  const labels = Array.from({ length: Math.min(filled, 50) }, (_, i) => ({ id: i * 7919, name: `sym ${i}` }));
  const saved: SavedMemory = {
    settings: { ...DEFAULT_SETTINGS, memorySize: size },
    size,
    keySize: d,
    labels,
    slots: [...slots].map((slot, i) => {
      const key = new Float32Array(d).map(() => rnd() - 0.5);
      const n = Math.hypot(...key);
      return { slot, label: labels[i % labels.length].id, age: Math.floor(rnd() * 1_000_000), key: key.map((x) => x / n), thumb: new Uint8Array(784).fill(i % 256) };
    }),
  };
  return JSON.stringify(toFile(saved));
}

describe('store: every change is saved before it is shown', () => {
  it('a Remember is in IndexedDB when remember() resolves, as one slot record (no debounce)', async () => {
    await st().clearMemory();
    expect(await rememberDrawing(RING, 'ring')).toBe(true);
    // the write report (lastWrite) says what was remembered; no banner repeats it
    expect(st().lastWrite?.name).toBe('ring');
    expect(st().message).toBeNull();
    let saved = await savedNow();
    expect(saved.slots.map((s) => saved.labels.find((l) => l.id === s.label)?.name)).toEqual(['ring']);
    expect(await rememberDrawing(CROSS, 'cross')).toBe(true);
    saved = await savedNow();
    expect(saved.slots.length).toBe(2);
    // ages are write times against the clock: the older write has age 1, as in the memory
    const ages = Object.fromEntries(saved.slots.map((s) => [s.slot, s.age]));
    expect(ages).toEqual(Object.fromEntries(engine.saved().slots.map((s) => [s.slot, s.age])));
    expect(Math.max(...Object.values(ages))).toBe(1);
  });

  it('a refusal about the drawing or the name goes once either changes; other banners stay', async () => {
    st().setStrokes([], false);
    useApp.setState({ input: null });
    expect(await st().remember('ring')).toBe(false);
    expect(refusalNow(st())).toContain('empty canvas cannot be remembered');
    const filled = engine.summary().filled;
    st().setStrokes(RING);
    expect(refusalNow(st())).toBeNull();
    expect(await st().remember('  ')).toBe(false);
    expect(refusalNow(st())).toContain('type a name');
    st().setLabelDraft('ring');
    expect(refusalNow(st())).toBeNull();
    expect(engine.summary().filled).toBe(filled);
    // a banner about something else (here: a warning) is not the user's input: typing keeps it
    st().setMessage({ kind: 'warning', text: 'something else' });
    st().setLabelDraft('rin');
    st().addStroke(CROSS[0]);
    expect(st().message?.text).toBe('something else');
    st().setMessage(null);
    st().clearDrawing();
    st().setLabelDraft('');
  });

  it('an import while a Remember is in flight is refused; the drawing keeps its own label', async () => {
    await st().clearMemory();
    const file = syntheticFile(16, 3, 1);
    const pending = rememberDrawing(RING, 'ring');
    const imported = await st().importText(file);
    expect(imported).toBe(false);
    expect(st().message?.text).toMatch(/import refused, the memory is unchanged: wait a moment/);
    expect(await pending).toBe(true);
    expect(engine.labelList().map((l) => l.name)).toEqual(['ring']);
  });

  it('every change to the memory is refused in a read-only tab with its own words; a failed one leaves the store usable', async () => {
    await st().clearMemory();
    await rememberDrawing(RING, 'ring');
    const slot = st().lastWrite!.slot;
    const memoryNow = () => engine.fileText().replace(/"savedAt":"[^"]*",/, '');
    const before = memoryNow();
    const file = syntheticFile(16, 3, 2);
    const deleted = { id: 0, name: 'ring', at: 0, slots: [], labelGone: true, version: engine.summary().version };
    const tries: [string, () => Promise<unknown>][] = [
      ['not remembered', () => rememberDrawing(CROSS, 'cross')],
      ['not taken back', () => st().undoRemember()],
      ['not renamed', () => st().renameLabel(0, 'circle')],
      ['not deleted', () => st().deleteLabel(0)],
      ['not forgotten', () => st().forgetSlot(slot)],
      ['"ring" not put back', () => st().undoDelete(deleted)],
      ['not cleared', () => st().clearMemory()],
      ['import refused, the memory is unchanged', () => st().importText(file)],
      ['settings not applied', () => st().applySettings({ memorySize: 64 })],
    ];
    const refusals = [
      { state: { readOnly: true }, why: 'this memory is open in another tab: change it there, close that tab, or use it here' },
      { state: { busy: true }, why: 'wait a moment: the memory is busy with the previous change' },
    ];
    for (const { state, why } of refusals) {
      useApp.setState(state);
      try {
        for (const [words, change] of tries) {
          useApp.setState({ message: null });
          expect(await change(), words).not.toBe(true);
          expect(st().message?.text).toBe(`${words}: ${why}`);
        }
        // a Remember with nothing drawn says so first, under the button
        st().setStrokes([], false);
        useApp.setState({ input: null, message: null });
        expect(await st().remember('ring')).toBe(false);
        expect(st().refusal?.text).toMatch(/draw something first/);
        expect(st().message).toBeNull();
      } finally {
        useApp.setState({ readOnly: false, busy: false, refusal: null });
      }
    }
    expect(memoryNow()).toBe(before);
    // an error inside a change: said, nothing changed, and the next change goes through
    expect(await st().deleteLabel(12345)).toBe(false);
    expect(st().message?.text).toBe('not deleted: no label with id 12345');
    expect(st().busy).toBe(false);
    expect(memoryNow()).toBe(before);
    expect(await st().deleteLabel(0)).toBe(true);
    expect(engine.labelList()).toEqual([]);
  });

  it('a smaller memory forgets exactly what shrinkLoss (shown before Apply) says: the oldest drawings, and names left with none', async () => {
    await st().applySettings({ memorySize: 8, ageNoise: 0 });
    await st().clearMemory();
    await rememberDrawing(RING, 'ring');
    await rememberDrawing(CROSS, 'cross');
    await rememberDrawing(RING.map((s) => s.map((p) => ({ ...p, x: p.x * 0.5 }))), 'oval');
    const s0 = engine.summary();
    const loss = shrinkLoss(s0.values, s0.ages, 1);
    const namesBefore = engine.labelList().map((l) => l.name);
    const nameOf = new Map(engine.labelList().map((l) => [l.id, l.name]));
    const gone = loss.labels.map((id) => nameOf.get(id)!);
    expect(gone.length).toBeGreaterThan(0); // one slot left: at least one of the names goes
    await st().applySettings({ memorySize: 1 });
    const s1 = engine.summary();
    expect(s1.filled).toBe(s0.filled - loss.drawings);
    expect(engine.labelList().map((l) => l.name).sort()).toEqual(namesBefore.filter((n) => !gone.includes(n)).sort());
    expect(loss).toEqual({ drawings: s0.filled - 1, labels: expect.any(Array) });
    expect(shrinkLoss(s1.values, s1.ages, 1)).toEqual({ drawings: 0, labels: [] });
    await st().applySettings({ memorySize: DEFAULT_SETTINGS.memorySize, ageNoise: DEFAULT_SETTINGS.ageNoise });
    // equal ages keep slot order; a size that is not a whole number is refused
    const tied = [{ slot: 3, label: 0, age: 1 }, { slot: 1, label: 1, age: 1 }, { slot: 2, label: 2, age: 0 }];
    expect(youngestSlots(tied, 2).kept.map((x) => x.slot)).toEqual([2, 3]);
    expect(() => youngestSlots(tied, -1)).toThrow(/memory size/);
  });

  it('deleting a label and renaming are saved too', async () => {
    await st().clearMemory();
    await rememberDrawing(RING, 'ring');
    await rememberDrawing(CROSS, 'cross');
    await st().renameLabel(0, 'circle');
    await st().deleteLabel(1);
    const saved = await savedNow();
    expect(saved.labels).toEqual([{ id: 0, name: 'circle' }]);
    expect(saved.slots.length).toBe(1);
  });

  it('after a failed save the next save writes the slots not saved too: a failed delete leaves no stale drawing behind to damage the autosave', async () => {
    await st().clearMemory();
    await rememberDrawing(RING, 'ring');
    await rememberDrawing(CROSS, 'cross');
    // storage refuses every write for a while (a full disk, a browser error)
    await withWritesRefused(async () => {
      expect(await st().deleteLabel(engine.labelList()[1].id)).toBe(true);
      expect(st().message?.text).toMatch(/deleted "cross" .*but it is not saved: could not save to IndexedDB \(the disk is full\)/);
      // said until a save works again (the banner can be closed): the page asks before it is closed
      st().setMessage(null);
      expect(st().unsaved).toBe('could not save to IndexedDB (the disk is full)');
    });
    // the ring again: averaged into its slot, a change of that slot alone; the stored copy must not
    // keep the deleted cross's record (a label it no longer has: "the autosave is damaged")
    // caught up as a slot change (the slots not saved, as they are now), not a rewrite of every slot
    const clear = globalThis.IDBObjectStore.prototype.clear;
    let clears = 0;
    globalThis.IDBObjectStore.prototype.clear = function (this: IDBObjectStore) {
      clears++;
      return clear.call(this);
    };
    try {
      expect(await rememberDrawing(RING, 'ring')).toBe(true);
    } finally {
      globalThis.IDBObjectStore.prototype.clear = clear;
    }
    expect(clears).toBe(0);
    expect(st().lastWrite?.case).toBe('update');
    expect(st().message).toBeNull();
    expect(st().unsaved).toBeNull();
    const saved = await savedNow();
    const now = engine.saved();
    expect(saved.labels).toEqual(now.labels);
    expect(saved.slots.map((x) => [x.slot, x.label, x.age])).toEqual(now.slots.map((x) => [x.slot, x.label, x.age]));
    expect(saved.slots.length).toBe(1);
  });

  it('a copy kept aside whose drawings hold a label with no name (left by an older version after a failed save) opens, the drawing under a made-up name', async () => {
    await st().clearMemory();
    await rememberDrawing(RING, 'ring');
    await rememberDrawing(CROSS, 'cross');
    const now = engine.saved();
    const meta = metaOf(now);
    const [ring, cross] = engine.labelList();
    const stored = {
      kind: 'slots' as const,
      meta: { ...meta, labels: meta.labels.filter((l) => l.id !== cross.id) },
      slots: now.slots.map((x) => ({ slot: x.slot, label: x.label, time: meta.clock - x.age, key: x.key, thumb: x.thumb })),
    };
    const back = fromFileText(asideToText({ at: '2026-12-06T12:00:00.000Z', reason: 'the autosave is damaged', stored }), engine.keySize);
    expect(back.labels).toEqual([{ id: ring.id, name: 'ring' }, { id: cross.id, name: `unnamed ${cross.id}` }]);
    expect(back.slots.map((x) => x.label)).toEqual(now.slots.map((x) => x.label));
  });

  it('a large memory file is said to be read before the work starts (seconds at 100,000 drawings), then replaced by what happened', async () => {
    const text = syntheticFile(4096, 3000, 11);
    expect(text.length).toBeGreaterThan(5_000_000);
    const said: string[] = [];
    const unsubscribe = useApp.subscribe((s) => s.message && said.push(s.message.text));
    try {
      expect(await st().importText(text)).toBe(true);
    } finally {
      unsubscribe();
    }
    expect(said[0]).toMatch(/^reading an imported file \(\d+ MB\)…$/);
    expect(st().message?.text).toMatch(/^memory imported: 3000 drawings/);
    await st().applySettings({ memorySize: DEFAULT_SETTINGS.memorySize });
  });

  it('merging two names is saved, says what it did, and its Undo parts them again (saved too)', async () => {
    await st().clearMemory();
    await rememberDrawing(RING, 'Ring');
    await rememberDrawing(CROSS, 'ring');
    const [upper, lower] = engine.labelList();
    const relabelledBefore = st().relabelled;
    expect(await st().mergeLabels(upper.id, lower.id)).toBe(true);
    expect(st().message?.text).toBe('"Ring" merged into "ring": its 1 stored drawing is named "ring" now (2 drawings in all); the last Remember (“ring”) can no longer be undone');
    expect(st().relabelled).not.toBe(relabelledBefore);
    expect(st().lastUndo).toBeNull();
    let saved = await savedNow();
    expect(saved.labels).toEqual([{ id: lower.id, name: 'ring' }]);
    expect(saved.slots.map((x) => x.label)).toEqual([lower.id, lower.id]);
    st().message!.action!.run();
    await expect.poll(() => st().message?.text).toBe('"Ring" is back with its 1 stored drawing, apart from "ring"');
    await expect.poll(() => st().busy).toBe(false);
    saved = await savedNow();
    expect(saved.labels).toEqual([{ id: upper.id, name: 'Ring' }, { id: lower.id, name: 'ring' }]);
    expect(saved.slots.map((x) => x.label)).toEqual([upper.id, lower.id]);
    // refused with its reason, nothing changed
    expect(await st().mergeLabels(upper.id, upper.id)).toBe(false);
    expect(st().message?.text).toBe('not merged: "Ring" cannot be merged into itself');
    expect(engine.labelList().length).toBe(2);
  });

  it('Undo this Remember takes a write back exactly, in each case of the update rule; saved; refused once the memory changed', async () => {
    const view = (m: SavedMemory) => ({
      clock: m.clock,
      labels: m.labels,
      slots: m.slots.map((s) => [s.slot, s.label, s.age, Array.from(s.key), Array.from(s.thumb)]),
    });
    const takeBack = async (name: string) => {
      const before = view(engine.saved());
      expect(await rememberDrawing(name === 'ring' ? RING : CROSS, name)).toBe(true);
      const write = st().lastWrite!;
      expect(st().lastUndo).not.toBeNull();
      expect(await st().undoRemember()).toBe(true);
      // the canvas still holds a drawing (the app clears it after a Remember; this test does not):
      // the one taken back is not put over it, and the message says so
      expect(st().message?.text).toMatch(/took back the last Remember .*its drawing is gone \(the canvas holds a new one\)/);
      expect(view(engine.saved()), `${write.case} into slot ${write.slot}`).toEqual(before);
      const saved = await savedNow();
      expect(view(saved)).toEqual(before);
      return write;
    };
    await st().applySettings({ memorySize: 2, ageNoise: 0 });
    await st().clearMemory();
    // case 2 into an empty slot, with a new name: the slot is empty again and the name gone
    expect((await takeBack('ring')).case).toBe('new');
    await rememberDrawing(RING, 'ring');
    await rememberDrawing(CROSS, 'cross');
    // case 1: the averaged key, its age and drawing come back
    expect((await takeBack('ring')).case).toBe('update');
    // case 2 in a full memory, evicting the last drawing of a name: that drawing and name come back
    const w = await takeBack('plus' as 'cross');
    expect(w.evicted?.name).toBe('ring');
    expect(engine.labelList().map((l) => l.name).sort()).toEqual(['cross', 'ring']);
    // a stale Undo (the memory changed since) is refused and changes nothing
    await rememberDrawing(CROSS, 'cross');
    const stale = st().lastUndo!;
    await rememberDrawing(RING, 'ring');
    const now = view(engine.saved());
    useApp.setState({ lastUndo: stale });
    expect(await st().undoRemember()).toBe(false);
    expect(st().message?.text).toMatch(/not taken back: the memory has changed since that Remember/);
    expect(view(engine.saved())).toEqual(now);
    await st().applySettings({ memorySize: DEFAULT_SETTINGS.memorySize, ageNoise: DEFAULT_SETTINGS.ageNoise });
  });

  it('forgetting one drawing frees its slot only (its name stays while it has others); Undo puts it back exactly', async () => {
    await st().clearMemory();
    await rememberDrawing(RING, 'ring');
    await rememberDrawing(CROSS, 'cross');
    await rememberDrawing(CROSS, 'ring'); // its nearest is cross's slot (another name): case 2, ring's second slot
    const view = (m: SavedMemory) => ({ labels: m.labels, slots: m.slots.map((s) => [s.slot, s.label, s.age, Array.from(s.key), Array.from(s.thumb)]) });
    const before = view(engine.saved());
    const ringSlots = engine.saved().slots.filter((s) => s.label === 0).map((s) => s.slot);
    expect(ringSlots.length).toBe(2);
    const slot = ringSlots[0];
    expect(await st().forgetSlot(slot)).toBe(true);
    // (the Remember just before could be undone until now: said)
    expect(st().message?.text).toBe(`forgot a drawing of "ring" (slot ${slot}); the last Remember (“ring”) can no longer be undone`);
    expect(engine.summary().values[slot]).toBe(-1);
    expect(engine.labelList().find((l) => l.name === 'ring')?.count).toBe(1);
    // the other slots keep their ages and keys
    const kept = (m: ReturnType<typeof view>) => m.slots.filter((s) => s[0] !== slot);
    expect(kept(view(engine.saved()))).toEqual(kept(before));
    expect((await savedNow()).slots.some((s) => s.slot === slot)).toBe(false);
    st().message!.action!.run();
    await expect.poll(() => st().message?.text).toMatch(/is back/);
    expect(view(engine.saved())).toEqual(before);
    expect(view(await savedNow())).toEqual(before);
    // an empty slot cannot be forgotten: said, nothing changes
    const empty = engine.summary().values.findIndex((v) => v < 0);
    expect(await st().forgetSlot(empty)).toBe(false);
    expect(st().message?.text).toMatch(new RegExp(`not forgotten: slot ${empty} is empty`));
    expect(view(engine.saved())).toEqual(before);
  });

  it('a change that ends an offer to undo says so: the last Remember, or the Undo on the banner', async () => {
    await st().clearMemory();
    await rememberDrawing(RING, 'ring');
    await rememberDrawing(CROSS, 'cross');
    await st().deleteLabel(engine.labelList()[0].id);
    expect(st().message?.text).toBe('deleted "ring" and its 1 stored drawing; the last Remember (“cross”) can no longer be undone');
    await st().deleteLabel(engine.labelList()[0].id);
    expect(st().message?.text).toBe('deleted "cross" and its 1 stored drawing; the Undo offered before is gone');
    expect(st().message?.action?.label).toBe('Undo');
  });

  it("a delete's Undo puts the label back exactly (keys, ages, drawings), saved; refused once the memory changed", async () => {
    await st().clearMemory();
    await rememberDrawing(RING, 'ring');
    await rememberDrawing(CROSS, 'cross');
    await rememberDrawing(RING, 'ring'); // case 1: averaged into ring's slot
    const before = engine.saved();
    const crossId = engine.labelList().find((l) => l.name === 'cross')!.id;
    // the first name first: an undo puts it back in its place in the list, not at the end
    await st().deleteLabel(engine.labelList()[0].id);
    st().message!.action!.run();
    await expect.poll(() => st().message?.text).toMatch(/is back/);
    expect(engine.saved().labels).toEqual(before.labels);
    await st().deleteLabel(crossId);
    expect(engine.labelList().map((l) => l.name)).toEqual(['ring']);
    expect(st().message?.text).toMatch(/deleted "cross" and its 1 stored drawing/);
    const undo = st().message?.action;
    expect(undo?.label).toBe('Undo');
    undo!.run();
    await expect.poll(() => st().message?.text).toMatch(/"cross" is back with its 1 stored drawing/);
    const after = engine.saved();
    const view = (m: SavedMemory) => m.slots.map((s) => [s.slot, s.label, s.age, Array.from(s.key), Array.from(s.thumb)]);
    expect(view(after)).toEqual(view(before));
    expect(after.labels).toEqual(before.labels);
    expect(after.clock).toBe(before.clock);
    const saved = await savedNow();
    expect(view(saved)).toEqual(view(before));
    expect(saved.labels).toEqual(before.labels);
    // once the memory changed (a write may reuse a freed slot), an Undo is refused and changes nothing
    await st().deleteLabel(crossId);
    const stale = st().message!.action!;
    await rememberDrawing(CROSS, 'plus');
    const changed = engine.saved();
    stale.run();
    await expect.poll(() => st().message?.text).toMatch(/"cross" not put back: the memory has changed since the delete/);
    expect(view(engine.saved())).toEqual(view(changed));
    expect(engine.labelList().map((l) => l.name).sort()).toEqual(['plus', 'ring']);
  });
});

describe('memory sizes up to the Settings maximum round-trip through autosave, reload, export and import', () => {
  // 125,000+ slots overflowed the call stack (Math.max(0, ...ages)) on resize, restore and import
  it.each([1, 1024, 125_001, 200_000, SETTING_BOUNDS.memorySize.max])('%i slots', async (size) => {
    const file = syntheticFile(size, Math.min(size, 300), size);
    expect(await st().importText(file)).toBe(true);
    expect(engine.summary().size).toBe(size);
    const before = engine.saved();
    // reload: the autosave into a fresh memory
    const reloaded = await savedNow();
    await engine.clear();
    await engine.restore(reloaded);
    const after = engine.saved();
    expect(after.slots.map((s) => [s.slot, s.label, s.age])).toEqual(before.slots.map((s) => [s.slot, s.label, s.age]));
    expect(after.labels).toEqual(before.labels);
    // export and import again
    const exported = st().exportText();
    expect(await st().importText(exported)).toBe(true);
    expect(engine.saved().slots.map((s) => [s.slot, s.age])).toEqual(before.slots.map((s) => [s.slot, s.age]));
    expect(Array.from(engine.saved().slots[0].key)).toEqual(Array.from(before.slots[0].key));
    // a resize of the same content works at this size too
    await st().applySettings({ memorySize: Math.max(1, size - 1) });
    expect(st().message?.kind).not.toBe('error');
    await st().applySettings({ memorySize: 16 });
  }, 400_000); // 500,000 slots allocate ~0.5 GB of keys per memory: slow on a shared 2-core machine
});

describe('a saved memory that cannot be restored is kept aside, never overwritten', () => {
  it('puts the damaged save aside, tells why, starts empty, and the copy can be downloaded', async () => {
    await st().clearMemory();
    await rememberDrawing(RING, 'ring');
    await flushSave();
    const stored = await readAutosave();
    if (stored.kind !== 'slots') throw new Error('no autosave');
    // damage one key: not of unit length any more
    const bad = stored.slots.map((s) => ({ ...(s as object), key: new Float32Array(engine.keySize).fill(1) }));
    const damaged = { kind: 'slots' as const, meta: stored.meta, slots: bad };
    const r = await restoreSaved(engine, damaged, true);
    expect(r.message?.text).toMatch(/could not be restored \(the autosave is damaged: slots\.0\.key is not of unit length.*kept aside, untouched/);
    expect(r.rescued).not.toBeNull();
    const copy = await readAside(r.rescued!.key);
    expect(copy?.stored).toEqual(damaged);
    const text = JSON.parse(asideToText(copy!));
    expect(text.slots).toHaveLength(1);
    expect(text.labels).toEqual([{ id: 0, name: 'ring' }]);
    // the autosave was reset to the (empty) memory the app now shows
    expect((await savedNow()).slots).toEqual([]);
  });
});

describe('file text goes through the same validation as import', () => {
  it('refuses a file whose label would wrap in an Int32Array', () => {
    const f = JSON.parse(syntheticFile(16, 1, 3));
    f.labels[0].id = 2 ** 32 + 5;
    f.slots[0].label = 2 ** 32 + 5;
    expect(() => fromFileText(JSON.stringify(f), engine.keySize)).toThrow(/labels\.0\.id/);
  });
});

void writeWholeMemory;

describe('honest answers', () => {
  it('below the cut-off: no answer but the best guess; the per-label order starts with V[n1]', async () => {
    await st().clearMemory();
    await st().applySettings({ nearCutoff: 0.45 });
    await rememberDrawing(RING, 'ring');
    await rememberDrawing(CROSS, 'cross');
    const shifted = [RING[0].map((p) => ({ ...p, x: p.x * 0.9 + 20, y: p.y * 1.05 }))];
    const sure = (await engine.predict(strokesToInput(shifted))).prediction;
    expect(sure.name).toBe('ring');
    expect(sure.perLabel[0].label).toBe(sure.guess!.label);
    expect(sure.perLabel.map((l) => l.similarity)).toEqual([...sure.perLabel.map((l) => l.similarity)].sort((a, b) => b - a));
    await st().applySettings({ nearCutoff: 1 });
    const unsure = (await engine.predict(strokesToInput(shifted))).prediction;
    expect(unsure).toMatchObject({ label: null, unknownReason: 'nothing-close', cutoff: 1 });
    expect(unsure.guess?.name).toBe('ring');
    expect(unsure.guess?.similarity).toBeCloseTo(sure.topSimilarity, 5);
    await st().applySettings({ nearCutoff: 0.45 });
  });

  it('flags a near tie ("A or B?") when two labels are about as close', async () => {
    await st().clearMemory();
    await rememberDrawing(RING, 'a');
    await rememberDrawing(RING, 'b'); // the same drawing under another name: a second slot, same key
    await rememberDrawing(CROSS, 'cross');
    const p = (await engine.predict(strokesToInput(RING))).prediction;
    expect(p.rival).not.toBeNull();
    expect(new Set([p.guess!.name, p.rival!.name])).toEqual(new Set(['a', 'b']));
    const c = (await engine.predict(strokesToInput(CROSS))).prediction;
    expect(c.name).toBe('cross');
    expect(c.rival).toBeNull();
  });

  it('a label longer than 80 characters is refused with its length, the memory unchanged', async () => {
    await st().clearMemory();
    expect(await rememberDrawing(RING, 'x'.repeat(261))).toBe(false);
    expect(st().message?.text).toMatch(/at most 80 characters, this one has 261/);
    expect(engine.filled()).toBe(0);
  });
});
