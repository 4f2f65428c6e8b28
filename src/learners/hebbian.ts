/**
 * The Hebbian softmax of Rae, Dyer, Dayan, Lillicrap, "Fast Parametric Learning with Activation
 * Memorization" (ICML 2018), section 3, over the encoder's keys.
 *
 * Per class i: a softmax row theta_i [keySize] and a count c_i of the class's sightings. On a batch
 * of labelled keys, for each class i present in it, with h_i the mean of its keys in the batch
 * (the paper's "mean activation of class i in the batch"):
 *
 *   c_i <- c_i + n_i                                     (n_i: examples of i in the batch)
 *   if c_i(before) < T:   lambda_i = max(n_i / c_i, gamma)     (the paper's max(1/c_i, gamma) for n_i = 1)
 *                         theta_i  <- lambda_i h_i + (1 - lambda_i) theta'_i
 *   else (smoothing limit T reached): theta_i is left as it is.
 *
 * theta'_i is, in the paper, the row after the ordinary gradient step of that batch. Memory Lab
 * takes no gradient step (the encoder is frozen and there is no training loss at inference), so
 * theta' = theta: before T a row is a discounted average of its class's keys (with gamma -> 0 and
 * T infinite, exactly the running mean, for one key per update), and after T it is frozen.
 *
 * Prediction: softmax over the known classes of scale * (theta_i . h), h the unit-length key.
 * Keys are normalised to unit length on the way in, as in the memory; rows are not renormalised
 * (a class whose drawings disagree gets a shorter row, hence a lower logit).
 *
 * Constants (see src/learners/README.md for where each comes from and how sure we are):
 * gamma = 0.1, T = 100, scale = 40 (the memory's inverse temperature t, so the two softmaxes are
 * on the same scale of cosine similarity).
 */
import { checkKeySize, checkLabel, checkPositive, dot, predictionOf, softmaxScores, unitKey } from './input';
import { LEARNER_SNAPSHOT_FORMAT, LEARNER_SNAPSHOT_VERSION, parseLearnerSnapshot, type HebbianSnapshot } from './snapshot';
import type { HebbianExplanation, Key, Learner, LearnerPrediction } from './types';

export interface HebbianConfig {
  keySize: number;
  /** minimum blending ratio gamma in [0, 1] (default 0.1) */
  gamma?: number;
  /** smoothing limit T: rows change on a class's first T sightings only (default 100; Infinity: never frozen) */
  smoothingLimit?: number;
  /** logit scale s of softmax(s * theta . h) (default 40) */
  scale?: number;
}

export const HEBBIAN_DEFAULTS = { gamma: 0.1, smoothingLimit: 100, scale: 40 } as const;

interface Row {
  theta: Float32Array;
  count: number;
}

export class HebbianSoftmax implements Learner<HebbianExplanation> {
  readonly kind = 'hebbian' as const;
  readonly keySize: number;
  private gamma: number;
  private limit: number;
  private scale: number;
  private rows = new Map<number, Row>();

  constructor(config: HebbianConfig) {
    if (config === null || typeof config !== 'object') throw new Error(`expected a Hebbian softmax config object, got ${String(config)}`);
    this.keySize = checkKeySize(config.keySize);
    const gamma = config.gamma ?? HEBBIAN_DEFAULTS.gamma;
    if (typeof gamma !== 'number' || !(gamma >= 0 && gamma <= 1)) throw new Error(`expected gamma in [0, 1], got ${String(gamma)}`);
    const limit = config.smoothingLimit ?? HEBBIAN_DEFAULTS.smoothingLimit;
    if (typeof limit !== 'number' || !(limit === Infinity || (Number.isInteger(limit) && limit >= 1))) {
      throw new Error(`expected the smoothing limit T to be an integer >= 1 or Infinity, got ${String(limit)}`);
    }
    this.gamma = gamma;
    this.limit = limit;
    this.scale = checkPositive('scale', config.scale ?? HEBBIAN_DEFAULTS.scale);
  }

  get settings() {
    return { gamma: this.gamma, smoothingLimit: this.limit, scale: this.scale };
  }

  labels(): number[] {
    return [...this.rows.keys()].sort((a, b) => a - b);
  }

  /** c_i (0 for an unknown class). */
  count(label: number): number {
    return this.rows.get(label)?.count ?? 0;
  }

  /** lambda_i the next sighting of `label` would use: max(1/(c_i+1), gamma) while c_i < T, else 0. */
  nextLambda(label: number): number {
    const c = this.count(label);
    return c < this.limit ? Math.max(1 / (c + 1), this.gamma) : 0;
  }

