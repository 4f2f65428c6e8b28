/**
 * Rule 4 (bench/centering-rule.md, committed before this measurement): keys centred by the mean
 * embedding of the training images (`training/export_tfjs.py --center=true`, folded into the last
 * bias) against the same networks uncentred, on the background *validation* alphabets only, with
 * train-only models (refused otherwise). Every variant answers the same seeded episodes: paired
 * differences. All keys with the shipped 4 shifts; a pair's key is [k_A ; k_B] / sqrt(2).
 *
 *   npx tsx scripts/centering-paired.ts --plain DIR_A,DIR_B --centred DIR_A_C,DIR_B_C [--episodes 4000] [--seed 7] [--out bench/centering-paired]
 */
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend';
import { refuseTrainval } from '../src/encoder/node';
import type { Embeddings } from '../src/eval';
import { episodesAndSeed, joinKeys, modelKeys, modelName, validationSet, PAIRED_TASKS, episodeAccuracies, fmt, pct, run, writeReport } from './pairedValidation';


async function main(): Promise<void> {
  await selectBackend({ force: 'wasm' });
  const { values } = parseArgs({
    options: {
      plain: { type: 'string' },
      centred: { type: 'string' },
      episodes: { type: 'string', default: '4000' },
      seed: { type: 'string', default: '7' },
      out: { type: 'string', default: 'bench/centering-paired' },
    },
  });
  const usage = 'usage: npx tsx scripts/centering-paired.ts --plain DIR_A,DIR_B --centred DIR_A_C,DIR_B_C [--episodes N] [--seed S] [--out PREFIX]';
  const plain = values.plain?.split(',') ?? [], centred = values.centred?.split(',') ?? [];
  if (plain.length !== 2 || centred.length !== 2 || [...plain, ...centred].some((m) => !m)) throw new Error(usage);
  const { episodes, seed } = episodesAndSeed(values);
  for (const m of [...plain, ...centred]) refuseTrainval(m, 'give a train-only model');
  const { set, pixels, alphabets } = await validationSet();
  console.log(`validation: ${alphabets.join(', ')}: ${set.classes.length} classes, ${pixels.count} images; ${episodes} episodes per task, seed ${seed}`);

  const k: Embeddings[] = [];
  for (const m of [...plain, ...centred]) k.push(await modelKeys(m, 4, pixels));
  const keys: Record<string, Embeddings> = {
    'A shift4': k[0],
    'A c4': k[2],
    'AB shift4': joinKeys([k[0], k[1]]),
    'AB c4': joinKeys([k[2], k[3]]),
  };
  const order = Object.keys(keys);
  const diffs: [string, string][] = [['A c4', 'A shift4'], ['AB c4', 'AB shift4']];
  const names = `A = ${modelName(plain[0])}, B = ${modelName(plain[1])}; centred: ${modelName(centred[0])}, ${modelName(centred[1])}`;
  const lines: string[] = [
    '# Centred keys (rule 4) on the validation alphabets (paired episodes)',
    '',
    `Rule: \`bench/centering-rule.md\` (committed before this measurement). Command: \`npx tsx scripts/centering-paired.ts --plain ${plain.join(',')} --centred ${centred.join(',')} --episodes ${episodes} --seed ${seed}\`.`,
    `Validation alphabets ${alphabets.join(', ')} (${set.classes.length} classes with rotations), ${episodes} episodes per task, 5 queries per class; accuracy in %; all keys with 4 shifts; \`c4\`: the network(s) centred by the mean embedding of their training images (\`training/export_tfjs.py --center=true\`); differences per episode, mean and 95% interval.`,
    '',
    names,
    '',
    `| task | ${order.join(' | ')} | ${diffs.map(([x, y]) => `${x} - ${y}`).join(' | ')} |`,
    `|---|${order.map(() => '---|').join('')}${diffs.map(() => '---|').join('')}`,
  ];
  const rows: Record<string, unknown>[] = [];
  for (const t of PAIRED_TASKS) {
    const per: Record<string, Float64Array> = {};
    for (const v of order) per[v] = await episodeAccuracies(keys[v], set, t, episodes, seed);
    const row: Record<string, unknown> = { task: `${t.ways}w${t.shots}s` };
    for (const v of order) row[v] = pct(per[v]);
    for (const [x, y] of diffs) row[`${x} - ${y}`] = pct(per[x].map((v, i) => v - per[y][i]));
    rows.push(row);
    const cells = [...order, ...diffs.map(([x, y]) => `${x} - ${y}`)].map((c) => fmt(row[c] as { mean: number; ci95: number }));
    lines.push(`| ${row.task} | ${cells.join(' | ')} |`);
    console.log(JSON.stringify(row));
  }
  lines.push('');
  writeReport(values.out!, lines, { rule: 'bench/centering-rule.md', episodes, seed, alphabets, models: { plain, centred }, rows });
}

run(main);
