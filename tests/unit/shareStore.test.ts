// Opening a shared memory link through the store (src/app/store/shareSlice.ts) over a real Engine
// (Node, WASM backend, bundled encoder) and IndexedDB (fake-indexeddb): a bad link changes nothing
// and says why; a good one waits for the user; "keep mine" changes nothing; "open" keeps the
// user's memory aside first (downloadable, can be brought back) and goes through the import path.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listAside, readAutosave, savedFromAutosave } from '../../src/app/autosave';
import { fromFileText } from '../../src/app/persist';
import { fileTextOfPayload, payloadOfFileText, payloadOfHash, sharedMemoryOfPayload, shareLinkOf } from '../../src/app/share';
import type { Encoder } from '../../src/encoder';
import { KEY_FROM_DRAWING_TOLERANCE, type Engine } from '../../src/app/engine';
import { useApp } from '../../src/app/store';
import { CROSS, RING, startStoreEngine, line } from './storeHarness';
import { inputToThumbnail, strokesToInput, type StrokePoint } from '../../src/strokes';
import { thumbToInput } from '../../src/app/reencode';
import { keyShiftsOf, loadEncoderFromDir } from '../../src/encoder/node';
import { mulberry32 } from '../../src/memory/random';

const VEE = [line([[50, 50], [150, 250], [250, 50]])];

let engine: Engine;
const st = () => useApp.getState();

beforeAll(async () => {
  engine = await startStoreEngine(true);
});
afterAll(() => engine.dispose());

async function remember(strokes: StrokePoint[][], name: string) {
  st().setStrokes(strokes, false);
  useApp.setState({ input: strokesToInput(strokes) });
  expect(await st().remember(name)).toBe(true);
}
const names = () => (st().summary?.labels ?? []).map((l) => l.name).sort();
async function autosavedNames() {
  const s = await readAutosave();
  if (s.kind !== 'slots') throw new Error(s.kind);
  const m = savedFromAutosave(s.meta, s.slots, engine.keySize);
  return m.labels.map((l) => l.name).sort();
}

