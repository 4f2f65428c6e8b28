/// <reference types="@webgpu/types" />
/**
 * Exact lookup on the GPU (WebGPU): the keys live in GPU storage buffers of tfjs-backend-webgpu's
 * own GPUDevice, and a WGSL kernel computes q . K for a batch of queries and selects the top k.
 *
 * - Writes: a write queues its one key row (keySize * 4 bytes) and its filled flag (4 bytes) with
 *   `queue.writeBuffer`; nothing else is uploaded. Only `reload` (a restore) uploads every row.
 * - Search (`searchAsync`), by default a radix select ('select'): (1) "score": one thread per
 *   (query, row) computes q . K into a scores buffer and counts it in a histogram of 65,536 bins
 *   over [-1, 1] (atomics); (2) "threshold": per query, the highest bin T such that the bins from T
 *   up hold at least k filled slots; (3) "compact": every filled slot whose bin is >= T is appended
 *   to a candidate list of TILE entries (an atomic counter); (4) "final": the candidates are
 *   sorted by (similarity desc, index asc) in one workgroup and the first k kept. The top k lie in
 *   bins >= T (bins are monotone in the similarity), so the result is exact; keys are read once.
 *   If a query's candidates overflow TILE (many slots in one bin: duplicate keys), that pass is
 *   answered again by the merge path below, so the answer stays exact. Measured: bench/gpu-results-*.md.
 * - The merge path ('merge'): pass 1 ("scan"), one workgroup per (query, tile of TILE rows): dot
 *   products into workgroup memory (empty slots and rows past the end get score -3e38 and index
 *   0xffffffff), a bitonic sort by (similarity desc, index asc), the first k kept. Pass 2..
 *   ("merge"): the candidate lists are cut into groups of TILE entries, each sorted the same way,
 *   k kept, until one list of k per query is left. The global top k is in the union of the
 *   partial top k, so the result is exact; the sort's key makes ties go to the lower index.
 *   Only k (similarity, index) pairs per query are read back (one mapAsync).
 * - Synchronous `search` (the update rule's n1, the loss, parity tests) runs on `cpu`, the CPU
 *   lookup over the same key mirror (the WASM SIMD scan): a synchronous GPU read back would block
 *   the page (and returns zeros under headless SwiftShader).
 * - Device loss: the lookup goes on with the CPU lookup (the mirror holds the whole memory);
 *   `rebuild(device)` puts the keys on a new device from the mirror.
 * - Keys are split over several buffers when the memory is larger than one storage binding
 *   (maxStorageBufferBindingSize; often 128 MiB, i.e. 262,144 rows of 128 floats).
 *
 * Limits: keySize % 4 == 0 (vec4 loads) and k <= TILE / 2 = 512 (each merge level must shrink the
 * lists); a search with a larger k runs on the CPU lookup.
 */
import type { Lookup, Ranked } from './ranking';

/** Rows per workgroup of the scan, entries per workgroup of the merge (power of two). */
export const TILE = 1024;
const WG = 256;
/** Largest k the kernel selects (a merge level keeps k of TILE entries). */
export const GPU_MAX_K = TILE / 2;
/** Queries per pass (larger batches run in several passes). */
const MAX_PASS_BATCH = 16;
const NONE = 0xffffffff;
/** Buffers made on demand by a search. */
const GROWN = ['queryBuf', 'candA', 'candB', 'staging', 'scores', 'hist', 'thr', 'count', 'sel', 'selOut', 'overflow'] as const;
type Grown = (typeof GROWN)[number];
/** How a search selects the top k: the radix select (default), or the tile sorts and merges alone. */
export type GpuTopK = 'select' | 'merge';

function shaderHead(d4: number): string {
  return /* wgsl */ `
const D4: u32 = ${d4}u;
const S: u32 = ${TILE}u;
const WG: u32 = ${WG}u;
const NEG: f32 = -3.0e38;
const NONE: u32 = 0xffffffffu;
struct Cand { s: f32, i: u32 }
var<workgroup> sc: array<f32, ${TILE}>;
var<workgroup> ix: array<u32, ${TILE}>;

// a ranks before b: higher similarity, or equal similarity and lower slot index
fn better(a: u32, b: u32) -> bool {
  return sc[a] > sc[b] || (sc[a] == sc[b] && ix[a] < ix[b]);
}

// bitonic sort of sc/ix, best first
fn sortTile(lid: u32) {
  for (var size = 2u; size <= S; size = size << 1u) {
    for (var stride = size >> 1u; stride > 0u; stride = stride >> 1u) {
      for (var t = lid; t < S / 2u; t = t + WG) {
        let a = 2u * stride * (t / stride) + (t % stride);
        let b = a + stride;
        let bestFirst = (a & size) == 0u;
        let swap = select(better(a, b), better(b, a), bestFirst);
        if (swap) {
          let s = sc[a]; sc[a] = sc[b]; sc[b] = s;
          let i = ix[a]; ix[a] = ix[b]; ix[b] = i;
        }
      }
      workgroupBarrier();
    }
  }
}
`;
}

