/**
 * The learners of src/learners on the evaluation harness (plain TS, no DOM):
 *
 * - fewShotLearner: N-way K-shot exactly as protocols.ts `fewShot` (the same seeded episodes: same
 *   classes, supports, queries and support order for a given seed), with any learner: the
 *   supports are observed one at a time, each query answered by predict(). With the memory
 *   adapter (k = 1, N*K slots, seed + episode) it reproduces `fewShot` to the last digit.
 * - curriculum: Rae et al.'s Omniglot curriculum (ICML 2018, section 4.1) as close as a frozen
 *   encoder allows: one long stream in which classes are introduced progressively (a new class
 *   every `introduceEvery` steps after `initialClasses`); every other step shows a drawing of a
 *   class drawn uniformly from those introduced so far (each drawing at most once). Each learner
 *   predicts each drawing before observing it; accuracy is kept by the number of times the class
 *   was seen before, and by the number of steps since it was last seen (forgetting). All learners
 *   see the same streams.
 */
import { createLearner, type Learner, type LearnerSpec } from '../learners';
import { mulberry32, type MemoryConfig } from '../memory';
import type { ClassSet, Embeddings } from './dataset';
import { meanCi, proportionCi, sampleDistinct, shuffle, type Estimate, type ProgressHooks, type Rng } from './protocols';

const rowOf = (e: Embeddings, i: number) => e.data.subarray(i * e.dim, (i + 1) * e.dim);

/** A learner for one episode or stream (a fresh one each time; disposed by the protocol). */
export type LearnerFactory = (run: { index: number; ways?: number; shots?: number; keySize: number }) => Learner;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A named learner entry of the evaluation: `spec` is completed with the key size (and, for the memory, the slots) per run. */
export interface EvalLearner {
  /** short id in the results, e.g. 'hebbian', 'memory-small' */
  id: string;
  /** shown in tables and charts */
  title: string;
  spec: DistributiveOmit<LearnerSpec, 'keySize' | 'memorySize'> & { memorySize?: number };
}

/** A factory from an entry: fresh learner per run; the memory gets seed + run index, as in `fewShot`. */
export function factoryOf(entry: EvalLearner, seed: number): LearnerFactory {
  return ({ index, ways, shots, keySize }) => {
    if (entry.spec.kind === 'memory') {
      // k = 1 and N*K slots unless the entry sets them: as protocols.ts fewShot
      const m = entry.spec as Partial<MemoryConfig>;
      return createLearner({ k: 1, ...m, kind: 'memory', keySize, memorySize: m.memorySize ?? (ways ?? 1) * (shots ?? 1), seed: (seed + index) >>> 0 });
    }
    return createLearner({ ...entry.spec, keySize } as LearnerSpec);
  };
}

async function step(hooks: ProgressHooks, done: number, total: number): Promise<void> {
  const every = hooks.tickEvery ?? 25;
  if (done % every === 0 || done === total) {
    hooks.onProgress?.(done, total);
    if (hooks.tick) await hooks.tick();
  }
}

function checkSet(e: Embeddings, classes: ClassSet, ways: number, perClass: number, what: string) {
  if (e.data.length !== e.count * e.dim) throw new Error(`expected embeddings of ${e.count} x ${e.dim} = ${e.count * e.dim} values, got ${e.data.length}`);
  if (!Number.isInteger(ways) || ways < 1) throw new Error(`${what}: expected a number of classes >= 1, got ${ways}`);
  if (classes.classes.length < ways) throw new Error(`${what}: expected at least ${ways} classes in ${classes.name}, got ${classes.classes.length}`);
  const small = classes.classes.find((c) => c.items.length < perClass);
  if (small) throw new Error(`${what}: expected at least ${perClass} images per class, class ${small.name} has ${small.items.length}`);
  for (const c of classes.classes) for (const i of c.items) if (i < 0 || i >= e.count) throw new Error(`class ${c.name} refers to image row ${i}, outside [0, ${e.count})`);
}

// ------------------------------------------------------------------------------ N-way K-shot

export interface FewShotLearnerOptions extends ProgressHooks {
  ways: number;
  shots: number;
  queriesPerClass?: number;
  episodes: number;
  seed: number;
  learner: LearnerFactory;
}

export interface FewShotLearnerResult {
  ways: number;
  shots: number;
  episodes: number;
  queriesPerClass: number;
  accuracy: Estimate;
  /** mean confidence of the answers (the learner's own probability of its answer) */
  meanConfidence: number;
}

