/** Two cosine similarities this close may differ by float rounding alone (32-bit sums of 4,096 products at most). */
const NEAR_TIE = 1e-5;

/**
 * The key-value memory of Kaiser, Nachum, Roy, Bengio, "Learning to Remember Rare Events"
 * (ICLR 2017), section 2: keys K [memorySize, keySize] (unit length), values V (integer label ids),
 * ages A. Empty slots are explicit (V = -1, key zeros, age 0) and are never neighbours.
 *
 * State lives in CPU typed arrays (the mirror); the exact lookup also keeps the keys on the tfjs
 * backend (see keyStore.ts), written row by row so that a write never copies the memory.
 *
 * Ages: an empty slot has age 0 and is not aged; a write sets the written slot's age to 0 and adds
 * 1 to the age of every other filled slot. They are stored as write times (age = clock - time),
 * so a write is O(keySize), not O(memorySize).
 *
 * Batches: a batch of writes is applied as if its rows were written one at a time in batch order
 * (write i sees writes < i); the Python training memory and tests/fixtures/memory_trace.json do the
 * same. Two writes of one batch may therefore touch the same slot (e.g. two updates of one n1).
 */
import * as tf from '@tensorflow/tfjs';
import { resolveSettings, type LookupKind, type MemoryConfig, type MemorySettings } from './config';
import { ExactLookup } from './lookup';
import { LshLookup, type LshProbe } from './lsh';
import { dot, type Lookup, type Ranked } from './ranking';
import { unitInto } from './unit';
import { SimdGather, SimdScanLookup, simdScanAvailable } from './simdScan';
import { WebGpuLookup, webGpuLookupSupported } from './webgpuLookup';
import { ageNoiseUniform } from './random';
import { updateRule, type UpdateState, type WriteResult } from './update';
import { memoryLoss, type LossResult, type LossState } from './loss';
import { parseSnapshot, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, type MemorySnapshot } from './snapshot';

/** Query keys: a [B, keySize] tensor, or B rows as number arrays / Float32Arrays. */
export type KeysInput = tf.Tensor2D | ReadonlyArray<ArrayLike<number>>;
/** Labels: B non-negative integers. */
export type LabelsInput = ArrayLike<number>;

export interface QueryResult {
  /** [B][k'] slot indices of the top-k neighbours, by cosine similarity descending (k' = min(k, filled) for exact; LSH may find fewer). */
  indices: number[][];
  /** [B][k'] their cosine similarities. */
  similarities: number[][];
  /** [B][k'] their values (label ids). */
  values: number[][];
  /** [B] the main result V[n1] (-1 when the memory is empty). */
  prediction: number[];
  /** [B][k'] softmax(t * similarities) over the k' neighbours. */
  softmax: number[][];
  /** Memory version the result was computed on (see write's `queryResult` option). */
  version: number;
}

export type { PreviousOccupant, WriteResult } from './update';
export type { LossResult } from './loss';

export interface WriteOptions {
  /**
   * The result of query(q) on the current memory for these same keys: its neighbour lists are
   * used to find n1 instead of a second lookup (a training step = one query + one write). It must
   * come from the current version of the memory; otherwise an Error is thrown.
   */
  queryResult?: QueryResult;
}

const MAX_LABEL = 2 ** 31 - 1;

export class KeyValueMemory {
  private readonly s: MemorySettings;
  private readonly n: number;
  private readonly d: number;
  private readonly keys: Float32Array; // mirror [N * D]
  private readonly vals: Int32Array; // -1 empty
  private readonly filled: Uint8Array;
  private readonly writeTime: Float64Array; // age = clock - writeTime (filled slots)
  // filled slots in increasing writeTime order (oldest at head): a doubly linked list
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private head = -1;
  private tail = -1;
  private emptyHeap: Int32Array; // min-heap of empty slots
  private emptyCount: number;
  private clock = 0;
  private readonly labelSlots = new Map<number, Set<number>>();
  private readonly names = new Map<number, string>();
  private lookup: Lookup;
  private readonly updateState: UpdateState;
  private readonly lossState: LossState;
  private _version = 0;
  private disposed = false;

