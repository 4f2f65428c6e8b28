import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend';
import { Encoder } from '../../src/encoder';
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
