/**
 * The IndexedDB autosave, one record per filled slot: a Remember writes one slot record and the
 * small meta record (labels, settings, the write clock) in one transaction with strict durability,
 * and the app says "remembered" only after that transaction committed. So a write that was shown
 * survives a crash or a reload at any moment, and a write costs the same at 28 or 28,000 slots.
 *
 * Ages are stored as write times (age = clock - time), so a write does not touch the other slots.
 *
 * A saved memory that cannot be restored is never overwritten: it is copied to the 'aside' store
 * first (the user is told and can download it), and only then does autosave resume.
 *
 * One tab writes: a Web Lock names the writer; a second tab opens read-only, follows the writer's
 * changes (BroadcastChannel) and takes over when the writer's tab closes.
 */
import { openDB, type IDBPDatabase } from 'idb';
import { z } from 'zod';
import { encoderEntrySchema, LEGACY_ENCODER, weightsHash } from '../encoder/registry';
import type { KeyShifts } from '../encoder/encoder';
import {
  bytesToBase64,
  checkSaved,
  FILE_FORMAT,
  FILE_VERSION,
  issueText,
  keySizeMismatch,
  labelsSchema,
  settingsSchema,
  type ExpectedEncoder,
  type SavedMemory,
} from './persist';
import { DEFAULT_SETTINGS, MAX_AGE, MAX_LABEL_ID, SETTING_BOUNDS } from './types';

const DB_NAME = 'memory-lab';
/** 3 added ASIDE_INDEX_STORE (the list of copies kept aside reads summaries, not whole copies) */
const DB_VERSION = 3;
/** version 1 kept the whole memory as one file-format record here, under 'current' */
const LEGACY_STORE = 'autosave';
const LEGACY_KEY = 'current';
const META_STORE = 'meta';
const META_KEY = 'current';
const SLOT_STORE = 'slots';
const ASIDE_STORE = 'aside';
/** one AsideIndexEntry per copy in ASIDE_STORE, under the same key, written and deleted with it (indexEntryOf) */
const ASIDE_INDEX_STORE = 'aside-index';
export const AUTOSAVE_FORMAT = 'memory-lab/autosave';
export const AUTOSAVE_VERSION = 2;
const LOCK_NAME = 'memory-lab-writer';
const CHANNEL_NAME = 'memory-lab-changes';

export interface AutosaveMeta {
  format: typeof AUTOSAVE_FORMAT;
  version: typeof AUTOSAVE_VERSION;
  savedAt: string;
  /** the encoder that made the keys (absent in autosaves written before encoders were a choice) */
  encoder?: string;
  /** which weights of that encoder (absent in autosaves written before they were recorded) */
  encoderWeights?: string;
  /** the test-time shifts of its keys (registry `keyShifts`; absent: 0) */
  encoderKeyShifts?: KeyShifts;
  /** that encoder's calibrated "not sure" cut-off (absent in older autosaves) */
  encoderCutoff?: number;
  settings: SavedMemory['settings'];
  size: number;
  keySize: number;
  labels: { id: number; name: string }[];
  /** the memory's write counter: a slot's age is clock - time */
  clock: number;
}

export interface SlotRecord {
  slot: number;
  label: number;
  /** clock value when the slot was last written (age = clock - time) */
  time: number;
  key: Float32Array;
  thumb: Uint8Array;
}

/** What IndexedDB holds, before any validation. */
export type StoredAutosave =
  | { kind: 'none' }
  | { kind: 'slots'; meta: unknown; slots: unknown[] }
  | { kind: 'legacy'; record: unknown };

let dbPromise: Promise<IDBPDatabase> | null = null;
function db(): Promise<IDBPDatabase> {
  dbPromise ??= openDB(DB_NAME, DB_VERSION, {
    async upgrade(d, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) d.createObjectStore(LEGACY_STORE);
      if (oldVersion < 2) {
        d.createObjectStore(META_STORE);
        d.createObjectStore(SLOT_STORE, { keyPath: 'slot' });
        d.createObjectStore(ASIDE_STORE, { autoIncrement: true });
      }
      if (oldVersion < 3) {
        const index = d.createObjectStore(ASIDE_INDEX_STORE);
        // copies kept aside before the index: summarised once, here, in the upgrade's transaction
        for (let cur = await tx.objectStore(ASIDE_STORE).openCursor(); cur; cur = await cur.continue()) {
          await index.put(indexEntryOf(cur.value), cur.key);
        }
      }
    },
    blocking() {
      // another tab upgrades the database: let it (this tab's next write reopens)
      void dbPromise?.then((d) => d.close());
      dbPromise = null;
    },
  }).catch((err) => {
    dbPromise = null;
    throw err;
  });
  return dbPromise;
}