/**
 * q . K[row] in the summation order of the WASM SIMD scan (simdScan.ts: four f32x4 accumulators
 * when keySize % 16 == 0, else one), so that both give the same float32 similarities and the
 * same order on near ties.
 */
function dotFunction(d4: number): string {
  if (d4 % 4 === 0) {
    return `fn dotRow(base: u32) -> f32 {
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  for (var c = 0u; c < D4; c = c + 4u) {
    a0 = a0 + keys[base + c] * qv[c];
    a1 = a1 + keys[base + c + 1u] * qv[c + 1u];
    a2 = a2 + keys[base + c + 2u] * qv[c + 2u];
    a3 = a3 + keys[base + c + 3u] * qv[c + 3u];
  }
  let a = (a0 + a1) + (a2 + a3);
  return (a.x + a.y) + (a.z + a.w);
}`;
  }
  return `fn dotRow(base: u32) -> f32 {
  var acc = vec4<f32>(0.0);
  for (var c = 0u; c < D4; c = c + 1u) { acc = acc + keys[base + c] * qv[c]; }
  return (acc.x + acc.y) + (acc.z + acc.w);
}`;
}

function scanShader(d4: number): string {
  return `${shaderHead(d4)}
struct ScanParams { rows: u32, row0: u32, k: u32, tilesTotal: u32, tileBase: u32 }
@group(0) @binding(0) var<storage, read> keys: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> filled: array<u32>;
@group(0) @binding(2) var<storage, read> queries: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> outC: array<Cand>;
@group(0) @binding(4) var<uniform> p: ScanParams;
var<workgroup> qv: array<vec4<f32>, D4>;
${dotFunction(d4)}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let qi = wg.x;
  let tile = wg.y;
  for (var c = lid; c < D4; c = c + WG) { qv[c] = queries[qi * D4 + c]; }
  workgroupBarrier();
  for (var j = lid; j < S; j = j + WG) {
    let r = tile * S + j;
    var s = NEG;
    var id = NONE;
    if (r < p.rows) {
      if (filled[p.row0 + r] != 0u) {
        s = dotRow(r * D4);
        id = p.row0 + r;
      }
    }
    sc[j] = s;
    ix[j] = id;
  }
  workgroupBarrier();
  sortTile(lid);
  for (var j = lid; j < p.k; j = j + WG) {
    outC[(qi * p.tilesTotal + p.tileBase + tile) * p.k + j] = Cand(sc[j], ix[j]);
  }
}
`;
}

/**
 * The body shared by the merge and final kernels (WGSL inside main, `lid` in scope): entry j of
 * the workgroup's candidate list (`entry`, while `inList` holds) into sc/ix, the rest empty; the
 * bitonic sort; the first `k` written to `out` (an lvalue in j).
 */
function sortCandidates(o: { inList: string; entry: string; k: string; out: string }): string {
  return `  for (var j = lid; j < S; j = j + WG) {
    if (${o.inList}) {
      let c = ${o.entry};
      sc[j] = c.s;
      ix[j] = c.i;
    } else {
      sc[j] = NEG;
      ix[j] = NONE;
    }
  }
  workgroupBarrier();
  sortTile(lid);
  for (var j = lid; j < ${o.k}; j = j + WG) {
    ${o.out} = Cand(sc[j], ix[j]);
  }`;
}

function mergeShader(): string {
  return `${shaderHead(1)}
struct MergeParams { len: u32, k: u32, groups: u32 }
@group(0) @binding(0) var<storage, read> inC: array<Cand>;
@group(0) @binding(1) var<storage, read_write> outC: array<Cand>;
@group(0) @binding(2) var<uniform> m: MergeParams;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let qi = wg.x;
  let g = wg.y;
${sortCandidates({ inList: 'g * S + j < m.len', entry: 'inC[qi * m.len + g * S + j]', k: 'm.k', out: 'outC[(qi * m.groups + g) * m.k + j]' })}
}
`;
}

/** Bins of the select path's histogram over similarities in [-1, 1]. */
const BINS = 65536;
const binFunction = `const NB: u32 = ${BINS}u;
fn binOf(s: f32) -> u32 { return u32(clamp((s + 1.0) * ${BINS / 2}.0, 0.0, ${BINS - 1}.0)); }`;

