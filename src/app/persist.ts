/**
 * The saved form of the user's memory: one versioned, validated format for the exported file, and
 * the same checks for the IndexedDB autosave (src/app/autosave.ts). Only filled slots are stored
 * (key, label, age, thumbnail). A file that does not validate is refused with a message saying what
 * is wrong; nothing is applied. Every number is bounded (label ids fit Int32 arrays, ages cannot
 * overflow on later writes, no label without a slot), so a schema-valid but crafted file cannot
 * break later use.
 */
import { z } from 'zod';
import { encoderEntrySchema, LEGACY_ENCODER, weightsHash, type EncoderEntry } from '../encoder/registry';
import type { KeyShifts } from '../encoder/encoder';
import { hasInk } from './reencode';
import { DEFAULT_SETTINGS, MAX_AGE, MAX_LABEL_ID, MAX_LABEL_LENGTH, SETTING_BOUNDS, type Settings } from './types';

export const FILE_FORMAT = 'memory-lab/memory';
export const FILE_VERSION = 1;
/**
 * The longest memory file, in characters: a file is one JSON text, and the longest string every
 * browser holds is V8's (Chrome, Edge: 536,870,888 UTF-16 units; Firefox's and Safari's are longer).
 * About 280,000 drawings with keys of 128 numbers; a larger memory is kept in this browser only.
 */
export const MAX_FILE_CHARS = 500_000_000;

/** About how many characters a memory's file has: per slot its key's and drawing's bytes in base64 and ~60 of JSON, plus the names. */
export function fileCharsEstimate(slots: number, keySize: number, namesChars = 0): number {
  const base64 = (bytes: number) => 4 * Math.ceil(bytes / 3);
  return 2_000 + slots * (base64(4 * keySize) + base64(28 * 28) + 60) + namesChars;
}

/** Why a memory cannot be written as one file (null: it can). */
export function fileTooLarge(slots: number, keySize: number, namesChars = 0): string | null {
  const chars = fileCharsEstimate(slots, keySize, namesChars);
  if (chars <= MAX_FILE_CHARS) return null;
  const most = Math.floor((MAX_FILE_CHARS - 2_000 - namesChars) / fileCharsEstimate(1, keySize, -2_000));
  return (
    `this memory (${slots.toLocaleString('en')} drawings) is too large for one file: about ${Math.round(chars / 1e6).toLocaleString('en')} million characters, ` +
    `and a browser reads at most ${MAX_FILE_CHARS / 1e6} million as one text (about ${most.toLocaleString('en')} drawings at this key size). ` +
    'It stays kept in this browser; to make a file, make the memory smaller (Settings) or delete names first'
  );
}

/** One stored slot in plain typed arrays. */
export interface SavedSlot {
  slot: number;
  label: number;
  age: number;
  key: Float32Array;
  /** 28x28 bytes, the drawing as the encoder saw it */
  thumb: Uint8Array;
}

/**
 * A slot read from a shared link: its key may be absent (null), to be made from its drawing by the
 * receiving app's encoder (Engine.restore). The sender leaves out only keys that are its drawing's
 * key (a slot written once); a key the update rule averaged travels whole (src/app/share.ts).
 */
export type IncomingSlot = Omit<SavedSlot, 'key'> & { key: Float32Array | null };

export interface SavedMemory<S extends IncomingSlot = SavedSlot> {
  /** the registry name of the encoder that made the keys (absent: LEGACY_ENCODER, src/encoder/registry.ts) */
  encoder?: string;
  /** that encoder's weights (registry `weights`; absent: saved before weights were recorded) */
  weights?: string;
  /** that encoder's test-time shifts (registry `keyShifts`; absent: 0) */
  keyShifts?: KeyShifts;
  /** that encoder's calibrated "not sure" cut-off when saved (a settings.nearCutoff equal to it was not the user's choice) */
  encoderCutoff?: number;
  settings: Settings;
  size: number;
  keySize: number;
  labels: { id: number; name: string }[];
  slots: S[];
  /** the memory's write counter (age = clock - write time); absent in files, where max(age) is used */
  clock?: number;
}