/** N-way K-shot with any learner, on the episodes `fewShot` draws for the same seed. */
export async function fewShotLearner(emb: Embeddings, classes: ClassSet, o: FewShotLearnerOptions): Promise<FewShotLearnerResult> {
  const q = o.queriesPerClass ?? 5;
  if (!Number.isInteger(o.ways) || o.ways < 2) throw new Error(`expected ways (N) to be an integer >= 2, got ${o.ways}`);
  if (!Number.isInteger(o.shots) || o.shots < 1) throw new Error(`expected shots (K) to be an integer >= 1, got ${o.shots}`);
  if (!Number.isInteger(q) || q < 1) throw new Error(`expected queriesPerClass >= 1, got ${q}`);
  if (!Number.isInteger(o.episodes) || o.episodes < 1) throw new Error(`expected episodes >= 1, got ${o.episodes}`);
  if (typeof o.learner !== 'function') throw new Error(`expected a learner factory, got ${typeof o.learner}`);
  checkSet(emb, classes, o.ways, o.shots + q, `${o.ways}-way ${o.shots}-shot`);
  const rng = mulberry32(o.seed);
  const acc = new Float64Array(o.episodes);
  let confidence = 0;
  let answers = 0;
  for (let ep = 0; ep < o.episodes; ep++) {
    // the same draws, in the same order, as protocols.ts fewShot
    const chosen = sampleDistinct(rng, classes.classes.length, o.ways);
    const support: { row: number; label: number }[] = [];
    const queries: { row: number; label: number }[] = [];
    chosen.forEach((ci, label) => {
      const items = classes.classes[ci].items;
      const pick = sampleDistinct(rng, items.length, o.shots + q);
      for (let s = 0; s < o.shots; s++) support.push({ row: items[pick[s]], label });
      for (let s = o.shots; s < o.shots + q; s++) queries.push({ row: items[pick[s]], label });
    });
    shuffle(rng, support);
    const learner = o.learner({ index: ep, ways: o.ways, shots: o.shots, keySize: emb.dim });
    try {
      for (const s of support) learner.observe(rowOf(emb, s.row), s.label);
      let correct = 0;
      for (const s of queries) {
        const p = learner.predict(rowOf(emb, s.row));
        if (p.label === s.label) correct++;
        confidence += p.confidence;
        answers++;
      }
      acc[ep] = correct / queries.length;
    } finally {
      learner.dispose();
    }
    await step(o, ep + 1, o.episodes);
  }
  return { ways: o.ways, shots: o.shots, episodes: o.episodes, queriesPerClass: q, accuracy: meanCi(acc), meanConfidence: confidence / answers };
}

// ------------------------------------------------------------------------------ curriculum

export interface Bin {
  /** first value in the bin */
  lo: number;
  /** last value in the bin (Infinity: open) */
  hi: number;
  label: string;
}

/** Times the class was seen before: 0, 1, 2, 3, 4-5, 6-10, 11-19 (an Omniglot class has 20 drawings). */
export const SIGHTING_BINS: Bin[] = [
  { lo: 0, hi: 0, label: '0' },
  { lo: 1, hi: 1, label: '1' },
  { lo: 2, hi: 2, label: '2' },
  { lo: 3, hi: 3, label: '3' },
  { lo: 4, hi: 5, label: '4-5' },
  { lo: 6, hi: 10, label: '6-10' },
  { lo: 11, hi: Infinity, label: '11+' },
];

/** Steps since the class was last shown (for classes seen before). */
export const GAP_BINS: Bin[] = [
  { lo: 1, hi: 10, label: '1-10' },
  { lo: 11, hi: 30, label: '11-30' },
  { lo: 31, hi: 100, label: '31-100' },
  { lo: 101, hi: 300, label: '101-300' },
  { lo: 301, hi: 1000, label: '301-1000' },
  { lo: 1001, hi: Infinity, label: '1001+' },
];

export interface CurriculumOptions extends ProgressHooks {
  /** steps (drawings) per stream (default 5000) */
  length?: number;
  /** classes introduced at the start, one step each (default 10) */
  initialClasses?: number;
  /** then one new class every this many steps (default 10) */
  introduceEvery?: number;
  /** independent streams (default 3) */
  streams?: number;
  seed: number;
  learners: { id: string; title: string; make: LearnerFactory }[];
}

export interface BinPoint {
  label: string;
  lo: number;
  hi: number;
  correct: number;
  total: number;
  accuracy: Estimate;
}

export interface CurriculumLearnerResult {
  id: string;
  title: string;
  bySightings: BinPoint[];
  /** classes seen before only */
  byGap: BinPoint[];
  /** accuracy on drawings of classes seen before (sightings >= 1) */
  seenAccuracy: Estimate;
}

export interface CurriculumResult {
  length: number;
  initialClasses: number;
  introduceEvery: number;
  streams: number;
  /** classes introduced per stream (mean) */
  classesIntroduced: number;
  learners: CurriculumLearnerResult[];
}

export interface StreamItem {
  row: number;
  /** class index in the set (the learners' label) */
  label: number;
  /** times this class was shown before in the stream */
  sightings: number;
  /** steps since the class was last shown (0 on its first sighting) */
  gap: number;
}