/**
 * Rows per workgroup of the select path's score kernel: with keySize % 16 == 0 four threads share a
 * row, thread j summing the accumulator a_j of dotRow (vec4 columns j, j+4, ...), so neighbouring
 * threads read neighbouring 16-byte columns; the four are then added as dotRow adds them, so the
 * similarity is the same float as the scan's. Otherwise one thread per row.
 */
const scoreRowsPerGroup = (d4: number) => (d4 % 4 === 0 ? WG / 4 : WG);

function scoreShader(d4: number): string {
  const head = `const D4: u32 = ${d4}u;
${binFunction}
struct P { rows: u32, row0: u32, n: u32 }
@group(0) @binding(0) var<storage, read> keys: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> filled: array<u32>;
@group(0) @binding(2) var<storage, read> queries: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
@group(0) @binding(4) var<storage, read_write> hist: array<atomic<u32>>;
@group(0) @binding(5) var<uniform> p: P;
var<workgroup> qv: array<vec4<f32>, D4>;`;
  const start = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let qi = wg.y;
  for (var c = lid; c < D4; c = c + ${WG}u) { qv[c] = queries[qi * D4 + c]; }
  workgroupBarrier();`;
  const keep = `      scores[qi * p.n + p.row0 + r] = s;
      atomicAdd(&hist[qi * NB + binOf(s)], 1u);`;
  if (d4 % 4 === 0) {
    return `${head}
var<workgroup> part: array<vec4<f32>, ${WG}>;

${start}
  let r = wg.x * ${WG / 4}u + lid / 4u;
  let j = lid % 4u;
  var acc = vec4<f32>(0.0);
  if (r < p.rows) {
    let base = r * D4;
    for (var c = j; c < D4; c = c + 4u) { acc = acc + keys[base + c] * qv[c]; }
  }
  part[lid] = acc;
  workgroupBarrier();
  if (j == 0u && r < p.rows) {
    if (filled[p.row0 + r] != 0u) {
      let a = (part[lid] + part[lid + 1u]) + (part[lid + 2u] + part[lid + 3u]);
      let s = (a.x + a.y) + (a.z + a.w);
${keep}
    }
  }
}
`;
  }
  return `${head}
${dotFunction(d4)}

${start}
  let r = wg.x * ${WG}u + lid;
  if (r < p.rows) {
    if (filled[p.row0 + r] != 0u) {
      let s = dotRow(r * D4);
${keep}
    }
  }
}
`;
}

function thresholdShader(): string {
  return `${binFunction}
struct P { k: u32 }
@group(0) @binding(0) var<storage, read> hist: array<u32>;
@group(0) @binding(1) var<storage, read_write> thr: array<u32>;
@group(0) @binding(2) var<uniform> p: P;
var<workgroup> part: array<u32, ${WG}>;
const PER: u32 = ${BINS / WG}u;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let qi = wg.x;
  var sum = 0u;
  for (var j = 0u; j < PER; j = j + 1u) { sum = sum + hist[qi * NB + lid * PER + j]; }
  part[lid] = sum;
  workgroupBarrier();
  if (lid == 0u) {
    // from the top: the chunk, then the bin, where the count reaches k; fewer filled than k: bin 0
    var acc = 0u;
    var t = 0u;
    for (var c = ${WG - 1}i; c >= 0i; c = c - 1i) {
      let cu = u32(c);
      if (acc + part[cu] >= p.k) {
        for (var b = i32(PER) - 1i; b >= 0i; b = b - 1i) {
          let bin = cu * PER + u32(b);
          acc = acc + hist[qi * NB + bin];
          if (acc >= p.k) { t = bin; break; }
        }
        break;
      }
      acc = acc + part[cu];
    }
    thr[qi] = t;
  }
}
`;
}

function compactShader(): string {
  return `${binFunction}
struct Cand { s: f32, i: u32 }
struct P { n: u32, cap: u32 }
@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read> filled: array<u32>;
@group(0) @binding(2) var<storage, read> thr: array<u32>;
@group(0) @binding(3) var<storage, read_write> count: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> cand: array<Cand>;
@group(0) @binding(5) var<uniform> p: P;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let qi = wg.y;
  let r = wg.x * ${WG}u + lid;
  if (r < p.n) {
    if (filled[r] != 0u) {
      let s = scores[qi * p.n + r];
      if (binOf(s) >= thr[qi]) {
        let j = atomicAdd(&count[qi], 1u);
        if (j < p.cap) { cand[qi * p.cap + j] = Cand(s, r); }
      }
    }
  }
}
`;
}

function finalShader(): string {
  return `${shaderHead(1)}
