/**
 * The evaluation protocols (plain TS, no DOM). They run on embeddings computed once per image
 * (rows of an `Embeddings` table) and then only use the project's key-value memory
 * (src/memory): writes through the paper's update rule, answers by the nearest neighbour V[n1].
 *
 * - fewShot:  N-way K-shot. A fresh memory per episode; the N*K support drawings are written one
 *             at a time (shuffled order); each query is answered by V[n1].
 * - online:   the paper's / reference's online protocol: an episode shows examples of N classes one
 *             at a time; the memory predicts before each write; accuracy is kept by how many times
 *             the class was seen before (the reference's `correct_by_shot`).
 * - lifelong: one memory, never reset, across many online episodes of new classes, small enough
 *             that the oldest slots are evicted; accuracy over time.
 * Everything random comes from one seed (mulberry32), so a run is reproducible.
 */
import { KeyValueMemory, mulberry32, type MemoryConfig } from '../memory';
import type { ClassSet, Embeddings } from './dataset';

export type Rng = () => number;

/** Awaited now and then so a browser can repaint; called with (done, total) units of work. */
export interface ProgressHooks {
  onProgress?: (done: number, total: number) => void;
  tick?: () => Promise<void>;
  /** episodes between two ticks (default 25) */
  tickEvery?: number;
}

/** Memory settings the protocols may override (size and key size are set by the protocol). */
export type EvalMemoryConfig = Omit<MemoryConfig, 'memorySize' | 'keySize'>;

/** Mean with its 95% confidence interval, both as fractions in [0, 1]. */
export interface Estimate {
  mean: number;
  ci95: number;
  /** number of independent units the mean is over (episodes, or predictions for a proportion) */
  n: number;
}

/** Student's t 0.975 quantiles for 1..30 degrees of freedom. */
const T975 = [
  12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.306, 2.2622, 2.2281, 2.201, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098,
  2.1009, 2.093, 2.086, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
];

/**
 * Student's t 0.975 quantile for `df` degrees of freedom: the table up to 30, then the
 * Cornish-Fisher expansion in 1/df (within 1e-4 of the exact value from 30 on; 1.9623 at 999).
 */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return NaN;
  if (df <= 30) return T975[Math.round(df) - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2) + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3);
}

/**
 * mean +- t(0.975, n - 1) * sample sd / sqrt(n) of per-unit values (Student's t: with a few episodes
 * the normal 1.96 is too narrow, 3.18 at n = 4). ci95 NaN (no interval claimed) for a single value,
 * or when every value is the same (no spread measured: "100.0 ± 0.0" over 4 episodes would claim a
 * certainty they do not give).
 */
export function meanCi(values: ArrayLike<number>): Estimate {
  const n = values.length;
  if (n === 0) return { mean: NaN, ci95: NaN, n: 0 };
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i];
  const mean = s / n;
  let v = 0;
  let alike = true;
  for (let i = 0; i < n; i++) {
    v += (values[i] - mean) ** 2;
    if (values[i] !== values[0]) alike = false;
  }
  // all alike: the rounding of the mean can leave v at ~1e-16, which is no spread either
  if (n === 1 || alike) return { mean, ci95: NaN, n };
  return { mean, ci95: (tQuantile975(n - 1) * Math.sqrt(v / (n - 1))) / Math.sqrt(n), n };
}

/** An estimate in %, "97.3 ± 0.4"; "–" without a mean; "97.3 (n = 1)" without an interval (one episode, or all alike). */
export function formatPercent(e: Estimate | undefined, digits = 1): string {
  if (e === undefined || Number.isNaN(e.mean)) return '–';
  const mean = (100 * e.mean).toFixed(digits);
  return Number.isNaN(e.ci95) ? `${mean} (n = ${e.n})` : `${mean} ± ${(100 * e.ci95).toFixed(digits)}`;
}

/**
 * A proportion correct/total with its 95% normal-approximation interval, the predictions taken as
 * independent: where they come from a few streams (the curriculum, the life-long memory), they are
 * not, and the interval understates the uncertainty (the reports say so).
 */
export function proportionCi(correct: number, total: number): Estimate {
  if (total === 0) return { mean: NaN, ci95: NaN, n: 0 };
  const p = correct / total;
  return { mean: p, ci95: 1.96 * Math.sqrt((p * (1 - p)) / total), n: total };
}

/** k distinct integers from [0, n), in random order (partial Fisher-Yates). */
export function sampleDistinct(rng: Rng, n: number, k: number): number[] {
  if (k > n) throw new Error(`cannot sample ${k} distinct items from ${n}`);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (n - i));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, k);
}

