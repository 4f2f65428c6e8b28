/**
 * The whole Omniglot benchmark, shared by `npm run eval` (Node) and the Benchmark view (browser):
 * images -> preprocess -> embeddings once -> the protocols of protocols.ts for the model and the
 * pixels baseline -> results (JSON) -> a markdown report beside the published figures.
 */
import type { OmniglotSet, SplitClass } from './omniglot';
import {
  prepareImages,
  splitClasses,
  unitRows,
  unrotatedClasses,
  type ClassSet,
  type Embeddings,
} from './dataset';
import {
  fewShot,
  lifelong,
  online,
  formatPercent,
  type EvalMemoryConfig,
  type FewShotResult,
  type LifelongResult,
  type OnlineResult,
} from './protocols';
import { defaultLearnersConfig, learnersToMarkdown, quickLearnersConfig, runLearners, type LearnersConfig, type LearnersResults } from './learnersBenchmark';

/** The four columns of the paper's Table 1. */
export const TASKS = [
  { ways: 5, shots: 1 },
  { ways: 5, shots: 5 },
  { ways: 20, shots: 1 },
  { ways: 20, shots: 5 },
] as const;

/** Published Omniglot one-shot figures (%), columns as TASKS. */
export const PUBLISHED: { method: string; source: string; accuracy: [number, number, number, number] }[] = [
  { method: 'Pixels NN', source: 'Kaiser et al. 2017, Table 1', accuracy: [41.7, 63.2, 26.7, 42.6] },
  { method: 'Siamese nets', source: 'Kaiser et al. 2017, Table 1', accuracy: [97.3, 98.4, 88.1, 97.0] },
  { method: 'Matching Networks', source: 'Kaiser et al. 2017, Table 1', accuracy: [98.1, 98.9, 93.8, 98.5] },
  { method: 'Kaiser et al. (conv + memory)', source: 'Kaiser et al. 2017, Table 1', accuracy: [98.4, 99.6, 95.0, 98.6] },
  { method: 'Prototypical Networks', source: 'Snell et al. 2017', accuracy: [98.8, 99.7, 96.0, 98.9] },
];

export interface BenchmarkConfig {
  /** episodes per N-way K-shot task and test set (default 1000) */
  episodes: number;
  /** query drawings per class per episode (default 5) */
  queriesPerClass: number;
  seed: number;
  /** run the pixels nearest-neighbour baseline too (default true) */
  pixelsBaseline: boolean;
  /**
   * also the pixels baseline on the plain 28x28 resize of the whole drawing (no crop/rescale), as
   * the published pixels figures were made (N-way K-shot only; on by default, off in quickConfig)
   */
  rawPixelsBaseline?: boolean;
  online: { ways: number[]; length: number[]; episodes: number; maxShot: number };
  lifelong: { ways: number; length: number; episodes: number; memorySize: number; window: number };
  /** memory settings for every protocol (size and key size are set per protocol) */
  memory: EvalMemoryConfig;
  /** drawings per class (default all 20; the browser's quick run may use fewer) */
  drawingsPerClass?: number;
  /** the N-way K-shot tasks (default TASKS, the four columns of Table 1) */
  tasks?: { ways: number; shots: number }[];
  /** the learners of src/learners side by side (N-way K-shot and the curriculum); absent: not run */
  learners?: LearnersConfig;
  /** run only the learners part (skip the memory, pixels, online and life-long protocols) */
  learnersOnly?: boolean;
}

export function defaultConfig(): BenchmarkConfig {
  return {
    episodes: 1000,
    queriesPerClass: 5,
    seed: 1,
    pixelsBaseline: true,
    rawPixelsBaseline: true,
    online: { ways: [5, 20], length: [30, 100], episodes: 500, maxShot: 10 },
    lifelong: { ways: 5, length: 30, episodes: 300, memorySize: 64, window: 10 },
    memory: {},
    learners: defaultLearnersConfig(),
  };
}

/** A small run for a quick look (`--quick`, the browser's default). */
export function quickConfig(): BenchmarkConfig {
  const c = defaultConfig();
  c.episodes = 100;
  c.rawPixelsBaseline = false;
  c.online = { ...c.online, episodes: 50 };
  c.lifelong = { ...c.lifelong, episodes: 60 };
  c.learners = quickLearnersConfig();
  return c;
}

export type Method = 'memory' | 'pixels' | 'raw-pixels';

export interface FewShotRow extends FewShotResult {
  method: Method;
  testSet: string;
}
export interface OnlineRow extends OnlineResult {
  method: Method;
  testSet: string;
}
export interface LifelongRow extends LifelongResult {
  method: Method;
  testSet: string;
}

