/**
 * Test-time rotated and scaled copies in the key, measured under the rule committed first in
 * bench/tta-warp-rule.md. Each network's key of a drawing is the renormalised mean of the unit keys
 * of a set of copies (the drawing, its 4 one-pixel shifts, and for a variant a few rotations or
 * scalings about the centre); the pair's key is the two parts side by side / sqrt(2). The baseline
 * is the shipped form `AB shift4`, and the script checks that its own shift4 keys equal the shipped
 * Encoder's (keyShifts 4) before measuring anything.
 *
 * Only the background *validation* alphabets, only train-only models (refused otherwise). Every
 * variant answers the same seeded episodes (drawn without looking at keys): paired differences.
 *
 *   npx tsx scripts/tta-warp-paired.ts --pair DIR_A,DIR_B [--episodes 4000] [--seed 7] [--out bench/tta-warp-paired]
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend';
import { withShiftedCopies } from '../src/encoder';
import { loadEncoderFromDir, refuseTrainval } from '../src/encoder/node';
import { unitRows, type Embeddings } from '../src/eval';
import { OUT, OUT_SIZE } from '../src/preprocess/preprocess';
import { episodesAndSeed, joinKeys, modelKeys, modelName, validationSet, PAIRED_TASKS, episodeAccuracies, fmt, pct, run, writeReport } from './pairedValidation';

/**
 * A copy of the drawing: one of the shipped Encoder's 5 (withShiftedCopies with 4 shifts: the drawing,
 * then moved right, left, down, up by one pixel), or a rotation (degrees) and scaling about the centre.
 */
type View = { shipped: number } | { deg: number; scale: number };

const VIEWS: Record<string, View> = {
  id: { shipped: 0 },
  'x+1': { shipped: 1 }, 'x-1': { shipped: 2 }, 'y+1': { shipped: 3 }, 'y-1': { shipped: 4 },
  'r+5': { deg: 5, scale: 1 }, 'r-5': { deg: -5, scale: 1 },
  'r+10': { deg: 10, scale: 1 }, 'r-10': { deg: -10, scale: 1 },
  'z0.9': { deg: 0, scale: 0.9 }, 'z1.1': { deg: 0, scale: 1.1 },
};
const SHIFT4 = ['id', 'x+1', 'x-1', 'y+1', 'y-1'];
/** the rule's variants (bench/tta-warp-rule.md); nothing else is tried */
const VARIANTS: Record<string, string[]> = {
  'AB shift4': SHIFT4,
  s4r5: [...SHIFT4, 'r+5', 'r-5'],
  s4r10: [...SHIFT4, 'r+10', 'r-10'],
  s4z: [...SHIFT4, 'z0.9', 'z1.1'],
  s4r5z: [...SHIFT4, 'r+5', 'r-5', 'z0.9', 'z1.1'],
};
const BASE = 'AB shift4';

/**
 * The copy `v` of a batch [n, 28, 28, 1]. A shipped copy is cut from src/encoder's withShiftedCopies.
 * A warp: output point p reads the input at c + R(deg) (p - c) / scale, c = (13.5, 13.5), bilinear,
 * 0 outside, then divided by its maximum.
 */
function viewOf(x: tf.Tensor4D, v: View): tf.Tensor4D {
  return tf.tidy(() => {
    if ('shipped' in v) return tf.slice(withShiftedCopies(x, 4), [v.shipped * x.shape[0], 0, 0, 0], [x.shape[0], -1, -1, -1]) as tf.Tensor4D;
    const t = (v.deg * Math.PI) / 180, c = (OUT - 1) / 2, cos = Math.cos(t) / v.scale, sin = Math.sin(t) / v.scale;
    const m = tf.tensor2d([[cos, -sin, c - cos * c + sin * c, sin, cos, c - sin * c - cos * c, 0, 0]]);
    const y = tf.image.transform(x, m, 'bilinear', 'constant', 0);
    return tf.div(y, tf.maximum(tf.max(y, [1, 2, 3], true), 1e-6)) as tf.Tensor4D;
  });
}

/** Unit keys (raw output normalised) of every image's copy `v`, for one model: [count * dim]. */
async function viewKeys(enc: Awaited<ReturnType<typeof loadEncoderFromDir>>, v: View, pixels: { data: Float32Array; count: number }): Promise<Float32Array> {
  const out = new Float32Array(pixels.count * enc.keySize), batch = 512;
  for (let s = 0; s < pixels.count; s += batch) {
    const m = Math.min(batch, pixels.count - s);
    const keys = tf.tidy(() => {
      const x = tf.tensor4d(pixels.data.subarray(s * OUT_SIZE, (s + m) * OUT_SIZE), [m, OUT, OUT, 1]);
      const y = enc.encodeTensor(viewOf(x, v), true);
      return tf.div(y, tf.maximum(tf.norm(y, 'euclidean', 1, true), 1e-12));
    });
    out.set(await keys.data(), s * enc.keySize);
    keys.dispose();
  }
  return out;
}

