import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend';
import { Encoder, withShiftedCopies } from '../../src/encoder';
import { fileSystemHandler, loadEncoderFromDir } from '../../src/encoder/node';

interface Parity {
  model: string;
  inputs: number[][];
  outputs: number[][];
  keys: number[][];
}

// Written by the training pipeline (PyTorch) from synthetic inputs, next to the exported model.
const root = resolve(__dirname, '../..');
const parity = JSON.parse(readFileSync(resolve(root, 'tests/fixtures/encoder_parity.json'), 'utf8')) as Parity;
const modelDir = resolve(root, parity.model);

function maxAbsDiff(a: ArrayLike<number>, b: number[][], width: number): number {
  let worst = 0;
  b.forEach((row, i) => {
    expect(row.length).toBe(width);
    for (let j = 0; j < width; j++) worst = Math.max(worst, Math.abs(a[i * width + j] - row[j]));
  });
  return worst;
}

let enc: Encoder;

beforeAll(async () => {
  await selectBackend({ force: 'wasm' });
  enc = await loadEncoderFromDir(modelDir);
});
afterAll(() => enc?.dispose());

describe('Encoder (Node, wasm) against PyTorch (encoder_parity.json)', () => {
  it('loads the model with key size 128', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(enc.keySize).toBe(128);
    expect(parity.inputs.length).toBeGreaterThan(0);
  });

  it('raw outputs match to 1e-4', async () => {
    const raw = await enc.encode(parity.inputs, { raw: true });
    expect(maxAbsDiff(raw, parity.outputs, 128)).toBeLessThanOrEqual(1e-4);
  });

  it('unit keys match to 1e-4 and have unit length', async () => {
    const keys = await enc.encode(parity.inputs);
    expect(maxAbsDiff(keys, parity.keys, 128)).toBeLessThanOrEqual(1e-4);
    for (let i = 0; i < parity.inputs.length; i++) {
      let s = 0;
      for (let j = 0; j < 128; j++) s += keys[i * 128 + j] ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 5);
    }
  });

  it('batching does not change the result (batch 3 vs one pass), sync = async', async () => {
    const flat = new Float32Array(parity.inputs.flat());
    const one = await enc.encode(flat);
    const progress: number[] = [];
    const batched = await enc.encode(flat, { batchSize: 3, onProgress: (d) => progress.push(d) });
    expect(progress[progress.length - 1]).toBe(parity.inputs.length);
    expect(progress.length).toBe(Math.ceil(parity.inputs.length / 3));
    expect(maxAbsDiff(batched, parity.keys, 128)).toBeLessThanOrEqual(1e-4);
    const sync = enc.encodeSync(flat, { batchSize: 4 });
    for (let i = 0; i < one.length; i++) {
      expect(Math.abs(sync[i] - one[i])).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(batched[i] - one[i])).toBeLessThanOrEqual(1e-6);
    }
  });

  it('leaks no tensors (encode, encodeSync, encodeTensor + dispose, errors)', async () => {
    const before = tf.memory().numTensors;
    await enc.encode(parity.inputs, { batchSize: 4 });
    enc.encodeSync(parity.inputs);
    const x = tf.tensor2d(parity.inputs);
    const y = enc.encodeTensor(x);
    expect(y.shape).toEqual([parity.inputs.length, 128]);
    y.dispose();
    x.dispose();
    await expect(enc.encode([new Float32Array(10)])).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects wrong input sizes with clear errors', async () => {
    await expect(enc.encode([new Float32Array(783)])).rejects.toThrow(/image 0 to be 28x28 = 784 values.*got 783/);
    await expect(enc.encode(new Float32Array(784 * 2 + 1))).rejects.toThrow(/n\*784 values.*got 1569/);
    const bad = new Float32Array(784);
    bad[5] = NaN;
    await expect(enc.encode([bad])).rejects.toThrow(/NaN/);
    await expect(enc.encode(new Float32Array(784), { batchSize: 0 })).rejects.toThrow(/batch size/);
    const t = tf.zeros([2, 27, 27, 1]);
    expect(() => enc.encodeTensor(t)).toThrow(/\[n, 28, 28, 1\].*got \[2, 27, 27, 1\]/);
    t.dispose();
  });

  it('empty batch gives an empty result', async () => {
    expect((await enc.encode(new Float32Array(0))).length).toBe(0);
  });
});

// every other bundled encoder's export has its own fixture (export_tfjs.py --parity=...), e.g. the default
const otherParities = readdirSync(resolve(root, 'tests/fixtures'))
  .filter((f) => /^encoder_parity_.+\.json$/.test(f))
  .map((f) => ({ file: f, parity: JSON.parse(readFileSync(resolve(root, 'tests/fixtures', f), 'utf8')) as Parity }));