// ---- base64 of typed arrays (little-endian, as every browser) ----
export function bytesToBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}
function base64ToBytes(s: string, what: string): Uint8Array {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new Error(`${what} is not base64 text`);
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    throw new Error(`${what} is not base64 text`);
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const bounded = (k: keyof typeof SETTING_BOUNDS) => {
  const b = SETTING_BOUNDS[k];
  const n = z.number().min(b.min).max(b.max);
  return b.integer ? n.int() : n;
};

export const settingsSchema = z.object({
  memorySize: bounded('memorySize'),
  k: bounded('k'),
  t: bounded('t'),
  alpha: bounded('alpha'),
  ageNoise: bounded('ageNoise'),
  lookup: z.enum(['exact', 'lsh']),
  backend: z.enum(['auto', 'webgpu', 'webgl', 'wasm']),
  nearCutoff: bounded('nearCutoff').optional(),
});

/**
 * Characters that show nothing and join or break nothing a name needs: zero-width space, word
 * joiner, BOM, soft hyphen, the invisible math operators, the Mongolian vowel separator, the
 * combining grapheme joiner, the Hangul fillers and the Braille blank (a name of them looked empty);
 * and the direction embeddings and overrides (U+202A-U+202E: an override shows "nus" as "sun", so two
 * names would look alike). Kept: the joiners, the direction marks and isolates inside a name, and
 * the variation selectors and tags of emoji.
 */
const INVISIBLE = /[\u200b\u2060-\u2064\ufeff\u00ad\u180e\u034f\u115f\u1160\u3164\uffa0\u2800\u202a-\u202e]/g;
/** At a name's ends, also the joiners (kept inside: emoji sequences, Persian and Indic words need them) and the direction marks. */
const INVISIBLE_ENDS = /^[\s\u200c\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069]+|[\s\u200c\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069]+$/g;

/**
 * A typed name as the memory keeps it: Unicode NFC (an accent typed as one character or as two is
 * the same name), no spaces at the ends, and runs of spaces inside made one (on screen "a  b" and
 * "a b" look the same, so they are one name); characters that show nothing (a zero-width space
 * pasted with a name) go, so that "sun" and "sun" followed by one are one name, and a name of them
 * alone is empty. Upper and lower case stay apart ("A" and "a" are different letters in many
 * alphabets).
 */
export function cleanLabelName(name: string): string {
  // NFC last: a removed character may have stood between a letter and its accent
  return name.replace(INVISIBLE, '').replace(INVISIBLE_ENDS, '').replace(/\s+/g, ' ').normalize('NFC');
}

/**
 * The name a typed one stands for among the names held: a held name exactly as typed (an older
 * memory may hold one that cleans to another, or to nothing: cleanNames keeps it), else the typed
 * name cleaned. Engine.labelIdFor files a drawing under it; the name field shows which chip it is.
 */
export function nameToUse(typed: string, held: Iterable<string>): { name: string; held: boolean } {
  for (const n of held) if (n === typed) return { name: n, held: true };
  return { name: cleanLabelName(typed), held: false };
}

/** What is wrong with a label name (null: fine): trimmed, 1..80 characters, no control characters. */
export function labelNameProblem(name: string): string | null {
  if (name.trim() === '') return 'a label needs a name: type one or pick a known label';
  if (name !== name.trim()) return `a label name cannot start or end with spaces ("${name}")`;
  const n = [...name].length;
  if (n > MAX_LABEL_LENGTH) return `a label name has at most ${MAX_LABEL_LENGTH} characters, this one has ${n}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'a label name cannot hold control characters (line breaks, tabs)';
  return null;
}
export const labelNameSchema = z.string().max(4 * MAX_LABEL_LENGTH).superRefine((n, ctx) => {
  const p = labelNameProblem(n);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});
export const labelsSchema = z
  .array(z.object({ id: z.number().int().min(0).max(MAX_LABEL_ID), name: labelNameSchema }))
  .max(SETTING_BOUNDS.memorySize.max);

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64 text');

export const fileSchema = z.object({
  format: z.literal(FILE_FORMAT),
  version: z.literal(FILE_VERSION),
  savedAt: z.string().max(64),
  /** the encoder that made the keys (absent in files saved before encoders were a choice) */
  encoder: encoderEntrySchema.shape.name.optional(),
  /** which weights of that encoder (absent in files saved before they were recorded) */
  encoderWeights: weightsHash.optional(),
  /** the test-time shifts of its keys (registry `keyShifts`; absent: 0) */
  encoderKeyShifts: encoderEntrySchema.shape.keyShifts,
  /** that encoder's calibrated "not sure" cut-off (absent in older files) */
  encoderCutoff: bounded('nearCutoff').optional(),
  settings: settingsSchema,
  size: bounded('memorySize'),
  keySize: z.number().int().min(1).max(4096),
  labels: labelsSchema,
  slots: z
    .array(
      z.object({
        slot: z.number().int().min(0).max(SETTING_BOUNDS.memorySize.max - 1),
        label: z.number().int().min(0).max(MAX_LABEL_ID),
        age: z.number().int().min(0).max(MAX_AGE),
        /** absent only in a shared link's memory: made from the drawing (IncomingSlot) */
        key: base64.max(6 * 4096).optional(),
        thumb: base64.max(1100),
      }),
    )
    .max(SETTING_BOUNDS.memorySize.max),
});
export type MemoryFile = z.infer<typeof fileSchema>;

/** The file of a memory; a slot whose key is null (IncomingSlot: a shared link's) is written without one. */
export function toFile(m: SavedMemory<IncomingSlot>): MemoryFile {
  return {
    format: FILE_FORMAT,
    version: FILE_VERSION,
    savedAt: new Date().toISOString(),
    encoder: m.encoder ?? LEGACY_ENCODER,
    ...(m.weights ? { encoderWeights: m.weights } : {}),
    ...(m.keyShifts ? { encoderKeyShifts: m.keyShifts } : {}),
    ...(m.encoderCutoff !== undefined ? { encoderCutoff: m.encoderCutoff } : {}),
    settings: { ...m.settings },
    size: m.size,
    keySize: m.keySize,
    labels: m.labels.map((l) => ({ ...l })),
    slots: m.slots.map((s) => ({
      slot: s.slot,
      label: s.label,
      age: s.age,
      ...(s.key ? { key: bytesToBase64(new Uint8Array(s.key.buffer, s.key.byteOffset, s.key.byteLength)) } : {}),
      thumb: bytesToBase64(s.thumb),
    })),
  };
}

export function issueText(e: z.ZodError): string {
  return e.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'file'}: ${i.message}`)
    .join('; ');
}

