/**
 * The encoder: a TF.js layers model (models/<name>/model.json + weights) that maps a
 * preprocessed 28x28 drawing (ink = 1, see src/preprocess) to a memory key.
 *
 * Model contract: input [null, 28, 28, 1] float32, output [null, keySize] raw features.
 * This wrapper L2-normalises the output, so every key it returns has unit length (the memory's
 * cosine similarity is then a plain dot product, as in the paper).
 *
 * Test-time shifts (`keyShifts`, per encoder in models/encoders.json): with 4 or 8, a drawing's
 * key is the renormalised mean of the unit keys of the drawing and of its copies moved by one
 * pixel (4: up, down, left, right; 8: also the diagonals). Measured on held-out background
 * alphabets before adoption: bench/tta-paired.md. Only the key changes: the memory, its update
 * rule and its loss are the paper's.
 *
 * Ensembles (`key_parts` in model.json's metadata, written by training/export_tfjs.py): one model
 * whose output is the raw outputs of several encoders side by side. Each part becomes a unit vector
 * (with shifts: the renormalised mean over the copies, per part) and the key is the parts
 * concatenated and divided by sqrt(parts), so the cosine of two keys is the mean of the members'
 * cosines. Measured before adoption: bench/ensemble-rule.md.
 *
 * Plain TypeScript, no DOM: works in the browser (URL) and in Node (pass an IOHandler, e.g.
 * `fileSystemHandler(dir)` from `./node`).
 */
import * as tf from '@tensorflow/tfjs';
import { OUT, OUT_SIZE } from '../preprocess/preprocess';

/** A model location: a URL of model.json (browser / http), or a tfjs IOHandler. */
export type EncoderSource = string | URL | tf.io.IOHandler;

export interface EncodeOptions {
  /** images per forward pass; default Encoder.batchSize (256). */
  batchSize?: number;
  /** called after each batch with (done, total) images. */
  onProgress?: (done: number, total: number) => void;
}

/** Same epsilon as torch.nn.functional.normalize. */
const NORM_EPS = 1e-12;

/** Images given to encode(): one flat [n*784] array, or a list of 784-value images. */
export type ImageBatch = Float32Array | ArrayLike<number>[] ;

/** How many shifted copies join a drawing in its key: none, the 4 neighbours, or all 8. */
export type KeyShifts = 0 | 4 | 8;
export const KEY_SHIFTS: readonly KeyShifts[] = [0, 4, 8];

/** One-pixel moves (dx, dy) of each KeyShifts setting: the 4 first, then the diagonals. */
const SHIFTS: readonly (readonly [number, number])[] = [
  [1, 0], [-1, 0], [0, 1], [0, -1],
  [1, 1], [1, -1], [-1, 1], [-1, -1],
];

export interface EncoderOptions {
  /** test-time shifts averaged into each key (default 0: the drawing alone) */
  keyShifts?: KeyShifts;
  /**
   * how many encoders' outputs lie side by side in the model's output (an ensemble); each part is
   * normalised on its own. Default 1; load() reads it from model.json (`key_parts`).
   */
  keyParts?: number;
}

function checkKeyShifts(k: unknown): KeyShifts {
  if (k === undefined) return 0;
  if (!KEY_SHIFTS.includes(k as KeyShifts)) throw new Error(`expected keyShifts to be one of ${KEY_SHIFTS.join(', ')}, got ${String(k)}`);
  return k as KeyShifts;
}

/**
 * The batch [n, 28, 28, 1] followed by each shifted copy: [(1 + shifts) * n, 28, 28, 1]; a copy
 * moved by (dx, dy) has pixel (y, x) = original (y - dy, x - dx), background 0 where that is outside.
 */
export function withShiftedCopies(x: tf.Tensor4D, shifts: KeyShifts): tf.Tensor4D {
  if (shifts === 0) return x.clone();
  return tf.tidy(() => {
    const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    const copies = SHIFTS.slice(0, shifts).map(([dx, dy]) => tf.slice(padded, [0, 1 - dy, 1 - dx, 0], [-1, OUT, OUT, 1]) as tf.Tensor4D);
    return tf.concat([x, ...copies], 0);
  });
}

function describeSource(source: EncoderSource): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  return 'an IOHandler';
}

/** Flatten and validate a batch into one Float32Array [n * 784]. */
export function imagesToFlat(images: ImageBatch): Float32Array {
  if (images instanceof Float32Array) {
    if (images.length % OUT_SIZE !== 0) {
      throw new Error(
        `expected a flat Float32Array of n*${OUT_SIZE} values (n images of ${OUT}x${OUT}), got ${images.length} values`,
      );
    }
    for (let i = 0; i < images.length; i++) {
      if (!Number.isFinite(images[i])) throw new Error(`image ${Math.floor(i / OUT_SIZE)} contains NaN or Inf`);
    }
    return images;
  }
  if (!Array.isArray(images)) {
    throw new Error(`expected a Float32Array or an array of ${OUT_SIZE}-value images, got ${typeof images}`);
  }
  const flat = new Float32Array(images.length * OUT_SIZE);
  images.forEach((img, i) => {
    if (img == null || img.length !== OUT_SIZE) {
      throw new Error(
        `expected image ${i} to be ${OUT}x${OUT} = ${OUT_SIZE} values (preprocessed), got ${img == null ? img : img.length}`,
      );
    }
    for (let j = 0; j < OUT_SIZE; j++) {
      const v = img[j];
      if (!Number.isFinite(v)) throw new Error(`image ${i} contains NaN or Inf (value ${j})`);
      flat[i * OUT_SIZE + j] = v;
    }
  });
  return flat;
}