export interface BenchmarkResults {
  model: string;
  /** test-time shifts averaged into each key (src/encoder keyShifts; 0: the drawing alone) */
  keyShifts: number;
  backend: string;
  date: string;
  source: string;
  config: BenchmarkConfig;
  testSets: { name: string; description: string; classes: number; images: number }[];
  images: number;
  fewShot: FewShotRow[];
  online: OnlineRow[];
  lifelong: LifelongRow[];
  /** the learners side by side (when config.learners is set) */
  learners?: LearnersResults;
  /** protocols not run because the test set is too small for them, with the reason */
  skipped: string[];
  /** seconds per stage */
  timings: Record<string, number>;
}

export interface BenchmarkInput {
  set: OmniglotSet;
  /** the Vinyals test split (rotations as classes); without it only the unrotated set runs */
  split?: { classes: SplitClass[]; source: string };
  /** name of the model, for the report */
  model: string;
  /** the encoder's test-time shifts (Encoder.keyShifts), for the report; default 0 */
  keyShifts?: number;
  backend: string;
  /** preprocessed images [n, 784] (ink 1) -> keys [n, keySize]; called once */
  embed: (pixels: Embeddings, onProgress: (done: number, total: number) => void) => Promise<Embeddings>;
}

export interface BenchmarkHooks {
  /** a stage started: its label and its number of work units */
  onStage?: (label: string, total: number) => void;
  onProgress?: (done: number, total: number) => void;
  tick?: () => Promise<void>;
  /** checked between stages and episodes batches; true stops with an Error('cancelled') */
  cancelled?: () => boolean;
}

export const VINYALS_TEST = 'vinyals-test';
export const EVAL_UNROTATED = 'evaluation-unrotated';
/** The Omniglot root whose alphabets the bundled encoders never saw (the others: named after their root). */
export const EVALUATION_ROOT = 'images_evaluation';

/**
 * Why a set's scores are not one-shot results comparable with the published figures (null: they
 * are): the background alphabets trained the encoders; another root is not Omniglot's evaluation set.
 */
