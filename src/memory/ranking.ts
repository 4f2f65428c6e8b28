/**
 * What every lookup shares (faiss style: one `Lookup` interface, several indexes): the interface
 * itself, the ranked result, the exact dot product and the top-k of a candidate list. A module of
 * its own so that the lookups (lookup.ts, simdScan.ts, lsh.ts) import it and not each other.
 *
 * Layout: keys are row-major, slot i at mirror[i*D .. i*D+D). Queries are B unit rows, q[b*D ..].
 * Ranking: similarity descending, ties to the lower slot index; only filled slots are ranked.
 */
import type { LookupKind } from './config';

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
  /**
   * Approximate lookups only: the similarity that search(q[qo..qo+D)) would give each of the
   * filled `slots`, or NaN for a slot that search would not reach (not a candidate). The batch
   * write uses it to re-score the slots written earlier in the batch exactly as a fresh search
   * would see them. Absent: every filled slot is reached, at its dot product.
   */
  rescore?(q: Float32Array, qo: number, slots: readonly number[]): Float64Array;
  /**
   * The same as search without blocking the page (the WebGPU lookup reads back only the k
   * results). Absent: the memory's queryAsync uses search.
   */
  searchAsync?(q: Float32Array, b: number, k: number): Promise<Ranked[]>;
  /** Which engine searches, for status lines: 'webgpu', 'wasm-simd', 'tfjs-matmul'... (absent: `kind`). */
  readonly engine?: string;
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