describe('opening a shared memory link', () => {
  let sharedHash = '';
  let sharedFile = '';

  it('the sender makes a link of its memory', async () => {
    await st().clearMemory();
    await remember(RING, 'ring');
    await remember(CROSS, 'cross');
    sharedFile = st().exportText();
    const link = shareLinkOf(sharedFile, 'http://localhost/');
    expect(link.kind).toBe('link');
    sharedHash = new URL((link as { url: string }).url).hash;
  });

  it('a damaged link is refused with a message; the memory and its autosave are unchanged', async () => {
    await st().clearMemory();
    await remember(VEE, 'vee');
    const before = JSON.stringify(engine.saved());
    const cut = sharedHash.slice(0, Math.floor(sharedHash.length / 2));
    expect(st().checkSharedLink(cut)).toBe(false);
    expect(st().incoming).toBeNull();
    expect(st().message?.kind).toBe('error');
    expect(st().message?.text).toMatch(/^The shared memory link could not be opened, your memory is unchanged: the link is damaged or was cut short/);
    expect(JSON.stringify(engine.saved())).toBe(before);
    expect(await autosavedNames()).toEqual(['vee']);
    // a view name is no link: nothing happens
    expect(st().checkSharedLink('#memory')).toBe(false);
  });

  it('a good link waits for the user, saying what it holds; "keep mine" changes nothing', async () => {
    expect(st().checkSharedLink(sharedHash)).toBe(true);
    const inc = st().incoming!;
    expect(inc.drawings).toBe(2);
    expect(inc.labels.sort()).toEqual(['cross', 'ring']);
    expect(inc.encoder).toBe(engine.encoderEntry.name);
    expect(inc.reencode).toBe(false);
    expect(inc.mine).toBe(1);
    expect(names()).toEqual(['vee']); // nothing applied yet
    st().keepMine();
    expect(st().incoming).toBeNull();
    expect(names()).toEqual(['vee']);
    expect(await autosavedNames()).toEqual(['vee']);
  });

  it('"open" puts the user\'s memory aside, then imports the shared one (saved); "bring it back" restores it', async () => {
    const mine = engine.saved();
    expect(st().checkSharedLink(sharedHash)).toBe(true);
    expect(await st().openIncoming()).toBe(true);
    expect(st().incoming).toBeNull();
    expect(st().message?.text).toMatch(/^shared memory opened: 2 drawings, 2 labels/);
    expect(names()).toEqual(['cross', 'ring']);
    expect(await autosavedNames()).toEqual(['cross', 'ring']);
    // the same memory as the sender's, key for key
    const sent = fromFileText(sharedFile, engine.keySize);
    expect(engine.saved().slots.map((s) => Array.from(s.key))).toEqual(sent.slots.map((s) => Array.from(s.key)));
    // the earlier memory is kept aside, as a file with its drawing
    expect(st().previous?.drawings).toBe(1);
    const kept = fromFileText(await st().previousText(), engine.keySize);
    expect(kept.labels.map((l) => l.name)).toEqual(['vee']);
    expect(Array.from(kept.slots[0].key)).toEqual(Array.from(mine.slots[0].key));
    expect(Array.from(kept.slots[0].thumb)).toEqual(Array.from(mine.slots[0].thumb));
    // and comes back
    expect(await st().restorePrevious()).toBe(true);
    expect(st().message?.text).toMatch(/^your earlier memory is back: 1 drawing, 1 label($|[^s])/);
    expect(names()).toEqual(['vee']);
    expect(await autosavedNames()).toEqual(['vee']);
    // the shared memory it replaced is kept aside in turn, and offered back
    expect(st().previous).toMatchObject({ drawings: 2 });
    await st().refreshAside();
    expect(st().asideCopies![0]).toMatchObject({ key: st().previous!.key, drawings: 2, reason: 'replaced by your earlier memory (brought back)' });
    expect(fromFileText(await st().previousText(), engine.keySize).labels.map((l) => l.name).sort()).toEqual(['cross', 'ring']);
  });

  it('a link made with another encoder says so, and opening it re-encodes the drawings (as an import does)', async () => {
    const file = JSON.parse(sharedFile) as { encoder: string; keySize: number; slots: { key: string }[] };
    file.encoder = 'an-encoder-this-device-lacks';
    // its keys are of another size: only the drawings can be used here
    file.keySize = 4;
    for (const s of file.slots) s.key = Buffer.from(new Float32Array([0.5, 0.5, 0.5, 0.5]).buffer).toString('base64');
    const hash = new URL((shareLinkOf(JSON.stringify(file), 'http://localhost/') as { url: string }).url).hash;
    expect(st().checkSharedLink(hash)).toBe(true);
    expect(st().incoming?.encoder).toBe('an-encoder-this-device-lacks');
    expect(st().incoming?.reencode).toBe(true);
    expect(await st().openIncoming()).toBe(true);
    expect(st().message?.text).toMatch(
      new RegExp(`^shared memory opened: 2 drawings, 2 labels\\. This memory was made with the encoder "an-encoder-this-device-lacks"; it was re-encoded for "${engine.encoderEntry.name}": 2 drawings re-encoded`),
    );
    expect(names()).toEqual(['cross', 'ring']);
    expect(engine.saved().slots.every((s) => s.key.length === engine.keySize)).toBe(true);
    expect(await st().restorePrevious()).toBe(true);
    expect(names()).toEqual(['vee']);
  });

  it('a read-only tab (another tab keeps the memory) does not open it, and says why', async () => {
    expect(st().checkSharedLink(sharedHash)).toBe(true);
    useApp.setState({ readOnly: true });
    try {
      expect(await st().openIncoming()).toBe(false);
      expect(st().message?.text).toMatch(/^the shared memory was not opened: this memory is open in another tab/);
      expect(names()).toEqual(['vee']);
    } finally {
      useApp.setState({ readOnly: false });
      st().keepMine();
    }
  });

  it('importing a file keeps the memory it replaces aside (bring it back); a bad file changes nothing and keeps no copy', async () => {
    useApp.setState({ previous: null }); // no notice left by the tests before, as on a new page
    expect(names()).toEqual(['vee']);
    expect(await st().importKeepingMine('{"not": "a memory file"}', 'file')).toBe(false);
    expect(st().message?.text).toMatch(/^import refused, the memory is unchanged/);
    expect(st().previous).toBeNull();
    expect(names()).toEqual(['vee']);
    expect(await st().importKeepingMine(sharedFile, 'file')).toBe(true);
    expect(st().message?.text).toMatch(/^memory imported: 2 drawings/);
    expect(names()).toEqual(['cross', 'ring']);
    expect(st().previous?.drawings).toBe(1);
    expect(await st().restorePrevious()).toBe(true);
    expect(names()).toEqual(['vee']);
    expect(await autosavedNames()).toEqual(['vee']);
    expect(st().previous?.drawings).toBe(2); // the imported memory, kept aside in turn
  });
});

