/**
 * The key matrix on the tfjs backend, for the exact lookup. tfjs tensors are immutable and a
 * scatter copies the whole [memorySize, keySize] matrix, so a write must not go through tfjs ops:
 *
 * - InPlaceKeyStore (wasm, cpu): one [N, D] tensor; a write puts its row straight into the
 *   backend's buffer (the wasm heap view / the cpu backend's Float32Array). O(D) per write.
 * - BlockedKeyStore (any backend, incl. webgpu/webgl): the matrix as row blocks of `blockRows`
 *   rows; a written block is rebuilt (once per batch) from the CPU mirror. O(blockRows x D).
 *
 * Both hold an additive mask (0 for filled slots, -Infinity for empty ones) so that empty slots
 * never reach the top-k. Row-major layout everywhere: row i of the mirror is mirror[i*D .. i*D+D).
 */
import * as tf from '@tensorflow/tfjs';

export interface KeyStore {
  /** Row `slot` of the mirror changed (filled = false: the slot is now empty). */
  setRow(slot: number, filled: boolean): void;
  /** Re-upload everything from the mirror (after a restore). */
  reload(filled: Uint8Array): void;
  /** Push pending row writes to the backend; call outside tf.tidy, before scores(). */
  flush(): void;
  /** Masked similarities q K^T, [B, N]; call inside tf.tidy, after flush(). */
  scores(q: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

type HeapBackend = { typedArrayFromHeap?: (t: tf.Tensor) => Float32Array; data?: { get(id: object): { values?: unknown } } };

/** A writable Float32Array view of a tensor's storage, for backends that keep it in CPU memory. */
function writableView(t: tf.Tensor, backendName: string): Float32Array | null {
  const backend = tf.engine().findBackend(backendName) as unknown as HeapBackend | null;
  if (backend === null) return null;
  if (backendName === 'wasm' && typeof backend.typedArrayFromHeap === 'function') {
    return backend.typedArrayFromHeap(t); // a fresh view each time: the heap may have grown
  }
  if (backendName === 'cpu' && backend.data !== undefined) {
    const values = backend.data.get(t.dataId)?.values;
    if (values instanceof Float32Array) return values;
  }
  return null;
}

export function supportsInPlace(backendName: string): boolean {
  return backendName === 'wasm' || backendName === 'cpu';
}

export class InPlaceKeyStore implements KeyStore {
  private keys: tf.Tensor2D;
  private mask: tf.Tensor2D;
  private emptyCount: number;
  private readonly backendName: string;

  constructor(private readonly mirror: Float32Array, private readonly n: number, private readonly d: number) {
    this.backendName = tf.getBackend();
    if (!supportsInPlace(this.backendName)) {
      throw new Error(`expected a wasm or cpu backend for in-place key storage, got '${this.backendName}'`);
    }
    // tf.keep: the memory may be created or used inside a caller's tf.tidy; its tensors must survive it.
    this.keys = tf.keep(tf.tensor2d(mirror.slice(), [n, d]));
    this.mask = tf.keep(tf.tensor2d(new Float32Array(n).fill(-Infinity), [1, n]));
    this.emptyCount = n;
    // Check once that the backend lets us write its buffer (guards against tfjs internals changing).
    if (writableView(this.keys, this.backendName) === null || writableView(this.mask, this.backendName) === null) {
      this.keys.dispose();
      this.mask.dispose();
      throw new Error(`the ${this.backendName} backend does not expose a writable buffer; use storage 'blocked'`);
    }
  }

  private views(): { keys: Float32Array; mask: Float32Array } {
    if (tf.getBackend() !== this.backendName) {
      throw new Error(`expected the ${this.backendName} backend (the memory was created on it), got '${tf.getBackend()}'`);
    }
    return { keys: writableView(this.keys, this.backendName)!, mask: writableView(this.mask, this.backendName)! };
  }

  setRow(slot: number, filled: boolean): void {
    const v = this.views();
    const o = slot * this.d;
    v.keys.set(this.mirror.subarray(o, o + this.d), o);
    const wasFilled = v.mask[slot] === 0;
    if (wasFilled !== filled) this.emptyCount += filled ? -1 : 1;
    v.mask[slot] = filled ? 0 : -Infinity;
  }

  reload(filled: Uint8Array): void {
    const v = this.views();
    v.keys.set(this.mirror);
    let empty = 0;
    for (let i = 0; i < this.n; i++) {
      v.mask[i] = filled[i] ? 0 : -Infinity;
      if (!filled[i]) empty++;
    }
    this.emptyCount = empty;
  }

  flush(): void {
    // rows are written into the backend buffer immediately
  }

  scores(q: tf.Tensor2D): tf.Tensor2D {
    const s = tf.matMul(q, this.keys, false, true) as tf.Tensor2D;
    return this.emptyCount > 0 ? (tf.add(s, this.mask) as tf.Tensor2D) : s;
  }

  dispose(): void {
    this.keys.dispose();
    this.mask.dispose();
  }
}

export class BlockedKeyStore implements KeyStore {
  private blocks: tf.Tensor2D[] = [];
  private masks: tf.Tensor2D[] = [];
  private maskData: Float32Array[] = [];
  private emptyPerBlock: Int32Array;
  private dirty = new Set<number>();

  constructor(
    private readonly mirror: Float32Array,
    private readonly n: number,
    private readonly d: number,
    private readonly blockRows: number,
  ) {
    const nb = Math.ceil(n / blockRows);
    this.emptyPerBlock = new Int32Array(nb);
    for (let b = 0; b < nb; b++) {
      const rows = this.rowsOf(b);
      this.maskData.push(new Float32Array(rows).fill(-Infinity));
      this.emptyPerBlock[b] = rows;
      this.blocks.push(tf.keep(tf.tensor2d(mirror.slice(b * blockRows * d, (b * blockRows + rows) * d), [rows, d])));
      this.masks.push(tf.keep(tf.tensor2d(this.maskData[b].slice(), [1, rows])));
    }
  }

  private rowsOf(b: number): number {
    return Math.min(this.blockRows, this.n - b * this.blockRows);
  }

  setRow(slot: number, filled: boolean): void {
    const b = Math.floor(slot / this.blockRows);
    const m = this.maskData[b];
    const r = slot - b * this.blockRows;
    const wasFilled = m[r] === 0;
    if (wasFilled !== filled) this.emptyPerBlock[b] += filled ? -1 : 1;
    m[r] = filled ? 0 : -Infinity;
    this.dirty.add(b);
  }

  reload(filled: Uint8Array): void {
    for (let b = 0; b < this.blocks.length; b++) {
      const rows = this.rowsOf(b);
      let empty = 0;
      for (let r = 0; r < rows; r++) {
        const f = filled[b * this.blockRows + r];
        this.maskData[b][r] = f ? 0 : -Infinity;
        if (!f) empty++;
      }
      this.emptyPerBlock[b] = empty;
      this.dirty.add(b);
    }
    this.flush();
  }

  /** Rebuild the blocks written since the last flush (one upload per block, not per write). */
  flush(): void {
    for (const b of this.dirty) {
      const rows = this.rowsOf(b);
      const start = b * this.blockRows * this.d;
      this.blocks[b].dispose();
      this.blocks[b] = tf.keep(tf.tensor2d(this.mirror.slice(start, start + rows * this.d), [rows, this.d]));
      this.masks[b].dispose();
      this.masks[b] = tf.keep(tf.tensor2d(this.maskData[b].slice(), [1, rows]));
    }
    this.dirty.clear();
  }

  scores(q: tf.Tensor2D): tf.Tensor2D {
    const parts: tf.Tensor2D[] = this.blocks.map((blk, b) => {
      const s = tf.matMul(q, blk, false, true) as tf.Tensor2D;
      return this.emptyPerBlock[b] > 0 ? (tf.add(s, this.masks[b]) as tf.Tensor2D) : s;
    });
    return parts.length === 1 ? parts[0] : tf.concat<tf.Tensor2D>(parts, 1);
  }

  dispose(): void {
    for (const t of this.blocks) t.dispose();
    for (const t of this.masks) t.dispose();
    this.blocks = [];
    this.masks = [];
  }
}