/** One curriculum stream: classes introduced progressively, every drawing shown at most once. */
export function curriculumStream(rng: Rng, classes: ClassSet, length: number, initialClasses: number, introduceEvery: number): StreamItem[] {
  const order = shuffle(rng, Array.from({ length: classes.classes.length }, (_, i) => i));
  const pools = new Map<number, number[]>();
  const active: number[] = [];
  const seen = new Map<number, { n: number; last: number }>();
  const out: StreamItem[] = [];
  let next = 0;
  for (let t = 0; t < length; t++) {
    // classes introduced by step t: one per step for the first initialClasses steps, then one every introduceEvery steps
    const target = t < initialClasses ? t + 1 : initialClasses + 1 + Math.floor((t - initialClasses) / introduceEvery);
    let cls = -1;
    if (active.length < Math.min(target, classes.classes.length) && next < order.length) {
      cls = order[next++];
      pools.set(cls, shuffle(rng, Array.from(classes.classes[cls].items)));
      active.push(cls);
    } else {
      const open = active.filter((c) => pools.get(c)!.length > 0);
      if (open.length === 0) {
        if (next >= order.length) break; // every drawing shown
        cls = order[next++];
        pools.set(cls, shuffle(rng, Array.from(classes.classes[cls].items)));
        active.push(cls);
      } else {
        cls = open[Math.floor(rng() * open.length)];
      }
    }
    const s = seen.get(cls);
    out.push({ row: pools.get(cls)!.pop()!, label: cls, sightings: s?.n ?? 0, gap: s ? t - s.last : 0 });
    seen.set(cls, { n: (s?.n ?? 0) + 1, last: t });
  }
  return out;
}

function binIndex(bins: Bin[], v: number): number {
  return bins.findIndex((b) => v >= b.lo && v <= b.hi);
}

function points(bins: Bin[], correct: Float64Array, total: Float64Array): BinPoint[] {
  return bins.map((b, i) => ({ label: b.label, lo: b.lo, hi: b.hi, correct: correct[i], total: total[i], accuracy: proportionCi(correct[i], total[i]) }));
}

/**
 * The curriculum: `streams` seeded streams; per stream every learner is made fresh, and for each
 * drawing predicts (scored) and then observes it. Returns accuracy by sightings and by gap.
 */
export async function curriculum(emb: Embeddings, classes: ClassSet, o: CurriculumOptions): Promise<CurriculumResult> {
  const length = o.length ?? 5000;
  const initialClasses = o.initialClasses ?? 10;
  const introduceEvery = o.introduceEvery ?? 10;
  const streams = o.streams ?? 3;
  for (const [name, v, min] of [['length', length, 1], ['initialClasses', initialClasses, 1], ['introduceEvery', introduceEvery, 1], ['streams', streams, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`expected ${name} to be an integer >= ${min}, got ${v}`);
  }
  if (!Array.isArray(o.learners) || o.learners.length === 0) throw new Error('expected at least one learner for the curriculum');
  checkSet(emb, classes, Math.min(initialClasses, classes.classes.length), 1, 'curriculum');
  const rng = mulberry32(o.seed);
  const acc = o.learners.map(() => ({
    sc: new Float64Array(SIGHTING_BINS.length),
    st: new Float64Array(SIGHTING_BINS.length),
    gc: new Float64Array(GAP_BINS.length),
    gt: new Float64Array(GAP_BINS.length),
  }));
  let introduced = 0;
  const total = streams * o.learners.length;
  let done = 0;
  for (let s = 0; s < streams; s++) {
    const stream = curriculumStream(rng, classes, length, initialClasses, introduceEvery);
    introduced += new Set(stream.map((x) => x.label)).size;
    for (let li = 0; li < o.learners.length; li++) {
      const learner = o.learners[li].make({ index: s, keySize: emb.dim });
      const a = acc[li];
      try {
        for (const item of stream) {
          const key = rowOf(emb, item.row);
          const ok = learner.predict(key).label === item.label ? 1 : 0;
          const sb = binIndex(SIGHTING_BINS, item.sightings);
          a.sc[sb] += ok;
          a.st[sb] += 1;
          if (item.sightings > 0) {
            const gb = binIndex(GAP_BINS, item.gap);
            a.gc[gb] += ok;
            a.gt[gb] += 1;
          }
          learner.observe(key, item.label);
        }
      } finally {
        learner.dispose();
      }
      done++;
      o.onProgress?.(done, total);
      if (o.tick) await o.tick();
    }
  }
  return {
    length,
    initialClasses,
    introduceEvery,
    streams,
    classesIntroduced: introduced / streams,
    learners: o.learners.map((l, i) => {
      const a = acc[i];
      const seenC = a.sc.reduce((x, y, j) => x + (j > 0 ? y : 0), 0);
      const seenT = a.st.reduce((x, y, j) => x + (j > 0 ? y : 0), 0);
      return { id: l.id, title: l.title, bySightings: points(SIGHTING_BINS, a.sc, a.st), byGap: points(GAP_BINS, a.gc, a.gt), seenAccuracy: proportionCi(seenC, seenT) };
    }),
  };
}