/** Read the autosave as stored (validate with savedFromAutosave / fromFile). */
export async function readAutosave(): Promise<StoredAutosave> {
  const d = await db();
  const tx = d.transaction([META_STORE, SLOT_STORE, LEGACY_STORE], 'readonly');
  const meta = await tx.objectStore(META_STORE).get(META_KEY);
  if (meta !== undefined) {
    const slots = await tx.objectStore(SLOT_STORE).getAll();
    await tx.done;
    return { kind: 'slots', meta, slots };
  }
  const legacy = await tx.objectStore(LEGACY_STORE).get(LEGACY_KEY);
  await tx.done;
  return legacy === undefined ? { kind: 'none' } : { kind: 'legacy', record: legacy };
}

const metaSchema = z.object({
  format: z.literal(AUTOSAVE_FORMAT),
  version: z.literal(AUTOSAVE_VERSION),
  savedAt: z.string(),
  encoder: encoderEntrySchema.shape.name.optional(),
  encoderWeights: weightsHash.optional(),
  encoderKeyShifts: encoderEntrySchema.shape.keyShifts,
  encoderCutoff: settingsSchema.shape.nearCutoff,
  settings: settingsSchema,
  size: z.number().int().min(SETTING_BOUNDS.memorySize.min).max(SETTING_BOUNDS.memorySize.max),
  keySize: z.number().int().min(1).max(4096),
  labels: labelsSchema,
  clock: z.number().int().min(0).max(2 * MAX_AGE),
});
const slotSchema = z.object({
  slot: z.number().int().min(0).max(SETTING_BOUNDS.memorySize.max - 1),
  label: z.number().int().min(0).max(MAX_LABEL_ID),
  time: z.number().int().min(0),
  key: z.instanceof(Float32Array),
  thumb: z.instanceof(Uint8Array),
});

/** Validate stored autosave records and turn them into a SavedMemory; throws saying what is wrong. */
export function savedFromAutosave(meta: unknown, slots: unknown[], expected: ExpectedEncoder): SavedMemory {
  const m = metaSchema.safeParse(meta);
  if (!m.success) throw new Error(`the autosave is damaged: ${issueText(m.error)}`);
  const { clock } = m.data;
  const want = keySizeMismatch(expected, m.data.keySize, { encoder: m.data.encoder, weights: m.data.encoderWeights, keyShifts: m.data.encoderKeyShifts });
  if (want !== null) {
    throw new Error(`the autosave holds keys of size ${m.data.keySize}, but this encoder makes keys of size ${want}`);
  }
  const out = slots.map((raw, i) => {
    const s = slotSchema.safeParse(raw);
    if (!s.success) throw new Error(`the autosave is damaged: slot record ${i}: ${issueText(s.error)}`);
    const age = clock - s.data.time;
    if (age < 0 || age > MAX_AGE) throw new Error(`the autosave is damaged: slot ${s.data.slot} has age ${age}`);
    return { slot: s.data.slot, label: s.data.label, age, key: s.data.key, thumb: s.data.thumb };
  });
  const saved: SavedMemory = {
    encoder: m.data.encoder ?? LEGACY_ENCODER,
    weights: m.data.encoderWeights,
    keyShifts: m.data.encoderKeyShifts,
    encoderCutoff: m.data.encoderCutoff,
    settings: { ...DEFAULT_SETTINGS, ...m.data.settings },
    size: m.data.size,
    keySize: m.data.keySize,
    labels: m.data.labels,
    slots: out,
    clock,
  };
  return checkSaved(saved, 'the autosave is damaged', 'drop');
}

function clockOf(m: SavedMemory): number {
  let c = m.clock ?? 0;
  for (const s of m.slots) if (s.age > c) c = s.age;
  return c;
}

export function metaOf(m: SavedMemory): AutosaveMeta {
  return {
    format: AUTOSAVE_FORMAT,
    version: AUTOSAVE_VERSION,
    savedAt: new Date().toISOString(),
    encoder: m.encoder ?? LEGACY_ENCODER,
    ...(m.weights ? { encoderWeights: m.weights } : {}),
    ...(m.keyShifts ? { encoderKeyShifts: m.keyShifts } : {}),
    ...(m.encoderCutoff !== undefined ? { encoderCutoff: m.encoderCutoff } : {}),
    settings: { ...m.settings },
    size: m.size,
    keySize: m.keySize,
    labels: m.labels.map((l) => ({ ...l })),
    clock: clockOf(m),
  };
}