/**
 * The encoder a memory is checked against: its key size alone (a file of another key size is
 * refused), or with its registry name, when a memory made by another encoder is accepted with its
 * own key size (the engine re-encodes it: Engine.restore).
 */
/**
 * The encoder a memory is opened under: its key size, its name and, from the app, its registry entry.
 * With the entry, a memory whose keys are not its current ones (keysAreCurrent: another encoder, other
 * weights or other test-time shifts) is re-encoded from its drawings, so the size of its old keys
 * does not matter (an ensemble of two networks makes 256-number keys where one network made 128).
 */
export type ExpectedEncoder = number | { keySize: number; encoder: string; entry?: EncoderEntry };

/**
 * Whether a saved memory's keys are the encoder in use's: the same name, the same test-time shifts
 * (absent: 0) and, when the registry records the weights, the same weights (a memory saved before
 * they were recorded counts as made by the entry's `unrecordedWeights`).
 */
export function keysAreCurrent(m: Pick<SavedMemory, 'encoder' | 'weights' | 'keyShifts'>, entry: EncoderEntry): { current: boolean; earlierVersion: boolean } {
  if ((m.encoder ?? LEGACY_ENCODER) !== entry.name) return { current: false, earlierVersion: false };
  if ((m.keyShifts ?? 0) !== (entry.keyShifts ?? 0)) return { current: false, earlierVersion: true };
  if (entry.weights === undefined) return { current: true, earlierVersion: false };
  const made = m.weights ?? entry.unrecordedWeights;
  return made === entry.weights ? { current: true, earlierVersion: false } : { current: false, earlierVersion: true };
}