  private constructor(settings: MemorySettings) {
    this.s = settings;
    this.n = settings.memorySize;
    this.d = settings.keySize;
    let simd: SimdScanLookup | null = null;
    let gather: SimdGather | null = null;
    if (settings.lookup === 'exact' && this.wantsSimd(settings)) simd = new SimdScanLookup(this.n, this.d);
    if (settings.lookup === 'lsh' && settings.storage !== 'in-place' && settings.storage !== 'blocked' && SimdGather.available(this.n, this.d)) {
      gather = new SimdGather(this.n, this.d);
    }
    // With a SIMD kernel the mirror is the kernel's memory: no second copy of the keys.
    this.keys = simd?.keys ?? gather?.keys ?? new Float32Array(this.n * this.d);
    this.vals = new Int32Array(this.n).fill(-1);
    this.filled = new Uint8Array(this.n);
    this.writeTime = new Float64Array(this.n);
    this.prev = new Int32Array(this.n).fill(-1);
    this.next = new Int32Array(this.n).fill(-1);
    this.emptyHeap = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) this.emptyHeap[i] = i; // sorted = a valid min-heap
    this.emptyCount = this.n;
    const device = simd !== null ? this.gpuDevice(settings) : null;
    if (device !== null) this.lookup = new WebGpuLookup(simd!, this.keys, this.n, this.d, device);
    else this.lookup = simd ?? (gather !== null ? new LshLookup(this.keys, this.n, this.d, settings.lsh, gather) : this.makeLookup(settings.lookup));
    this.updateState = this.updateStateOf();
    this.lossState = this.lossStateOf();
  }

  private wantsSimd(s: MemorySettings): boolean {
    if (s.storage === 'simd' || s.storage === 'webgpu') {
      if (!simdScanAvailable(s.memorySize, s.keySize)) {
        throw new Error(`expected WebAssembly SIMD and a keySize divisible by 4 for storage '${s.storage}', got keySize ${s.keySize}`);
      }
      return true;
    }
    const backend = tf.getBackend();
    // WebGPU: the synchronous calls scan the CPU mirror (a synchronous read back from WebGPU is
    // slow, and returns zeros under headless SwiftShader); queryAsync runs on the GPU (gpuDevice).
    return s.storage === 'auto' && backend !== 'webgl' && simdScanAvailable(s.memorySize, s.keySize);
  }

  /** tfjs-backend-webgpu's device when the exact lookup goes on the GPU (storage 'webgpu', or 'auto' on webgpu). */
  private gpuDevice(s: MemorySettings): GPUDevice | null {
    if (s.lookup !== 'exact' || (s.storage !== 'webgpu' && s.storage !== 'auto')) return null;
    const backend = tf.getBackend();
    const device = backend === 'webgpu' ? (tf.backend() as unknown as { device?: GPUDevice }).device : undefined;
    if (webGpuLookupSupported(device, s.keySize)) return device;
    if (s.storage === 'webgpu') {
      throw new Error(`expected the webgpu backend and a keySize divisible by 4 for storage 'webgpu', got backend '${backend}' and keySize ${s.keySize}`);
    }
    return null;
  }

  /** Make an empty memory (allocates its tensors on the active tfjs backend; release with dispose()). */
  static create(config: MemoryConfig): KeyValueMemory {
    return new KeyValueMemory(resolveSettings(config));
  }

  /** Make a memory with the snapshot's settings and contents (lookup settings may be overridden). */
  static fromSnapshot(snapshot: unknown, override: Pick<MemoryConfig, 'lookup' | 'lsh' | 'storage' | 'blockRows'> = {}): KeyValueMemory {
    const snap = parseSnapshot(snapshot);
    // the snapshot's pool of planes and hit count follow its tables and bits: new tables or bits
    // take their defaults unless the override gives them too
    const { planes, minHits, ...shape } = snap.settings.lsh;
    const reshaped = override.lsh !== undefined && (override.lsh.tables !== undefined || override.lsh.bits !== undefined);
    const lsh = { ...(reshaped ? shape : { ...shape, planes, minHits }), ...override.lsh };
    const m = KeyValueMemory.create({ ...snap.settings, ...override, lsh });
    try {
      m.restore(snap);
    } catch (e) {
      m.dispose();
      throw e;
    }
    return m;
  }

  private makeLookup(kind: LookupKind): Lookup {
    return kind === 'exact'
      ? new ExactLookup(this.keys, this.n, this.d, this.s.storage, this.s.blockRows)
      : new LshLookup(this.keys, this.n, this.d, this.s.lsh);
  }

  // ---------------------------------------------------------------- accessors

  /** Number of slots (memorySize). */
  get size(): number {
    return this.n;
  }
  get keySize(): number {
    return this.d;
  }
  get filledCount(): number {
    return this.n - this.emptyCount;
  }
  /** Incremented by every state change (writes, restore, label deletion). */
  get version(): number {
    return this._version;
  }
  /** Writes applied so far (also the age-noise counter). */
  get writeCount(): number {
    return this.clock;
  }
  get settings(): Readonly<MemorySettings> {
    return { ...this.s, lsh: { ...this.s.lsh } };
  }
  /** A copy of V: label id per slot, -1 for empty slots. */
  get values(): Int32Array {
    return this.vals.slice();
  }
  /** A copy of A: age per slot (0 for empty slots). */
  get ages(): Int32Array {
    const a = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) if (this.filled[i]) a[i] = this.clock - this.writeTime[i];
    return a;
  }
  /** A copy of the filled mask (1 = filled). */
  get filledMask(): Uint8Array {
    return this.filled.slice();
  }
  /** Label id -> display name. */
  get labelNames(): ReadonlyMap<number, string> {
    return new Map(this.names);
  }
  /**
   * LSH mode: the bucket each hash table probed for the last lookup (the last row of the last
   * query, or the nearest-neighbour search of the last write), with the slots it holds now.
   * Null in exact mode or before any lookup.
   */
  lastLshProbe(): LshProbe[] | null {
    this.alive();
    return this.lookup instanceof LshLookup ? this.lookup.lastProbe() : null;
  }
  /** Slots currently holding label `label`, ascending. */
  slotsOf(label: number): number[] {
    return [...(this.labelSlots.get(label) ?? [])].sort((a, b) => a - b);
  }
  /** V[i] and A[i] of one slot (value -1 and age 0 when empty), without copying the memory. */
  slotAt(i: number): { value: number; age: number } {
    this.checkSlot(i);
    return this.filled[i] ? { value: this.vals[i], age: this.clock - this.writeTime[i] } : { value: -1, age: 0 };
  }
  /** Number of slots holding label `label`. */
  countOf(label: number): number {
    return this.labelSlots.get(label)?.size ?? 0;
  }
  /**
   * The slot the next case-2 write would take: the lowest-index empty slot, else n' = argmax(A + r)
   * with the noise that write would draw. Changes nothing (an app keeps that slot's key to undo a write).
   */
  slotForNewKey(): number {
    this.alive();
    return this.emptyCount > 0 ? this.heapPeek() : this.oldestSlot();
  }
  /** A copy of key K[i] (zeros for an empty slot). */
  getKey(i: number): Float32Array {
    this.checkSlot(i);
    return this.keys.slice(i * this.d, (i + 1) * this.d);
  }

  // ---------------------------------------------------------------- input checks

  private alive(): void {
    if (this.disposed) throw new Error('expected a live memory, got one that was disposed');
  }

  private checkSlot(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.n) {
      throw new Error(`expected a slot index in [0, ${this.n - 1}], got ${String(i)}`);
    }
  }

  /** Rows -> one normalised Float32Array [B * D]; throws on wrong sizes, NaN/Inf, zero vectors. */
  private keysFrom(q: KeysInput, what: string): { data: Float32Array; b: number } {
    let rows: ArrayLike<number>[];
    let b: number;
    let flat: Float32Array | null = null;
    if (q instanceof tf.Tensor) {
      if (q.rank !== 2) throw new Error(`expected ${what} as a [B, ${this.d}] tensor, got rank ${q.rank} (shape [${q.shape.join(', ')}])`);
      if (q.shape[1] !== this.d) throw new Error(`expected a key of size ${this.d}, got ${q.shape[1]} (tensor shape [${q.shape.join(', ')}])`);
      b = q.shape[0];
      flat = Float32Array.from(q.dataSync());
      rows = [];
    } else if (Array.isArray(q)) {
      rows = q as ArrayLike<number>[];
      b = rows.length;
    } else {
      throw new Error(`expected ${what} as a [B, ${this.d}] tensor or an array of rows, got ${q === null ? 'null' : typeof q}`);
    }
    if (b < 1) throw new Error(`expected at least one key in ${what}, got an empty batch`);
    const data = flat ?? new Float32Array(b * this.d);
    if (flat === null) {
      for (let r = 0; r < b; r++) {
        const row = rows[r];
        if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
          throw new Error(`expected ${what} row ${r} to be an array of ${this.d} numbers, got ${String(row)}`);
        }
        if (row.length !== this.d) throw new Error(`expected a key of size ${this.d}, got ${row.length} (row ${r} of ${what})`);
      }
    }
    // Keys that are not unit length are normalised (cosine similarity is the paper's metric), as
    // their 32-bit numbers unless those lose the direction (src/memory/unit.ts)
    for (let r = 0; r < b; r++) {
      const src = flat ? flat.subarray(r * this.d, (r + 1) * this.d) : rows[r];
      unitInto(src, data, r * this.d, this.d, (c) => `row ${r}, column ${c} of ${what}`, `at row ${r} of ${what}`);
    }
    return { data, b };
  }

  private labelsFrom(v: LabelsInput, b: number): Int32Array {
    if (v === null || typeof v !== 'object' || typeof (v as ArrayLike<number>).length !== 'number') {
      throw new Error(`expected ${b} labels (one per key), got ${String(v)}`);
    }
    if (v.length !== b) throw new Error(`expected ${b} labels (one per key), got ${v.length}`);
    const out = new Int32Array(b);
    for (let i = 0; i < b; i++) {
      const x = v[i];
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > MAX_LABEL) {
        throw new Error(`expected labels to be integers in [0, ${MAX_LABEL}], got ${String(x)} at position ${i}`);
      }
      out[i] = x;
    }
    return out;
  }

  // ---------------------------------------------------------------- lookup

  private kEff(): number {
    return Math.min(this.s.k, this.filledCount);
  }

  /**
   * Nearest neighbours of a batch of queries (paper section 2: NN_k(q, M)).
   * q: [B, keySize] keys (normalised if not unit length). Returns plain arrays (no tensors).
   */
  query(q: KeysInput): QueryResult {
    this.alive();
    const { data, b } = this.keysFrom(q, 'the queries');
    return this.resultOf(this.lookup.search(data, b, this.kEff()));
  }

  /**
   * query() without blocking the page: on the WebGPU lookup the search runs on the GPU and only
   * the k neighbours per query are read back; a [B, keySize] tensor on the webgpu backend (e.g. an
   * encoder output) is the query as it is, with no copy through the CPU. Other lookups answer with
   * their synchronous search. The result is that of the memory as it is when the promise resolves
   * (a write made meanwhile is seen: the search is run again).
   */
  async queryAsync(q: KeysInput): Promise<QueryResult> {
    this.alive();
    const lookup = this.lookup;
    const onDevice = q instanceof tf.Tensor && lookup instanceof WebGpuLookup && tf.getBackend() === 'webgpu';
    let cpu: { data: Float32Array; b: number } | null = null;
    const cpuKeys = async () => (cpu ??= this.keysFrom(q instanceof tf.Tensor ? await this.rowsOf(q) : q, 'the queries'));
    for (let attempt = 0; ; attempt++) {
      const version = this._version;
      const k = this.kEff();
      let ranked: Ranked[];
      if (onDevice && attempt < 3) {
        ranked = await this.searchOnDevice(q as tf.Tensor, lookup, k, async () => (await cpuKeys()).data);
      } else {
        const { data, b } = await cpuKeys();
        ranked = lookup.searchAsync !== undefined && attempt < 3 ? await lookup.searchAsync(data, b, k) : lookup.search(data, b, k);
      }
      this.alive();
      if (this._version === version) return this.resultOf(ranked);
    }
  }

  /** A tensor's rows, read back without blocking (checked for rank and size). */
  private async rowsOf(q: tf.Tensor): Promise<Float32Array[]> {
    this.checkTensor(q, 'the queries');
    const flat = Float32Array.from(await q.data());
    return Array.from({ length: q.shape[0] }, (_, r) => flat.subarray(r * this.d, (r + 1) * this.d));
  }

  private checkTensor(q: tf.Tensor, what: string): void {
    if (q.rank !== 2) throw new Error(`expected ${what} as a [B, ${this.d}] tensor, got rank ${q.rank} (shape [${q.shape.join(', ')}])`);
    if (q.shape[1] !== this.d) throw new Error(`expected a key of size ${this.d}, got ${q.shape[1]} (tensor shape [${q.shape.join(', ')}])`);
    if (q.shape[0] < 1) throw new Error(`expected at least one key in ${what}, got an empty batch`);
  }

  /** The GPU search of a webgpu tensor: normalised on the device, its rows checked from their squared norms (read back beside the search). */
  private async searchOnDevice(q: tf.Tensor, lookup: WebGpuLookup, k: number, cpuCopy: () => Promise<Float32Array>): Promise<Ranked[]> {
    this.checkTensor(q, 'the queries');
    const b = q.shape[0];
    const [unit, sq] = tf.tidy(() => {
      const sq = tf.sum(tf.square(q), 1);
      return [tf.div(q, tf.sqrt(tf.expandDims(sq, 1))), sq];
    });
    const gpu = unit.dataToGPU();
    try {
      const [ranked, norms] = await Promise.all([lookup.searchGpuAsync(gpu.buffer!, b, k, cpuCopy), sq.data()]);
      for (let r = 0; r < b; r++) {
        if (!Number.isFinite(norms[r])) throw new Error(`expected finite key values, got a non-finite value in row ${r} of the queries`);
        if (norms[r] === 0) throw new Error(`expected a non-zero key, got a zero vector at row ${r} of the queries`);
      }
      return ranked;
    } finally {
      gpu.tensorRef.dispose();
      unit.dispose();
      sq.dispose();
    }
  }

  /** Which engine the lookup runs on: 'webgpu' (the GPU kernel), 'wasm-simd', 'tfjs-matmul' or 'lsh'. */
  get lookupEngine(): string {
    return this.lookup.engine ?? this.lookup.kind;
  }

  private resultOf(ranked: Ranked[]): QueryResult {
    const res: QueryResult = { indices: [], similarities: [], values: [], prediction: [], softmax: [], version: this._version };
    for (const r of ranked) {
      const idx = Array.from(r.indices);
      const sims = Array.from(r.sims);
      res.indices.push(idx);
      res.similarities.push(sims);
      res.values.push(idx.map((i) => this.vals[i]));
      res.prediction.push(idx.length > 0 ? this.vals[idx[0]] : -1);
      res.softmax.push(softmaxOf(sims, this.s.inverseTemperature));
    }
    return res;
  }

  // ---------------------------------------------------------------- write (update rule)

  /**
   * Labelled update (paper section 2, "memory update"): `updateRule` (update.ts) for each row i in
   * batch order, with n1 = the nearest neighbour of q_i in the memory as written by rows < i.
   * q: [B, keySize] (normalised if not unit length); v: B integer labels >= 0.
   */
  write(q: KeysInput, v: LabelsInput, options: WriteOptions = {}): WriteResult[] {
    this.alive();
    const { data, b } = this.keysFrom(q, 'the keys to write');
    const labels = this.labelsFrom(v, b);
    const hint = options.queryResult;
    if (hint !== undefined) {
      if (hint.version !== this._version) {
        throw new Error(`expected a queryResult from memory version ${this._version}, got one from version ${hint.version}`);
      }
      if (!Array.isArray(hint.indices) || hint.indices.length !== b) {
        throw new Error(`expected a queryResult for ${b} keys, got one for ${hint.indices?.length}`);
      }
    }
    // Neighbour lists on the pre-batch memory: enough (min(filled, B)) that write i always finds
    // an untouched slot in its list unless all listed slots were touched by writes < i.
    let lists: Ranked[];
    if (hint !== undefined) {
      lists = hint.indices.map((idx, r) => ({ indices: Int32Array.from(idx), sims: Float32Array.from(hint.similarities[r]) }));
    } else {
      lists = this.lookup.search(data, b, Math.min(this.filledCount, b));
    }
    const touched: number[] = [];
    const touchedSet = new Set<number>();
    const results: WriteResult[] = [];
    for (let i = 0; i < b; i++) {
      const n1 = this.nearestInBatch(data, i, lists[i], touched, touchedSet);
      const r = updateRule(this.updateState, data, i * this.d, labels[i], n1);
      results.push(r);
      if (!touchedSet.has(r.slot)) {
        touchedSet.add(r.slot);
        touched.push(r.slot);
      }
    }
    this.lookup.commit();
    this._version++;
    return results;
  }

  /**
   * n1 for write i of a batch, as if the earlier writes had been applied before its lookup: the
   * best of (the first untouched slot of its pre-batch list) and (the slots touched by writes < i,
   * similarities recomputed). Falls back to a fresh lookup when every listed slot was touched.
   */
  private nearestInBatch(q: Float32Array, i: number, list: Ranked, touched: number[], touchedSet: Set<number>): number {
    const qo = i * this.d;
    let best = -1;
    let bestSim = -Infinity;
    let listExhausted = list.indices.length > 0;
    for (let j = 0; j < list.indices.length; j++) {
      const slot = list.indices[j];
      if (!touchedSet.has(slot)) {
        best = slot;
        bestSim = list.sims[j];
        listExhausted = false;
        break;
      }
    }
    if (listExhausted && this.filledCount > touched.length) {
      // all listed slots changed; the list may have been shorter than the batch (a queryResult with k < B)
      const fresh = this.lookup.search(q.subarray(qo, qo + this.d), 1, 1)[0];
      return fresh.indices.length > 0 ? fresh.indices[0] : -1;
    }
    // An approximate lookup re-scores them as its own search would (NaN: not a candidate there).
    const rescored = touched.length > 0 ? this.lookup.rescore?.(q, qo, touched) : undefined;
    let nearTie = false;
    for (let j = 0; j < touched.length; j++) {
      const slot = touched[j];
      if (!this.filled[slot]) continue;
      const sim = rescored !== undefined ? rescored[j] : Math.fround(dot(this.keys, slot * this.d, q, qo, this.d));
      if (Number.isNaN(sim)) continue;
      // an exact search's kernel rounds its sums otherwise than dot(): within rounding, the two
      // scores cannot be compared, and a fresh search decides as a row-by-row write would
      if (rescored === undefined && best >= 0 && Math.abs(sim - bestSim) <= NEAR_TIE) nearTie = true;
      if (sim > bestSim || (sim === bestSim && slot < best)) {
        best = slot;
        bestSim = sim;
      }
    }
    if (nearTie) {
      const fresh = this.lookup.search(q.subarray(qo, qo + this.d), 1, 1)[0];
      return fresh.indices.length > 0 ? fresh.indices[0] : -1;
    }
    return best;
  }

  /** The update rule's view of this memory (update.ts). */
  private updateStateOf(): UpdateState {
    return {
      d: this.d,
      K: this.keys,
      V: (i) => this.vals[i],
      A: (i) => this.clock - this.writeTime[i],
      emptySlot: () => (this.emptyCount > 0 ? this.heapPeek() : -1),
      oldestSlot: () => this.oldestSlot(),
      setValue: (i, v) => this.setValue(i, v),
      resetAge: (i) => {
        this.touch(i);
        this.lookup.setSlot(i, true);
      },
    };
  }

  /** V[slot] = v: a free slot leaves the empty heap, an evicted one its label and the age list. */
  private setValue(slot: number, v: number): void {
    if (!this.filled[slot]) {
      this.heapPop();
      this.filled[slot] = 1;
    } else {
      const evicted = this.labelSlots.get(this.vals[slot]);
      evicted?.delete(slot);
      if (evicted?.size === 0) this.labelSlots.delete(this.vals[slot]); // no empty entry per evicted label
      this.unlink(slot);
    }
    this.vals[slot] = v;
    let set = this.labelSlots.get(v);
    if (set === undefined) this.labelSlots.set(v, (set = new Set()));
    set.add(slot);
  }

  /** A[slot] = 0 and every other filled slot ages by one: advance the clock, move slot to the tail. */
  private touch(slot: number): void {
    this.clock++;
    if (this.prev[slot] !== -1 || this.head === slot) this.unlink(slot);
    this.writeTime[slot] = this.clock;
    this.append(slot);
  }

  /**
   * n' = argmax_i(A_i + r_i) over a full memory, r_i = ageNoise * U(seed, writeCount, i), ties to
   * the lower index. Only slots with A_i > maxA - ageNoise can win, and they sit at the head of the
   * age-ordered list, so this is O(ageNoise) on a memory whose ages are distinct (as writes make them).
   */
  private oldestSlot(): number {
    const noise = this.s.ageNoise;
    const maxAge = this.clock - this.writeTime[this.head];
    let best = -1;
    let bestScore = -Infinity;
    for (let i = this.head; i !== -1; i = this.next[i]) {
      const age = this.clock - this.writeTime[i];
      if (noise === 0 ? age < maxAge : age <= maxAge - noise) break;
      const score = noise === 0 ? age : age + noise * ageNoiseUniform(this.s.seed, this.clock, i);
      if (score > bestScore || (score === bestScore && i < best)) {
        best = i;
        bestScore = score;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- loss

  /**
   * Memory loss (paper section 2): [q.K[nb] - q.K[np] + alpha]_+ per query, `memoryLoss` (loss.ts)
   * on the top-k neighbours (np: the first with value v, else the most similar slot with value v
   * anywhere; nb: the first with another value; a missing one counts as similarity 0).
   */
  loss(q: KeysInput, v: LabelsInput, options: WriteOptions = {}): LossResult {
    this.alive();
    const { data, b } = this.keysFrom(q, 'the queries');
    const labels = this.labelsFrom(v, b);
    const hint = options.queryResult;
    let ranked: Ranked[];
    if (hint !== undefined) {
      // the top-k of query(q) (or queryAsync) on this same memory version: no second lookup
      if (hint.version !== this._version) {
        throw new Error(`expected a queryResult from memory version ${this._version}, got one from version ${hint.version}`);
      }
      if (!Array.isArray(hint.indices) || hint.indices.length !== b) {
        throw new Error(`expected a queryResult for ${b} keys, got one for ${hint.indices?.length}`);
      }
      ranked = hint.indices.map((idx, r) => ({ indices: Int32Array.from(idx), sims: Float32Array.from(hint.similarities[r]) }));
    } else {
      ranked = this.lookup.search(data, b, this.kEff());
    }
    return memoryLoss(this.lossState, data, labels, ranked, this.s.alpha);
  }

  /** The loss's view of this memory (loss.ts). */
  private lossStateOf(): LossState {
    return { d: this.d, K: this.keys, V: (i) => this.vals[i], slotsWithValue: (v) => this.labelSlots.get(v) ?? [] };
  }

  // ---------------------------------------------------------------- labels

  setLabelName(label: number, name: string): void {
    this.labelsFrom([label], 1);
    if (typeof name !== 'string') throw new Error(`expected a label name string, got ${typeof name}`);
    this.names.set(label, name);
    this._version++;
  }

  /** Rename a label that has a name. */
  renameLabel(label: number, name: string): void {
    this.labelsFrom([label], 1);
    if (!this.names.has(label)) throw new Error(`expected a label with a name, got label ${label} which has none`);
    this.setLabelName(label, name);
  }

  /** Delete a label: its name is removed and its slots are freed (marked empty). Returns the freed slots. */
  deleteLabel(label: number): number[] {
    this.alive();
    this.labelsFrom([label], 1);
    const slots = this.slotsOf(label);
    for (const slot of slots) this.release(slot);
    this.lookup.commit();
    this.labelSlots.delete(label);
    this.names.delete(label);
    this._version++;
    return slots;
  }

  /**
   * Free one slot (its key, label and age; the other slots keep theirs). Returns the label it held,
   * -1 when it was empty already (nothing changes then).
   */
  freeSlot(slot: number): number {
    this.alive();
    this.checkSlot(slot);
    if (!this.filled[slot]) return -1;
    const label = this.vals[slot];
    this.release(slot);
    this.lookup.commit();
    const set = this.labelSlots.get(label);
    set?.delete(slot);
    if (set?.size === 0) this.labelSlots.delete(label); // as an eviction: no empty entry per label
    this._version++;
    return label;
  }

  /** Empty a filled slot: out of the age list, back on the empty heap and out of the lookup. */
  private release(slot: number): void {
    this.unlink(slot);
    this.filled[slot] = 0;
    this.vals[slot] = -1;
    this.writeTime[slot] = 0;
    this.keys.fill(0, slot * this.d, (slot + 1) * this.d);
    this.heapPush(slot);
    this.lookup.setSlot(slot, false);
  }

  // ---------------------------------------------------------------- snapshot

  /** A versioned, self-contained copy of the state (typed arrays; see snapshot.ts). */
  snapshot(): MemorySnapshot {
    this.alive();
    const { storage: _storage, blockRows: _blockRows, ...settings } = this.s;
    void _storage;
    void _blockRows;
    return {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      settings: { ...settings, lsh: { ...settings.lsh } },
      keys: new Float32Array(this.keys),
      values: new Int32Array(this.vals),
      ages: new Int32Array(this.ages),
      writeCount: this.clock,
      labelNames: Object.fromEntries([...this.names].map(([id, name]) => [String(id), name])),
    };
  }

  /**
   * Replace the contents with a snapshot's (keys, values, ages, label names, write count) and take
   * its k, inverse temperature, alpha, age noise and seed. memorySize and keySize must match this
   * memory's; the lookup (exact/LSH) stays this memory's. Throws and leaves the state unchanged on
   * a malformed or mismatched snapshot.
   */
  restore(snapshot: unknown): void {
    this.alive();
    const snap = parseSnapshot(snapshot);
    const st = snap.settings;
    if (st.keySize !== this.d) throw new Error(`expected a snapshot with key size ${this.d}, got ${st.keySize}`);
    if (st.memorySize !== this.n) throw new Error(`expected a snapshot with memory size ${this.n}, got ${st.memorySize}`);
    const n = this.n, d = this.d;
    if (snap.keys.length !== n * d) throw new Error(`expected ${n * d} key values (${n} x ${d}), got ${snap.keys.length}`);
    if (snap.values.length !== n) throw new Error(`expected ${n} values, got ${snap.values.length}`);
    if (snap.ages.length !== n) throw new Error(`expected ${n} ages, got ${snap.ages.length}`);
    const keys = snap.keys instanceof Float32Array ? snap.keys.slice() : Float32Array.from(snap.keys);
    const vals = Int32Array.from(snap.values);
    const ages = Int32Array.from(snap.ages);
    const filled = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (vals[i] < -1) throw new Error(`expected values >= -1 (-1 = empty), got ${vals[i]} at slot ${i}`);
      if (vals[i] === -1) {
        keys.fill(0, i * d, (i + 1) * d);
        ages[i] = 0;
        continue;
      }
      if (ages[i] < 0) throw new Error(`expected ages >= 0, got ${ages[i]} at slot ${i}`);
      filled[i] = 1;
      let ss = 0;
      for (let c = 0; c < d; c++) {
        const x = keys[i * d + c];
        if (!Number.isFinite(x)) throw new Error(`expected finite keys, got ${x} at slot ${i}`);
        ss += x * x;
      }
      const norm = Math.sqrt(ss);
      if (Math.abs(norm - 1) > 1e-3) throw new Error(`expected unit-length keys, got norm ${norm} at slot ${i}`);
      // within the tolerance but past 32-bit rounding (a key made elsewhere, rounded in a file):
      // made unit, so that no similarity passes 1; a key this memory wrote stays as it is, to the bit
      if (Math.abs(norm - 1) > 1e-6) for (let c = 0; c < d; c++) keys[i * d + c] /= norm;
    }
    for (const [id, name] of Object.entries(snap.labelNames)) {
      if (Number(id) > MAX_LABEL) throw new Error(`expected label ids <= ${MAX_LABEL}, got ${id} in labelNames (${name})`);
    }
    // Validated: commit.
    Object.assign(this.s, { k: st.k, inverseTemperature: st.inverseTemperature, alpha: st.alpha, ageNoise: st.ageNoise, seed: st.seed });
    this.keys.set(keys);
    this.vals.set(vals);
    this.filled.set(filled);
    // age = clock - writeTime needs clock >= every age
    let maxAge = 0;
    for (let i = 0; i < n; i++) if (filled[i] && ages[i] > maxAge) maxAge = ages[i];
    this.clock = Math.max(snap.writeCount, maxAge);
    this.labelSlots.clear();
    const order: number[] = [];
    this.emptyCount = 0;
    for (let i = 0; i < n; i++) {
      this.prev[i] = this.next[i] = -1;
      if (filled[i]) {
        this.writeTime[i] = this.clock - ages[i];
        order.push(i);
        let set = this.labelSlots.get(vals[i]);
        if (set === undefined) this.labelSlots.set(vals[i], (set = new Set()));
        set.add(i);
      } else {
        this.writeTime[i] = 0;
        this.emptyHeap[this.emptyCount++] = i; // ascending: a valid min-heap
      }
    }
    order.sort((a, b) => this.writeTime[a] - this.writeTime[b] || a - b);
    this.head = this.tail = -1;
    for (const i of order) this.append(i);
    this.names.clear();
    for (const [id, name] of Object.entries(snap.labelNames)) this.names.set(Number(id), name);
    this.lookup.reload(filled);
    this._version++;
  }

  /** Release the memory's tensors. */
  dispose(): void {
    if (this.disposed) return;
    this.lookup.dispose();
    this.disposed = true;
  }

  // ---------------------------------------------------------------- age list & empty heap

  private append(i: number): void {
    this.prev[i] = this.tail;
    this.next[i] = -1;
    if (this.tail !== -1) this.next[this.tail] = i;
    else this.head = i;
    this.tail = i;
  }

  private unlink(i: number): void {
    const p = this.prev[i], nx = this.next[i];
    if (p !== -1) this.next[p] = nx;
    else if (this.head === i) this.head = nx;
    if (nx !== -1) this.prev[nx] = p;
    else if (this.tail === i) this.tail = p;
    this.prev[i] = this.next[i] = -1;
  }

  private heapPeek(): number {
    return this.emptyHeap[0];
  }

  private heapPop(): number {
    const h = this.emptyHeap;
    const top = h[0];
    const last = h[--this.emptyCount];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.emptyCount) break;
      const c = l + 1 < this.emptyCount && h[l + 1] < h[l] ? l + 1 : l;
      if (h[c] >= last) break;
      h[i] = h[c];
      i = c;
    }
    if (this.emptyCount > 0) h[i] = last;
    return top;
  }

  private heapPush(slot: number): void {
    const h = this.emptyHeap;
    let i = this.emptyCount++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p] <= slot) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = slot;
  }
}

/** softmax(t * s), computed stably in float64. */
export function softmaxOf(sims: readonly number[], t: number): number[] {
  if (sims.length === 0) return [];
  let max = -Infinity;
  for (const s of sims) max = Math.max(max, t * s);
  const e = sims.map((s) => Math.exp(t * s - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}