/** Replace the whole autosave by `m` (import, resize, clear, first save); one transaction. */
export async function writeWholeMemory(m: SavedMemory): Promise<void> {
  const meta = metaOf(m);
  const d = await db();
  const tx = d.transaction([META_STORE, SLOT_STORE, LEGACY_STORE], 'readwrite', { durability: 'strict' });
  const slots = tx.objectStore(SLOT_STORE);
  void slots.clear();
  for (const s of m.slots) {
    void slots.put({ slot: s.slot, label: s.label, time: meta.clock - s.age, key: s.key, thumb: s.thumb } satisfies SlotRecord);
  }
  void tx.objectStore(META_STORE).put(meta, META_KEY);
  void tx.objectStore(LEGACY_STORE).delete(LEGACY_KEY);
  await tx.done;
}

/** A change of a few slots: put `put`, delete `remove`, and the new meta; one transaction. */
export async function writeSlotChange(meta: AutosaveMeta, put: SlotRecord[], remove: number[]): Promise<void> {
  const d = await db();
  const tx = d.transaction([META_STORE, SLOT_STORE], 'readwrite', { durability: 'strict' });
  const slots = tx.objectStore(SLOT_STORE);
  for (const s of remove) void slots.delete(s);
  for (const s of put) void slots.put(s);
  void tx.objectStore(META_STORE).put(meta, META_KEY);
  await tx.done;
}

/** Forget the autosave (the 'aside' copies stay). */
export async function clearAutosave(): Promise<void> {
  const d = await db();
  const tx = d.transaction([META_STORE, SLOT_STORE, LEGACY_STORE], 'readwrite');
  void tx.objectStore(META_STORE).delete(META_KEY);
  void tx.objectStore(SLOT_STORE).clear();
  void tx.objectStore(LEGACY_STORE).delete(LEGACY_KEY);
  await tx.done;
}

export interface AsideCopy {
  /** when it was put aside */
  at: string;
  /** why it could not be restored */
  reason: string;
  stored: StoredAutosave;
}

/** A copy's summary as stored beside it in ASIDE_INDEX_STORE (its key is the copy's). */
type AsideIndexEntry = Omit<AsideSummary, 'key'>;

/** A copy's summary, from whatever its record holds (it may be damaged: that is why it is aside). */
function indexEntryOf(value: unknown): AsideIndexEntry {
  const copy = value as Partial<AsideCopy> | null;
  return {
    at: typeof copy?.at === 'string' ? copy.at : '',
    reason: typeof copy?.reason === 'string' ? copy.reason : 'unknown',
    drawings: copy?.stored ? drawingsOf(copy.stored) : null,
    names: copy?.stored ? namesOf(copy.stored) : undefined,
  };
}

/** The first names a copy holds (to tell copies apart in the list), from whatever its record holds. */
function namesOf(stored: StoredAutosave): string[] | undefined {
  const rec = stored?.kind === 'slots' ? stored.meta : stored?.kind === 'legacy' ? stored.record : null;
  const labels = (rec as { labels?: unknown } | null)?.labels;
  if (!Array.isArray(labels)) return undefined;
  return labels.flatMap((l) => (typeof (l as { name?: unknown })?.name === 'string' ? [(l as { name: string }).name] : [])).slice(0, ASIDE_NAMES + 1);
}
/** names a copy's line shows (one more is kept: there are more) */
export const ASIDE_NAMES = 8;

/** Keep a saved memory that could not be restored (returns its key in the 'aside' store). */
export async function putAside(stored: StoredAutosave, reason: string): Promise<number> {
  const d = await db();
  const copy: AsideCopy = { at: new Date().toISOString(), reason, stored };
  const tx = d.transaction([ASIDE_STORE, ASIDE_INDEX_STORE], 'readwrite', { durability: 'strict' });
  const key = await tx.objectStore(ASIDE_STORE).put(copy);
  void tx.objectStore(ASIDE_INDEX_STORE).put(indexEntryOf(copy), key);
  await tx.done;
  return Number(key);
}

export async function readAside(key: number): Promise<AsideCopy | undefined> {
  return (await db()).get(ASIDE_STORE, key) as Promise<AsideCopy | undefined>;
}

/** A copy put aside, as the list in Labels shows it. */
export interface AsideSummary {
  key: number;
  /** when it was put aside ('' when its record does not say) */
  at: string;
  reason: string;
  /** drawings it holds (null: its records are not readable enough to count) */
  drawings: number | null;
  /** its first names, ASIDE_NAMES and one more when it has more (absent for a copy listed by an older version, or one whose names are not readable) */
  names?: string[];
}

