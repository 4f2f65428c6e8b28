/**
 * Candidate selection behind one interface (faiss style): the memory's update rule and loss are
 * written once against `Lookup`; only how the top-k neighbours are found differs.
 *
 * - ExactLookup: one matmul q K^T on the tfjs backend + top-k (masked: empty slots excluded).
 * - LshLookup: random-hyperplane LSH (L tables of `bits` sign bits each); the union of the query's
 *   buckets is re-ranked exactly against the CPU mirror of the keys. Tables are updated on every
 *   write (the slot leaves its old buckets and joins its new ones). To keep hashing cheap the
 *   tables draw their bits from one pool of P (settings.lsh.planes) random hyperplanes
 *   (each table a random subset of `bits` of them): a key costs P dot products, not L*bits.
 *
 * Layout: keys are row-major, slot i at mirror[i*D .. i*D+D). Queries are B unit rows, q[b*D ..].
 * Ranking: similarity descending, ties to the lower slot index; only filled slots are ranked.
 */
import * as tf from '@tensorflow/tfjs';
import type { LookupKind, LshSettings } from './config';
import { BlockedKeyStore, InPlaceKeyStore, supportsInPlace, type KeyStore } from './keyStore';
import type { KeyStorage } from './config';
import { mulberry32, normalSampler } from './random';
import type { SimdGather } from './simdScan';

export interface Ranked {
  /** Slot indices, best first. */
  indices: Int32Array;
  /** Cosine similarities (keys and queries are unit length), same order. */
  sims: Float32Array;
}

export interface Lookup {
  readonly kind: LookupKind;
  /** Top-k filled slots for each of the B query rows (fewer if fewer are found/filled). */
  search(q: Float32Array, b: number, k: number): Ranked[];
  /** Slot `slot` of the mirror was written (filled) or emptied. */
  setSlot(slot: number, filled: boolean): void;
  /** Rebuild from the mirror and the filled mask (after a restore). */
  reload(filled: Uint8Array): void;
  /** The end of a batch of setSlot calls: push them to the backend now (so a write pays for its own upload). */
  commit(): void;
  dispose(): void;
}

/** q[qo..qo+d) . keys[ko..ko+d) in float64, four accumulators. */
export function dot(keys: Float32Array, ko: number, q: Float32Array, qo: number, d: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 3 < d; i += 4) {
    s0 += keys[ko + i] * q[qo + i];
    s1 += keys[ko + i + 1] * q[qo + i + 1];
    s2 += keys[ko + i + 2] * q[qo + i + 2];
    s3 += keys[ko + i + 3] * q[qo + i + 3];
  }
  for (; i < d; i++) s0 += keys[ko + i] * q[qo + i];
  return s0 + s1 + s2 + s3;
}

export class ExactLookup implements Lookup {
  readonly kind = 'exact' as const;
  private store: KeyStore;

  constructor(mirror: Float32Array, private readonly n: number, private readonly d: number, storage: KeyStorage, blockRows: number) {
    const backend = tf.getBackend();
    const inPlace = storage === 'in-place' || (storage === 'auto' && supportsInPlace(backend));
    this.store = inPlace ? new InPlaceKeyStore(mirror, n, d) : new BlockedKeyStore(mirror, n, d, Math.min(blockRows, n));
  }

  search(q: Float32Array, b: number, k: number): Ranked[] {
    if (k < 1) return Array.from({ length: b }, () => ({ indices: new Int32Array(0), sims: new Float32Array(0) }));
    this.store.flush();
    const kk = Math.min(k, this.n);
    const [idx, val] = tf.tidy(() => {
      const qt = tf.tensor2d(q, [b, this.d]);
      const top = tf.topk(this.store.scores(qt), kk, true);
      return [top.indices.dataSync() as Int32Array, top.values.dataSync() as Float32Array];
    });
    const out: Ranked[] = [];
    for (let r = 0; r < b; r++) {
      // tf.topk orders equal values by lower index first, matching our tie rule.
      out.push({ indices: idx.slice(r * kk, r * kk + kk), sims: val.slice(r * kk, r * kk + kk) });
    }
    return out;
  }

  setSlot(slot: number, filled: boolean): void {
    this.store.setRow(slot, filled);
  }

  reload(filled: Uint8Array): void {
    this.store.reload(filled);
  }

