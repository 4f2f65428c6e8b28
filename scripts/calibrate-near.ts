/**
 * How close is "close"? Picks the default of the app's "not sure" cut-off (Settings > nearCutoff;
 * below it the app answers "not sure" with its best guess) from the trained encoder on the
 * background *validation* alphabets (training/data.py VALIDATION_ALPHABETS: Early_Aramaic and Hebrew, held
 * out of training). Never the evaluation alphabets: those are test data, and nothing is tuned on them.
 * For E episodes: one drawing of each of C characters is stored (one-shot, as in the app); other
 * drawings of those characters ("known") and drawings of C other characters ("new") are queried.
 * Prints the top-1 cosine similarity quantiles of both groups and, per threshold, how many known
 * queries would still be answered (and correctly) and how many new ones would be refused.
 * The cut-off chosen is the one where the share of known drawings answered equals the share of new
 * ones refused (equal error), rounded to 0.05. Writes bench/calibrate-near-<folder>.md (or --out).
 * Run: npx tsx scripts/calibrate-near.ts --model models/<folder> [--key-shifts 0|4|8] [--out bench/calibrate-near-<folder>.md]
 * (keys as the app makes them: --key-shifts, else the model's models/encoders.json keyShifts, else 0)
 * (reads OMNIGLOT_DIR, default ../shared/data/omniglot beside the repository).
 * A model trained on the validation alphabets too (train.py --trainval, e.g. the shipped
 * omniglot-conv4-memory) must not calibrate here: its validation drawings are not new to it, and
 * the script refuses it (export_tfjs.py records the training run in model.json). Give the run of
 * the same recipe without --trainval instead (exported with export_tfjs.py), as
 * bench/calibrate-near-omniglot-conv4-memory.md did.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseEncoderRegistry } from '../src/encoder';
import { selectBackend } from '../src/backend';
import { keyShiftsOf, loadEncoderFromDir, refuseTrainval } from '../src/encoder/node';
import { VALIDATION_ALPHABETS, checkValidationAlphabets, decodeDrawing, readOmniglotZip } from '../src/eval/omniglot';
import { preprocess } from '../src/preprocess';
import { mulberry32 as rand } from '../src/memory/random';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = process.env.OMNIGLOT_DIR ? resolve(process.env.OMNIGLOT_DIR) : resolve(ROOT, '../shared/data/omniglot');
const C = 20, E = 30;

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];

async function main() {
  await selectBackend({ force: 'wasm' });
  const { values } = parseArgs({ options: { model: { type: 'string' }, out: { type: 'string' }, 'key-shifts': { type: 'string' } } });
  if (!values.model) {
    const folders = parseEncoderRegistry(JSON.parse(readFileSync(join(ROOT, 'models/encoders.json'), 'utf8'))).encoders.map((e) => `models/${e.folder}`);
    throw new Error(`usage: npx tsx scripts/calibrate-near.ts --model DIR [--out FILE] (bundled: ${folders.join(', ')}; a --trainval model must not calibrate here: give its train-only twin)`);
  }
  const model = values.model;
  // a model that learned from the validation alphabets would find its "new" characters familiar,
  // and the cut-off would come out wrong
  refuseTrainval(model, 'calibrate its train-only twin (the same recipe without --trainval, exported with training/export_tfjs.py) and use that cut-off');
  const outFile = values.out ? resolve(values.out) : resolve(ROOT, `bench/calibrate-near-${basename(resolve(model))}.md`);
  const keyShifts = keyShiftsOf(model, join(ROOT, 'models/encoders.json'), values['key-shifts']);
  const enc = await loadEncoderFromDir(resolve(model), { keyShifts });
  const all = readOmniglotZip(readFileSync(join(DIR, 'images_background.zip')), 'images_background.zip');
  checkValidationAlphabets(all);
  const characters = all.characters.filter((c) => VALIDATION_ALPHABETS.includes(c.alphabet));
  const set = { characters };
  const r = rand(3);
  const keyOf = async (i: number, d: number) => {
    const img = decodeDrawing(set.characters[i].drawings[d]);
    return enc.encode(preprocess(img.pixels, img.height, img.width));
  };
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
  const known: { sim: number; ok: boolean }[] = [];
  const fresh: number[] = [];
  for (let e = 0; e < E; e++) {
    // 2C distinct characters: C stored, C never stored
    const chars: number[] = [];
    while (chars.length < 2 * C) {
      const c = Math.floor(r() * set.characters.length);
      if (!chars.includes(c)) chars.push(c);
    }
    const stored = await Promise.all(chars.slice(0, C).map((c) => keyOf(c, 0)));
    const top = (k: Float32Array) => stored.map((s, i) => [dot(s, k), i]).sort((a, b) => b[0] - a[0])[0];
    for (let i = 0; i < C; i++) {
      const [sim, j] = top(await keyOf(chars[i], 1 + Math.floor(r() * 19)));
      known.push({ sim, ok: chars[j] === chars[i] });
      fresh.push(top(await keyOf(chars[C + i], Math.floor(r() * 20)))[0]);
    }
  }
  const ks = known.map((k) => k.sim);
  const lines: string[] = [];
  const say = (l: string) => (console.log(l), lines.push(l));
  say(`# "Not sure" cut-off calibration (\`npx tsx scripts/calibrate-near.ts --model ${model}${keyShifts ? ` --key-shifts ${keyShifts}` : ''}\`)`);
  say('');
  say(`Encoder: \`${model}\`${keyShifts ? `, keys averaged over the drawing and its ${keyShifts} one-pixel shifts` : ''}.`);
  say('');
  say(`Background validation alphabets ${VALIDATION_ALPHABETS.join(', ')} (${set.characters.length} characters, held out of training; never the evaluation alphabets).`);
  say(`${E} episodes x ${C} stored characters (one drawing each); ${known.length} queries of stored characters ("known"), ${fresh.length} of characters never stored ("new").`);
  say('');
  say(`top-1 similarity, known: p10 ${q(ks, 0.1).toFixed(3)} p50 ${q(ks, 0.5).toFixed(3)}; new: p50 ${q(fresh, 0.5).toFixed(3)} p90 ${q(fresh, 0.9).toFixed(3)}  `);
  say(`one-shot ${C}-way accuracy without a cut-off: ${(known.filter((k) => k.ok).length / known.length).toFixed(3)}`);
  say('');
  say('| cut-off | known answered | known answered correctly | new refused |');
  say('|---:|---:|---:|---:|');
  let best = { t: 0, gap: Infinity };
  for (let i = 0; i <= 14; i++) {
    const t = 0.2 + 0.05 * i;
    const ans = known.filter((k) => k.sim >= t);
    const answered = ans.length / known.length, refused = fresh.filter((s) => s < t).length / fresh.length;
    if (Math.abs(answered - refused) < best.gap) best = { t, gap: Math.abs(answered - refused) };
    say(`| ${t.toFixed(2)} | ${answered.toFixed(3)} | ${(ans.filter((k) => k.ok).length / known.length).toFixed(3)} | ${refused.toFixed(3)} |`);
  }
  say('');
  say(`Chosen cut-off (known answered = new refused): **${best.t.toFixed(2)}**: this encoder's \`nearCutoff\` in models/encoders.json, the one a new memory starts with under it.`);
  writeFileSync(outFile, lines.join('\n') + '\n');
  console.log(`wrote ${relative(ROOT, outFile)}`);
  enc.dispose();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
