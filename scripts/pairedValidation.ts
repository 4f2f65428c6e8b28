/**
 * What the paired validation scripts (tta-paired.ts, ensemble-paired.ts) share: the background
 * validation alphabets prepared once, the four tasks, and how a model folder is named in a report.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyShifts } from '../src/encoder';
import { loadEncoderFromDir } from '../src/encoder/node';
import { VALIDATION_ALPHABETS, checkValidationAlphabets, fewShot, meanCi, prepareImages, readOmniglotZip, rotatedClasses, type Embeddings } from '../src/eval';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = process.env.OMNIGLOT_DIR ? resolve(process.env.OMNIGLOT_DIR) : resolve(ROOT, '../shared/data/omniglot');

export const PAIRED_TASKS = [
  { ways: 5, shots: 1 },
  { ways: 5, shots: 5 },
  { ways: 20, shots: 1 },
  { ways: 20, shots: 5 },
];

/** The validation alphabets of images_background (never the evaluation set), preprocessed once. */
export async function validationSet() {
  const all = readOmniglotZip(readFileSync(join(DIR, 'images_background.zip')), 'images_background.zip');
  checkValidationAlphabets(all);
  const classes = rotatedClasses(all).filter((c) => VALIDATION_ALPHABETS.includes(all.characters[c.character].alphabet));
  const prepared = await prepareImages(all, [{ name: 'validation', classes }]);
  return { set: prepared.sets[0], pixels: prepared.pixels, alphabets: VALIDATION_ALPHABETS };
}

/** A model in the repository by its path; one exported elsewhere by the training run that made it. */
export function modelName(model: string): string {
  const meta = JSON.parse(readFileSync(join(resolve(model), 'model.json'), 'utf8')) as { userDefinedMetadata?: { training?: { run?: string } } };
  const run = meta.userDefinedMetadata?.training?.run;
  const inRepo = !relative(ROOT, resolve(model)).startsWith('..');
  const name = inRepo ? relative(ROOT, resolve(model)) : run ? `${run} (exported to ${resolve(model)})` : resolve(model);
  return '`' + name + '`';
}

/** Per-episode accuracies (0..1) of one key set on one task: the seeded episodes every variant shares. */
export async function episodeAccuracies(keys: Embeddings, set: Parameters<typeof fewShot>[1], task: { ways: number; shots: number }, episodes: number, seed: number): Promise<Float64Array> {
  const acc = new Float64Array(episodes);
  await fewShot(keys, set, { ...task, episodes, seed, onEpisode: (e, a) => (acc[e] = a) });
  return acc;
}

/** The keys a model folder makes of every image, by the shipped key function with `keyShifts`. */
export async function modelKeys(model: string, keyShifts: KeyShifts, pixels: { data: Float32Array; count: number }): Promise<Embeddings> {
  const enc = await loadEncoderFromDir(resolve(model), { keyShifts });
  try {
    return { dim: enc.keySize, count: pixels.count, data: await enc.encode(pixels.data) };
  } finally {
    enc.dispose();
  }
}

/** --episodes and --seed, checked: integers >= 1. */
export function episodesAndSeed(values: { episodes?: string; seed?: string }): { episodes: number; seed: number } {
  const episodes = Number(values.episodes), seed = Number(values.seed);
  if (!Number.isInteger(episodes) || episodes < 1) throw new Error(`expected --episodes to be an integer >= 1, got ${values.episodes}`);
  if (!Number.isInteger(seed) || seed < 1) throw new Error(`expected --seed to be an integer >= 1, got ${values.seed}`);
  return { episodes, seed };
}

/** [k_1 ; ... ; k_n] / sqrt(n) per row: unit when every member's key is */
export function joinKeys(members: Embeddings[]): Embeddings {
  if (members.length === 1) return members[0];
  const dim = members.reduce((d, m) => d + m.dim, 0), count = members[0].count, s = 1 / Math.sqrt(members.length);
  const data = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    let off = i * dim;
    for (const m of members) {
      for (let j = 0; j < m.dim; j++) data[off + j] = m.data[i * m.dim + j] * s;
      off += m.dim;
    }
  }
  return { dim, count, data };
}

/** Mean and 95% interval in %, and its table text. */
export const pct = (x: Float64Array) => meanCi(x.map((a) => 100 * a));
export const fmt = (e: { mean: number; ci95: number; n?: number }) =>
  Number.isNaN(e.ci95) ? `${e.mean.toFixed(2)} (n = ${e.n ?? '?'}, all alike)` : `${e.mean.toFixed(2)} ± ${e.ci95.toFixed(2)}`;

/** Write `<out>.md` and `<out>.json`, print the table; a failure prints its message and exits 1. */
export function writeReport(out: string, lines: string[], report: unknown): void {
  writeFileSync(`${out}.md`, lines.join('\n'));
  writeFileSync(`${out}.json`, JSON.stringify(report, null, 2) + '\n');
  console.log(lines.join('\n'));
}
export function run(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