struct P { k: u32, cap: u32 }
@group(0) @binding(0) var<storage, read> cand: array<Cand>;
@group(0) @binding(1) var<storage, read> count: array<u32>;
@group(0) @binding(2) var<storage, read_write> outC: array<Cand>;
@group(0) @binding(3) var<storage, read_write> overflow: array<u32>;
@group(0) @binding(4) var<uniform> p: P;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let qi = wg.x;
  let m = min(count[qi], p.cap);
${sortCandidates({ inList: 'j < m', entry: 'cand[qi * p.cap + j]', k: 'p.k', out: 'outC[qi * p.k + j]' })}
  if (lid == 0u) { overflow[qi] = select(0u, 1u, count[qi] > p.cap); }
}
`;
}

interface Pipelines {
  scan: GPUComputePipeline;
  merge: GPUComputePipeline;
  score: GPUComputePipeline;
  threshold: GPUComputePipeline;
  compact: GPUComputePipeline;
  final: GPUComputePipeline;
}

/** A bind group of `pipeline` with `buffers` at bindings 0, 1, ... in order. */
function bindAll(device: GPUDevice, pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup {
  return device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
}

/** Compiled kernels per device and key size: a memory per evaluation episode does not recompile them. */
const pipelineCache = new WeakMap<GPUDevice, Map<number, Pipelines>>();

function pipelinesFor(device: GPUDevice, d4: number): Pipelines {
  let byD = pipelineCache.get(device);
  if (byD === undefined) pipelineCache.set(device, (byD = new Map()));
  let p = byD.get(d4);
  if (p === undefined) {
    const pipeline = (code: string, label: string) =>
      device.createComputePipeline({ label, layout: 'auto', compute: { module: device.createShaderModule({ label, code }), entryPoint: 'main' } });
    p = {
      scan: pipeline(scanShader(d4), 'memory top-k scan'),
      merge: pipeline(mergeShader(), 'memory top-k merge'),
      score: pipeline(scoreShader(d4), 'memory select score'),
      threshold: pipeline(thresholdShader(), 'memory select threshold'),
      compact: pipeline(compactShader(), 'memory select compact'),
      final: pipeline(finalShader(), 'memory select final'),
    };
    byD.set(d4, p);
  }
  return p;
}

/** The GPU resources of one device (all destroyed together). */
interface GpuState {
  device: GPUDevice;
  /** key rows [row0, row0 + rows) of chunk c live in keyBufs[c] */
  keyBufs: GPUBuffer[];
  rowsPerChunk: number;
  filledBuf: GPUBuffer;
  pipelines: Pipelines;
  /** grown on demand */
  queryBuf: GPUBuffer | null;
  candA: GPUBuffer | null;
  candB: GPUBuffer | null;
  staging: GPUBuffer | null;
  /** the select path: scores [B, n], histograms [B, BINS], thresholds, counters, candidates [B, TILE], result, overflow flags */
  scores: GPUBuffer | null;
  hist: GPUBuffer | null;
  thr: GPUBuffer | null;
  count: GPUBuffer | null;
  sel: GPUBuffer | null;
  selOut: GPUBuffer | null;
  overflow: GPUBuffer | null;
  /** one small uniform buffer per scan chunk and per merge level */
  uniforms: GPUBuffer[];
  lost: boolean;
}

/** Workgroup memory of the scan: the tile's similarities and indices, and the query (keySize floats). */
const workgroupBytes = (d: number) => TILE * 8 + d * 4;

/** Whether `device` can run the lookup for keys of size d (d divisible by 4, the scan's workgroup memory within the device's limit). */
export function webGpuLookupSupported(device: GPUDevice | null | undefined, d: number): device is GPUDevice {
  return device != null && typeof device.createComputePipeline === 'function' && d % 4 === 0 && workgroupBytes(d) <= device.limits.maxComputeWorkgroupStorageSize;
}

export class WebGpuLookup implements Lookup {
  readonly kind = 'exact' as const;
  private gpu: GpuState | null = null;
  /** 1 = filled, the source of the GPU mask */
  private readonly filled: Uint32Array<ArrayBuffer>;
  /** the mirror, typed for writeBuffer (a WebAssembly.Memory or a plain ArrayBuffer, never shared) */
  private readonly rows: Float32Array<ArrayBuffer>;
  /** searches run one at a time (they share the candidate and staging buffers) */
  private chain: Promise<unknown> = Promise.resolve();
  private disposed = false;
  /** why the GPU is not used (device lost), null while it is */
  private lostReason: string | null = null;
  /** passes answered by the select path, by the merge path, and select passes that overflowed into the merge path */
  readonly passes = { select: 0, merge: 0, overflow: 0 };

  /**
   * @param cpu the synchronous lookup over the same mirror (setSlot/reload are forwarded to it)
   * @param mirror the CPU key mirror [n * d], row-major (written before setSlot is called)
   * @param device the GPUDevice to keep the keys on (tfjs-backend-webgpu's: `(tf.backend() as any).device`)
   * @param options.rowsPerChunk rows per key buffer (a multiple of TILE; default: as many as one storage binding holds)
   * @param options.topK 'select' (default) or 'merge' (tests and the benchmark compare both)
   */
  constructor(
    private readonly cpu: Lookup,
    mirror: Float32Array,
    private readonly n: number,
    private readonly d: number,
    device: GPUDevice,
    private readonly options: { rowsPerChunk?: number; topK?: GpuTopK } = {},
  ) {
    if (!webGpuLookupSupported(device, d)) {
      const limit = (device as GPUDevice | null)?.limits?.maxComputeWorkgroupStorageSize ?? 16384;
      const most = Math.floor((limit - TILE * 8) / 4);
      throw new Error(`expected a WebGPU device and a key size divisible by 4, at most ${most} on this device, got keySize ${d}`);
    }
    this.filled = new Uint32Array(n);
    this.rows = mirror as Float32Array<ArrayBuffer>;
    this.gpu = this.allocate(device);
  }

  /** Which engine answers searchAsync now: 'webgpu', or the CPU lookup's after a device loss. */
  get engine(): string {
    return this.gpu !== null ? 'webgpu' : `${this.cpu.engine ?? 'cpu'} (WebGPU device lost${this.lostReason ? `: ${this.lostReason}` : ''})`;
  }

  /** Key buffers on the GPU (0 after a device loss). */
  get chunkCount(): number {
    return this.gpu?.keyBufs.length ?? 0;
  }

  /** The GPU buffers this lookup holds (tests check they are destroyed by dispose). */
  buffers(): GPUBuffer[] {
    const g = this.gpu;
    if (g === null) return [];
    return [...g.keyBufs, g.filledBuf, ...g.uniforms, ...GROWN.map((w) => g[w])].filter((b): b is GPUBuffer => b !== null);
  }

  private allocate(device: GPUDevice): GpuState {
    const rowBytes = this.d * 4;
    const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    // whole tiles per chunk, so a tile never straddles two buffers
    const rowsPerChunk = this.options.rowsPerChunk ?? Math.max(TILE, Math.floor(maxBinding / rowBytes / TILE) * TILE);
    if (rowsPerChunk % TILE !== 0 || rowsPerChunk * rowBytes > maxBinding) {
      throw new Error(`expected rows per key buffer to be a multiple of ${TILE} that fits a storage binding (${maxBinding} bytes), got ${rowsPerChunk}`);
    }
    const keyBufs: GPUBuffer[] = [];
    for (let row0 = 0; row0 < this.n; row0 += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, this.n - row0);
      keyBufs.push(device.createBuffer({ label: `memory keys ${row0}+${rows}`, size: rows * rowBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST }));
    }
    const filledBuf = device.createBuffer({ label: 'memory filled mask', size: Math.max(4, this.n * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const state: GpuState = {
      device,
      keyBufs,
      rowsPerChunk,
      filledBuf,
      pipelines: pipelinesFor(device, this.d / 4),
      queryBuf: null,
      candA: null,
      candB: null,
      staging: null,
      scores: null,
      hist: null,
      thr: null,
      count: null,
      sel: null,
      selOut: null,
      overflow: null,
      uniforms: [],
      lost: false,
    };
    // a weak reference: the device outlives this lookup, and its `lost` promise would otherwise
    // keep every disposed lookup (and its key mirror) alive for the page's life
    const self = new WeakRef(this);
    device.lost.then((info) => {
      state.lost = true;
      const lookup = self.deref();
      if (lookup !== undefined && lookup.gpu === state) {
        lookup.gpu = null;
        lookup.lostReason = info.message || info.reason || 'unknown';
      }
    });
    // the current content (a new memory is all zeros, so only after a rebuild is there anything to send)
    if (this.filled.some((f) => f !== 0)) this.uploadAll(state);
    return state;
  }

  private uploadAll(g: GpuState): void {
    g.keyBufs.forEach((buf, c) => {
      const row0 = c * g.rowsPerChunk;
      const rows = Math.min(g.rowsPerChunk, this.n - row0);
      g.device.queue.writeBuffer(buf, 0, this.rows, row0 * this.d, rows * this.d);
    });
    g.device.queue.writeBuffer(g.filledBuf, 0, this.filled);
  }

  private destroy(g: GpuState): void {
    for (const b of [...g.keyBufs, g.filledBuf, ...g.uniforms, ...GROWN.map((w) => g[w])]) b?.destroy();
  }

  /** Put the keys on `device` (e.g. after a device loss), from the CPU mirror. */
  rebuild(device: GPUDevice): void {
    if (this.disposed) throw new Error('expected a live lookup, got one that was disposed');
    if (this.gpu !== null) this.destroy(this.gpu);
    this.gpu = null;
    this.gpu = this.allocate(device);
    this.lostReason = null;
  }

  search(q: Float32Array, b: number, k: number): Ranked[] {
    return this.cpu.search(q, b, k);
  }

  setSlot(slot: number, filled: boolean): void {
    this.cpu.setSlot(slot, filled);
    this.filled[slot] = filled ? 1 : 0;
    const g = this.gpu;
    if (g === null) return;
    // O(keySize): this row and its flag, never the whole memory
    const c = Math.floor(slot / g.rowsPerChunk);
    const r = slot - c * g.rowsPerChunk;
    g.device.queue.writeBuffer(g.keyBufs[c], r * this.d * 4, this.rows, slot * this.d, this.d);
    g.device.queue.writeBuffer(g.filledBuf, slot * 4, this.filled, slot, 1);
  }

  reload(filled: Uint8Array): void {
    this.cpu.reload(filled);
    for (let i = 0; i < this.n; i++) this.filled[i] = filled[i] ? 1 : 0;
    if (this.gpu !== null) this.uploadAll(this.gpu);
  }

  commit(): void {
    this.cpu.commit(); // writeBuffer calls are already queued ahead of any later search
  }

  /** Top-k filled slots for each of the B rows of q, computed on the GPU (the CPU lookup if the device is gone). */
  searchAsync(q: Float32Array, b: number, k: number): Promise<Ranked[]> {
    return this.serial(() => this.searchNow({ data: q }, b, k));
  }

  /**
   * The same with queries already on the device: `buffer` holds B unit rows of keySize float32
   * from byte 0 (e.g. an encoder output, via tensor.dataToGPU()); keep it alive until the promise
   * settles. `cpuCopy` gives the same rows on the CPU, for the CPU lookup after a device loss.
   */
  searchGpuAsync(buffer: GPUBuffer, b: number, k: number, cpuCopy: () => Promise<Float32Array>): Promise<Ranked[]> {
    return this.serial(() => this.searchNow({ buffer, cpuCopy }, b, k));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async searchNow(q: { data: Float32Array } | { buffer: GPUBuffer; cpuCopy: () => Promise<Float32Array> }, b: number, k: number): Promise<Ranked[]> {
    if (this.disposed) throw new Error('expected a live lookup, got one that was disposed');
    const empty = () => Array.from({ length: b }, () => ({ indices: new Int32Array(0), sims: new Float32Array(0) }));
    if (k < 1) return empty();
    const kk = Math.min(k, this.n);
    const onCpu = async () => this.cpu.search('data' in q ? q.data : await q.cpuCopy(), b, kk);
    const g = this.gpu;
    if (g === null || g.lost || kk > GPU_MAX_K) return onCpu();
    const out: Ranked[] = [];
    try {
      for (let b0 = 0; b0 < b; b0 += MAX_PASS_BATCH) {
        const bb = Math.min(MAX_PASS_BATCH, b - b0);
        out.push(...(await this.pass(g, q, b0, bb, kk)));
      }
    } catch (err) {
      if (g.lost || this.gpu !== g) return onCpu(); // the device went away mid-search
      throw err;
    }
    return out;
  }

  private grow(g: GpuState, which: Grown, size: number, usage: number): GPUBuffer {
    const cur = g[which];
    if (cur !== null && cur.size >= size) return cur;
    cur?.destroy();
    const buf = g.device.createBuffer({ label: `memory ${which}`, size: Math.max(16, Math.ceil(size / 16) * 16), usage });
    g[which] = buf;
    return buf;
  }

  private uniform(g: GpuState, i: number, words: number[]): GPUBuffer {
    while (g.uniforms.length <= i) {
      g.uniforms.push(g.device.createBuffer({ label: `memory params ${g.uniforms.length}`, size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }));
    }
    const buf = g.uniforms[i];
    const w = new Uint32Array(8);
    w.set(words);
    g.device.queue.writeBuffer(buf, 0, w);
    return buf;
  }

  /** One pass of bb <= MAX_PASS_BATCH queries (rows b0.. of q): the select path, or the merge path when asked, when its buffers would not fit a binding, or when it overflowed. */
  private async pass(g: GpuState, q: { data: Float32Array } | { buffer: GPUBuffer }, b0: number, bb: number, k: number): Promise<Ranked[]> {
    const maxBinding = Math.min(g.device.limits.maxStorageBufferBindingSize, g.device.limits.maxBufferSize);
    if ((this.options.topK ?? 'select') === 'select' && bb * this.n * 4 <= maxBinding && bb * BINS * 4 <= maxBinding) {
      const r = await this.passSelect(g, q, b0, bb, k);
      if (r !== null) {
        this.passes.select++;
        return r;
      }
      this.passes.overflow++;
    }
    this.passes.merge++;
    return this.passMerge(g, q, b0, bb, k);
  }

  /**
   * One command buffer for a pass: the queries uploaded (or copied from their GPU buffer) into the
   * query buffer, `record` encodes the kernels and copies `bytes` of results into the staging
   * buffer, then those bytes are read back (one mapAsync). A validation error throws instead of
   * passing silently with zeros read back.
   */
  private async submit(
    g: GpuState,
    q: { data: Float32Array } | { buffer: GPUBuffer },
    b0: number,
    bb: number,
    label: string,
    bytes: number,
    record: (enc: GPUCommandEncoder, queryBuf: GPUBuffer, staging: GPUBuffer) => void,
  ): Promise<ArrayBuffer> {
    const { device } = g;
    const d = this.d;
    const queryBuf = this.grow(g, 'queryBuf', MAX_PASS_BATCH * d * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    const staging = this.grow(g, 'staging', MAX_PASS_BATCH * GPU_MAX_K * 8 + MAX_PASS_BATCH * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    device.pushErrorScope('validation');
    const enc = device.createCommandEncoder({ label });
    if ('data' in q) device.queue.writeBuffer(queryBuf, 0, q.data as Float32Array<ArrayBuffer>, b0 * d, bb * d);
    else enc.copyBufferToBuffer(q.buffer, b0 * d * 4, queryBuf, 0, bb * d * 4);
    record(enc, queryBuf, staging);
    device.queue.submit([enc.finish()]);
    const error = await device.popErrorScope();
    if (error !== null) throw new Error(`the WebGPU top-k kernel failed: ${error.message}`);
    await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    const out = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    return out;
  }

  /** The select path (see the file's comment); null when a query's candidates overflowed TILE. */
  private async passSelect(g: GpuState, q: { data: Float32Array } | { buffer: GPUBuffer }, b0: number, bb: number, k: number): Promise<Ranked[] | null> {
    const { device, pipelines: pl } = g;
    const S = GPUBufferUsage.STORAGE;
    const scores = this.grow(g, 'scores', bb * this.n * 4, S);
    const hist = this.grow(g, 'hist', bb * BINS * 4, S | GPUBufferUsage.COPY_DST);
    const thr = this.grow(g, 'thr', MAX_PASS_BATCH * 4, S);
    const count = this.grow(g, 'count', MAX_PASS_BATCH * 4, S | GPUBufferUsage.COPY_DST);
    const sel = this.grow(g, 'sel', bb * TILE * 8, S);
    const selOut = this.grow(g, 'selOut', MAX_PASS_BATCH * GPU_MAX_K * 8, S | GPUBufferUsage.COPY_SRC);
    const overflow = this.grow(g, 'overflow', MAX_PASS_BATCH * 4, S | GPUBufferUsage.COPY_SRC);
    const bytes = bb * k * 8;
    const read = await this.submit(g, q, b0, bb, 'memory top-k select', bytes + bb * 4, (enc, queryBuf, staging) => {
      enc.clearBuffer(hist, 0, bb * BINS * 4);
      enc.clearBuffer(count, 0, MAX_PASS_BATCH * 4);
      const pass = enc.beginComputePass();
      pass.setPipeline(pl.score);
      g.keyBufs.forEach((keys, c) => {
        const rows = Math.min(g.rowsPerChunk, this.n - c * g.rowsPerChunk);
        const params = this.uniform(g, c, [rows, c * g.rowsPerChunk, this.n]);
        pass.setBindGroup(0, bindAll(device, pl.score, [keys, g.filledBuf, queryBuf, scores, hist, params]));
        pass.dispatchWorkgroups(Math.ceil(rows / scoreRowsPerGroup(this.d / 4)), bb);
      });
      const u = g.keyBufs.length;
      pass.setPipeline(pl.threshold);
      pass.setBindGroup(0, bindAll(device, pl.threshold, [hist, thr, this.uniform(g, u, [k])]));
      pass.dispatchWorkgroups(bb);
      pass.setPipeline(pl.compact);
      pass.setBindGroup(0, bindAll(device, pl.compact, [scores, g.filledBuf, thr, count, sel, this.uniform(g, u + 1, [this.n, TILE])]));
      pass.dispatchWorkgroups(Math.ceil(this.n / WG), bb);
      pass.setPipeline(pl.final);
      pass.setBindGroup(0, bindAll(device, pl.final, [sel, count, selOut, overflow, this.uniform(g, u + 2, [k, TILE])]));
      pass.dispatchWorkgroups(bb);
      pass.end();
      enc.copyBufferToBuffer(selOut, 0, staging, 0, bytes);
      enc.copyBufferToBuffer(overflow, 0, staging, bytes, bb * 4);
    });
    if (new Uint32Array(read, bytes, bb).some((o) => o !== 0)) return null;
    return this.unpack(new Float32Array(read, 0, bytes / 4), bb, k);
  }

  /** [s, i] pairs, k per query (word 2j the similarity as f32, word 2j+1 the slot), NONE-padded -> Ranked rows. */
  private unpack(f: Float32Array, bb: number, k: number): Ranked[] {
    const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
    const out: Ranked[] = [];
    for (let r = 0; r < bb; r++) {
      let m = 0;
      while (m < k && u[(r * k + m) * 2 + 1] !== NONE) m++; // fewer filled slots than k
      const indices = new Int32Array(m);
      const sims = new Float32Array(m);
      for (let j = 0; j < m; j++) {
        sims[j] = f[(r * k + j) * 2];
        indices[j] = u[(r * k + j) * 2 + 1];
      }
      out.push({ indices, sims });
    }
    return out;
  }

  /** The merge path: tile sorts, then merge levels (see the file's comment). */
  private async passMerge(g: GpuState, q: { data: Float32Array } | { buffer: GPUBuffer }, b0: number, bb: number, k: number): Promise<Ranked[]> {
    const { device, pipelines: pl } = g;
    const tilesPerChunk = g.keyBufs.map((_, c) => Math.ceil(Math.min(g.rowsPerChunk, this.n - c * g.rowsPerChunk) / TILE));
    const tilesTotal = tilesPerChunk.reduce((a, x) => a + x, 0);
    // merge levels: lengths per query
    const levels: { len: number; groups: number }[] = [];
    for (let len = tilesTotal * k, groups = tilesTotal; groups > 1; len = groups * k) {
      groups = Math.ceil(len / TILE);
      levels.push({ len, groups });
    }
    const cand = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC; // the last level is copied to the staging buffer
    const candA = this.grow(g, 'candA', bb * tilesTotal * k * 8, cand);
    const candB = levels.length > 0 ? this.grow(g, 'candB', bb * levels[0].groups * k * 8, cand) : null;
    const bytes = bb * k * 8;
    const read = await this.submit(g, q, b0, bb, 'memory top-k', bytes, (enc, queryBuf, staging) => {
      const pass = enc.beginComputePass();
      pass.setPipeline(pl.scan);
      let tileBase = 0;
      g.keyBufs.forEach((keys, c) => {
        const rows = Math.min(g.rowsPerChunk, this.n - c * g.rowsPerChunk);
        const params = this.uniform(g, c, [rows, c * g.rowsPerChunk, k, tilesTotal, tileBase]);
        pass.setBindGroup(0, bindAll(device, pl.scan, [keys, g.filledBuf, queryBuf, candA, params]));
        pass.dispatchWorkgroups(bb, tilesPerChunk[c]);
        tileBase += tilesPerChunk[c];
      });
      let src = candA;
      let dst = candB;
      pass.setPipeline(pl.merge);
      levels.forEach((lv, i) => {
        const params = this.uniform(g, g.keyBufs.length + i, [lv.len, k, lv.groups]);
        pass.setBindGroup(0, bindAll(device, pl.merge, [src, dst!, params]));
        pass.dispatchWorkgroups(bb, lv.groups);
        [src, dst] = [dst!, src];
      });
      pass.end();
      enc.copyBufferToBuffer(src, 0, staging, 0, bytes);
    });
    return this.unpack(new Float32Array(read), bb, k);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.gpu !== null) this.destroy(this.gpu);
    this.gpu = null;
    this.cpu.dispose();
  }
}
