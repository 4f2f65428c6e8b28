import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend';
import { Encoder } from '../../src/encoder';

beforeAll(async () => {
  await selectBackend({ force: 'wasm' });
});

/** Two small towers on one input, concatenated (the ensemble), and each tower alone as its own model with copied weights. */
function towers(seed: number) {
  const input = tf.input({ shape: [28, 28, 1] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const da = tf.layers.dense({ units: 6, kernelInitializer: tf.initializers.randomNormal({ seed }), biasInitializer: 'ones' });
  const db = tf.layers.dense({ units: 6, kernelInitializer: tf.initializers.randomNormal({ seed: seed + 1 }) });
  const both = tf.layers.concatenate().apply([da.apply(flat), db.apply(flat)] as tf.SymbolicTensor[]) as tf.SymbolicTensor;
  const ab = tf.model({ inputs: input, outputs: both });
  const member = (d: tf.layers.Layer) => {
    const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.dense({ units: 6 })] });
    m.layers[1].setWeights(d.getWeights());
    return m;
  };
  return { a: member(da), b: member(db), ab };
}

function images(n: number, seed: number): Float32Array {
  const x = new Float32Array(n * 784);
  let s = seed;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = s % 7 === 0 ? 1 : 0;
  }
  return x;
}

describe('ensembles (keyParts): one model, the members side by side', () => {
  it('the key is each member\'s unit key, concatenated, over sqrt(parts) -- with and without shifts', () => {
    const before = tf.memory().numTensors;
    for (const keyShifts of [0, 4] as const) {
      const { a, b, ab } = towers(3);
      const encA = Encoder.fromModel(a, 'a', { keyShifts }), encB = Encoder.fromModel(b, 'b', { keyShifts });
      const pair = Encoder.fromModel(ab, 'a+b', { keyShifts, keyParts: 2 });
      expect(pair.keySize).toBe(12);
      expect(pair.keyParts).toBe(2);
      const x = images(3, 11);
      const ka = encA.encodeSync(x), kb = encB.encodeSync(x), k = pair.encodeSync(x);
      for (let i = 0; i < 3; i++) {
        const row = k.subarray(i * 12, (i + 1) * 12);
        expect(Math.abs(Math.hypot(...row) - 1)).toBeLessThan(1e-5);
        for (let j = 0; j < 6; j++) {
          expect(Math.abs(row[j] - ka[i * 6 + j] / Math.SQRT2)).toBeLessThan(1e-6);
          expect(Math.abs(row[6 + j] - kb[i * 6 + j] / Math.SQRT2)).toBeLessThan(1e-6);
        }
      }
      // raw outputs are the members' raw outputs side by side
      const raw = pair.encodeSync(x, { raw: true }), ra = encA.encodeSync(x, { raw: true });
      for (let j = 0; j < 6; j++) expect(raw[j]).toBeCloseTo(ra[j], 5);
      pair.dispose();
      encA.dispose();
      encB.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reads key_parts from model.json when loading', async () => {
    const { ab, a, b } = towers(5);
    let saved: tf.io.ModelArtifacts | undefined;
    await ab.save(tf.io.withSaveHandler(async (art) => {
      saved = art;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    a.dispose();
    b.dispose();
    ab.dispose();
    const enc = await Encoder.load(tf.io.fromMemory({ ...saved!, userDefinedMetadata: { key_parts: 2 } }));
    expect(enc.keyParts).toBe(2);
    const k = enc.encodeSync(images(1, 2));
    expect(Math.hypot(...k.subarray(0, 6))).toBeCloseTo(Math.SQRT1_2, 5);
    expect(Math.hypot(...k.subarray(6))).toBeCloseTo(Math.SQRT1_2, 5);
    enc.dispose();
    const single = await Encoder.load(tf.io.fromMemory(saved!));
    expect(single.keyParts).toBe(1);
    single.dispose();
  });

  it('refuses parts that do not split the output, or an impossible count, and frees the model', () => {
    const before = tf.memory().numTensors;
    for (const [keyParts, message] of [[5, 'an output of 12 values cannot be split into 5 equal key parts'], [0, 'expected key_parts to be an integer from 1 to 8, got 0'], [1.5, 'got 1.5']] as const) {
      const { a, b, ab } = towers(7);
      a.dispose();
      b.dispose();
      expect(() => Encoder.fromModel(ab, 'a+b', { keyParts })).toThrow(message);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