describe('copies kept aside: listed, downloaded, opened again, deleted on the user\'s word', () => {
  it('each import that replaces a memory adds a copy; the list is newest first with its drawings and reason', async () => {
    await st().clearMemory();
    await remember(RING, 'ring');
    await remember(CROSS, 'cross');
    const mine = st().exportText();
    const before = (await listAside()).length;
    await remember(VEE, 'vee'); // 3 drawings now
    expect(await st().importKeepingMine(mine, 'file')).toBe(true); // the 3-drawing memory goes aside
    await st().refreshAside();
    const copies = st().asideCopies!;
    expect(copies.length).toBe(before + 1);
    expect(copies.map((c) => c.key)).toEqual(copies.map((c) => c.key).sort((a, b) => b - a)); // newest first
    expect(copies[0]).toMatchObject({ drawings: 3, reason: 'replaced by an imported file' });
    expect(st().previous?.key).toBe(copies[0].key);
    const file = fromFileText(await st().asideText(copies[0].key), engine.keySize);
    expect(file.labels.map((l) => l.name).sort()).toEqual(['cross', 'ring', 'vee']);
  });

  it('open brings a copy back, the memory it replaces kept aside in turn', async () => {
    const key = st().asideCopies![0].key;
    const n = st().asideCopies!.length;
    expect(await st().openAside(key)).toBe(true);
    expect(names()).toEqual(['cross', 'ring', 'vee']);
    expect(await autosavedNames()).toEqual(['cross', 'ring', 'vee']);
    await st().refreshAside();
    expect(st().asideCopies!.length).toBe(n + 1); // the 2-drawing memory it replaced
    expect(st().asideCopies![0].drawings).toBe(2);
    expect(st().asideCopies![0].reason).toBe('replaced by a copy kept aside');
    expect(st().message?.text).toMatch(/^copy kept aside opened: 3 drawings/);
  });

  it('delete removes exactly that copy, forgets a notice that offered it, and a second delete is a clear error', async () => {
    const [newest, ...rest] = st().asideCopies!;
    // a read-only tab (the memory is open in another one) deletes nothing
    useApp.setState({ readOnly: true });
    expect(await st().deleteAsideCopy(newest.key)).toBe(false);
    expect(st().message?.text).toMatch(/^the copy kept aside was not deleted: this memory is open in another tab/);
    useApp.setState({ readOnly: false });
    expect((await listAside()).map((c) => c.key)).toContain(newest.key);
    useApp.setState({ previous: { key: newest.key, drawings: 2 } });
    const memoryBefore = JSON.stringify(engine.saved());
    expect(await st().deleteAsideCopy(newest.key)).toBe(true);
    expect(st().previous).toBeNull();
    expect(st().asideCopies!.map((c) => c.key)).toEqual(rest.map((c) => c.key));
    expect(st().message?.text).toBe('the copy kept aside was deleted from this browser');
    expect(await st().deleteAsideCopy(newest.key)).toBe(false);
    expect(st().message).toMatchObject({ kind: 'error', text: 'the copy kept aside was not deleted: that copy is no longer in this browser' });
    await expect(st().asideText(newest.key)).rejects.toThrow(/no longer in this browser/);
    expect(await st().openAside(newest.key)).toBe(false);
    expect(st().message?.text).toMatch(/could not be opened: that copy is no longer in this browser/);
    expect(JSON.stringify(engine.saved())).toBe(memoryBefore); // the memory itself never changed
    expect(st().asideCopies!.map((c) => c.key)).toEqual(rest.map((c) => c.key));
  });

  it('an import that fails after the copy was made, leaving the memory as it was, leaves no "replaced by" copy', async () => {
    const text = st().exportText();
    const copiesBefore = (await listAside()).map((c) => c.key);
    const memoryBefore = JSON.stringify(engine.saved());
    const previousBefore = st().previous;
    // the engine fails to take the file in (e.g. out of memory), after the memory was kept aside
    const restore = engine.restore;
    engine.restore = async () => {
      throw new Error('out of memory');
    };
    try {
      expect(await st().importKeepingMine(text, 'file')).toBe(false);
    } finally {
      engine.restore = restore;
    }
    expect(st().message?.text).toMatch(/out of memory/);
    expect(JSON.stringify(engine.saved())).toBe(memoryBefore);
    expect((await listAside()).map((c) => c.key)).toEqual(copiesBefore);
    expect(st().previous).toEqual(previousBefore);
  });
});

