/**
 * The key-value memory of Kaiser et al. (2017) behind the learner interface: observe = one write
 * through the paper's update rule, predict = V[n1] with the softmax(t * similarity) weights of the
 * top-k neighbours summed per label as confidences, explain = the neighbours. Nothing of the
 * memory is re-implemented here.
 */
import { KeyValueMemory, type MemoryConfig } from '../memory';
import { checkLabel, unitKey } from './input';
import { LEARNER_SNAPSHOT_FORMAT, LEARNER_SNAPSHOT_VERSION, parseLearnerSnapshot, type MemoryLearnerSnapshot } from './snapshot';
import type { Key, LabelScore, Learner, LearnerPrediction, MemoryExplanation } from './types';

export class MemoryLearner implements Learner<MemoryExplanation> {
  readonly kind = 'memory' as const;
  readonly keySize: number;
  private m: KeyValueMemory;

  /** A learner over a new memory (`config` as KeyValueMemory.create; keySize defaults to 128). */
  constructor(config: MemoryConfig) {
    this.m = KeyValueMemory.create(config);
    this.keySize = this.m.keySize;
  }

  /** The wrapped memory (read-only use: slots, values, ages). */
  get memory(): KeyValueMemory {
    return this.m;
  }

  labels(): number[] {
    return [...new Set(Array.from(this.m.values).filter((v) => v >= 0))].sort((a, b) => a - b);
  }

  observe(key: Key, label: number): void {
    const h = unitKey(key, this.keySize);
    checkLabel(label);
    this.m.write([h], [label]);
  }

  predict(key: Key): LearnerPrediction {
    const r = this.m.query([unitKey(key, this.keySize)]);
    if (r.prediction[0] < 0) return { label: -1, confidence: 0, scores: [] };
    const per = new Map<number, number>();
    r.values[0].forEach((v, i) => per.set(v, (per.get(v) ?? 0) + r.softmax[0][i]));
    const scores: LabelScore[] = [...per.entries()].map(([label, p]) => ({ label, p })).sort((a, b) => b.p - a.p || a.label - b.label);
    // the memory's answer is the nearest neighbour's value V[n1], not the label of largest summed weight
    return { label: r.prediction[0], confidence: per.get(r.prediction[0]) ?? 0, scores };
  }

  explain(key: Key): MemoryExplanation {
    const r = this.m.query([unitKey(key, this.keySize)]);
    return {
      kind: 'memory',
      neighbours: r.indices[0].map((slot, i) => ({ slot, label: r.values[0][i], similarity: r.similarities[0][i], weight: r.softmax[0][i] })),
    };
  }

  deleteLabel(label: number): void {
    checkLabel(label);
    if (this.m.slotsOf(label).length === 0) throw new Error(`expected a known label, got ${label} (no slot holds it)`);
    this.m.deleteLabel(label);
  }

  snapshot(): MemoryLearnerSnapshot {
    const s = this.m.snapshot();
    return {
      format: LEARNER_SNAPSHOT_FORMAT,
      version: LEARNER_SNAPSHOT_VERSION,
      kind: 'memory',
      keySize: this.keySize,
      memory: { ...s, keys: Array.from(s.keys), values: Array.from(s.values), ages: Array.from(s.ages) },
    };
  }

  restore(snapshot: unknown): void {
    const s = parseLearnerSnapshot(snapshot, 'memory', this.keySize);
    this.m.restore(s.memory);
  }

  dispose(): void {
    this.m.dispose();
  }
}
