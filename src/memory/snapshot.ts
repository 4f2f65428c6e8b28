/**
 * Versioned snapshot of a memory: keys, values, ages, label names and settings. Arrays may be
 * typed (in-memory / IndexedDB structured clone) or plain number arrays (after JSON).
 */
import { z } from 'zod';

export const SNAPSHOT_FORMAT = 'memory-lab/kv-memory';
export const SNAPSHOT_VERSION = 1;

const floats = z.union([z.instanceof(Float32Array), z.array(z.number())]);
/** Plain arrays are bounded to Int32 (they are copied into Int32Arrays, which would wrap larger values). */
const INT32_MAX = 2 ** 31 - 1;
const labelIds = z.union([z.instanceof(Int32Array), z.array(z.number().int().min(-1).max(INT32_MAX))]);
const ageList = z.union([z.instanceof(Int32Array), z.array(z.number().int().min(0).max(INT32_MAX))]);

export const snapshotSettingsSchema = z.object({
  memorySize: z.number().int().min(1),
  keySize: z.number().int().min(1),
  k: z.number().int().min(1),
  inverseTemperature: z.number().positive(),
  alpha: z.number().min(0),
  ageNoise: z.number().min(0),
  seed: z.number().int().min(0),
  lookup: z.enum(['exact', 'lsh']),
  lsh: z.object({ tables: z.number().int().min(1), bits: z.number().int().min(1).max(30), seed: z.number().int().min(0), planes: z.number().int().min(1), probes: z.number().int().min(1).max(1024).optional(), minHits: z.number().int().min(1).max(255).optional() }),
});

export const memorySnapshotSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  version: z.literal(SNAPSHOT_VERSION),
  settings: snapshotSettingsSchema,
  /** [memorySize * keySize] row-major; rows of empty slots are zeros. */
  keys: floats,
  /** [memorySize] label ids, -1 for an empty slot. */
  values: labelIds,
  /** [memorySize] ages (0 for empty slots). */
  ages: ageList,
  /** Writes applied so far (the age-noise counter). */
  writeCount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Label id (decimal string) -> display name. */
  labelNames: z.record(z.string().regex(/^\d+$/), z.string()),
});

export type MemorySnapshot = z.infer<typeof memorySnapshotSchema>;
export type SnapshotSettings = z.infer<typeof snapshotSettingsSchema>;

/** Parse and validate; throws an Error listing what is wrong. */
export function parseSnapshot(input: unknown): MemorySnapshot {
  const r = memorySnapshotSchema.safeParse(input);
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`expected a memory snapshot (format ${SNAPSHOT_FORMAT} v${SNAPSHOT_VERSION}), got an invalid one: ${detail}`);
  }
  return r.data;
}
