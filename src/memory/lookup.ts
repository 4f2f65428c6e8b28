/**
 * Candidate selection behind one interface (faiss style, see ranking.ts): the memory's update rule
 * and loss are written once against `Lookup`; only how the top-k neighbours are found differs.
 *
 * - ExactLookup (here): one matmul q K^T on the tfjs backend + top-k (masked: empty slots excluded).
 * - SimdScanLookup (simdScan.ts): the same on the CPU mirror with a WebAssembly SIMD kernel.
 * - LshLookup (lsh.ts): random-hyperplane LSH with multi-probe, re-ranked exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { BlockedKeyStore, InPlaceKeyStore, supportsInPlace, type KeyStore } from './keyStore';
import type { KeyStorage } from './config';
import type { Lookup, Ranked } from './ranking';

export { dot, rankCandidates, type Lookup, type Ranked } from './ranking';

export class ExactLookup implements Lookup {
  readonly kind = 'exact' as const;
  readonly engine = 'tfjs-matmul';
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