  commit(): void {
    this.store.flush();
  }

  dispose(): void {
    this.store.dispose();
  }
}

/**
 * The k best candidates, by similarity desc then slot asc: a size-k min-heap over the candidates
 * (O(count log k)), then a sort of the k kept.
 */
export function rankCandidates(cands: ArrayLike<number>, sims: ArrayLike<number>, count: number, k: number): Ranked {
  const kk = Math.min(k, count);
  const heap = new Int32Array(kk); // positions into cands/sims
  // a is "worse" than b: lower similarity, or equal similarity and higher slot index
  const worse = (a: number, b: number) => sims[a] < sims[b] || (sims[a] === sims[b] && cands[a] > cands[b]);
  let size = 0;
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const c = l + 1 < size && worse(heap[l + 1], heap[l]) ? l + 1 : l;
      if (!worse(heap[c], heap[i])) return;
      const t = heap[c];
      heap[c] = heap[i];
      heap[i] = t;
      i = c;
    }
  };
  for (let p = 0; p < count && kk > 0; p++) {
    if (size < kk) {
      let c = size++;
      heap[c] = p;
      while (c > 0) {
        const parent = (c - 1) >> 1;
        if (!worse(heap[c], heap[parent])) break;
        const t = heap[c];
        heap[c] = heap[parent];
        heap[parent] = t;
        c = parent;
      }
    } else if (worse(heap[0], p)) {
      heap[0] = p;
      siftDown(0);
    }
  }
  const order = Array.from(heap.subarray(0, size)).sort((a, b) => sims[b] - sims[a] || cands[a] - cands[b]);
  return { indices: Int32Array.from(order, (p) => cands[p]), sims: Float32Array.from(order, (p) => sims[p]) };
}

/** One LSH table's bucket for a query: the table, the query's code in it, the slots it holds. */
export interface LshProbe {
  table: number;
  code: number;
  slots: number[];
}

export class LshLookup implements Lookup {
  readonly kind = 'lsh' as const;
  private readonly planes: Float32Array; // [P, D] hyperplane pool
  private readonly pool: number;
  private readonly tableBits: Int32Array; // [L, bits] plane index of each bit
  private readonly proj: Float64Array; // [P] scratch
  private readonly codes: Int32Array; // [L, N], -1: not in the table
  private readonly pos: Int32Array; // [L, N], position of the slot in its bucket list
  private buckets: Map<number, number[]>[];
  private readonly stamp: Int32Array;
  private stampId = 0;
  private readonly qcode: Int32Array;
  /** The bucket codes of the last query row searched (qcode is reused by writes); null before any. */
  private lastQueryCodes: Int32Array | null = null;
  private readonly candBuf: Int32Array;
  private readonly simBuf: Float64Array | Float32Array;

  /** `gather`: when given, `mirror` is gather.keys and candidates are re-ranked by its SIMD kernel. */
  constructor(
    private readonly mirror: Float32Array,
    private readonly n: number,
    private readonly d: number,
    private readonly p: LshSettings,
    private readonly gather: SimdGather | null = null,
  ) {
    const u = mulberry32(p.seed ^ 0x5bd1e995);
    const normal = normalSampler(u);
    this.pool = p.planes;
    this.planes = new Float32Array(this.pool * d);
    for (let i = 0; i < this.planes.length; i++) this.planes[i] = normal();
    this.tableBits = new Int32Array(p.tables * p.bits);
    const all = Array.from({ length: this.pool }, (_, i) => i);
    for (let t = 0; t < p.tables; t++) {
      if (this.pool === p.tables * p.bits) {
        for (let j = 0; j < p.bits; j++) this.tableBits[t * p.bits + j] = t * p.bits + j; // independent planes
        continue;
      }
      for (let j = 0; j < p.bits; j++) {
        // partial Fisher-Yates: `bits` distinct planes for this table
        const r = j + Math.floor(u() * (this.pool - j));
        [all[j], all[r]] = [all[r], all[j]];
        this.tableBits[t * p.bits + j] = all[j];
      }
    }
    this.proj = new Float64Array(this.pool);
    this.codes = new Int32Array(p.tables * n).fill(-1);
    this.pos = new Int32Array(p.tables * n);
    this.buckets = Array.from({ length: p.tables }, () => new Map<number, number[]>());
    this.stamp = new Int32Array(n);
    this.qcode = new Int32Array(p.tables);
    this.candBuf = gather !== null ? gather.idx : new Int32Array(n);
    this.simBuf = gather !== null ? gather.out : new Float64Array(n);
  }