/** The weight bytes must be what the manifest describes (a truncated or padded file is damaged). */
function checkWeightBytes(a: tf.io.ModelArtifacts): void {
  const bytesPer: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, float16: 2 };
  let want = 0;
  for (const w of a.weightSpecs ?? []) {
    if (w.quantization) return; // quantised weights: sizes differ; tfjs checks them
    const per = bytesPer[w.dtype];
    if (per === undefined) return;
    want += w.shape.reduce((x, y) => x * y, 1) * per;
  }
  const data = a.weightData;
  const got = data === undefined ? 0 : Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;
  if (got !== want) throw new Error(`the weights hold ${got} bytes, but the manifest describes ${want} (a damaged or partial download?)`);
}

/**
 * A turn for the page between batches (paint, input): a message, which a hidden tab does not
 * throttle to one a second as it does timers (setTimeout where there are no message channels).
 */
function nextTask(): Promise<void> {
  if (typeof MessageChannel === 'undefined') return new Promise((r) => setTimeout(r, 0));
  return new Promise((r) => {
    const c = new MessageChannel();
    c.port1.onmessage = () => {
      c.port1.close();
      c.port2.close();
      r();
    };
    c.port2.postMessage(null);
  });
}

export class Encoder {
  /** default images per forward pass */
  static readonly defaultBatchSize = 256;
  private disposed = false;

  private constructor(
    private readonly model: tf.LayersModel,
    /** key size (the model's output width), e.g. 128 */
    readonly keySize: number,
    /** test-time shifts averaged into each key (0: the drawing alone) */
    readonly keyShifts: KeyShifts,
    /** encoders whose outputs make up the key (1, or the size of an ensemble) */
    readonly keyParts: number,
  ) {}

  /**
   * Load the layers model from a URL of model.json or an IOHandler, and check its contract.
   * @throws Error naming the source when it cannot be loaded or has the wrong shapes.
   */
  static async load(source: EncoderSource, options: EncoderOptions = {}): Promise<Encoder> {
    const keyShifts = checkKeyShifts(options.keyShifts);
    let keyParts = options.keyParts;
    let model: tf.LayersModel;
    try {
      // read the files first and check the weights' size: tf.loadLayersModel on a short weights
      // file throws after building the model, whose variables are then never freed
      const url = source instanceof URL ? source.href : source;
      const handler = typeof url === 'string' ? (tf.io.getLoadHandlers(url)[0] ?? tf.io.http(url)) : url;
      if (!handler.load) throw new Error('the IOHandler cannot load');
      const artifacts = await handler.load();
      checkWeightBytes(artifacts);
      const parts = (artifacts.userDefinedMetadata as { key_parts?: unknown } | undefined)?.key_parts;
      if (parts !== undefined) keyParts = parts as number;
      model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    } catch (err) {
      throw new Error(
        `could not load the encoder from ${describeSource(source)} (a TF.js layers model.json and the weight files it lists): ${
          err instanceof Error ? err.message : String(err)
        }`,
      );
    }
    return Encoder.fromModel(model, describeSource(source), { keyShifts, keyParts });
  }

  /** Wrap an already built layers model (checked: input [null,28,28,1], output [null,k]). */
  static fromModel(model: tf.LayersModel, name = 'the model', options: EncoderOptions = {}): Encoder {
    let keyShifts: KeyShifts;
    const keyParts = options.keyParts ?? 1;
    try {
      keyShifts = checkKeyShifts(options.keyShifts);
      if (!Number.isInteger(keyParts) || keyParts < 1 || keyParts > 8) throw new Error(`${name}: expected key_parts to be an integer from 1 to 8, got ${String(keyParts)}`);
    } catch (err) {
      model.dispose();
      throw err;
    }
    const inShape = model.inputs[0]?.shape;
    const outShape = model.outputs[0]?.shape;
    const ok =
      model.inputs.length === 1 &&
      model.outputs.length === 1 &&
      inShape != null &&
      inShape.length === 4 &&
      inShape[1] === OUT &&
      inShape[2] === OUT &&
      inShape[3] === 1 &&
      outShape != null &&
      outShape.length === 2 &&
      typeof outShape[1] === 'number';
    if (!ok) {
      model.dispose();
      throw new Error(
        `${name}: expected one input [null, ${OUT}, ${OUT}, 1] and one output [null, keySize], got inputs ${JSON.stringify(
          model.inputs.map((t) => t.shape),
        )} and outputs ${JSON.stringify(model.outputs.map((t) => t.shape))}`,
      );
    }
    const keySize = outShape[1] as number;
    if (keySize % keyParts !== 0) {
      model.dispose();
      throw new Error(`${name}: an output of ${keySize} values cannot be split into ${keyParts} equal key parts`);
    }
    return new Encoder(model, keySize, keyShifts, keyParts);
  }

