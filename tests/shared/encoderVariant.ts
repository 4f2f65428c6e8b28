/**
 * Test-only variants of the bundled encoder, made in memory from models/omniglot-conv4 (never
 * committed as models): `permuted` reverses the order of the 128 key units (a different encoder
 * whose keys differ from the bundled one's, with the same cosine similarities between drawings,
 * so a memory not re-encoded answers wrongly while a re-encoded one answers as before); `nan`
 * has NaN weights of the right size (loads, answers NaN); `truncated` has half its weight bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUNDLED_DIR = 'models/omniglot-conv4';

interface ModelJson {
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
}

export function encoderVariant(kind: 'permuted' | 'nan' | 'truncated', root = '.'): { modelJson: string; weights: Buffer } {
  const dir = join(root, BUNDLED_DIR);
  const modelJson = readFileSync(join(dir, 'model.json'), 'utf8');
  const bin = readFileSync(join(dir, 'weights.bin'));
  const w = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  if (kind === 'truncated') return { modelJson, weights: bin.subarray(0, bin.length >> 1) };
  if (kind === 'nan') return { modelJson, weights: Buffer.from(new Float32Array(w.length).fill(NaN).buffer) };
  const manifest = (JSON.parse(modelJson) as ModelJson).weightsManifest;
  if (manifest.length !== 1 || manifest[0].paths.length !== 1) throw new Error('expected one weights file');
  let offset = 0;
  const at = new Map<string, { offset: number; shape: number[] }>();
  for (const s of manifest[0].weights) {
    if (s.dtype !== 'float32') throw new Error(`expected float32 weights, got ${s.dtype}`);
    at.set(s.name, { offset, shape: s.shape });
    offset += s.shape.reduce((a, b) => a * b, 1);
  }
  const kernel = at.get('key/kernel');
  const bias = at.get('key/bias');
  if (!kernel || !bias) throw new Error('expected the dense layer "key" (kernel and bias)');
  const [rows, units] = kernel.shape;
  const out = Float32Array.from(w);
  for (let j = 0; j < units; j++) {
    const from = units - 1 - j;
    for (let i = 0; i < rows; i++) out[kernel.offset + i * units + j] = w[kernel.offset + i * units + from];
    out[bias.offset + j] = w[bias.offset + from];
  }
  return { modelJson, weights: Buffer.from(out.buffer) };
}

/** Key unit j of the permuted variant is unit (keySize - 1 - j) of the bundled encoder. */
export function permutedKey(key: Float32Array): Float32Array {
  return Float32Array.from(key).reverse();
}
