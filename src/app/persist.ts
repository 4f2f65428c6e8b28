/**
 * The saved form of the user's memory: one versioned, validated format for both the IndexedDB
 * autosave and the exported file. Only filled slots are stored (key, label, age, thumbnail).
 * A file that does not validate is refused with a message saying what is wrong; nothing is applied.
 */
import { z } from 'zod';
import { openDB, type IDBPDatabase } from 'idb';
import { DEFAULT_SETTINGS, type Settings } from './types';

export const FILE_FORMAT = 'memory-lab/memory';
export const FILE_VERSION = 1;

/** One stored slot in plain typed arrays. */
export interface SavedSlot {
  slot: number;
  label: number;
  age: number;
  key: Float32Array;
  /** 28x28 bytes, the drawing as the encoder saw it */
  thumb: Uint8Array;
}

export interface SavedMemory {
  settings: Settings;
  size: number;
  keySize: number;
  labels: { id: number; name: string }[];
  slots: SavedSlot[];
}

// ---- base64 of typed arrays (little-endian, as every browser) ----
function bytesToBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}
function base64ToBytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const settingsSchema = z.object({
  memorySize: z.number().int().min(1).max(1 << 20),
  k: z.number().int().min(1),
  t: z.number().positive().finite(),
  alpha: z.number().min(0).finite(),
  ageNoise: z.number().min(0).finite(),
  lookup: z.enum(['exact', 'lsh']),
  backend: z.enum(['auto', 'webgpu', 'webgl', 'wasm']),
});

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64 text');

export const fileSchema = z.object({
  format: z.literal(FILE_FORMAT),
  version: z.literal(FILE_VERSION),
  savedAt: z.string(),
  settings: settingsSchema,
  size: z.number().int().min(1),
  keySize: z.number().int().min(1),
  labels: z.array(z.object({ id: z.number().int().min(0), name: z.string().min(1).max(80) })),
  slots: z.array(
    z.object({
      slot: z.number().int().min(0),
      label: z.number().int().min(0),
      age: z.number().min(0).finite(),
      key: base64,
      thumb: base64,
    }),
  ),
});
export type MemoryFile = z.infer<typeof fileSchema>;

export function toFile(m: SavedMemory): MemoryFile {
  return {
    format: FILE_FORMAT,
    version: FILE_VERSION,
    savedAt: new Date().toISOString(),
    settings: { ...m.settings },
    size: m.size,
    keySize: m.keySize,
    labels: m.labels.map((l) => ({ ...l })),
    slots: m.slots.map((s) => ({
      slot: s.slot,
      label: s.label,
      age: s.age,
      key: bytesToBase64(new Uint8Array(s.key.buffer, s.key.byteOffset, s.key.byteLength)),
      thumb: bytesToBase64(s.thumb),
    })),
  };
}

function issueText(e: z.ZodError): string {
  return e.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'file'}: ${i.message}`)
    .join('; ');
}

/**
 * Validate an unknown value (parsed JSON or an IndexedDB record) and turn it into typed arrays.
 * @param expectedKeySize the encoder's key size; a file of another key size is refused.
 * @throws Error with a message for the user; nothing is changed by this function.
 */
export function fromFile(data: unknown, expectedKeySize: number): SavedMemory {
  if (typeof data !== 'object' || data === null) throw new Error('not a Memory Lab file: expected a JSON object');
  const rec = data as Record<string, unknown>;
  if (rec.format !== FILE_FORMAT) {
    throw new Error(`not a Memory Lab memory file: expected format "${FILE_FORMAT}", got ${JSON.stringify(rec.format ?? null)}`);
  }
  if (rec.version !== FILE_VERSION) {
    throw new Error(`unsupported file version: expected ${FILE_VERSION}, got ${JSON.stringify(rec.version ?? null)}`);
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) throw new Error(`invalid Memory Lab file: ${issueText(parsed.error)}`);
  const f = parsed.data;
  if (f.keySize !== expectedKeySize) {
    throw new Error(`the file holds keys of size ${f.keySize}, but this encoder makes keys of size ${expectedKeySize}`);
  }
  if (f.settings.memorySize !== f.size) {
    throw new Error(`inconsistent file: settings.memorySize ${f.settings.memorySize} but size ${f.size}`);
  }
  const labelIds = new Set<number>();
  const names = new Set<string>();
  for (const l of f.labels) {
    if (labelIds.has(l.id)) throw new Error(`invalid Memory Lab file: label id ${l.id} appears twice`);
    if (names.has(l.name)) throw new Error(`invalid Memory Lab file: label name "${l.name}" appears twice`);
    labelIds.add(l.id);
    names.add(l.name);
  }
  const seen = new Set<number>();
  const slots: SavedSlot[] = f.slots.map((s, i) => {
    if (s.slot >= f.size) throw new Error(`invalid Memory Lab file: slots.${i}.slot ${s.slot} is outside a memory of ${f.size} slots`);
    if (seen.has(s.slot)) throw new Error(`invalid Memory Lab file: slot ${s.slot} appears twice`);
    seen.add(s.slot);
    if (!labelIds.has(s.label)) throw new Error(`invalid Memory Lab file: slots.${i} has label ${s.label}, which is not in labels`);
    const kb = base64ToBytes(s.key);
    if (kb.length !== f.keySize * 4) {
      throw new Error(`invalid Memory Lab file: slots.${i}.key has ${kb.length / 4} floats, expected ${f.keySize}`);
    }
    const key = new Float32Array(kb.buffer, 0, f.keySize);
    let norm = 0;
    for (const v of key) {
      if (!Number.isFinite(v)) throw new Error(`invalid Memory Lab file: slots.${i}.key contains NaN or Inf`);
      norm += v * v;
    }
    if (Math.abs(Math.sqrt(norm) - 1) > 1e-3) {
      throw new Error(`invalid Memory Lab file: slots.${i}.key is not of unit length (norm ${Math.sqrt(norm).toFixed(4)})`);
    }
    const thumb = base64ToBytes(s.thumb);
    if (thumb.length !== 784) throw new Error(`invalid Memory Lab file: slots.${i}.thumb has ${thumb.length} bytes, expected 784 (28x28)`);
    return { slot: s.slot, label: s.label, age: s.age, key, thumb };
  });
  return { settings: { ...DEFAULT_SETTINGS, ...f.settings }, size: f.size, keySize: f.keySize, labels: f.labels, slots };
}

// ---- IndexedDB autosave ----
const DB_NAME = 'memory-lab';
const STORE = 'autosave';
const KEY = 'current';
let dbPromise: Promise<IDBPDatabase> | null = null;

function db(): Promise<IDBPDatabase> {
  dbPromise ??= openDB(DB_NAME, 1, {
    upgrade(d) {
      d.createObjectStore(STORE);
    },
  });
  return dbPromise;
}

export async function saveToIndexedDb(m: SavedMemory): Promise<void> {
  await (await db()).put(STORE, toFile(m), KEY);
}

export async function loadFromIndexedDb(): Promise<unknown | undefined> {
  return (await db()).get(STORE, KEY);
}

export async function clearIndexedDb(): Promise<void> {
  await (await db()).delete(STORE, KEY);
}
