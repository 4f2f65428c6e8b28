/**
 * Class prototypes (Snell, Swersky, Zemel, "Prototypical Networks for Few-shot Learning", NIPS
 * 2017) at inference: mu_i = the mean of class i's unit keys, p(i | h) = softmax_i(-s |h - mu_i|^2).
 * Snell et al. use s = 1 on unnormalised embeddings; on unit keys |h - mu|^2 = 1 + |mu|^2 - 2 h.mu,
 * so s = 20 puts the cosine term on the memory's scale (t = 40). The argmax does not depend on s.
 */
import { checkKeySize, checkLabel, checkPositive, dot, predictionOf, softmaxScores, unitKey } from './input';
import { LEARNER_SNAPSHOT_FORMAT, LEARNER_SNAPSHOT_VERSION, parseLearnerSnapshot, type PrototypesSnapshot } from './snapshot';
import type { Key, Learner, LearnerPrediction, PrototypesExplanation } from './types';

export interface PrototypesConfig {
  keySize: number;
  /** s of softmax(-s |h - mu|^2) (default 20) */
  scale?: number;
}

export const PROTOTYPES_DEFAULTS = { scale: 20 } as const;

export class Prototypes implements Learner<PrototypesExplanation> {
  readonly kind = 'prototypes' as const;
  readonly keySize: number;
  private scale: number;
  private rows = new Map<number, { sum: Float64Array; count: number }>();

  constructor(config: PrototypesConfig) {
    if (config === null || typeof config !== 'object') throw new Error(`expected a prototypes config object, got ${String(config)}`);
    this.keySize = checkKeySize(config.keySize);
    this.scale = checkPositive('scale', config.scale ?? PROTOTYPES_DEFAULTS.scale);
  }

  labels(): number[] {
    return [...this.rows.keys()].sort((a, b) => a - b);
  }

  /** mu_i, or null for an unknown class. */
  prototype(label: number): Float32Array | null {
    const r = this.rows.get(label);
    return r ? Float32Array.from(r.sum, (x) => x / r.count) : null;
  }

  observe(key: Key, label: number): void {
    const h = unitKey(key, this.keySize);
    checkLabel(label);
    const r = this.rows.get(label) ?? { sum: new Float64Array(this.keySize), count: 0 };
    for (let j = 0; j < this.keySize; j++) r.sum[j] += h[j];
    r.count++;
    this.rows.set(label, r);
  }

  private distances(h: Float32Array) {
    const labels = this.labels();
    const d2 = labels.map((l) => {
      // |h - mu|^2 = 1 + |mu|^2 - 2 h.mu with mu = sum / n (h is unit length)
      const { sum, count } = this.rows.get(l)!;
      return 1 + dot(sum, sum) / (count * count) - (2 * dot(sum, h)) / count;
    });
    return { labels, d2 };
  }

  predict(key: Key): LearnerPrediction {
    const { labels, d2 } = this.distances(unitKey(key, this.keySize));
    return predictionOf(softmaxScores(labels, d2.map((d) => -this.scale * d)));
  }

  explain(key: Key): PrototypesExplanation {
    const { labels, d2 } = this.distances(unitKey(key, this.keySize));
    const scores = softmaxScores(labels, d2.map((d) => -this.scale * d));
    const byLabel = new Map(labels.map((l, i) => [l, d2[i]]));
    return { kind: 'prototypes', scale: this.scale, rows: scores.map(({ label, p }) => ({ label, count: this.rows.get(label)!.count, distance2: byLabel.get(label)!, p })) };
  }

  deleteLabel(label: number): void {
    checkLabel(label);
    if (!this.rows.has(label)) throw new Error(`expected a known label, got ${label} (known: ${this.labels().join(', ') || 'none'})`);
    this.rows.delete(label);
  }

  snapshot(): PrototypesSnapshot {
    return {
      format: LEARNER_SNAPSHOT_FORMAT,
      version: LEARNER_SNAPSHOT_VERSION,
      kind: 'prototypes',
      keySize: this.keySize,
      scale: this.scale,
      rows: this.labels().map((label) => ({ label, count: this.rows.get(label)!.count, sum: Array.from(this.rows.get(label)!.sum) })),
    };
  }

  restore(snapshot: unknown): void {
    const s = parseLearnerSnapshot(snapshot, 'prototypes', this.keySize);
    this.scale = s.scale;
    this.rows = new Map(s.rows.map((r) => [r.label, { count: r.count, sum: Float64Array.from(r.sum) }]));
  }

  dispose(): void {
    this.rows.clear();
  }
}