export function shuffle<T>(rng: Rng, a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function rowOf(e: Embeddings, i: number): Float32Array {
  return e.data.subarray(i * e.dim, (i + 1) * e.dim);
}

function checkInputs(e: Embeddings, classes: ClassSet, ways: number, perClass: number, what: string): void {
  if (e.data.length !== e.count * e.dim) {
    throw new Error(`expected embeddings of ${e.count} x ${e.dim} = ${e.count * e.dim} values, got ${e.data.length}`);
  }
  if (!Number.isInteger(ways) || ways < 2) throw new Error(`expected ways (N) to be an integer >= 2, got ${ways}`);
  if (classes.classes.length < ways) {
    throw new Error(`${what}: expected at least N = ${ways} classes in ${classes.name}, got ${classes.classes.length}`);
  }
  const small = classes.classes.find((c) => c.items.length < perClass);
  if (small) {
    throw new Error(`${what}: expected at least ${perClass} images per class, class ${small.name} has ${small.items.length}`);
  }
  for (const c of classes.classes) {
    for (const i of c.items) {
      if (i < 0 || i >= e.count) throw new Error(`class ${c.name} refers to image row ${i}, outside [0, ${e.count})`);
    }
  }
}

async function step(hooks: ProgressHooks, done: number, total: number): Promise<void> {
  const every = hooks.tickEvery ?? 25;
  if (done % every === 0 || done === total) {
    hooks.onProgress?.(done, total);
    if (hooks.tick) await hooks.tick();
  }
}

// ------------------------------------------------------------------------------ N-way K-shot

export interface FewShotOptions extends ProgressHooks {
  ways: number;
  shots: number;
  /** query drawings per class per episode (default 5), disjoint from the support */
  queriesPerClass?: number;
  episodes: number;
  seed: number;
  /** memory slots per episode (default N*K: every support drawing fits, nothing is evicted) */
  memorySize?: number;
  memory?: EvalMemoryConfig;
  /** called with each episode's accuracy, for paired comparisons of encoders on the same episodes */
  onEpisode?: (episode: number, accuracy: number) => void;
}

export interface FewShotResult {
  ways: number;
  shots: number;
  episodes: number;
  queriesPerClass: number;
  /** accuracy over episodes (per-episode accuracy averaged) with its 95% CI */
  accuracy: Estimate;
  /** mean number of memory slots the support filled (< N*K when the update rule merged shots) */
  meanSlotsUsed: number;
}

/**
 * N-way K-shot with the memory: per episode, N random classes, K support + Q query drawings of
 * each (distinct drawers); a fresh memory; the N*K supports written one at a time in random order
 * (memory.write applies a batch as sequential single writes); each query predicted as V[n1].
 */
export async function fewShot(emb: Embeddings, classes: ClassSet, o: FewShotOptions): Promise<FewShotResult> {
  const q = o.queriesPerClass ?? 5;
  if (!Number.isInteger(o.shots) || o.shots < 1) throw new Error(`expected shots (K) to be an integer >= 1, got ${o.shots}`);
  if (!Number.isInteger(q) || q < 1) throw new Error(`expected queriesPerClass >= 1, got ${q}`);
  if (!Number.isInteger(o.episodes) || o.episodes < 1) throw new Error(`expected episodes >= 1, got ${o.episodes}`);
  checkInputs(emb, classes, o.ways, o.shots + q, `${o.ways}-way ${o.shots}-shot`);
  const memorySize = o.memorySize ?? o.ways * o.shots;
  const rng = mulberry32(o.seed);
  const acc = new Float64Array(o.episodes);
  let slots = 0;
  for (let ep = 0; ep < o.episodes; ep++) {
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
    const mem = KeyValueMemory.create({
      k: 1,
      ...o.memory,
      memorySize,
      keySize: emb.dim,
      seed: (o.seed + ep) >>> 0,
    });
    try {
      mem.write(
        support.map((s) => rowOf(emb, s.row)),
        support.map((s) => s.label),
      );
      slots += mem.filledCount;
      const res = await mem.queryAsync(queries.map((s) => rowOf(emb, s.row)));
      let correct = 0;
      queries.forEach((s, i) => {
        if (res.prediction[i] === s.label) correct++;
      });
      acc[ep] = correct / queries.length;
      o.onEpisode?.(ep, acc[ep]);
    } finally {
      mem.dispose();
    }
    await step(o, ep + 1, o.episodes);
  }
  return {
    ways: o.ways,
    shots: o.shots,
    episodes: o.episodes,
    queriesPerClass: q,
    accuracy: meanCi(acc),
    meanSlotsUsed: slots / o.episodes,
  };
}

// ------------------------------------------------------------------------------ online (correct_by_shot)

export interface OnlineOptions extends ProgressHooks {
  ways: number;
  /** examples shown per episode (default 30: about 6 per class for N = 5) */
  length?: number;
  episodes: number;
  seed: number;
  /** shots >= maxShot are pooled into the last point (default 10) */
  maxShot?: number;
  /** memory slots (default: the episode length, so nothing is evicted within an episode) */
  memorySize?: number;
  memory?: EvalMemoryConfig;
}

export interface ShotPoint {
  /** times the class had been shown before this prediction (the last point pools >= maxShot) */
  shot: number;
  correct: number;
  total: number;
  accuracy: Estimate;
}

export interface OnlineResult {
  ways: number;
  length: number;
  episodes: number;
  byShot: ShotPoint[];
}

/** The example order of one online episode: `length` (class, row) pairs of `ways` classes. */
function onlineEpisode(rng: Rng, classes: ClassSet, ways: number, length: number, labelBase: number) {
  const chosen = sampleDistinct(rng, classes.classes.length, ways);
  const pools = chosen.map((ci) => shuffle(rng, Array.from(classes.classes[ci].items)));
  const seq: { row: number; label: number }[] = [];
  for (let t = 0; t < length; t++) {
    // a class uniformly among those with unseen drawings left (each drawing shown at most once)
    const open = pools.map((p, j) => (p.length > 0 ? j : -1)).filter((j) => j >= 0);
    if (open.length === 0) break;
    const j = open[Math.floor(rng() * open.length)];
    seq.push({ row: pools[j].pop()!, label: labelBase + j });
  }
  return seq;
}

function byShotOf(correct: Float64Array, total: Float64Array): ShotPoint[] {
  const out: ShotPoint[] = [];
  for (let s = 0; s < total.length; s++) {
    if (total[s] > 0) out.push({ shot: s, correct: correct[s], total: total[s], accuracy: proportionCi(correct[s], total[s]) });
  }
  return out;
}

/**
 * The online protocol: per episode a fresh memory; examples shown one at a time; for each, the
 * memory's prediction V[n1] is scored (an empty memory predicts nothing: wrong), then the example
 * is written with its label. Accuracy by the number of times its class was seen before.
 */
export async function online(emb: Embeddings, classes: ClassSet, o: OnlineOptions): Promise<OnlineResult> {
  const length = o.length ?? 30;
  const maxShot = o.maxShot ?? 10;
  if (!Number.isInteger(length) || length < 1) throw new Error(`expected length >= 1, got ${length}`);
  if (!Number.isInteger(o.episodes) || o.episodes < 1) throw new Error(`expected episodes >= 1, got ${o.episodes}`);
  checkInputs(emb, classes, o.ways, 1, `online ${o.ways}-way`);
  const rng = mulberry32(o.seed);
  const correct = new Float64Array(maxShot + 1);
  const total = new Float64Array(maxShot + 1);
  for (let ep = 0; ep < o.episodes; ep++) {
    const seq = onlineEpisode(rng, classes, o.ways, length, 0);
    const mem = KeyValueMemory.create({
      k: 1,
      ...o.memory,
      memorySize: o.memorySize ?? length,
      keySize: emb.dim,
      seed: (o.seed + ep) >>> 0,
    });
    try {
      await runOnlineSequence(mem, emb, seq, correct, total, maxShot);
    } finally {
      mem.dispose();
    }
    await step(o, ep + 1, o.episodes);
  }
  return { ways: o.ways, length, episodes: o.episodes, byShot: byShotOf(correct, total) };
}

/** Predict-then-write over one sequence; adds to correct/total by shot; returns correct (shot >= 1) and count. */
async function runOnlineSequence(
  mem: KeyValueMemory,
  emb: Embeddings,
  seq: { row: number; label: number }[],
  correct: Float64Array,
  total: Float64Array,
  maxShot: number,
): Promise<{ correctSeen: number; seen: number; correctFirst: number; first: number }> {
  const seen = new Map<number, number>();
  const r = { correctSeen: 0, seen: 0, correctFirst: 0, first: 0 };
  for (const ex of seq) {
    const key = [rowOf(emb, ex.row)];
    const res = await mem.queryAsync(key);
    const shot = seen.get(ex.label) ?? 0;
    const ok = res.prediction[0] === ex.label ? 1 : 0;
    const s = Math.min(shot, maxShot);
    correct[s] += ok;
    total[s] += 1;
    if (shot >= 1) {
      r.correctSeen += ok;
      r.seen++;
    }
    if (shot === 1) {
      r.correctFirst += ok;
      r.first++;
    }
    mem.write(key, [ex.label], { queryResult: res });
    seen.set(ex.label, shot + 1);
  }
  return r;
}

// ------------------------------------------------------------------------------ life-long

export interface LifelongOptions extends ProgressHooks {
  ways: number;
  length?: number;
  episodes: number;
  /** slots of the one memory (small, so that old slots are evicted) */
  memorySize: number;
  seed: number;
  /** episodes per point of the curve (default 10) */
  window?: number;
  maxShot?: number;
  memory?: EvalMemoryConfig;
}

export interface LifelongPoint {
  /** last episode (1-based) of this window */
  episode: number;
  /** accuracy on examples whose class was seen before (shot >= 1) in the window */
  accuracy: Estimate;
  /** accuracy on the second example of a class (shot 1) in the window */
  oneShot: Estimate;
  /** writes so far that replaced a slot holding an earlier episode's class */
  evictions: number;
}

export interface LifelongResult {
  ways: number;
  length: number;
  episodes: number;
  memorySize: number;
  curve: LifelongPoint[];
  byShot: ShotPoint[];
  /** shot >= 1 accuracy over all episodes */
  accuracy: Estimate;
  evictions: number;
}

/**
 * Life-long: one memory, never reset, across `episodes` online episodes of N classes new to the
 * memory (labels never reused, classes drawn without replacement until the set is used up, then
 * reshuffled), predict-then-write as in `online`. With a small memory the oldest slots are
 * evicted; the curve shows whether accuracy holds over time.
 */
export async function lifelong(emb: Embeddings, classes: ClassSet, o: LifelongOptions): Promise<LifelongResult> {
  const length = o.length ?? 30;
  const maxShot = o.maxShot ?? 10;
  const window = o.window ?? 10;
  if (!Number.isInteger(o.episodes) || o.episodes < 1) throw new Error(`expected episodes >= 1, got ${o.episodes}`);
  if (!Number.isInteger(window) || window < 1) throw new Error(`expected window >= 1, got ${window}`);
  checkInputs(emb, classes, o.ways, 1, `life-long ${o.ways}-way`);
  const rng = mulberry32(o.seed);
  const correct = new Float64Array(maxShot + 1);
  const total = new Float64Array(maxShot + 1);
  const mem = KeyValueMemory.create({ k: 1, ...o.memory, memorySize: o.memorySize, keySize: emb.dim, seed: o.seed >>> 0 });
  const curve: LifelongPoint[] = [];
  let order: number[] = [];
  let evictions = 0;
  let win = { correctSeen: 0, seen: 0, correctFirst: 0, first: 0 };
  let allCorrect = 0, allSeen = 0;
  try {
    for (let ep = 0; ep < o.episodes; ep++) {
      if (order.length < o.ways) order = shuffle(rng, Array.from({ length: classes.classes.length }, (_, i) => i));
      const chosen = order.splice(0, o.ways);
      const sub: ClassSet = { name: classes.name, classes: chosen.map((ci) => classes.classes[ci]) };
      const labelBase = ep * o.ways;
      const seq = onlineEpisode(rng, sub, o.ways, length, labelBase);
      // count evictions: slots of earlier episodes' labels before vs after
      const before = mem.values;
      const r = await runOnlineSequence(mem, emb, seq, correct, total, maxShot);
      const after = mem.values;
      for (let i = 0; i < before.length; i++) {
        if (before[i] >= 0 && before[i] < labelBase && after[i] !== before[i]) evictions++;
      }
      win.correctSeen += r.correctSeen;
      win.seen += r.seen;
      win.correctFirst += r.correctFirst;
      win.first += r.first;
      allCorrect += r.correctSeen;
      allSeen += r.seen;
      if ((ep + 1) % window === 0 || ep + 1 === o.episodes) {
        curve.push({
          episode: ep + 1,
          accuracy: proportionCi(win.correctSeen, win.seen),
          oneShot: proportionCi(win.correctFirst, win.first),
          evictions,
        });
        win = { correctSeen: 0, seen: 0, correctFirst: 0, first: 0 };
      }
      await step(o, ep + 1, o.episodes);
    }
  } finally {
    mem.dispose();
  }
  return {
    ways: o.ways,
    length,
    episodes: o.episodes,
    memorySize: o.memorySize,
    curve,
    byShot: byShotOf(correct, total),
    accuracy: proportionCi(allCorrect, allSeen),
    evictions,
  };
}