export function testSetCaveat(root: string): string | null {
  if (root === EVALUATION_ROOT) return null;
  if (root === 'images_background') {
    return 'images_background holds the 30 alphabets the bundled encoders were trained on: scores on them are not one-shot results on new symbols, and not comparable with the published figures (use images_evaluation.zip for that)';
  }
  return `${root} is not Omniglot's evaluation set (images_evaluation): its scores are not comparable with the published figures`;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Why a configuration cannot run (null: it can). An episode needs at least one support and one
 * query drawing of each class, so fewer than 2 drawings per class would skip every cell.
 */
/** The most episodes per task a run takes: 100 times the published protocols' 1,000 (hours in a browser already). */
export const MAX_EPISODES = 100_000;

export function benchmarkConfigProblem(config: Pick<BenchmarkConfig, 'episodes' | 'queriesPerClass' | 'drawingsPerClass'>): string | null {
  if (!Number.isInteger(config.episodes) || config.episodes < 1 || config.episodes > MAX_EPISODES) {
    return `expected episodes to be an integer from 1 to ${MAX_EPISODES.toLocaleString('en-US')} (the published protocols use 1,000), got ${config.episodes}`;
  }
  if (!Number.isInteger(config.queriesPerClass) || config.queriesPerClass < 1) return `expected queries per class to be an integer >= 1, got ${config.queriesPerClass}`;
  const d = config.drawingsPerClass;
  if (d !== undefined && (!Number.isInteger(d) || d < 2 || d > 20)) {
    return `expected drawings per class to be an integer from 2 to 20 (a class needs a drawing to remember and one to recognise; an N-way K-shot cell needs K + ${config.queriesPerClass} and is skipped with fewer), got ${d}`;
  }
  return null;
}

export async function runBenchmark(
  input: BenchmarkInput,
  config: BenchmarkConfig,
  hooks: BenchmarkHooks = {},
): Promise<BenchmarkResults> {
  const problem = benchmarkConfigProblem(config);
  if (problem) throw new Error(problem);
  const timings: Record<string, number> = {};
  const check = () => {
    if (hooks.cancelled?.()) throw new Error('cancelled');
  };
  const stage = async <T>(label: string, total: number, key: string, f: () => Promise<T>): Promise<T> => {
    check();
    hooks.onStage?.(label, total);
    const t0 = now();
    const r = await f();
    timings[key] = (timings[key] ?? 0) + (now() - t0) / 1000;
    return r;
  };
  const progress = {
    onProgress: (d: number, t: number) => {
      hooks.onProgress?.(d, t);
    },
    tick: async () => {
      check();
      if (hooks.tick) await hooks.tick();
    },
  };

  const specs: { name: string; description: string; classes: ReturnType<typeof unrotatedClasses> }[] = [];
  if (input.split) {
    specs.push({
      name: VINYALS_TEST,
      description: `Vinyals et al. test classes (${input.split.source}): characters x 4 rotations, rotations as classes`,
      classes: splitClasses(input.set, input.split.classes, input.split.source),
    });
  }
  const caveat = testSetCaveat(input.set.root);
  specs.push({
    // named after its root unless it is the evaluation set (the published figures' classes)
    name: caveat ? `${input.set.root}-unrotated` : EVAL_UNROTATED,
    description: `all ${input.set.characters.length} characters of ${input.set.root}, unrotated${caveat ? ` (${caveat})` : ''}`,
    classes: unrotatedClasses(input.set),
  });

  const expected = specs.reduce((s, x) => s + x.classes.length, 0) * (config.drawingsPerClass ?? 20);
  const prepared = await stage('Decoding and preprocessing drawings', expected, 'preprocess', () =>
    prepareImages(input.set, specs, { drawingsPerClass: config.drawingsPerClass, rawPixels: config.rawPixelsBaseline, ...progress }),
  );
  const keys = await stage('Encoding drawings', prepared.pixels.count, 'encode', () =>
    input.embed(prepared.pixels, (d, t) => progress.onProgress(d, t)),
  );
  if (keys.count !== prepared.pixels.count || keys.data.length !== keys.count * keys.dim) {
    throw new Error(`embed returned ${keys.count} rows of ${keys.dim} (${keys.data.length} values), expected ${prepared.pixels.count} rows`);
  }
  const methods: { method: Method; emb: Embeddings }[] = [{ method: 'memory', emb: keys }];
  if (config.pixelsBaseline) methods.push({ method: 'pixels', emb: unitRows(prepared.pixels) });
  if (config.rawPixelsBaseline && prepared.rawPixels) methods.push({ method: 'raw-pixels', emb: unitRows(prepared.rawPixels) });

  const results: BenchmarkResults = {
    model: input.model,
    keyShifts: input.keyShifts ?? 0,
    backend: input.backend,
    date: new Date().toISOString(),
    source: input.set.source,
    config,
    testSets: specs.map((s, i) => ({
      name: s.name,
      description: s.description,
      classes: s.classes.length,
      images: prepared.sets[i].classes.reduce((n, c) => n + c.items.length, 0),
    })),
    images: prepared.pixels.count,
    fewShot: [],
    online: [],
    lifelong: [],
    skipped: [],
    timings,
  };
  const fits = (cs: ClassSet, ways: number, perClass: number, what: string): boolean => {
    const minImages = Math.min(...cs.classes.map((c) => c.items.length));
    if (cs.classes.length >= ways && minImages >= perClass) return true;
    results.skipped.push(
      `${what} on ${cs.name}: needs ${ways} classes of >= ${perClass} images, the set has ${cs.classes.length} classes of >= ${minImages}`,
    );
    return false;
  };

  const label = (m: Method) => (m === 'memory' ? input.model : m);
  for (const { method, emb } of config.learnersOnly ? [] : methods) {
    for (const cs of prepared.sets) {
      for (const t of config.tasks ?? TASKS) {
        if (!fits(cs, t.ways, t.shots + config.queriesPerClass, `${label(method)}: ${t.ways}-way ${t.shots}-shot`)) continue;
        const r = await stage(`${label(method)}: ${t.ways}-way ${t.shots}-shot on ${cs.name}`, config.episodes, `fewShot-${method}`, () =>
          fewShot(emb, cs, {
            ...t,
            episodes: config.episodes,
            queriesPerClass: config.queriesPerClass,
            seed: config.seed,
            memory: config.memory,
            ...progress,
          }),
        );
        results.fewShot.push({ method, testSet: cs.name, ...r });
      }
    }
    if (method === 'raw-pixels') continue; // a sanity check of the N-way K-shot figures only
    const primary: ClassSet = prepared.sets[0];
    for (let i = 0; i < config.online.ways.length; i++) {
      const ways = config.online.ways[i];
      const length = config.online.length[i] ?? config.online.length[0];
      if (!fits(primary, ways, 1, `${label(method)}: online ${ways}-way`)) continue;
      const r = await stage(`${label(method)}: online ${ways}-way on ${primary.name}`, config.online.episodes, `online-${method}`, () =>
        online(emb, primary, { ways, length, episodes: config.online.episodes, maxShot: config.online.maxShot, seed: config.seed, memory: config.memory, ...progress }),
      );
      results.online.push({ method, testSet: primary.name, ...r });
    }
    // life-long on the largest set, and only as many episodes as it has new classes for (no class
    // comes back under a new label, which would pit it against its own stale slots)
    const ll = prepared.sets.reduce((a, b) => (b.classes.length > a.classes.length ? b : a));
    if (!fits(ll, config.lifelong.ways, 1, `${label(method)}: life-long`)) continue;
    const llEpisodes = Math.min(config.lifelong.episodes, Math.floor(ll.classes.length / config.lifelong.ways));
    if (llEpisodes < config.lifelong.episodes && method === 'memory') {
      results.skipped.push(
        `life-long on ${ll.name}: ${llEpisodes} episodes instead of ${config.lifelong.episodes} (${ll.classes.length} classes, ${config.lifelong.ways} new per episode)`,
      );
    }
    const r = await stage(`${label(method)}: life-long on ${ll.name}`, llEpisodes, `lifelong-${method}`, () =>
      lifelong(emb, ll, { ...config.lifelong, episodes: llEpisodes, seed: config.seed, memory: config.memory, maxShot: config.online.maxShot, ...progress }),
    );
    results.lifelong.push({ method, testSet: ll.name, ...r });
  }
  if (config.learners) {
    // the learners on the encoder's keys: the primary test set's episodes, the curriculum on the largest set
    const largest = prepared.sets.reduce((a, b) => (b.classes.length > a.classes.length ? b : a));
    results.learners = await runLearners(
      keys,
      prepared.sets[0],
      largest,
      config.learners,
      { episodes: config.episodes, queriesPerClass: config.queriesPerClass, seed: config.seed, tasks: config.tasks ?? TASKS },
      { stage: (l, total, key, f) => stage(l, total, key, f), ...progress },
    );
  }
  return results;
}

// ------------------------------------------------------------------------------ report

const pct = formatPercent;

function fewShotCells(r: BenchmarkResults, method: Method, testSet: string): string[] | null {
  const rows = TASKS.map((t) => r.fewShot.find((x) => x.method === method && x.testSet === testSet && x.ways === t.ways && x.shots === t.shots));
  if (rows.some((x) => !x)) return null;
  return rows.map((x) => pct(x!.accuracy));
}

/** The markdown report: Table 1 side by side, the online curve, life-long. */
export function resultsToMarkdown(r: BenchmarkResults): string {
  const L: string[] = [];
  const head = TASKS.map((t) => `${t.ways}-way ${t.shots}-shot`);
  L.push(`# Omniglot one-shot evaluation`);
  L.push('');
  L.push(
    `Model \`${r.model}\`${r.keyShifts ? ` (keys: mean over the drawing and its ${r.keyShifts} one-pixel shifts)` : ''}, backend ${r.backend}, ${r.config.episodes} seeded episodes per cell (seed ${r.config.seed}), ` +
      `${r.config.queriesPerClass} queries per class per episode; accuracy in % ± 95% CI over episodes. ` +
      `Data: ${r.source} (${r.images} preprocessed images). Run ${r.date}.`,
  );
  L.push('');
  L.push('## N-way K-shot (paper Table 1)');
  L.push('');
  L.push(`| Method | Test classes | ${head.join(' | ')} |`);
  L.push(`|---|---|${head.map(() => '---:').join('|')}|`);
  for (const p of PUBLISHED) L.push(`| ${p.method} (published) | ${p.source} | ${p.accuracy.map((a) => a.toFixed(1)).join(' | ')} |`);
  for (const ts of r.testSets) {
    for (const m of ['raw-pixels', 'pixels', 'memory'] as Method[]) {
      const cells = fewShotCells(r, m, ts.name);
      if (!cells) continue;
      const name =
        m === 'memory'
          ? `**Memory Lab: \`${r.model}\` + memory**`
          : m === 'pixels'
            ? 'Memory Lab: pixels NN (same harness)'
            : 'Memory Lab: raw pixels NN (plain 28x28 resize)';
      L.push(`| ${name} | ${ts.name} | ${cells.join(' | ')} |`);
    }
  }
  L.push('');
  for (const ts of r.testSets) L.push(`- \`${ts.name}\`: ${ts.description}; ${ts.classes} classes, ${ts.images} images.`);
  L.push(
    '- Protocol: per episode N random classes, K support + ' +
      `${r.config.queriesPerClass} query drawings per class (distinct drawers); a fresh memory of N*K slots; ` +
      'supports written one at a time through the update rule (shuffled); each query answered by V[n1]. ' +
      'Pixels NN: the preprocessed 28x28 image (cropped to the ink, rescaled to 20x20, centred; src/preprocess), unit-normalised, as a 784-d key, through the same memory' +
      (r.fewShot.some((x) => x.method === 'raw-pixels')
        ? '; raw pixels NN: the whole 105x105 drawing area-resized to 28x28 without the crop, closer to how the published pixels figures were made.'
        : '.'),
  );
  const slots = r.fewShot.filter((x) => x.shots > 1 && x.method === 'memory');
  if (slots.length > 0) {
    L.push(
      '- Slots used by the support (the update rule merges a shot into its class slot when that slot is its nearest neighbour): ' +
        slots.map((x) => `${x.ways}-way ${x.shots}-shot ${x.testSet} ${x.meanSlotsUsed.toFixed(1)}/${x.ways * x.shots}`).join('; ') +
        '.',
    );
  }
  L.push('');
  if (r.online.length > 0) {
    L.push("## Online protocol: accuracy by number of times the class was seen before (reference `correct_by_shot`)");
    L.push('');
    const maxShot = r.config.online.maxShot;
    const shots = Array.from({ length: maxShot + 1 }, (_, s) => s);
    L.push(`| Method | N | length | ${shots.map((s) => (s === maxShot ? `${s}+` : `${s}`)).join(' | ')} |`);
    L.push(`|---|---:|---:|${shots.map(() => '---:').join('|')}|`);
    for (const o of r.online) {
      const cells = shots.map((s) => {
        const p = o.byShot.find((b) => b.shot === s);
        return p ? (100 * p.accuracy.mean).toFixed(1) : '–';
      });
      L.push(`| ${o.method === 'memory' ? r.model : 'pixels'} (${o.testSet}) | ${o.ways} | ${o.length} | ${cells.join(' | ')} |`);
    }
    L.push('');
    L.push(
      `${r.config.online.episodes} episodes each; a fresh memory per episode; each example is predicted (V[n1]) before it is written. ` +
        'Shot 0 is always wrong (the label is new to the memory).',
    );
    L.push('');
  }
  if (r.lifelong.length > 0) {
    L.push('## Life-long: one memory, never reset');
    L.push('');
    const ll = r.lifelong[0];
    L.push(
      `${ll.episodes} online episodes of ${ll.ways} new classes (${ll.length} examples per episode, labels never reused) on \`${ll.testSet}\`, ` +
        `one memory of ${ll.memorySize} slots, so the oldest slots are evicted. Accuracy on examples whose class was seen before (shot >= 1), per window of ${r.config.lifelong.window} episodes.`,
    );
    L.push('');
    const methods = r.lifelong.map((x) => (x.method === 'memory' ? r.model : 'pixels'));
    L.push(`| Episodes | ${methods.map((m) => `${m} (shot >= 1)`).join(' | ')} | ${methods.map((m) => `${m} (shot 1)`).join(' | ')} | evictions (${methods[0]}) |`);
    L.push(`|---:|${methods.map(() => '---:|').join('')}${methods.map(() => '---:|').join('')}---:|`);
    const n = ll.curve.length;
    const picks = n <= 12 ? ll.curve.map((_, i) => i) : [...new Set(Array.from({ length: 10 }, (_, i) => Math.round((i * (n - 1)) / 9)))];
    for (const i of picks) {
      const ep = ll.curve[i].episode;
      const a = r.lifelong.map((x) => pct(x.curve[i].accuracy));
      const b = r.lifelong.map((x) => pct(x.curve[i].oneShot));
      L.push(`| ${ep} | ${a.join(' | ')} | ${b.join(' | ')} | ${ll.curve[i].evictions} |`);
    }
    L.push(`| all | ${r.lifelong.map((x) => pct(x.accuracy)).join(' | ')} | ${methods.map(() => '').join(' | ')} | ${ll.evictions} |`);
    L.push('');
  }
  if (r.learners) {
    L.push(learnersToMarkdown(r.learners, r.config.tasks ?? TASKS));
  }
  if (r.skipped.length > 0) {
    L.push('Skipped or shortened (test set too small):');
    for (const s of r.skipped) L.push(`- ${s}`);
    L.push('');
  }
  const t = Object.entries(r.timings)
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
    .join(', ');
  L.push(`Timings: ${t}.`);
  L.push('');
  return L.join('\n');
}
