/**
 * The learners part of the benchmark (`npm run eval`, the Benchmark view): every learner of
 * src/learners on the N-way K-shot episodes of the main table (same seed, same episodes) and on
 * Rae et al.'s curriculum, with the memory small and large. Results are plain data; the markdown
 * section is appended to the report by benchmark.ts.
 */
import { HEBBIAN_DEFAULTS, PROTOTYPES_DEFAULTS, SGD_DEFAULTS } from '../learners';
import type { ClassSet, Embeddings } from './dataset';
import { curriculum, factoryOf, fewShotLearner, type CurriculumResult, type EvalLearner, type FewShotLearnerResult } from './learners';
import { formatPercent, type ProgressHooks } from './protocols';

export interface LearnersConfig {
  /** episodes per N-way K-shot task: the first this many of the main table's (default and at most: all of them) */
  episodes?: number;
  /** the N-way K-shot tasks (default: the four columns of Table 1) */
  tasks?: { ways: number; shots: number }[];
  /** learners of the N-way K-shot table (the memory with N*K slots, as the main table) */
  fewShot: EvalLearner[];
  curriculum: {
    length: number;
    initialClasses: number;
    introduceEvery: number;
    streams: number;
    learners: EvalLearner[];
  };
}

export function defaultLearnersConfig(): LearnersConfig {
  const base: EvalLearner[] = [
    { id: 'hebbian', title: `Hebbian softmax (gamma ${HEBBIAN_DEFAULTS.gamma}, T ${HEBBIAN_DEFAULTS.smoothingLimit})`, spec: { kind: 'hebbian' } },
    { id: 'prototypes', title: 'Class prototypes (mean key)', spec: { kind: 'prototypes', scale: PROTOTYPES_DEFAULTS.scale } },
    { id: 'sgd-softmax', title: `SGD softmax (lr ${SGD_DEFAULTS.learningRate}, ${SGD_DEFAULTS.stepsPerObservation} step per example)`, spec: { kind: 'sgd-softmax' } },
  ];
  return {
    // the first 200 of the main table's seeded episodes: the SGD softmax (TF.js, one step per
    // support) costs ~0.5 s per 20-way 5-shot episode on the 2-core machine; --learner-episodes
    episodes: 200,
    fewShot: [{ id: 'memory', title: 'Key-value memory (N*K slots, V[n1])', spec: { kind: 'memory' } }, ...base],
    curriculum: {
      length: 5000,
      initialClasses: 10,
      introduceEvery: 10,
      streams: 3,
      learners: [
        { id: 'memory-small', title: 'Key-value memory, 128 slots', spec: { kind: 'memory', memorySize: 128 } },
        { id: 'memory-large', title: 'Key-value memory, 8192 slots', spec: { kind: 'memory', memorySize: 8192 } },
        ...base,
      ],
    },
  };
}

/** A small learners run (`--quick`, the browser's default). */
export function quickLearnersConfig(): LearnersConfig {
  const c = defaultLearnersConfig();
  c.episodes = undefined; // the main table's (small) count
  c.curriculum = { ...c.curriculum, length: 1500, streams: 1 };
  return c;
}

export interface LearnerFewShotRow extends FewShotLearnerResult {
  learner: string;
  title: string;
  testSet: string;
}

export interface LearnersResults {
  config: LearnersConfig;
  fewShot: LearnerFewShotRow[];
  curriculum: (CurriculumResult & { testSet: string }) | null;
}

export interface LearnersHooks extends ProgressHooks {
  /** runs one stage (label, work units) and times it; benchmark.ts passes its own */
  stage: <T>(label: string, total: number, key: string, f: () => Promise<T>) => Promise<T>;
}

/**
 * N-way K-shot for every learner on `set` (the main table's primary test set, same seed), then the
 * curriculum on the largest set.
 */
