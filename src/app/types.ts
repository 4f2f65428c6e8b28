/** Plain, serialisable data the store holds and the components render (no tensors, no classes). */

export type BackendChoice = 'auto' | 'webgpu' | 'webgl' | 'wasm';
export type LookupMode = 'exact' | 'lsh';

export interface Settings {
  /** number of memory slots */
  memorySize: number;
  /** neighbours per query (capped by the filled slots) */
  k: number;
  /** inverse temperature of the softmax over similarities */
  t: number;
  /** margin of the memory loss */
  alpha: number;
  /** amplitude of the uniform noise added to ages when choosing the oldest slot n' */
  ageNoise: number;
  lookup: LookupMode;
  backend: BackendChoice;
  /**
   * Below this cosine similarity of n1 the answer is "not sure" (with the best guess beside it).
   * Default: the encoder's own (models/encoders.json `nearCutoff`, from scripts/calibrate-near.ts on
   * the background validation alphabets); DEFAULT_SETTINGS.nearCutoff for one without.
   */
  nearCutoff: number;
}

/** Bounds of each setting: the Settings form, the memory file and the autosave all check these. */
export const SETTING_BOUNDS = {
  memorySize: { min: 1, max: 500_000, integer: true },
  k: { min: 1, max: 4096, integer: true },
  t: { min: 0.01, max: 10_000, integer: false },
  alpha: { min: 0, max: 10, integer: false },
  ageNoise: { min: 0, max: 1_000_000, integer: false },
  nearCutoff: { min: 0, max: 1, integer: false },
} as const;
export type BoundedSetting = keyof typeof SETTING_BOUNDS;

/** Largest label id (label ids are stored in Int32 arrays). */
export const MAX_LABEL_ID = 2 ** 31 - 2;
/** Longest label name, in characters. */
export const MAX_LABEL_LENGTH = 80;
/** Largest age a saved slot may have: far above any real use, far below Int32 overflow on later writes. */
export const MAX_AGE = 2 ** 30;

export const DEFAULT_SETTINGS: Settings = {
  memorySize: 1024,
  k: 256,
  t: 40,
  alpha: 0.1,
  ageNoise: 8,
  lookup: 'exact',
  backend: 'auto',
  nearCutoff: 0.45,
};

/** The "not sure" cut-off an encoder starts with: its calibrated one, else the general default. */
export function cutoffOf(encoder: { nearCutoff?: number }): number {
  return encoder.nearCutoff ?? DEFAULT_SETTINGS.nearCutoff;
}

/**
 * The cut-off once the keys are made by encoder `to` instead of one whose calibrated cut-off is
 * `from` (an encoder switch, a restore that re-encodes): `to`'s, unless the user had set their own.
 */
export function cutoffAfterMove(cutoff: number, from: number, to: { nearCutoff?: number }): number {
  return cutoff === from ? cutoffOf(to) : cutoff;
}

/** The settings a new memory starts with (and "Reset to defaults" gives) under an encoder. */
export function defaultSettingsFor(encoder: { nearCutoff?: number }): Settings {
  return { ...DEFAULT_SETTINGS, nearCutoff: cutoffOf(encoder) };
}

export interface LabelInfo {
  id: number;
  name: string;
  /** filled slots holding this label */
  count: number;
}

export interface NeighbourView {
  slot: number;
  label: number;
  name: string;
  similarity: number;
  /** softmax(t * similarity) weight of this neighbour */
  weight: number;
}

export interface PredictionView {
  /** predicted label V[n1], or null when n1 is below the "not sure" cut-off (or the memory is empty) */
  label: number | null;
  name: string | null;
  /** why there is no prediction */
  /** null: recognised; 'no-candidates': in LSH mode no stored drawing shares a bucket with the query (none compared) */
  unknownReason: 'empty-memory' | 'no-candidates' | 'nothing-close' | null;
  /** cosine similarity of n1 */
  topSimilarity: number;
  /** the best guess V[n1] whatever the cut-off (null: empty memory) */
  guess: { label: number; name: string; similarity: number } | null;
  /** the nearest slot of another label when it is about as close as n1 (a near tie: "A or B?") */
  rival: { label: number; name: string; similarity: number } | null;
  /** the cut-off this answer was made with */
  cutoff: number;
  neighbours: NeighbourView[];
  /**
   * per label among the k neighbours: the similarity of its nearest slot (the order, so the first
   * row is always the answer V[n1]) and its softmax weight summed (p)
   */
  perLabel: { label: number; name: string; p: number; similarity: number }[];
  /** the LSH buckets probed by this query, one per hash table (LSH mode; null in exact mode) */
  buckets: LshBucket[] | null;
}

export interface LshBucket {
  table: number;
  /** the query's own bucket: its hash code (one bit per random hyperplane) */
  code: number;
  /** every bucket this table probed, the own one first */
  probed: number[];
  /** bits per code */
  bits: number;
  /** filled slots of the probed buckets: the candidates this table contributed */
  slots: number[];
}

export interface WriteView {
  label: number;
  name: string;
  /** 'update': V[n1] == v, K[n1] averaged, age reset; 'new': written to the oldest slot n' */
  case: 'update' | 'new';
  slot: number;
  /** what the new write replaced in slot n' (null: the slot was empty) */
  /** the drawing the write replaced; lastOfName: it was its name's last drawing (the name went with it) */
  evicted: { label: number; name: string; age: number; lastOfName: boolean } | null;
  /** memory loss [q·K[nb] - q·K[np] + alpha]+ before the write, with np and nb (-1: none) */
  loss: number | null;
  np: number;
  nb: number;
  /** labels of np and nb before the write (-1 / null: none), their ids and their names then */
  npLabel: number;
  nbLabel: number;
  npName: string | null;
  nbName: string | null;
  /** slots whose content changed */
  touched: number[];
}

export interface Latency {
  encodeMs: number | null;
  queryMs: number | null;
  writeMs: number | null;
}

export interface MemorySummary {
  size: number;
  keySize: number;
  filled: number;
  /** per slot: label id, -1 for empty */
  values: Int32Array;
  /** per slot: age */
  ages: Float32Array;
  labels: LabelInfo[];
  /** increases on each change, so views can memoise on it */
  version: number;
  /** which engine finds the neighbours: 'webgpu' (the GPU kernel), 'wasm-simd', 'tfjs-matmul', 'lsh' */
  lookup: string;
}
