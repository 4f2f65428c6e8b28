/**
 * `npm run eval`: the paper's Omniglot table measured by Memory Lab (Node, WASM backend).
 *
 *   npm run eval -- [--episodes 1000] [--model models/<the default encoder>] [--key-shifts 0|4|8] [--omniglot-dir DIR]
 *                   [--quick] [--seed 1] [--no-pixels] [--raw-pixels | --no-raw-pixels]
 *                   [--backend wasm|cpu] [--out bench/eval-results]
 *                   [--no-learners | --learners-only] [--learner-episodes N]
 *
 * Reads images_evaluation.zip and splits/vinyals/test.txt from OMNIGLOT_DIR (default
 * ../shared/data/omniglot), embeds every image once, runs the protocols, prints the markdown
 * report and writes <out>.md and <out>.json (default bench/eval-results, or
 * bench/eval-results-quick with --quick). The default model is the app's default encoder: the
 * first entry of models/encoders.json. Keys are made as the app makes them: with the test-time
 * shifts of the model's entry in models/encoders.json (keyShifts; 0 for a folder not listed there),
 * or --key-shifts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import { parseEncoderRegistry } from '../src/encoder';
import { keyShiftsOf, loadEncoderFromDir } from '../src/encoder/node';
import { defaultConfig, quickConfig, resultsToMarkdown, runBenchmark } from '../src/eval/benchmark';
import { defaultOmniglotDir, loadOmniglotZip, loadVinyalsSplit } from '../src/eval/omniglotNode';
import { curriculumSvg } from '../src/eval/learnersFigure';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** models/<folder> of the app's default encoder: the first entry of models/encoders.json */
function defaultModelDir(): string {
  const registry = parseEncoderRegistry(JSON.parse(readFileSync(resolve(repoRoot, 'models/encoders.json'), 'utf8')));
  return join('models', registry.encoders[0].folder);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      episodes: { type: 'string' },
      model: { type: 'string' },
      'key-shifts': { type: 'string' },
      'omniglot-dir': { type: 'string' },
      quick: { type: 'boolean', default: false },
      seed: { type: 'string' },
      'no-pixels': { type: 'boolean', default: false },
      'raw-pixels': { type: 'boolean' },
      'no-raw-pixels': { type: 'boolean', default: false },
      backend: { type: 'string', default: 'wasm' },
      out: { type: 'string' },
      'no-learners': { type: 'boolean', default: false },
      'learners-only': { type: 'boolean', default: false },
      'learner-episodes': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run eval -- [--episodes N] [--model DIR] [--key-shifts 0|4|8] [--omniglot-dir DIR] [--quick] [--seed S] [--no-pixels] [--raw-pixels | --no-raw-pixels] [--backend wasm|cpu] [--out PREFIX] [--no-learners | --learners-only] [--learner-episodes N]',
    );
    return;
  }
  const config = values.quick ? quickConfig() : defaultConfig();
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`expected --${name} to be an integer >= 1, got ${v}`);
    return n;
  };
  config.episodes = int('episodes', values.episodes) ?? config.episodes;
  config.seed = int('seed', values.seed) ?? config.seed;
  config.pixelsBaseline = !values['no-pixels'];
  if (values['raw-pixels']) config.rawPixelsBaseline = true;
  if (values['no-raw-pixels']) config.rawPixelsBaseline = false;
  if (values['no-learners'] && values['learners-only']) throw new Error('expected at most one of --no-learners and --learners-only, got both');
  if (values['no-learners']) config.learners = undefined;
  config.learnersOnly = values['learners-only'];
  if (config.learners) config.learners.episodes = int('learner-episodes', values['learner-episodes']) ?? config.learners.episodes;
  const backendName = values.backend;
  if (backendName !== 'wasm' && backendName !== 'cpu') throw new Error(`expected --backend wasm or cpu, got ${backendName}`);

  const t0 = performance.now();
  const dir = values['omniglot-dir'] ? resolve(values['omniglot-dir']) : defaultOmniglotDir(repoRoot);
  const set = loadOmniglotZip(dir, 'evaluation');
  const split = loadVinyalsSplit(dir, 'test');
  // the report names the data relative to the repository (no machine-specific absolute paths)
  set.source = relative(repoRoot, set.source);
  split.source = relative(repoRoot, split.source);
  const backend = await selectBackend({ force: backendName });
  const modelDir = resolve(repoRoot, values.model ?? defaultModelDir());
  // a bundled encoder's keys are made as the app makes them (models/encoders.json keyShifts)
  const keyShifts = keyShiftsOf(modelDir, resolve(repoRoot, 'models/encoders.json'), values['key-shifts']);
  const encoder = await loadEncoderFromDir(modelDir, { keyShifts });
  const modelName = relative(repoRoot, modelDir) || modelDir;
  console.log(
    `Omniglot: ${set.source} (${set.characters.length} characters, ${set.alphabets.length} alphabets); split ${split.source} ` +
      `(${split.classes.length} classes); model ${modelName} (key ${encoder.keySize}${keyShifts ? `, test-time shifts ${keyShifts}` : ''}); backend ${backend.backend}`,
  );

  const bar = new cliProgress.SingleBar(
    { format: '{stage} [{bar}] {value}/{total} | {duration_formatted} | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  try {
    const results = await runBenchmark(
      {
        set,
        split,
        model: modelName,
        keyShifts,
        backend: `tfjs ${tf.version.tfjs} ${backend.backend} (Node ${process.version})`,
        embed: async (pixels, onProgress) => {
          const data = await encoder.encode(pixels.data, { batchSize: 256, onProgress });
          return { dim: encoder.keySize, count: pixels.count, data };
        },
      },
      config,
      {
        onStage: (label, total) => {
          if (started) bar.stop();
          bar.start(total, 0, { stage: label.padEnd(52).slice(0, 52) });
          started = true;
        },
        onProgress: (done) => bar.update(done),
      },
    );
    if (started) bar.stop();
    results.timings.total = (performance.now() - t0) / 1000;
    const md = resultsToMarkdown(results);
    const out = resolve(repoRoot, values.out ?? (values.quick ? 'bench/eval-results-quick' : values['learners-only'] ? 'bench/eval-results-learners' : 'bench/eval-results'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(`${out}.md`, md);
    writeFileSync(`${out}.json`, JSON.stringify(results, null, 1) + '\n');
    const cur = results.learners?.curriculum;
    if (cur) {
      const caption = `Curriculum on ${cur.testSet}: ${cur.streams} streams of ${cur.length} drawings, a new class every ${cur.introduceEvery} steps; model ${modelName}; npm run eval, ${results.date.slice(0, 10)}`;
      writeFileSync(`${out}-curriculum.svg`, curriculumSvg(cur, caption));
    }
    console.log('\n' + md);
    console.log(`wrote ${relative(repoRoot, out)}.md and .json${cur ? ' and -curriculum.svg' : ''} in ${results.timings.total.toFixed(0)} s`);
  } finally {
    if (started) bar.stop();
    encoder.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(`eval: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
