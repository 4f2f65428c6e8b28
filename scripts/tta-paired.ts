/**
 * Test-time shifts, measured under the rule committed first in bench/tta-rule.md: is the mean of
 * the unit keys of a drawing and of its copies shifted by one pixel (renormalised) a better memory
 * key than the drawing's own key?
 *
 * Only the background *validation* alphabets (training/data.py VALIDATION_ALPHABETS), only train-only
 * models (the script refuses a --trainval one). Every variant answers the same seeded episodes
 * (drawn without looking at keys), so the differences are paired per episode.
 *
 *   npx tsx scripts/tta-paired.ts --model DIR [--model DIR ...] [--episodes 4000] [--seed 7] [--out bench/tta-paired]
 */
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend';
import type { KeyShifts } from '../src/encoder';
import { refuseTrainval } from '../src/encoder/node';
import type { Embeddings } from '../src/eval';
import { PAIRED_TASKS as TASKS, episodesAndSeed, modelKeys, modelName, validationSet, episodeAccuracies, fmt, pct, run, writeReport } from './pairedValidation';

/** each variant is the shipped key function (src/encoder Encoder with that keyShifts) */
const VARIANTS: Record<string, KeyShifts> = { none: 0, shift4: 4, shift8: 8 };

async function main(): Promise<void> {
  await selectBackend({ force: 'wasm' });
  const { values } = parseArgs({
    options: {
      model: { type: 'string', multiple: true },
      episodes: { type: 'string', default: '4000' },
      seed: { type: 'string', default: '7' },
      out: { type: 'string', default: 'bench/tta-paired' },
    },
  });
  const models = values.model ?? [];
  if (!models.length) throw new Error('usage: npx tsx scripts/tta-paired.ts --model DIR [--model DIR ...] [--episodes N] [--seed S] [--out PREFIX]');
  const { episodes, seed } = episodesAndSeed(values);

  const { set, pixels, alphabets: VALIDATION_ALPHABETS } = await validationSet();
  console.log(`validation: ${VALIDATION_ALPHABETS.join(', ')}: ${set.classes.length} classes, ${pixels.count} images; ${episodes} episodes per task, seed ${seed}`);

  const report: Record<string, unknown> = { rule: 'bench/tta-rule.md', episodes, seed, alphabets: VALIDATION_ALPHABETS, models: {} };
  const lines: string[] = [
    '# Test-time shifts on the validation alphabets (paired episodes)',
    '',
    `Rule: \`bench/tta-rule.md\` (committed before this measurement). Command: \`npx tsx scripts/tta-paired.ts ${models.map((m) => `--model ${m}`).join(' ')} --episodes ${episodes} --seed ${seed}\`.`,
    `Validation alphabets ${VALIDATION_ALPHABETS.join(', ')} (${set.classes.length} classes with rotations), ${episodes} episodes per task, 5 queries per class; accuracy in %, difference to \`none\` per episode, mean and 95% interval.`,
    '',
  ];
  for (const model of models) {
    refuseTrainval(model, 'give its train-only twin');
    const keys: Record<string, Embeddings> = {};
    for (const [variant, keyShifts] of Object.entries(VARIANTS)) {
      keys[variant] = await modelKeys(model, keyShifts, pixels);
    }
    const name = modelName(model);
    const rows: Record<string, unknown>[] = [];
    lines.push(`## ${name}`, '', '| task | none | shift4 | shift4 - none | shift8 | shift8 - none | shift8 - shift4 |', '|---|---|---|---|---|---|---|');
    for (const t of TASKS) {
      const per: Record<string, Float64Array> = {};
      for (const v of Object.keys(VARIANTS)) {
        per[v] = await episodeAccuracies(keys[v], set, t, episodes, seed);
      }
      const diff = (a: string, b: string) => pct(per[a].map((x, i) => x - per[b][i]));
      const f = fmt;
      const row = {
        task: `${t.ways}w${t.shots}s`,
        none: pct(per.none), shift4: pct(per.shift4), shift8: pct(per.shift8),
        shift4MinusNone: diff('shift4', 'none'), shift8MinusNone: diff('shift8', 'none'), shift8MinusShift4: diff('shift8', 'shift4'),
      };
      rows.push(row);
      lines.push(`| ${row.task} | ${f(row.none)} | ${f(row.shift4)} | ${f(row.shift4MinusNone)} | ${f(row.shift8)} | ${f(row.shift8MinusNone)} | ${f(row.shift8MinusShift4)} |`);
      console.log(name, JSON.stringify(row));
    }
    lines.push('');
    (report.models as Record<string, unknown>)[name] = rows;
  }
  writeReport(values.out!, lines, report);
}

run(main);
