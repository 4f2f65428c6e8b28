// The store's encoder choice over a real Engine (Node, WASM) and fake-indexeddb: a switch is saved
// with the encoder that made the keys, bad requests are refused with a message and change nothing,
// and an autosave made by another encoder is re-encoded on restore and saved again.
import 'fake-indexeddb/auto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend';
import { loadEncoderFromDir } from '../../src/encoder/node';
import type { EncoderEntry } from '../../src/encoder';
import { Engine, FALLBACK_ENCODER } from '../../src/app/engine';
import { listAside, readAutosave, savedFromAutosave, writeWholeMemory } from '../../src/app/autosave';
import { attachEngine, flushSave, restoreSaved, useApp } from '../../src/app/store';
import { DEFAULT_SETTINGS } from '../../src/app/types';
import { toFile } from '../../src/app/persist';
import { strokesToInput, type StrokePoint } from '../../src/strokes';
import { encoderVariant } from '../shared/encoderVariant';
import { withWritesRefused } from './storeHarness';

const line = (pts: [number, number][]): StrokePoint[] => pts.map(([x, y], i) => ({ x, y, pressure: 0.5, t: i }));
const RING = [line(Array.from({ length: 25 }, (_, i) => [150 + 90 * Math.cos((i / 24) * 2 * Math.PI), 150 + 90 * Math.sin((i / 24) * 2 * Math.PI)]))];
const CROSS = [line([[40, 150], [260, 150]]), line([[150, 40], [150, 260]])];
const entry = (name: string): EncoderEntry => ({ name, folder: name, objective: 'test', description: `test variant ${name}`, accuracy: null });
const PERMUTED = entry('e2e-permuted');
const BROKEN = entry('e2e-broken');
// the permuted model again, registered with a calibrated "not sure" cut-off of its own
const CALIBRATED: EncoderEntry = { ...PERMUTED, name: 'e2e-calibrated', nearCutoff: 0.7 };