/** The key size a memory made by `made` must have under `expected` (null: any, or the keys are re-made). */
export function keySizeMismatch(expected: ExpectedEncoder, keySize: number, made: Pick<SavedMemory, 'encoder' | 'weights' | 'keyShifts'>): number | null {
  const e = typeof expected === 'number' ? { keySize: expected, encoder: null, entry: undefined } : expected;
  if (e.encoder !== null && (made.encoder ?? LEGACY_ENCODER) !== e.encoder) return null;
  if (e.entry && !keysAreCurrent(made, e.entry).current) return null;
  return keySize !== e.keySize ? e.keySize : null;
}

/**
 * Validate an unknown value (parsed JSON) and turn it into typed arrays.
 * @param expected the encoder's key size (and name: see ExpectedEncoder).
 * @throws Error with a message for the user; nothing is changed by this function.
 */
export function fromFile(data: unknown, expected: ExpectedEncoder, unusedLabels: 'refuse' | 'drop' = 'refuse'): SavedMemory {
  return readFile(data, expected, unusedLabels, false) as SavedMemory;
}

/**
 * A shared link's memory (src/app/share.ts): a memory file whose slots may leave their key out
 * (null: Engine.restore makes it from the slot's drawing, which must then hold ink). Otherwise the
 * same checks as fromFile.
 */
export function fromLinkFile(data: unknown, expected: ExpectedEncoder): SavedMemory<IncomingSlot> {
  return readFile(data, expected, 'refuse', true);
}

function readFile(data: unknown, expected: ExpectedEncoder, unusedLabels: 'refuse' | 'drop', keysMayBeAbsent: boolean): SavedMemory<IncomingSlot> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('not a Memory Lab file: expected a JSON object');
  const rec = data as Record<string, unknown>;
  if (rec.format !== FILE_FORMAT) {
    throw new Error(`not a Memory Lab memory file: expected format "${FILE_FORMAT}", got ${shortJson(rec.format ?? null)}`);
  }
  if (rec.version !== FILE_VERSION) {
    throw new Error(`unsupported file version: expected ${FILE_VERSION}, got ${shortJson(rec.version ?? null)}`);
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) throw new Error(`invalid Memory Lab file: ${issueText(parsed.error)}`);
  const f = parsed.data;
  const want = keySizeMismatch(expected, f.keySize, { encoder: f.encoder, weights: f.encoderWeights, keyShifts: f.encoderKeyShifts });
  if (want !== null) {
    throw new Error(`the file holds keys of size ${f.keySize}, but this encoder makes keys of size ${want}`);
  }
  const slots = f.slots.map((s, i): IncomingSlot => {
    const thumb = base64ToBytes(s.thumb, `invalid Memory Lab file: slots.${i}.thumb`);
    if (s.key === undefined) {
      if (!keysMayBeAbsent) throw new Error(`invalid Memory Lab file: slots.${i}.key is missing`);
      if (!hasInk(thumb)) throw new Error(`invalid Memory Lab link: slots.${i} has no key and a blank drawing, so no key can be made for it`);
      return { slot: s.slot, label: s.label, age: s.age, key: null, thumb };
    }
    const kb = base64ToBytes(s.key, `invalid Memory Lab file: slots.${i}.key`);
    if (kb.length !== f.keySize * 4) {
      throw new Error(`invalid Memory Lab file: slots.${i}.key has ${(kb.length / 4).toFixed(2).replace(/\.00$/, '')} floats, expected ${f.keySize}`);
    }
    const key = new Float32Array(kb.buffer, 0, f.keySize);
    return { slot: s.slot, label: s.label, age: s.age, key, thumb };
  });
  return checkSaved(
    { encoder: f.encoder ?? LEGACY_ENCODER, weights: f.encoderWeights, keyShifts: f.encoderKeyShifts, encoderCutoff: f.encoderCutoff, settings: { ...DEFAULT_SETTINGS, ...f.settings }, size: f.size, keySize: f.keySize, labels: f.labels, slots },
    'invalid Memory Lab file',
    unusedLabels,
  );
}