  /** The L bucket codes of vec[o..o+D): bit j of table t is [h . vec >= 0] for its j-th plane h. */
  private hash(vec: Float32Array, o: number, out: Int32Array): void {
    for (let p = 0; p < this.pool; p++) this.proj[p] = dot(this.planes, p * this.d, vec, o, this.d);
    this.codesFromProj(this.proj, 0, out);
  }

  private codesFromProj(proj: ArrayLike<number>, o: number, out: Int32Array): void {
    const { tables, bits } = this.p;
    for (let t = 0; t < tables; t++) {
      let code = 0;
      for (let j = 0; j < bits; j++) if (proj[o + this.tableBits[t * bits + j]] >= 0) code |= 1 << j;
      out[t] = code;
    }
  }

  private insert(t: number, slot: number, code: number): void {
    let list = this.buckets[t].get(code);
    if (list === undefined) {
      list = [];
      this.buckets[t].set(code, list);
    }
    this.pos[t * this.n + slot] = list.length;
    list.push(slot);
    this.codes[t * this.n + slot] = code;
  }

  private remove(t: number, slot: number): void {
    const code = this.codes[t * this.n + slot];
    if (code < 0) return;
    const list = this.buckets[t].get(code)!;
    const p = this.pos[t * this.n + slot];
    const last = list.pop()!;
    if (last !== slot) {
      list[p] = last;
      this.pos[t * this.n + last] = p;
    }
    if (list.length === 0) this.buckets[t].delete(code);
    this.codes[t * this.n + slot] = -1;
  }

  /** The bucket each table probed for the last row searched (query or write lookup), with its slots (ascending). */
  lastProbe(): LshProbe[] | null {
    const codes = this.lastQueryCodes;
    if (codes === null) return null;
    return Array.from(codes, (code, table) => ({
      table,
      code,
      slots: (this.buckets[table]?.get(code) ?? []).slice().sort((a, b) => a - b),
    }));
  }

  search(q: Float32Array, b: number, k: number): Ranked[] {
    const out: Ranked[] = [];
    for (let r = 0; r < b; r++) {
      this.hash(q, r * this.d, this.qcode);
      if (++this.stampId === 2 ** 31 - 1) {
        this.stamp.fill(0);
        this.stampId = 1;
      }
      let count = 0;
      for (let t = 0; t < this.p.tables; t++) {
        const list = this.buckets[t].get(this.qcode[t]);
        if (list === undefined) continue;
        for (const slot of list) {
          if (this.stamp[slot] === this.stampId) continue;
          this.stamp[slot] = this.stampId;
          this.candBuf[count] = slot;
          // float32 like the exact path's similarities
          if (this.gather === null) this.simBuf[count] = Math.fround(dot(this.mirror, slot * this.d, q, r * this.d, this.d));
          count++;
        }
      }
      if (this.gather !== null) {
        this.gather.query.set(q.subarray(r * this.d, (r + 1) * this.d));
        this.gather.dots(count);
      }
      out.push(rankCandidates(this.candBuf, this.simBuf, count, k));
      (this.lastQueryCodes ??= new Int32Array(this.p.tables)).set(this.qcode);
    }
    return out;
  }

  setSlot(slot: number, filled: boolean): void {
    for (let t = 0; t < this.p.tables; t++) this.remove(t, slot);
    if (!filled) return;
    this.hash(this.mirror, slot * this.d, this.qcode);
    for (let t = 0; t < this.p.tables; t++) this.insert(t, slot, this.qcode[t]);
  }

  reload(filled: Uint8Array): void {
    this.codes.fill(-1);
    this.buckets = Array.from({ length: this.p.tables }, () => new Map<number, number[]>());
    for (let i = 0; i < this.n; i++) {
      if (!filled[i]) continue;
      this.hash(this.mirror, i * this.d, this.qcode);
      for (let t = 0; t < this.p.tables; t++) this.insert(t, i, this.qcode[t]);
    }
  }

  commit(): void {
    // tables are updated in setSlot
  }

  dispose(): void {
    this.buckets = [];
  }
}