  private check(): void {
    if (this.disposed) throw new Error('this Encoder was disposed');
  }

  /**
   * Keys of a batch as a tensor: [n, 28, 28, 1] (or [n, 784]) ink-1 images -> [n, keySize]
   * unit rows (raw = false; with keyShifts, the renormalised mean over the drawing and its shifted
   * copies) or the model's raw outputs for the images themselves (raw = true, no shifts: what the
   * Python parity fixture checks). The caller disposes the result.
   */
  encodeTensor(images: tf.Tensor, raw = false): tf.Tensor2D {
    this.check();
    const s = images.shape;
    const ok = (s.length === 4 && s[1] === OUT && s[2] === OUT && s[3] === 1) || (s.length === 2 && s[1] === OUT_SIZE);
    if (!ok) {
      throw new Error(`expected images of shape [n, ${OUT}, ${OUT}, 1] or [n, ${OUT_SIZE}], got [${s.join(', ')}]`);
    }
    return tf.tidy(() => {
      const x = images.reshape([s[0], OUT, OUT, 1]).toFloat() as tf.Tensor4D;
      const parts = this.keyParts, part = this.keySize / parts;
      // each part of length 1/sqrt(parts): unit parts, and a unit key
      const unit = (y: tf.Tensor2D) => {
        if (parts === 1) return tf.div(y, tf.maximum(tf.norm(y, 'euclidean', 1, true), NORM_EPS)) as tf.Tensor2D;
        const p = y.reshape([-1, parts, part]);
        const n = tf.maximum(tf.norm(p, 'euclidean', 2, true), NORM_EPS);
        return tf.div(p, n).mul(1 / Math.sqrt(parts)).reshape([-1, this.keySize]) as tf.Tensor2D;
      };
      if (raw) return this.model.predict(x) as tf.Tensor2D;
      if (this.keyShifts === 0) return unit(this.model.predict(x) as tf.Tensor2D);
      const all = unit(this.model.predict(withShiftedCopies(x, this.keyShifts)) as tf.Tensor2D);
      return unit(all.reshape([1 + this.keyShifts, s[0], this.keySize]).sum(0) as tf.Tensor2D);
    });
  }

  /**
   * Keys of many images, batched: returns a flat Float32Array [n * keySize], row i = image i,
   * each row of unit length (or raw outputs with `raw`). Async, and the page gets a turn between
   * batches (paint, input, a progress bar): on WASM a read back resolves at once, so without it a
   * re-encoding of 10,000 drawings was one task of ~100 s.
   */
  async encode(images: ImageBatch, options: EncodeOptions & { raw?: boolean } = {}): Promise<Float32Array> {
    const { out, batches } = this.batched(images, options);
    let first = true;
    for (const { offset, keys, done } of batches) {
      if (!first) await nextTask();
      first = false;
      try {
        out.set(await keys.data(), offset);
      } finally {
        keys.dispose();
      }
      done();
    }
    return out;
  }

  /**
   * Synchronous encode() (blocks; fine in Node and for a single drawing). Prefer the async
   * encode() on WebGPU: a synchronous read back can return zeros under headless SwiftShader.
   */
  encodeSync(images: ImageBatch, options: EncodeOptions & { raw?: boolean } = {}): Float32Array {
    const { out, batches } = this.batched(images, options);
    for (const { offset, keys, done } of batches) {
      try {
        out.set(keys.dataSync(), offset);
      } finally {
        keys.dispose();
      }
      done();
    }
    return out;
  }

  /**
   * The batching shared by encode() and encodeSync(): the output array, and one keys tensor per
   * batch (the caller reads it into `out` at `offset`, disposes it, then calls `done` for progress).
   */
  private batched(images: ImageBatch, options: EncodeOptions & { raw?: boolean }) {
    this.check();
    const flat = imagesToFlat(images);
    const n = flat.length / OUT_SIZE;
    const batch = this.batchSizeOf(options.batchSize);
    const out = new Float32Array(n * this.keySize);
    const self = this;
    function* batches(): Generator<{ offset: number; keys: tf.Tensor2D; done: () => void }> {
      for (let start = 0; start < n; start += batch) {
        const m = Math.min(batch, n - start);
        const keys = tf.tidy(() => {
          const x = tf.tensor4d(flat.subarray(start * OUT_SIZE, (start + m) * OUT_SIZE), [m, OUT, OUT, 1]);
          return self.encodeTensor(x, options.raw ?? false);
        });
        yield { offset: start * self.keySize, keys, done: () => options.onProgress?.(start + m, n) };
      }
    }
    return { out, batches: batches() };
  }

  private batchSizeOf(b: number | undefined): number {
    const batch = b ?? Encoder.defaultBatchSize;
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`expected a batch size >= 1, got ${batch}`);
    return batch;
  }

  /** Free the model's weights. The encoder cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}