export async function runLearners(
  keys: Embeddings,
  set: ClassSet,
  curriculumSet: ClassSet,
  c: LearnersConfig,
  main: { episodes: number; queriesPerClass: number; seed: number; tasks: readonly { ways: number; shots: number }[] },
  hooks: LearnersHooks,
): Promise<LearnersResults> {
  const out: LearnersResults = { config: c, fewShot: [], curriculum: null };
  // the first `episodes` of the main table's episodes: never more than it has
  const episodes = Math.min(c.episodes ?? main.episodes, main.episodes);
  const progress: ProgressHooks = { onProgress: hooks.onProgress, tick: hooks.tick };
  for (const l of c.fewShot) {
    for (const t of c.tasks ?? main.tasks) {
      const minImages = Math.min(...set.classes.map((x) => x.items.length));
      if (set.classes.length < t.ways || minImages < t.shots + main.queriesPerClass) continue;
      const r = await hooks.stage(`${l.id}: ${t.ways}-way ${t.shots}-shot on ${set.name}`, episodes, `learners-fewShot-${l.id}`, () =>
        fewShotLearner(keys, set, { ...t, episodes, queriesPerClass: main.queriesPerClass, seed: main.seed, learner: factoryOf(l, main.seed), ...progress }),
      );
      out.fewShot.push({ learner: l.id, title: l.title, testSet: set.name, ...r });
    }
  }
  const cc = c.curriculum;
  if (cc.learners.length > 0 && curriculumSet.classes.length >= cc.initialClasses) {
    const total = cc.streams * cc.learners.length;
    const r = await hooks.stage(`curriculum on ${curriculumSet.name}`, total, 'learners-curriculum', () =>
      curriculum(keys, curriculumSet, {
        length: cc.length,
        initialClasses: cc.initialClasses,
        introduceEvery: cc.introduceEvery,
        streams: cc.streams,
        seed: main.seed,
        learners: cc.learners.map((l) => ({ id: l.id, title: l.title, make: factoryOf(l, main.seed) })),
        ...progress,
      }),
    );
    out.curriculum = { ...r, testSet: curriculumSet.name };
  }
  return out;
}

const pct = formatPercent;

/** The learners section of the report. */
export function learnersToMarkdown(r: LearnersResults, tasks: readonly { ways: number; shots: number }[]): string {
  const L: string[] = [];
  L.push('## Learners side by side: memory, Hebbian softmax, prototypes, SGD softmax');
  L.push('');
  if (r.fewShot.length > 0) {
    const ts = r.fewShot[0].testSet;
    const eps = r.fewShot[0].episodes;
    L.push(
      `N-way K-shot on \`${ts}\`, the first ${eps} of the main table's seeded episodes (same classes, supports, queries, support order); ` +
        'supports observed one at a time, each query answered by predict(). Accuracy in % ± 95% CI over episodes; ' +
        'in brackets the mean confidence of the answers (the memory uses k = 1 as in the main table, so its softmax is over one neighbour: 1.00).',
    );
    L.push('');
    const head = tasks.map((t) => `${t.ways}-way ${t.shots}-shot`);
    L.push(`| Learner | ${head.join(' | ')} |`);
    L.push(`|---|${head.map(() => '---:').join('|')}|`);
    const ids = [...new Set(r.fewShot.map((x) => x.learner))];
    for (const id of ids) {
      const rows = tasks.map((t) => r.fewShot.find((x) => x.learner === id && x.ways === t.ways && x.shots === t.shots));
      const title = rows.find((x) => x)?.title ?? id;
      L.push(`| ${title} | ${rows.map((x) => (x ? `${pct(x.accuracy)} (${x.meanConfidence.toFixed(2)})` : '–')).join(' | ')} |`);
    }
    L.push('');
  }
  const c = r.curriculum;
  if (c) {
    L.push(`### Curriculum (Rae et al. 2018, section 4.1, with a frozen encoder) on \`${c.testSet}\``);
    L.push('');
    L.push(
      `${c.streams} seeded streams of ${c.length} drawings; ${c.initialClasses} classes at the start, then a new class every ${c.introduceEvery} steps ` +
        `(${c.classesIntroduced.toFixed(0)} classes per stream); every other step a drawing of a class drawn uniformly from those introduced so far, ` +
        'each drawing shown at most once. Each learner predicts every drawing before observing it. Accuracy in % (± 95% CI over predictions, ' +
        `taken as independent: they come from ${c.streams} streams, so the true uncertainty is larger).`,
    );
    L.push('');
    L.push('By the number of times the class was seen before:');
    L.push('');
    const sb = c.learners[0].bySightings;
    L.push(`| Learner | ${sb.map((b) => b.label).join(' | ')} | seen >= 1 |`);
    L.push(`|---|${sb.map(() => '---:').join('|')}|---:|`);
    for (const l of c.learners) L.push(`| ${l.title} | ${l.bySightings.map((b) => pct(b.accuracy)).join(' | ')} | ${pct(l.seenAccuracy)} |`);
    L.push(`| (predictions per bin) | ${sb.map((b) => b.total).join(' | ')} | |`);
    L.push('');
    L.push('By the number of steps since the class was last seen (classes seen before):');
    L.push('');
    const gb = c.learners[0].byGap;
    L.push(`| Learner | ${gb.map((b) => b.label).join(' | ')} |`);
    L.push(`|---|${gb.map(() => '---:').join('|')}|`);
    for (const l of c.learners) L.push(`| ${l.title} | ${l.byGap.map((b) => pct(b.accuracy)).join(' | ')} |`);
    L.push(`| (predictions per bin) | ${gb.map((b) => b.total).join(' | ')} |`);
    L.push('');
  }
  return L.join('\n');
}