function drawingsOf(stored: StoredAutosave): number | null {
  if (stored?.kind === 'slots') return Array.isArray(stored.slots) ? stored.slots.length : null;
  if (stored?.kind === 'legacy') {
    const slots = (stored.record as { slots?: unknown } | null)?.slots;
    return Array.isArray(slots) ? slots.length : null;
  }
  return null;
}

/**
 * Every copy put aside in this browser, newest first. Reads the copies' keys and their summaries,
 * not the copies (megabytes each); a copy without a summary (none should lack one) is read and
 * summarised then.
 */
export async function listAside(): Promise<AsideSummary[]> {
  const d = await db();
  const tx = d.transaction([ASIDE_STORE, ASIDE_INDEX_STORE], 'readonly');
  const copies = tx.objectStore(ASIDE_STORE);
  const index = tx.objectStore(ASIDE_INDEX_STORE);
  const [keys, indexKeys, entries] = await Promise.all([copies.getAllKeys(), index.getAllKeys(), index.getAll()]);
  // the entries were written by indexEntryOf (putAside, the upgrade), so they are summaries as they are
  const summaries = new Map(indexKeys.map((k, i) => [Number(k), entries[i] as AsideIndexEntry]));
  const out: AsideSummary[] = [];
  for (const k of keys) {
    out.push({ key: Number(k), ...(summaries.get(Number(k)) ?? indexEntryOf(await copies.get(k))) });
  }
  await tx.done;
  return out.reverse();
}

/** Delete one copy put aside (the user asked for it; nothing else removes them). */
export async function deleteAside(key: number): Promise<void> {
  const d = await db();
  const tx = d.transaction([ASIDE_STORE, ASIDE_INDEX_STORE], 'readwrite', { durability: 'strict' });
  if ((await tx.objectStore(ASIDE_STORE).getKey(key)) === undefined) {
    tx.abort();
    await tx.done.catch(() => {});
    throw new Error('that copy is no longer in this browser');
  }
  void tx.objectStore(ASIDE_STORE).delete(key);
  void tx.objectStore(ASIDE_INDEX_STORE).delete(key);
  await tx.done;
}

/** A memory as autosave records (what putAside keeps; asideToText makes it a file). */
export function storedOf(saved: SavedMemory): StoredAutosave {
  const meta = metaOf(saved);
  return { kind: 'slots', meta, slots: saved.slots.map((s) => ({ slot: s.slot, label: s.label, time: meta.clock - s.age, key: s.key, thumb: s.thumb })) };
}

/**
 * The names of a copy kept aside as its drawings hold them: a made-up one ("unnamed 3") for a label
 * id its drawings hold that has none, and no name that no drawing holds. An autosave that an older
 * version left behind a failed save could have both (a deleted or evicted name's drawing, a new
 * name whose drawing was not saved), which made the whole copy refused; so it opens, and a made-up
 * name can be changed. (The app's own restore drops unheld names too: checkSaved 'drop'.)
 */
function labelsAsHeld(labels: unknown, slots: unknown[]): unknown {
  if (!Array.isArray(labels)) return labels;
  const held = new Set(slots.map((r) => (r as Partial<SlotRecord> | null)?.label));
  const out = labels.filter((l) => held.has((l as { id?: number })?.id));
  const ids = new Set(out.map((l) => (l as { id?: unknown })?.id));
  const names = new Set(out.map((l) => (l as { name?: unknown })?.name));
  for (const id of held) {
    if (typeof id !== 'number' || ids.has(id)) continue;
    let name = `unnamed ${id}`;
    for (let n = 2; names.has(name); n++) name = `unnamed ${id} (${n})`;
    ids.add(id);
    names.add(name);
    out.push({ id, name });
  }
  return out;
}

/**
 * A memory file's text for a copy put aside: the file format when its records have that shape,
 * otherwise the records as JSON (typed arrays as base64), so that nothing in it is lost.
 */
