/**
 * Two (or more) memory-loss encoders as one key, measured under the rules committed first in
 * bench/ensemble-rule.md: the key of a set of n members is [k_1 ; ... ; k_n] / sqrt(n) (unit, the
 * cosine is the mean of the members' cosines). The baseline is the set without its last member, with
 * the shipped 4 shifts: for a pair, the stronger member A alone (rules 1 and 2); for a trio, the pair
 * A+B (rule 3).
 *
 * Only the background *validation* alphabets, only train-only models (refused otherwise). Every
 * variant answers the same seeded episodes (drawn without looking at keys): paired differences.
 *
 *   npx tsx scripts/ensemble-paired.ts --pair DIR_A,DIR_B [--pair ...] [--episodes 4000] [--seed 7] [--out bench/ensemble-paired]
 *   npx tsx scripts/ensemble-paired.ts --set DIR_A,DIR_B,DIR_C [...]   # any number of members >= 2
 *   npx tsx scripts/ensemble-paired.ts --set DIR_A,...,DIR_H --base 2      # baseline: the first 2 members (rule 4's ceiling)
 *
 * DIR_A is the stronger member (the baseline of a pair).
 */
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend';
import type { KeyShifts } from '../src/encoder';
import { refuseTrainval } from '../src/encoder/node';
import type { Embeddings } from '../src/eval';
import { episodesAndSeed, joinKeys, modelKeys, modelName, validationSet, PAIRED_TASKS, episodeAccuracies, fmt, pct, run, writeReport } from './pairedValidation';


const LETTERS = 'ABCDEFGH';

async function main(): Promise<void> {
  await selectBackend({ force: 'wasm' });
  const { values } = parseArgs({
    options: {
      pair: { type: 'string', multiple: true },
      set: { type: 'string', multiple: true },
      episodes: { type: 'string', default: '4000' },
      seed: { type: 'string', default: '7' },
      out: { type: 'string', default: 'bench/ensemble-paired' },
      base: { type: 'string' },
    },
  });
  const usage = 'usage: npx tsx scripts/ensemble-paired.ts --pair DIR_A,DIR_B | --set DIR_A,DIR_B[,DIR_C...] [...] [--base M] [--episodes N] [--seed S] [--out PREFIX]';
  const pairs = (values.pair ?? []).map((p) => p.split(','));
  if (pairs.some((p) => p.length !== 2)) throw new Error(usage);
  const sets = [...pairs, ...(values.set ?? []).map((p) => p.split(','))];
  if (!sets.length || sets.some((p) => p.length < 2 || p.length > LETTERS.length || p.some((m) => !m))) throw new Error(usage);
  const { episodes, seed } = episodesAndSeed(values);
  // --base M: every set's baseline is its first M members (default: all but the last)
  const baseSize = values.base === undefined ? undefined : Number(values.base);
  if (baseSize !== undefined && !(Number.isInteger(baseSize) && baseSize >= 1 && sets.every((p) => baseSize < p.length))) {
    throw new Error(`expected --base to be an integer >= 1 and below every set's member count, got ${values.base}`);
  }
  for (const set of sets) for (const m of set) refuseTrainval(m, 'give a train-only model');
  const { set, pixels, alphabets } = await validationSet();
  console.log(`validation: ${alphabets.join(', ')}: ${set.classes.length} classes, ${pixels.count} images; ${episodes} episodes per task, seed ${seed}`);

  const args = [...pairs.map((p) => `--pair ${p.join(',')}`), ...(values.set ?? []).map((p) => `--set ${p}`),
    ...(baseSize === undefined ? [] : [`--base ${baseSize}`])].join(' ');
  const report: Record<string, unknown> = { rule: 'bench/ensemble-rule.md', episodes, seed, alphabets, ...(baseSize === undefined ? {} : { base: baseSize }), pairs: {} };
  const lines: string[] = [
    '# Memory-loss encoders joined as one key, on the validation alphabets (paired episodes)',
    '',
    `Rule: \`bench/ensemble-rule.md\` (committed before this measurement). Command: \`npx tsx scripts/ensemble-paired.ts ${args} --episodes ${episodes} --seed ${seed}\`.`,
    `Validation alphabets ${alphabets.join(', ')} (${set.classes.length} classes with rotations), ${episodes} episodes per task, 5 queries per class; accuracy in %; the key of a set is its members' unit keys side by side / sqrt(n); differences to the baseline (${baseSize === undefined ? 'the set without its last member' : `the set's first ${baseSize} members`}, 4 shifts) per episode, mean and 95% interval.`,
    '',
  ];
  for (const members of sets) {
    const n = members.length, letters = LETTERS.slice(0, n).split(''), b = baseSize ?? n - 1;
    const all = n === 2 ? 'pair' : letters.join(''), base = `${letters.slice(0, b).join('')} shift4`;
    const keys: Record<string, Embeddings> = {};
    for (const s of [0, 4] as KeyShifts[]) {
      const each: Embeddings[] = [];
      for (const [i, m] of members.entries()) {
        each.push(await modelKeys(m, s, pixels));
        keys[`${letters[i]} shift${s}`] = each[i];
      }
      keys[`${letters.slice(0, b).join('')} shift${s}`] = joinKeys(each.slice(0, b));
      keys[`${all}${s}`] = joinKeys(each);
    }
    const name = members.map((m, i) => `${letters[i]} = ${modelName(m)}`).join(', ');
    const order = [...new Set([...letters.map((l) => `${l} shift0`), ...letters.map((l) => `${l} shift4`), base, `${all}0`, `${all}4`])];
    const d0 = `${all}0 - ${base}`, d4 = `${all}4 - ${base}`;
    lines.push(`## ${name}`, '', `| task | ${order.join(' | ')} | ${d0} | ${d4} |`, `|---|${order.map(() => '---|').join('')}---|---|`);
    const rows: Record<string, unknown>[] = [];
    for (const t of PAIRED_TASKS) {
      const per: Record<string, Float64Array> = {};
      for (const v of order) per[v] = await episodeAccuracies(keys[v], set, t, episodes, seed);
      const diff = (v: string) => pct(per[v].map((x, i) => x - per[base][i]));
      const row: Record<string, unknown> = { task: `${t.ways}w${t.shots}s` };
      for (const v of order) row[v] = pct(per[v]);
      row[d0] = diff(`${all}0`);
      row[d4] = diff(`${all}4`);
      rows.push(row);
      lines.push(`| ${row.task} | ${order.map((v) => fmt(row[v] as { mean: number; ci95: number })).join(' | ')} | ${fmt(row[d0] as { mean: number; ci95: number })} | ${fmt(row[d4] as { mean: number; ci95: number })} |`);
      console.log(name, JSON.stringify(row));
    }
    lines.push('');
    (report.pairs as Record<string, unknown>)[name] = rows;
  }
  writeReport(values.out!, lines, report);
}

run(main);
