/** Memory settings: defaults (the paper's), validation, and the reference code's temperature. */

export type LookupKind = 'exact' | 'lsh';
/**
 * Where the exact lookup keeps the key matrix:
 * - 'simd': only in the CPU mirror, which lives in the memory of a small WebAssembly SIMD kernel
 *   that scans it (see simdScan.ts); a write costs O(keySize). Needs keySize % 4 == 0.
 * - 'in-place': one [memorySize, keySize] tensor whose rows are written straight into the
 *   backend's buffer (wasm heap / cpu array); a write costs O(keySize). wasm and cpu only.
 * - 'blocked': the key matrix as fixed-size block tensors; a write rebuilds only its block
 *   (O(blockRows x keySize)). Works on every backend (webgpu, webgl).
 * - 'webgpu': in GPU storage buffers of tfjs-backend-webgpu's device, written row by row, searched
 *   by a WGSL top-k kernel through queryAsync (webgpuLookup.ts); the synchronous calls (write's
 *   n1, loss, query) scan the CPU mirror with the SIMD kernel. Needs the webgpu backend, SIMD and
 *   keySize % 4 == 0.
 * - 'auto': 'webgpu' on the webgpu backend, 'simd' on wasm and cpu (measured fastest on wasm, see
 *   bench/memory-results.md), when available; else 'in-place' on wasm/cpu, 'blocked' on WebGL.
 */
export type KeyStorage = 'auto' | 'simd' | 'in-place' | 'blocked' | 'webgpu';

export interface LshSettings {
  /** Number of hash tables L. */
  tables: number;
  /** Random hyperplanes (bits) per table. */
  bits: number;
  /** Size of the hyperplane pool the tables draw their bits from (tables * bits, the default: all independent). */
  planes: number;
  /** Buckets probed per table on average (1: only the query's own bucket; see lsh.ts, multi-probe). */
  probes: number;
  /** A slot is a candidate when at least this many probed buckets hold it (1: the union; at most 255; see lsh.ts, collision counting). */
  minHits: number;
  /** Seed of the hyperplanes. */
  seed: number;
}

export interface MemorySettings {
  memorySize: number;
  keySize: number;
  /** Neighbours returned by a query (capped by the number of filled slots). */
  k: number;
  /** Inverse temperature t of softmax(t * similarities). */
  inverseTemperature: number;
  /** Margin alpha of the memory loss. */
  alpha: number;
  /** Amplitude of the age noise r ~ U[0, ageNoise) used to pick the oldest slot. */
  ageNoise: number;
  /** Seed of the age noise. */
  seed: number;
  lookup: LookupKind;
  lsh: LshSettings;
  storage: KeyStorage;
  /** Rows per block for 'blocked' key storage. */
  blockRows: number;
}

export type MemoryConfig = Partial<Omit<MemorySettings, 'lsh'>> & {
  memorySize: number;
  lsh?: Partial<LshSettings>;
};

/**
 * The reference implementation (tensorflow/models, learning_to_remember_rare_events/memory.py)
 * sets the softmax inverse temperature to max(1, ln(0.2 k) / alpha); for k = 256, alpha = 0.1 that
 * is 39.4; our default is t = 40.
 */
export function referenceInverseTemperature(k: number, alpha: number): number {
  return Math.max(1, Math.log(0.2 * k) / alpha);
}

/**
 * Default LSH bits per table: about 64 keys per bucket (2^bits ~ memorySize / 64), between 4 and
 * 20 bits. With the default multi-probe (32 probes per table, candidates in >= 2 probed buckets)
 * this measured, at 500k slots on new members of stored clusters, recall@1 0.995 at 8.1x
 * faster than the exact scan, where one bit more gave 0.975 at 12.2x (bench/lsh-results.md).
 */
export function defaultLshBits(memorySize: number): number {
  return Math.max(4, Math.min(20, Math.round(Math.log2(Math.max(1, memorySize / 64)))));
}