let tmp: string;
let engine: Engine;
const st = () => useApp.getState();

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'memory-lab-encoders-'));
  for (const [e, kind] of [[PERMUTED, 'permuted'], [BROKEN, 'truncated']] as const) {
    const v = encoderVariant(kind);
    mkdirSync(join(tmp, e.folder));
    writeFileSync(join(tmp, e.folder, 'model.json'), v.modelJson);
    writeFileSync(join(tmp, e.folder, 'weights.bin'), v.weights);
  }
  engine = await Engine.start({ ...DEFAULT_SETTINGS, memorySize: 16, ageNoise: 0 }, undefined, {
    startBackend: async (force) => ({ name: (await selectBackend({ force: force ?? 'wasm' })).backend, skipped: [] }),
    loadEncoder: (e) => loadEncoderFromDir(e.folder === FALLBACK_ENCODER.folder ? 'models/omniglot-conv4' : join(tmp, e.folder)),
  });
  attachEngine(engine);
  useApp.setState({ encoders: [FALLBACK_ENCODER, PERMUTED, BROKEN, CALIBRATED] });
  for (const [strokes, name] of [[RING, 'ring'], [CROSS, 'cross']] as const) {
    st().setStrokes(strokes, false);
    useApp.setState({ input: strokesToInput(strokes) });
    expect(await st().remember(name)).toBe(true);
  }
  await flushSave();
});
afterAll(() => {
  engine?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

async function autosaveEncoder(): Promise<unknown> {
  const s = await readAutosave();
  return s.kind === 'slots' ? (s.meta as { encoder?: unknown }).encoder : s.kind;
}

describe('store: the encoder choice', () => {
  it('refuses an unknown encoder, the one in use, and any switch in a read-only tab, changing nothing', async () => {
    expect(await st().switchEncoder('nope')).toBe(false);
    expect(st().message).toMatchObject({ kind: 'error', text: 'encoder not changed: no encoder named "nope" (this app ships "omniglot-conv4", "e2e-permuted", "e2e-broken", "e2e-calibrated")' });
    expect(await st().switchEncoder('omniglot-conv4')).toBe(false);
    expect(st().message?.text).toBe('encoder not changed: "omniglot-conv4" is already in use');
    useApp.setState({ readOnly: true });
    expect(await st().switchEncoder('e2e-permuted')).toBe(false);
    expect(st().message?.text).toMatch(/^encoder not changed: this memory is open in another tab/);
    useApp.setState({ readOnly: false });
    expect(st().encoder).toBe('omniglot-conv4');
    expect(await autosaveEncoder()).toBe('omniglot-conv4');
  });

  it('a model that does not load: an error message, the encoder, memory and autosave stay', async () => {
    const labels = st().summary!.labels;
    expect(await st().switchEncoder('e2e-broken')).toBe(false);
    expect(st().message?.text).toMatch(/^encoder not changed: could not switch to the encoder "e2e-broken": .*Still using "omniglot-conv4"; the memory is unchanged$/);
    expect(st().encoder).toBe('omniglot-conv4');
    expect(st().busy).toBe(false);
    expect(st().encoderSwitch).toBeNull();
    expect(st().summary!.labels).toEqual(labels);
    expect(await autosaveEncoder()).toBe('omniglot-conv4');
  });

  it('a switch re-encodes, says so, and saves the memory with the encoder that made its keys', async () => {
    const labels = st().summary!.labels;
    const seen: unknown[] = [];
    const unsubscribe = useApp.subscribe((s) => s.encoderSwitch && seen.push(s.encoderSwitch));
    expect(await st().switchEncoder('e2e-permuted')).toBe(true);
    unsubscribe();
    expect(seen[0]).toEqual({ phase: 'loading' });
    expect(seen).toContainEqual({ phase: 'encoding', done: 2, total: 2 });
    expect(st().encoder).toBe('e2e-permuted');
    expect(st().message).toMatchObject({ kind: 'info', text: 'now using the encoder "e2e-permuted": 2 drawings re-encoded' });
    expect(st().summary!.labels).toEqual(labels);
    expect(await autosaveEncoder()).toBe('e2e-permuted');
    const s = await readAutosave();
    if (s.kind !== 'slots') throw new Error('expected the autosave');
    const saved = savedFromAutosave(s.meta, s.slots, { keySize: engine.keySize, encoder: 'e2e-permuted' });
    expect(Array.from(saved.slots.flatMap((x) => Array.from(x.key)))).toEqual(Array.from(engine.filledKeys().keys));
  });

  it('an autosave made by another encoder is re-encoded on restore, said, and saved again', async () => {
    // the engine runs e2e-permuted; an autosave written by the bundled encoder comes back
    const legacy = { ...engine.saved(), encoder: 'omniglot-conv4' };
    await writeWholeMemory(legacy);
    const r = await restoreSaved(engine, await readAutosave(), true);
    expect(r.rescued).toBeNull();
    expect(r.message).toMatchObject({ kind: 'info', text: 'This memory was made with the encoder "omniglot-conv4"; it was re-encoded for "e2e-permuted": 2 drawings re-encoded.' });
    expect(await autosaveEncoder()).toBe('e2e-permuted');
    expect(engine.labelList().map((l) => l.name)).toEqual(['ring', 'cross']);
  });
  it('a re-encoded autosave whose save then fails stays on screen, said unsaved, and is saved whole with the next change', async () => {
    const legacy = { ...engine.saved(), encoder: 'omniglot-conv4' };
    await writeWholeMemory(legacy);
    const stored = await readAutosave();
    const r = await withWritesRefused(() => restoreSaved(engine, stored, true));
    // the memory restored is kept (it was wiped and "could not be restored" said before)
    expect(r.rescued).toBeNull();
    expect(engine.labelList().map((l) => l.name)).toEqual(['ring', 'cross']);
    expect(r.message).toMatchObject({ kind: 'warning' });
    expect(r.message!.text).toMatch(/re-encoded for "e2e-permuted": 2 drawings re-encoded\. It is not saved: could not save to IndexedDB \(the disk is full\)\.$/);
    expect(useApp.getState().unsaved).toBe('could not save to IndexedDB (the disk is full)');
    expect(await autosaveEncoder()).toBe('omniglot-conv4'); // the old save is untouched
    // the next change saves the whole memory with the new keys
    await useApp.getState().renameLabel(engine.labelList()[0].id, 'ring 2');
    await flushSave();
    expect(useApp.getState().unsaved).toBeNull();
    expect(await autosaveEncoder()).toBe('e2e-permuted');
    await useApp.getState().renameLabel(engine.labelList()[0].id, 'ring');
    await flushSave();
  });
  it('a memory file another encoder made is re-encoded on import and takes the calibrated cut-off of the encoder in use', async () => {
    // made by the bundled encoder, which kept its own calibrated cut-off
    const file = toFile({ ...engine.saved(), encoder: FALLBACK_ENCODER.name, encoderCutoff: 0.45, settings: { ...engine.settings, nearCutoff: 0.45 } });
    expect(await st().switchEncoder('e2e-calibrated')).toBe(true);
    expect(st().settings.nearCutoff).toBe(0.7);
    expect(st().message?.text).toMatch(/the “not sure” cut-off changed from 0\.45 to 0\.7, the value recommended for this encoder/);
    await st().applySettings({ ...st().settings, nearCutoff: 0.3 });
    expect(await st().importText(JSON.stringify(file))).toBe(true);
    expect(st().settings.nearCutoff).toBe(0.7);
    expect(st().message?.text).toMatch(/re-encoded for "e2e-calibrated": 2 drawings re-encoded; the “not sure” cut-off changed from 0\.45 to 0\.7, the value recommended for this encoder\./);
    // a cut-off its maker's user chose is kept
    const own = toFile({ ...engine.saved(), encoder: FALLBACK_ENCODER.name, encoderCutoff: 0.45, settings: { ...engine.settings, nearCutoff: 0.52 } });
    expect(await st().importText(JSON.stringify(own))).toBe(true);
    expect(st().settings.nearCutoff).toBe(0.52);
    expect(st().message?.text).not.toMatch(/cut-off/);
    // an older file (no recorded maker's cut-off): the registry's value for its maker decides
    const older = JSON.parse(JSON.stringify(file));
    delete older.encoderCutoff;
    older.settings.nearCutoff = 0.45;
    expect(await st().importText(JSON.stringify(older))).toBe(true);
    expect(st().settings.nearCutoff).toBe(0.7);
    // a calibrated maker's memory (0.7) imported under an encoder with none: the general default
    expect(await st().switchEncoder('e2e-permuted')).toBe(true);
    const calibrated = toFile({ ...engine.saved(), encoder: 'e2e-calibrated', encoderCutoff: undefined, settings: { ...engine.settings, nearCutoff: 0.7 } });
    expect(await st().importText(JSON.stringify(calibrated))).toBe(true);
    expect(st().settings.nearCutoff).toBe(0.45);
    expect(st().message?.text).toMatch(/the “not sure” cut-off changed from 0\.7 to 0\.45, the general default/);
  });
  it('a switch that leaves a drawing out keeps the memory as it was aside first, and says so', async () => {
    // a stored drawing with no ink (a file written by a script) cannot be re-encoded
    const was = engine.saved();
    const blank = { ...was, slots: was.slots.map((x, i) => (i === 0 ? { ...x, thumb: new Uint8Array(784) } : x)) };
    await engine.restore(blank);
    useApp.setState({ summary: engine.summary() });
    const before = (await listAside()).length;
    const other = st().encoder === 'e2e-permuted' ? FALLBACK_ENCODER.name : 'e2e-permuted';
    expect(await st().switchEncoder(other)).toBe(true);
    expect(st().message?.kind).toBe('warning');
    expect(st().message?.text).toContain('1 could not be and were left out');
    expect(st().message?.text).toContain('the memory as it was before the switch is kept aside (Labels → Copies kept aside)');
    const copies = await listAside();
    expect(copies.length).toBe(before + 1);
    expect(copies.at(-1)).toMatchObject({ drawings: was.slots.length, reason: expect.stringContaining('the memory before the switch from') });
    expect(engine.filled()).toBe(was.slots.length - 1);
  });
});