export function asideToText(copy: AsideCopy): string {
  const replacer = (_k: string, v: unknown) =>
    v instanceof Float32Array || v instanceof Uint8Array || v instanceof Int32Array
      ? { base64: bytesToBase64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)), type: v.constructor.name }
      : v;
  const st = copy.stored;
  if (st.kind === 'legacy') return JSON.stringify(st.record, replacer);
  if (st.kind === 'slots') {
    const meta = (st.meta ?? {}) as Partial<AutosaveMeta>;
    const clock = typeof meta.clock === 'number' ? meta.clock : 0;
    const file = {
      format: FILE_FORMAT,
      version: FILE_VERSION,
      savedAt: copy.at,
      note: `put aside by Memory Lab: ${copy.reason}`,
      encoder: meta.encoder,
      encoderWeights: meta.encoderWeights,
      encoderKeyShifts: meta.encoderKeyShifts,
      encoderCutoff: meta.encoderCutoff,
      settings: meta.settings,
      size: meta.size,
      keySize: meta.keySize,
      labels: labelsAsHeld(meta.labels, st.slots),
      slots: st.slots.map((r) => {
        const s = (r ?? {}) as Partial<SlotRecord>;
        return {
          slot: s.slot,
          label: s.label,
          age: typeof s.time === 'number' ? clock - s.time : s.time,
          key: s.key instanceof Float32Array ? bytesToBase64(new Uint8Array(s.key.buffer, s.key.byteOffset, s.key.byteLength)) : s.key,
          thumb: s.thumb instanceof Uint8Array ? bytesToBase64(s.thumb) : s.thumb,
        };
      }),
    };
    return JSON.stringify(file, replacer);
  }
  return '{}';
}

// ---- one writer per memory ----

export interface WriterClaim {
  /** this tab may write */
  writer: boolean;
  /** resolves when this tab becomes the writer (the other tab closed, or handed it over); null when it is already */
  turn: Promise<void> | null;
  /** let the memory go (a writer handing it over; a waiting tab leaving the queue): the next waiting tab gets it */
  release: () => void;
}

interface LockManagerLike {
  request(name: string, opts: { ifAvailable?: boolean }, cb: (lock: unknown) => Promise<void>): Promise<void>;
  request(name: string, cb: (lock: unknown) => Promise<void>): Promise<void>;
}

const locksHere = () => (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;

/** Claim the memory for this tab (Web Locks); without Web Locks every tab is a writer. */
export async function claimWriter(): Promise<WriterClaim> {
  const locks = locksHere();
  if (!locks) return { writer: true, turn: null, release: () => {} };
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const got = await new Promise<boolean>((resolve) => {
    void locks.request(LOCK_NAME, { ifAvailable: true }, async (lock) => {
      resolve(lock !== null);
      if (lock !== null) await held; // held until the page goes, or hands the memory over
    });
  });
  if (got) return { writer: true, turn: null, release };
  return waitForWriter();
}

/** Queue for the memory (a read-only tab, or a writer that handed it over): `turn` resolves once this tab holds it. */
export function waitForWriter(): WriterClaim {
  const locks = locksHere();
  if (!locks) return { writer: true, turn: null, release: () => {} };
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const turn = new Promise<void>((resolve) => {
    void locks.request(LOCK_NAME, async () => {
      resolve();
      await held;
    });
  });
  return { writer: false, turn, release };
}

/** The writer's answer to "Use it here": it let the memory go, or kept it (unsaved changes). */
export type HandoverNews = 'handed' | 'kept';

/**
 * Asking the writer tab for the memory ("Use it here" in a read-only tab), hearing such a request
 * (the writer), and the writer's answer ('handed': it let the memory go; 'kept': it could not). The
 * memory itself moves by the lock (the tab that lets it go releases it; the tab first in the queue,
 * the one of the waiting tabs that opened first, gets it) and the autosave.
 */
export function handoverChannel(
  onAsked: () => void,
  onNews: (news: HandoverNews) => void = () => {},
): { ask: () => void; tell: (news: HandoverNews) => void; close: () => void } {
  if (typeof BroadcastChannel === 'undefined') return { ask: () => {}, tell: () => {}, close: () => {} };
  const ch = new BroadcastChannel(HANDOVER_CHANNEL);
  ch.onmessage = (ev) => {
    if (ev.data === 'handover') onAsked();
    else if (ev.data === 'handed' || ev.data === 'kept') onNews(ev.data);
  };
  return { ask: () => ch.postMessage('handover'), tell: (news) => ch.postMessage(news), close: () => ch.close() };
}
const HANDOVER_CHANNEL = 'memory-lab-handover';

/** Tell other tabs that the autosave changed; returns a function to stop listening. */
export function changeChannel(onChange: () => void): { post: () => void; close: () => void } {
  if (typeof BroadcastChannel === 'undefined') return { post: () => {}, close: () => {} };
  const ch = new BroadcastChannel(CHANNEL_NAME);
  ch.onmessage = () => onChange();
  return { post: () => ch.postMessage('changed'), close: () => ch.close() };
}