/** Default hyperplane pool: tables * bits, every table its own planes (independent tables). */
export function defaultLshPlanes(tables: number, bits: number): number {
  return tables * bits;
}

export const DEFAULTS = {
  keySize: 128,
  k: 256,
  inverseTemperature: 40,
  alpha: 0.1,
  ageNoise: 8,
  seed: 0,
  lookup: 'exact' as LookupKind,
  lshTables: 32,
  lshProbes: 32,
  lshMinHits: 2,
  storage: 'auto' as KeyStorage,
  blockRows: 4096,
};

function checkInt(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new Error(`expected ${name} to be an integer ${range}, got ${String(v)}`);
  }
  return v;
}

function checkNumber(name: string, v: unknown, min: number, exclusive: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (exclusive ? v <= min : v < min)) {
    throw new Error(`expected ${name} to be a finite number ${exclusive ? '>' : '>='} ${min}, got ${String(v)}`);
  }
  return v;
}

/** Fill in defaults and validate; throws an Error naming the bad field, what was expected and what came. */
export function resolveSettings(config: MemoryConfig): MemorySettings {
  if (config === null || typeof config !== 'object') {
    throw new Error(`expected a memory config object, got ${String(config)}`);
  }
  const memorySize = checkInt('memorySize', config.memorySize, 1, 2 ** 31 - 1);
  const keySize = checkInt('keySize', config.keySize ?? DEFAULTS.keySize, 1, 65536);
  const k = checkInt('k', config.k ?? DEFAULTS.k, 1);
  const inverseTemperature = checkNumber('inverseTemperature', config.inverseTemperature ?? DEFAULTS.inverseTemperature, 0, true);
  const alpha = checkNumber('alpha', config.alpha ?? DEFAULTS.alpha, 0, false);
  const ageNoise = checkNumber('ageNoise', config.ageNoise ?? DEFAULTS.ageNoise, 0, false);
  const seed = checkInt('seed', config.seed ?? DEFAULTS.seed, 0, 2 ** 32 - 1);
  const lookup = config.lookup ?? DEFAULTS.lookup;
  if (lookup !== 'exact' && lookup !== 'lsh') throw new Error(`expected lookup 'exact' or 'lsh', got '${String(lookup)}'`);
  const storage = config.storage ?? DEFAULTS.storage;
  if (storage !== 'auto' && storage !== 'simd' && storage !== 'in-place' && storage !== 'blocked' && storage !== 'webgpu') {
    throw new Error(`expected storage 'auto', 'simd', 'in-place', 'blocked' or 'webgpu', got '${String(storage)}'`);
  }
  const blockRows = checkInt('blockRows', config.blockRows ?? DEFAULTS.blockRows, 1);
  const lsh: LshSettings = {
    tables: checkInt('lsh.tables', config.lsh?.tables ?? DEFAULTS.lshTables, 1, 256),
    bits: checkInt('lsh.bits', config.lsh?.bits ?? defaultLshBits(memorySize), 1, 30),
    seed: checkInt('lsh.seed', config.lsh?.seed ?? seed, 0, 2 ** 32 - 1),
    planes: 0,
    probes: checkInt('lsh.probes', config.lsh?.probes ?? DEFAULTS.lshProbes, 1, 1024),
    minHits: 0,
  };
  // a slot sits in one bucket per table, so it is probed at most `tables` times: a larger minHits
  // would make no slot a candidate (the default follows a smaller table count)
  lsh.minHits = checkInt('lsh.minHits (at most lsh.tables)', config.lsh?.minHits ?? Math.min(DEFAULTS.lshMinHits, lsh.tables), 1, Math.min(255, lsh.tables));
  lsh.planes = checkInt('lsh.planes', config.lsh?.planes ?? defaultLshPlanes(lsh.tables, lsh.bits), lsh.bits, lsh.tables * lsh.bits);
  return { memorySize, keySize, k, inverseTemperature, alpha, ageNoise, seed, lookup, lsh, storage, blockRows };
}
