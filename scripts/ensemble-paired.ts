/**
 * Two memory-loss encoders as one key, measured under the rule committed first in
 * bench/ensemble-rule.md: the pair's key is [k_A ; k_B] / sqrt(2) (unit, the cosine is the mean of
 * the members' cosines), against the stronger member alone with the shipped 4 shifts.
 *
 * Only the background *validation* alphabets, only train-only models (refused otherwise). Every
 * variant answers the same seeded episodes (drawn without looking at keys): paired differences.
 *
 *   npx tsx scripts/ensemble-paired.ts --pair DIR_A,DIR_B [--pair ...] [--episodes 4000] [--seed 7] [--out bench/ensemble-paired]
 *
 * DIR_A is the stronger member (the baseline).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend';
import type { KeyShifts } from '../src/encoder';
import { loadEncoderFromDir, refuseTrainval } from '../src/encoder/node';
import type { Embeddings } from '../src/eval';
import { modelName, validationSet, PAIRED_TASKS, episodeAccuracies, fmt, pct, run, writeReport } from './pairedValidation';

async function keysOf(model: string, keyShifts: KeyShifts, pixels: Float32Array, count: number): Promise<Embeddings> {
  const enc = await loadEncoderFromDir(resolve(model), { keyShifts });
  try {
    return { dim: enc.keySize, count, data: await enc.encode(pixels) };
  } finally {
    enc.dispose();
  }
}

/** [k_A ; k_B] / sqrt(2) per row: unit when both members' keys are */
function pairKeys(a: Embeddings, b: Embeddings): Embeddings {
  const dim = a.dim + b.dim, data = new Float32Array(a.count * dim), s = Math.SQRT1_2;
  for (let i = 0; i < a.count; i++) {
    for (let j = 0; j < a.dim; j++) data[i * dim + j] = a.data[i * a.dim + j] * s;
    for (let j = 0; j < b.dim; j++) data[i * dim + a.dim + j] = b.data[i * b.dim + j] * s;
  }
  return { dim, count: a.count, data };
}

async function main(): Promise<void> {
  await selectBackend({ force: 'wasm' });
  const { values } = parseArgs({
    options: {
      pair: { type: 'string', multiple: true },
      episodes: { type: 'string', default: '4000' },
      seed: { type: 'string', default: '7' },
      out: { type: 'string', default: 'bench/ensemble-paired' },
    },
  });
  const pairs = (values.pair ?? []).map((p) => p.split(','));
  if (!pairs.length || pairs.some((p) => p.length !== 2)) {
    throw new Error('usage: npx tsx scripts/ensemble-paired.ts --pair DIR_A,DIR_B [--pair ...] [--episodes N] [--seed S] [--out PREFIX]');
  }
  const episodes = Number(values.episodes), seed = Number(values.seed);
  if (!Number.isInteger(episodes) || episodes < 1) throw new Error(`expected --episodes to be an integer >= 1, got ${values.episodes}`);
  if (!Number.isInteger(seed) || seed < 1) throw new Error(`expected --seed to be an integer >= 1, got ${values.seed}`);
  const { set, pixels, alphabets } = await validationSet();
  console.log(`validation: ${alphabets.join(', ')}: ${set.classes.length} classes, ${pixels.count} images; ${episodes} episodes per task, seed ${seed}`);

  const report: Record<string, unknown> = { rule: 'bench/ensemble-rule.md', episodes, seed, alphabets, pairs: {} };
  const lines: string[] = [
    '# Two memory-loss encoders as one key, on the validation alphabets (paired episodes)',
    '',
    `Rule: \`bench/ensemble-rule.md\` (committed before this measurement). Command: \`npx tsx scripts/ensemble-paired.ts ${pairs.map((p) => `--pair ${p.join(',')}`).join(' ')} --episodes ${episodes} --seed ${seed}\`.`,
    `Validation alphabets ${alphabets.join(', ')} (${set.classes.length} classes with rotations), ${episodes} episodes per task, 5 queries per class; accuracy in %; differences to \`A shift4\` (the baseline) per episode, mean and 95% interval.`,
    '',
  ];
  for (const [a, b] of pairs) {
    for (const m of [a, b]) refuseTrainval(m, 'give a train-only model');
    const keys: Record<string, Embeddings> = {};
    for (const s of [0, 4] as KeyShifts[]) {
      const ka = await keysOf(a, s, pixels.data, pixels.count), kb = await keysOf(b, s, pixels.data, pixels.count);
      keys[`A shift${s}`] = ka;
      keys[`B shift${s}`] = kb;
      keys[`pair${s}`] = pairKeys(ka, kb);
    }
    const name = `A = ${modelName(a)}, B = ${modelName(b)}`;
    const order = ['A shift0', 'B shift0', 'B shift4', 'A shift4', 'pair0', 'pair4'];
    lines.push(`## ${name}`, '', `| task | ${order.join(' | ')} | pair0 - A shift4 | pair4 - A shift4 |`, `|---|${order.map(() => '---|').join('')}---|---|`);
    const rows: Record<string, unknown>[] = [];
    for (const t of PAIRED_TASKS) {
      const per: Record<string, Float64Array> = {};
      for (const v of order) {
        per[v] = await episodeAccuracies(keys[v], set, t, episodes, seed);
      }
      const diff = (v: string) => pct(per[v].map((x, i) => x - per['A shift4'][i]));
      const f = fmt;
      const row: Record<string, unknown> = { task: `${t.ways}w${t.shots}s` };
      for (const v of order) row[v] = pct(per[v]);
      row.pair0MinusAShift4 = diff('pair0');
      row.pair4MinusAShift4 = diff('pair4');
      rows.push(row);
      lines.push(`| ${row.task} | ${order.map((v) => f(row[v] as { mean: number; ci95: number })).join(' | ')} | ${f(diff('pair0'))} | ${f(diff('pair4'))} |`);
      console.log(name, JSON.stringify(row));
    }
    lines.push('');
    (report.pairs as Record<string, unknown>)[name] = rows;
  }
  writeReport(values.out!, lines, report);
}

run(main);