describe.each(otherParities)('$parity.model against PyTorch ($file)', ({ parity: p }) => {
  it('raw outputs and unit keys match to 1e-4; no tensors leak', async () => {
    const before = tf.memory().numTensors;
    const e = await loadEncoderFromDir(resolve(root, p.model));
    try {
      expect(maxAbsDiff(await e.encode(p.inputs, { raw: true }), p.outputs, e.keySize)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(await e.encode(p.inputs), p.keys, e.keySize)).toBeLessThanOrEqual(1e-4);
    } finally {
      e.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

it('every bundled encoder in models/encoders.json has a parity fixture', () => {
  const registry = JSON.parse(readFileSync(resolve(root, 'models/encoders.json'), 'utf8')) as { encoders: { folder: string }[] };
  const covered = new Set([parity.model, ...otherParities.map((o) => o.parity.model)]);
  for (const e of registry.encoders) expect(covered, `models/${e.folder}`).toContain(`models/${e.folder}`);
});

describe('Encoder loading errors', () => {
  it('names the missing path', async () => {
    await expect(loadEncoderFromDir(resolve(root, 'models/does-not-exist'))).rejects.toThrow(
      /could not load the encoder.*does-not-exist\/model\.json/,
    );
  });

  it('rejects a model with the wrong input shape and frees it', async () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [10], units: 4 })] });
    const before = tf.memory().numTensors;
    const artifacts = await new Promise<tf.io.ModelArtifacts>((res) => {
      void m.save(tf.io.withSaveHandler(async (a) => (res(a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    });
    await expect(Encoder.load(tf.io.fromMemory(artifacts))).rejects.toThrow(/expected one input \[null, 28, 28, 1\]/);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  it('a disposed encoder refuses to encode', async () => {
    const e = await Encoder.load(fileSystemHandler(modelDir));
    e.dispose();
    await expect(e.encode(new Float32Array(784))).rejects.toThrow(/disposed/);
  });
});

describe('test-time shifts (keyShifts)', () => {
  // a drawing-like image: a few strokes of ink away from the border, random so no shift is a no-op
  function image(seed: number): Float32Array {
    const x = new Float32Array(784);
    let s = seed;
    for (let i = 0; i < 60; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const r = 3 + (s % 22), c = 3 + ((s >> 8) % 22);
      x[r * 28 + c] = 1;
    }
    return x;
  }
  /** the copy moved by (dx, dy), written out pixel by pixel */
  function moved(x: Float32Array, dx: number, dy: number): Float32Array {
    const out = new Float32Array(784);
    for (let y = 0; y < 28; y++) for (let c = 0; c < 28; c++) {
      const sy = y - dy, sx = c - dx;
      if (sy >= 0 && sy < 28 && sx >= 0 && sx < 28) out[y * 28 + c] = x[sy * 28 + sx];
    }
    return out;
  }

  it('withShiftedCopies puts the batch first, then each one-pixel move (4, then the diagonals)', () => {
    const a = image(1), b = image(2);
    const moves = [[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [1, -1], [-1, 1], [-1, -1]];
    const x = tf.tensor4d([...a, ...b], [2, 28, 28, 1]);
    const y = withShiftedCopies(x, 8);
    expect(y.shape).toEqual([18, 28, 28, 1]);
    const got = y.dataSync();
    const want = [a, b, ...moves.flatMap(([dx, dy]) => [moved(a, dx, dy), moved(b, dx, dy)])];
    want.forEach((w, i) => expect(Array.from(got.subarray(i * 784, (i + 1) * 784))).toEqual(Array.from(w)));
    x.dispose();
    y.dispose();
  });

  it('a key is the renormalised mean of the unit keys of the drawing and its moved copies', async () => {
    for (const k of [4, 8] as const) {
      const shifted = await loadEncoderFromDir(modelDir, { keyShifts: k });
      expect(shifted.keyShifts).toBe(k);
      const imgs = [image(3), image(4)];
      const got = await shifted.encode(imgs);
      const moves = [[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [1, -1], [-1, 1], [-1, -1]].slice(0, k);
      imgs.forEach((img, i) => {
        const parts = enc.encodeSync([img, ...moves.map(([dx, dy]) => moved(img, dx, dy))]);
        const sum = new Float64Array(enc.keySize);
        for (let p = 0; p <= k; p++) for (let j = 0; j < enc.keySize; j++) sum[j] += parts[p * enc.keySize + j];
        const norm = Math.hypot(...sum);
        const row = got.subarray(i * enc.keySize, (i + 1) * enc.keySize);
        expect(Math.abs(Math.hypot(...row) - 1)).toBeLessThan(1e-5);
        for (let j = 0; j < enc.keySize; j++) expect(Math.abs(row[j] - sum[j] / norm)).toBeLessThan(1e-5);
      });
      // the shifts change the key, but raw outputs stay the model's own (the parity fixture's)
      const plain = enc.encodeSync(imgs);
      expect(Math.max(...got.map((v, j) => Math.abs(v - plain[j])))).toBeGreaterThan(1e-3);
      expect(Array.from(shifted.encodeSync(imgs, { raw: true }))).toEqual(Array.from(enc.encodeSync(imgs, { raw: true })));
      // batching (sync and async) gives the same keys; nothing leaks
      const before = tf.memory().numTensors;
      expect(Array.from(shifted.encodeSync(imgs, { batchSize: 1 }))).toEqual(Array.from(shifted.encodeSync(imgs)));
      tf.tidy(() => {
        shifted.encodeTensor(tf.tensor2d([...imgs[0]], [1, 784]));
      });
      expect(tf.memory().numTensors).toBe(before);
      shifted.dispose();
    }
  });

  it('refuses an impossible setting, and frees the model', async () => {
    const before = tf.memory().numTensors;
    await expect(loadEncoderFromDir(modelDir, { keyShifts: 3 as never })).rejects.toThrow('expected keyShifts to be one of 0, 4, 8, got 3');
    expect(tf.memory().numTensors).toBe(before);
  });
});