/** Parse a file's text (JSON) and validate it; every failure is an Error that says what is wrong. */
export function fromFileText(text: string, expected: ExpectedEncoder): SavedMemory {
  return fromFile(parseFileText(text), expected);
}

/** fromLinkFile of a shared link's JSON text (keys may be absent: IncomingSlot). */
export function fromLinkText(text: string, expected: ExpectedEncoder): SavedMemory<IncomingSlot> {
  return fromLinkFile(parseFileText(text), expected);
}

function parseFileText(text: string): unknown {
  if (text.length > MAX_FILE_CHARS) throw new Error(`the file is too large for a memory file (${text.length.toLocaleString('en')} characters; at most ${MAX_FILE_CHARS.toLocaleString('en')})`);
  try {
    return JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message.slice(0, 120) : 'unreadable';
    throw new Error(`the file is not JSON (${detail})`);
  }
}

function shortJson(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = typeof v;
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * The checks a saved memory must pass beyond its schema (file or autosave): consistent sizes,
 * unique slots, label ids and names, every slot's label known and every label held by a slot,
 * unit keys, 28x28 thumbnails. Returns the memory; throws `${what}: ...` otherwise. The app's own
 * autosave passes unusedLabels 'drop' (a stale name is harmless there); a file must be exact.
 */
export function checkSaved<S extends IncomingSlot>(m: SavedMemory<S>, what: string, unusedLabels: 'refuse' | 'drop' = 'refuse'): SavedMemory<S> {
  if (m.settings.memorySize !== m.size) throw new Error(`${what}: settings.memorySize ${m.settings.memorySize} but size ${m.size}`);
  if (m.slots.length > m.size) throw new Error(`${what}: ${m.slots.length} slots in a memory of ${m.size}`);
  const labelIds = new Set<number>();
  const names = new Set<string>();
  for (const l of m.labels) {
    if (labelIds.has(l.id)) throw new Error(`${what}: label id ${l.id} appears twice`);
    if (names.has(l.name)) throw new Error(`${what}: label name "${l.name}" appears twice`);
    labelIds.add(l.id);
    names.add(l.name);
  }
  const seen = new Set<number>();
  const used = new Set<number>();
  m.slots.forEach((s, i) => {
    if (s.slot >= m.size) throw new Error(`${what}: slots.${i}.slot ${s.slot} is outside a memory of ${m.size} slots`);
    if (seen.has(s.slot)) throw new Error(`${what}: slot ${s.slot} appears twice`);
    seen.add(s.slot);
    if (!labelIds.has(s.label)) throw new Error(`${what}: slots.${i} has label ${s.label}, which is not in labels`);
    used.add(s.label);
    if (s.thumb.length !== 784) throw new Error(`${what}: slots.${i}.thumb has ${s.thumb.length} bytes, expected 784 (28x28)`);
    if (s.key === null) return; // a link's slot whose key is made from its drawing (IncomingSlot)
    if (s.key.length !== m.keySize) throw new Error(`${what}: slots.${i}.key has ${s.key.length} floats, expected ${m.keySize}`);
    let norm = 0;
    for (const v of s.key) {
      if (!Number.isFinite(v)) throw new Error(`${what}: slots.${i}.key contains NaN or Inf`);
      norm += v * v;
    }
    if (Math.abs(Math.sqrt(norm) - 1) > 1e-3) {
      throw new Error(`${what}: slots.${i}.key is not of unit length (norm ${Math.sqrt(norm).toFixed(4)})`);
    }
  });
  if (unusedLabels === 'drop') return { ...m, labels: m.labels.filter((l) => used.has(l.id)) };
  for (const l of m.labels) if (!used.has(l.id)) throw new Error(`${what}: label "${l.name}" (id ${l.id}) is held by no slot`);
  return m;
}