  /** A copy of theta_i, or null for an unknown class. */
  row(label: number): Float32Array | null {
    const r = this.rows.get(label);
    return r ? r.theta.slice() : null;
  }

  observe(key: Key, label: number): void {
    this.observeBatch([key], [label]);
  }

  /** One Hebbian update per class present in the batch, with h_i the mean of its (unit) keys. */
  observeBatch(keys: ReadonlyArray<Key>, labels: ArrayLike<number>): void {
    if (!Array.isArray(keys) || keys.length === 0) throw new Error(`expected a non-empty array of keys, got ${Array.isArray(keys) ? 'an empty one' : String(keys)}`);
    if (labels === null || typeof labels !== 'object' || labels.length !== keys.length) {
      throw new Error(`expected ${keys.length} labels (one per key), got ${labels === null || typeof labels !== 'object' ? String(labels) : labels.length}`);
    }
    // validate everything first: a bad row changes nothing
    const one = keys.length === 1;
    const hs = keys.map((k, i) => unitKey(k, this.keySize, one ? 'the key' : `key ${i}`));
    const ls = Array.from({ length: keys.length }, (_, i) => checkLabel(labels[i], one ? 'the label' : `label ${i}`));
    const groups = new Map<number, { sum: Float64Array; n: number }>();
    ls.forEach((l, i) => {
      const g = groups.get(l) ?? { sum: new Float64Array(this.keySize), n: 0 };
      for (let j = 0; j < this.keySize; j++) g.sum[j] += hs[i][j];
      g.n++;
      groups.set(l, g);
    });
    for (const [label, g] of groups) {
      const row = this.rows.get(label) ?? { theta: new Float32Array(this.keySize), count: 0 };
      const before = row.count;
      row.count = before + g.n;
      if (before < this.limit) {
        // n_i / c_i: the paper's 1 / c_i for one key of the class per update (the app and the
        // evaluation), and for a batch the weight that keeps gamma -> 0 an exact running mean
        const lambda = Math.max(g.n / row.count, this.gamma);
        for (let j = 0; j < this.keySize; j++) row.theta[j] = lambda * (g.sum[j] / g.n) + (1 - lambda) * row.theta[j];
      }
      this.rows.set(label, row);
    }
  }

  private logits(h: Float32Array): { labels: number[]; dots: number[] } {
    const labels = this.labels();
    return { labels, dots: labels.map((l) => dot(this.rows.get(l)!.theta, h)) };
  }

  predict(key: Key): LearnerPrediction {
    const h = unitKey(key, this.keySize);
    const { labels, dots } = this.logits(h);
    return predictionOf(softmaxScores(labels, dots.map((d) => this.scale * d)));
  }

  explain(key: Key): HebbianExplanation {
    const h = unitKey(key, this.keySize);
    const { labels, dots } = this.logits(h);
    const scores = softmaxScores(labels, dots.map((d) => this.scale * d));
    const byLabel = new Map(labels.map((l, i) => [l, dots[i]]));
    return {
      kind: 'hebbian',
      scale: this.scale,
      rows: scores.map(({ label, p }) => {
        const r = this.rows.get(label)!;
        return { label, count: r.count, lambda: this.nextLambda(label), dot: byLabel.get(label)!, norm: Math.sqrt(dot(r.theta, r.theta)), p };
      }),
    };
  }

  deleteLabel(label: number): void {
    checkLabel(label);
    if (!this.rows.has(label)) throw new Error(`expected a known label, got ${label} (known: ${this.labels().join(', ') || 'none'})`);
    this.rows.delete(label);
  }

  snapshot(): HebbianSnapshot {
    return {
      format: LEARNER_SNAPSHOT_FORMAT,
      version: LEARNER_SNAPSHOT_VERSION,
      kind: 'hebbian',
      keySize: this.keySize,
      gamma: this.gamma,
      smoothingLimit: this.limit === Infinity ? null : this.limit,
      scale: this.scale,
      rows: this.labels().map((label) => ({ label, count: this.rows.get(label)!.count, theta: Array.from(this.rows.get(label)!.theta) })),
    };
  }

  /** Settings (gamma, T, scale) and rows from the snapshot; a bad snapshot throws and changes nothing. */
  restore(snapshot: unknown): void {
    const s = parseLearnerSnapshot(snapshot, 'hebbian', this.keySize);
    this.gamma = s.gamma;
    this.limit = s.smoothingLimit ?? Infinity;
    this.scale = s.scale;
    this.rows = new Map(s.rows.map((r) => [r.label, { count: r.count, theta: Float32Array.from(r.theta) }]));
  }

  dispose(): void {
    this.rows.clear();
  }
}