describe('a link leaves out the keys the other device makes again from their drawings', () => {
  const RING_AGAIN = [line(Array.from({ length: 25 }, (_, i) => [158 + 84 * Math.cos((i / 24) * 2 * Math.PI), 146 + 92 * Math.sin((i / 24) * 2 * Math.PI)]))];
  const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

  it('a slot written once travels as its drawing; a key the update rule averaged travels whole; the receiver gets the same memory', async () => {
    await st().clearMemory();
    await remember(CROSS, 'cross');
    await remember(RING, 'ring');
    await remember(RING_AGAIN, 'ring');
    expect(st().lastWrite?.case).toBe('update'); // the ring's slot now holds normalize(q + K[n1])
    const sender = engine.saved();
    const slotOf = (name: string) => sender.slots.find((s) => s.label === sender.labels.find((l) => l.name === name)!.id)!;
    const { keyless } = await engine.shareable();
    expect([...keyless]).toEqual([slotOf('cross').slot]);

    const link = await st().makeShareLink('http://localhost/');
    const whole = shareLinkOf(engine.fileText(), 'http://localhost/');
    if (link.kind !== 'link' || whole.kind !== 'link') throw new Error('expected links');
    console.log(`link: ${link.chars} characters; with every key: ${whole.chars}`);
    expect(whole.chars - link.chars).toBeGreaterThan(500); // one 128-number key: ~680 characters

    await st().clearMemory();
    await remember(VEE, 'vee');
    expect(st().checkSharedLink(new URL(link.url).hash)).toBe(true);
    // the link holds the cross's drawing without its key
    expect(sharedMemoryOfPayload(payloadOfHash(new URL(link.url).hash)!, engine.keySize).saved.slots.map((s) => s.key === null)).toEqual(sender.slots.map((s) => s.slot === slotOf('cross').slot));
    expect(await st().openIncoming()).toBe(true);
    expect(st().message?.text).toMatch(/^shared memory opened: 2 drawings, 2 labels/);
    const got = engine.saved();
    expect(got.slots.map((s) => [s.slot, s.label, s.age])).toEqual(sender.slots.map((s) => [s.slot, s.label, s.age]));
    const gotSlot = (slot: number) => got.slots.find((s) => s.slot === slot)!;
    expect(Array.from(gotSlot(slotOf('ring').slot).key)).toEqual(Array.from(slotOf('ring').key));
    expect(cos(gotSlot(slotOf('cross').slot).key, slotOf('cross').key)).toBeGreaterThan(1 - KEY_FROM_DRAWING_TOLERANCE);
    // and recognises as the sender does
    expect((await engine.predict(strokesToInput(RING))).prediction.guess?.name).toBe('ring');
    expect((await engine.predict(strokesToInput(CROSS))).prediction.guess?.name).toBe('cross');
    expect(await st().restorePrevious()).toBe(true);
    expect(names()).toEqual(['vee']);
    sharedLink = link.url;
  });

  let sharedLink = '';
  const encoderOf = () => (engine as unknown as { encoder: Encoder }).encoder;

  it('a key that cannot be made from its drawing refuses the link whole, before anything is put aside', async () => {
    const before = JSON.stringify(engine.saved());
    await st().refreshAside();
    const copies = st().asideCopies!.length;
    const spy = vi.spyOn(encoderOf(), 'encode').mockImplementation(async (x) => new Float32Array(((x as Float32Array).length / 784) * engine.keySize).fill(Number.NaN));
    try {
      expect(st().checkSharedLink(new URL(sharedLink).hash)).toBe(true);
      expect(await st().openIncoming()).toBe(false);
    } finally {
      spy.mockRestore();
    }
    expect(st().message?.text).toMatch(/^the shared memory was not opened, your memory is unchanged: the key of slot \d+ could not be made from its drawing \(the encoder gave no valid key/);
    expect(JSON.stringify(engine.saved())).toBe(before);
    await st().refreshAside();
    expect(st().asideCopies!.length).toBe(copies); // no copy of a memory that was never replaced
    st().keepMine();
  });

  it('a link with keys left out, opened where another encoder is in use: every drawing is encoded again', async () => {
    const text = fileTextOfPayload(payloadOfHash(new URL(sharedLink).hash)!);
    const file = JSON.parse(text) as { encoder: string; slots: { key?: string }[] };
    expect(file.slots.some((s) => s.key === undefined)).toBe(true);
    file.encoder = 'an-encoder-this-device-lacks';
    const hash = `#memory=${payloadOfFileText(JSON.stringify(file), true)}`;
    expect(st().checkSharedLink(hash)).toBe(true);
    expect(st().incoming?.reencode).toBe(true);
    expect(await st().openIncoming()).toBe(true);
    expect(st().message?.text).toMatch(/^shared memory opened: 2 drawings, 2 labels\. This memory was made with the encoder "an-encoder-this-device-lacks"; it was re-encoded .*2 drawings re-encoded/);
    expect(engine.saved().slots.every((s) => s.key.length === engine.keySize)).toBe(true);
    expect(await st().restorePrevious()).toBe(true);
    expect(names()).toEqual(['vee']);
  });
});

describe('a memory too large for a link even without its keys', () => {
  it('is not encoded again: shareable asks first, with every drawn slot, and keeps every key', async () => {
    let asked: number[] = [];
    const spy = vi.spyOn((engine as unknown as { encoder: Encoder }).encoder, 'encode');
    try {
      const r = await engine.shareable((text) => {
        const file = JSON.parse(text) as { slots: { slot: number; key?: string }[] };
        asked = file.slots.filter((s) => s.key === undefined).map((s) => s.slot);
        expect(file.slots.length).toBe(engine.saved().slots.length);
        return false;
      });
      expect(r.keyless.size).toBe(0);
      expect(spy).not.toHaveBeenCalled();
      // asked yes: the same memory is encoded again
      expect((await engine.shareable(() => true)).keyless.size).toBeGreaterThan(0);
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    expect(asked.sort((a, b) => a - b)).toEqual(engine.saved().slots.map((s) => s.slot).sort((a, b) => a - b));
    expect(asked.length).toBeGreaterThan(0);
  });
});

describe('the bundled encoder gives a slot written once its key back from the stored drawing', () => {
  it('to within KEY_FROM_DRAWING_TOLERANCE, for drawings of every kind (the links leave those keys out)', async () => {
    const enc = await loadEncoderFromDir('models/omniglot-conv4-memory', { keyShifts: keyShiftsOf('models/omniglot-conv4-memory', 'models/encoders.json') });
    try {
      const rnd = mulberry32(3);
      const scribble = () => [line(Array.from({ length: 12 }, () => [20 + 260 * rnd(), 20 + 260 * rnd()] as [number, number]))];
      const drawings = [RING, CROSS, VEE, ...Array.from({ length: 20 }, scribble)];
      let worst = 1;
      for (const d of drawings) {
        const input = strokesToInput(d);
        const key = await enc.encode(input);
        const again = await enc.encode(thumbToInput(inputToThumbnail(input)));
        worst = Math.min(worst, key.reduce((s, v, i) => s + v * again[i], 0));
      }
      console.log(`bundled encoder, ${drawings.length} drawings: worst 1 - cosine = ${(1 - worst).toExponential(2)}`);
      expect(1 - worst).toBeLessThan(KEY_FROM_DRAWING_TOLERANCE);
    } finally {
      enc.dispose();
    }
  });
});