/** The renormalised sum of a model's unit keys over `views`. */
function meanKey(per: Record<string, Float32Array>, views: string[], dim: number, count: number): Embeddings {
  const data = new Float32Array(count * dim);
  for (const v of views) for (let i = 0; i < data.length; i++) data[i] += per[v][i];
  return unitRows({ dim, count, data });
}

async function main(): Promise<void> {
  await selectBackend({ force: 'wasm' });
  const { values } = parseArgs({
    options: {
      pair: { type: 'string' },
      episodes: { type: 'string', default: '4000' },
      seed: { type: 'string', default: '7' },
      out: { type: 'string', default: 'bench/tta-warp-paired' },
    },
  });
  const members = (values.pair ?? '').split(',');
  if (members.length !== 2 || members.some((m) => !m)) throw new Error('usage: npx tsx scripts/tta-warp-paired.ts --pair DIR_A,DIR_B [--episodes N] [--seed S] [--out PREFIX]');
  const { episodes, seed } = episodesAndSeed(values);
  for (const m of members) refuseTrainval(m, 'give a train-only model');
  const { set, pixels, alphabets } = await validationSet();
  console.log(`validation: ${alphabets.join(', ')}: ${set.classes.length} classes, ${pixels.count} images; ${episodes} episodes per task, seed ${seed}`);

  const perModel: Record<string, Embeddings>[] = [];
  for (const m of members) {
    const enc = await loadEncoderFromDir(m);
    const per: Record<string, Float32Array> = {};
    try {
      for (const [name, v] of Object.entries(VIEWS)) per[name] = await viewKeys(enc, v, pixels);
    } finally {
      enc.dispose();
    }
    const keys: Record<string, Embeddings> = {};
    for (const [name, views] of Object.entries(VARIANTS)) keys[name] = meanKey(per, views, enc.keySize, pixels.count);
    // this script's shift4 must be the shipped key function's
    const shipped = await modelKeys(m, 4, pixels);
    let worst = 0;
    for (let i = 0; i < shipped.data.length; i++) worst = Math.max(worst, Math.abs(shipped.data[i] - keys[BASE].data[i]));
    if (worst > 1e-4) throw new Error(`${m}: this script's shift4 keys differ from the Encoder's (keyShifts 4) by ${worst}`);
    console.log(`${m}: shift4 keys match the Encoder's (max |difference| ${worst.toExponential(1)})`);
    perModel.push(keys);
  }
  const keys: Record<string, Embeddings> = {};
  for (const name of Object.keys(VARIANTS)) keys[name] = joinKeys(perModel.map((k) => k[name]));

  const names = Object.keys(VARIANTS), challengers = names.filter((n) => n !== BASE);
  const command = `npx tsx scripts/tta-warp-paired.ts --pair ${values.pair} --episodes ${episodes} --seed ${seed} --out ${values.out}`;
  const lines = [
    '# Test-time rotated / scaled copies in the pair\'s key, on the validation alphabets (paired episodes)',
    '',
    `Rule: \`bench/tta-warp-rule.md\` (committed before this measurement). Command: \`${command}\`.`,
    `A = ${modelName(members[0])}, B = ${modelName(members[1])}. Validation alphabets ${alphabets.join(', ')} (${set.classes.length} classes with rotations), ${episodes} episodes per task, 5 queries per class; accuracy in %; differences to \`${BASE}\` (the shipped key form) per episode, mean and 95% interval.`,
    `Copies per network: ${names.map((n) => `${n} = ${VARIANTS[n].join(' ')}`).join('; ')} (r: rotation in degrees, z: scaling, about the centre, bilinear, renormalised).`,
    '',
    `| task | ${names.join(' | ')} | ${challengers.map((c) => `${c} - ${BASE}`).join(' | ')} |`,
    `|---|${names.map(() => '---|').join('')}${challengers.map(() => '---|').join('')}`,
  ];
  const rows: Record<string, unknown>[] = [];
  for (const t of PAIRED_TASKS) {
    const per: Record<string, Float64Array> = {};
    for (const v of names) per[v] = await episodeAccuracies(keys[v], set, t, episodes, seed);
    const row: Record<string, { mean: number; ci95: number } | string> = { task: `${t.ways}w${t.shots}s` };
    for (const v of names) row[v] = pct(per[v]);
    for (const c of challengers) row[`${c} - ${BASE}`] = pct(per[c].map((x, i) => x - per[BASE][i]));
    rows.push(row);
    const cells = [...names, ...challengers.map((c) => `${c} - ${BASE}`)].map((k) => fmt(row[k] as { mean: number; ci95: number }));
    lines.push(`| ${row.task} | ${cells.join(' | ')} |`);
    console.log(JSON.stringify(row));
  }
  lines.push('');
  writeReport(values.out!, lines, { rule: 'bench/tta-warp-rule.md', command, episodes, seed, alphabets, models: members, variants: VARIANTS, views: VIEWS, rows });
}

run(main);
