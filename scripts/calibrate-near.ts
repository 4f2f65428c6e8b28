/**
 * How close is "close"? Picks the app's NEAR_SIMILARITY (below it the app says "I don't know this
 * yet") from the trained encoder on Omniglot evaluation alphabets (never used in training).
 * For E episodes: one drawing of each of C characters is stored (one-shot, as in the app); other
 * drawings of those characters ("known") and drawings of C other characters ("new") are queried.
 * Prints the top-1 cosine similarity quantiles of both groups and, per threshold, how many known
 * queries would still be answered (and correctly) and how many new ones would be refused.
 * Run: npx tsx scripts/calibrate-near.ts   (reads OMNIGLOT_DIR, default ../shared/data/omniglot)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../src/backend';
import { loadEncoderFromDir } from '../src/encoder/node';
import { decodeDrawing, readOmniglotZip } from '../src/eval/omniglot';
import { preprocess } from '../src/preprocess';
import { mulberry32 as rand } from '../src/memory/random';

const DIR = process.env.OMNIGLOT_DIR ?? '../shared/data/omniglot';
const C = 20, E = 30;

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];

async function main() {
  await selectBackend({ force: 'wasm' });
  const enc = await loadEncoderFromDir('models/omniglot-conv4');
  const set = readOmniglotZip(readFileSync(join(DIR, 'images_evaluation.zip')), 'images_evaluation.zip');
  const r = rand(3);
  const keyOf = async (i: number, d: number) => {
    const img = decodeDrawing(set.characters[i].drawings[d]);
    return enc.encode(preprocess(img.pixels, img.height, img.width));
  };
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
  const known: { sim: number; ok: boolean }[] = [];
  const fresh: number[] = [];
  for (let e = 0; e < E; e++) {
    const chars = Array.from({ length: 2 * C }, () => Math.floor(r() * set.characters.length));
    const stored = await Promise.all(chars.slice(0, C).map((c) => keyOf(c, 0)));
    const top = (k: Float32Array) => stored.map((s, i) => [dot(s, k), i]).sort((a, b) => b[0] - a[0])[0];
    for (let i = 0; i < C; i++) {
      const [sim, j] = top(await keyOf(chars[i], 1 + Math.floor(r() * 19)));
      known.push({ sim, ok: chars[j] === chars[i] });
      fresh.push(top(await keyOf(chars[C + i], Math.floor(r() * 20)))[0]);
    }
  }
  const ks = known.map((k) => k.sim);
  console.log(`episodes ${E} x ${C} stored characters; ${known.length} known and ${fresh.length} new queries`);
  console.log(`top-1 similarity, known: p10 ${q(ks, 0.1).toFixed(3)} p50 ${q(ks, 0.5).toFixed(3)}; new: p50 ${q(fresh, 0.5).toFixed(3)} p90 ${q(fresh, 0.9).toFixed(3)}`);
  console.log(`one-shot ${C}-way accuracy without a threshold: ${(known.filter((k) => k.ok).length / known.length).toFixed(3)}`);
  console.log('threshold | known answered | known answered correctly | new refused');
  for (let t = 0.3; t <= 0.9001; t += 0.05) {
    const ans = known.filter((k) => k.sim >= t);
    console.log(`${t.toFixed(2)} | ${(ans.length / known.length).toFixed(3)} | ${(ans.filter((k) => k.ok).length / known.length).toFixed(3)} | ${(fresh.filter((s) => s < t).length / fresh.length).toFixed(3)}`);
  }
  enc.dispose();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
