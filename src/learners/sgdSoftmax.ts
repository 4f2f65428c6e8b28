/**
 * The slow parametric baseline: a softmax layer W [keySize, C], b [C] on the same unit keys,
 * trained by plain SGD on the cross-entropy (TF.js: variables, tf.train.sgd, softmaxCrossEntropy).
 * Each observation takes `stepsPerObservation` SGD steps on that one example (online, no replay).
 * A new label adds a zero column; the variables grow by doubling, so a step costs O(keySize x C).
 *
 * Defaults (learning rate 0.5, one step per observation, zero initialisation) are a textbook
 * choice, not tuned: nothing was tuned on the evaluation alphabets.
 */
import * as tf from '@tensorflow/tfjs';
import { checkKeySize, checkLabel, checkPositive, predictionOf, softmaxScores, unitKey } from './input';
import { LEARNER_SNAPSHOT_FORMAT, LEARNER_SNAPSHOT_VERSION, parseLearnerSnapshot, type SgdSoftmaxSnapshot } from './snapshot';
import type { Key, Learner, LearnerPrediction, SgdSoftmaxExplanation } from './types';

export interface SgdSoftmaxConfig {
  keySize: number;
  /** SGD step size (default 0.5) */
  learningRate?: number;
  /** SGD steps on each observed example (default 1) */
  stepsPerObservation?: number;
}

export const SGD_DEFAULTS = { learningRate: 0.5, stepsPerObservation: 1 } as const;

const INITIAL_CAPACITY = 8;

/** A trainable variable holding `init`'s values; `init` is disposed (the variable keeps the data). */
function variableOf<R extends tf.Rank>(init: tf.Tensor<R>): tf.Variable<R> {
  const v = tf.variable(init, true);
  init.dispose();
  return v;
}

export class SgdSoftmax implements Learner<SgdSoftmaxExplanation> {
  readonly kind = 'sgd-softmax' as const;
  readonly keySize: number;
  private lr: number;
  private stepsPer: number;
  private optimizer: tf.SGDOptimizer;
  private w: tf.Variable<tf.Rank.R2>;
  private b: tf.Variable<tf.Rank.R1>;
  private capacity = INITIAL_CAPACITY;
  /** label of each used column, in column order */
  private cols: number[] = [];
  private counts: number[] = [];
  private steps = 0;
  private disposed = false;

  constructor(config: SgdSoftmaxConfig) {
    if (config === null || typeof config !== 'object') throw new Error(`expected an SGD softmax config object, got ${String(config)}`);
    this.keySize = checkKeySize(config.keySize);
    this.lr = checkPositive('learningRate', config.learningRate ?? SGD_DEFAULTS.learningRate);
    const steps = config.stepsPerObservation ?? SGD_DEFAULTS.stepsPerObservation;
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`expected stepsPerObservation to be an integer >= 1, got ${String(steps)}`);
    this.stepsPer = steps;
    this.optimizer = tf.train.sgd(this.lr);
    this.w = variableOf(tf.zeros([this.keySize, this.capacity]));
    this.b = variableOf(tf.zeros([this.capacity]));
  }

  private alive() {
    if (this.disposed) throw new Error('expected a live SGD softmax, got one that was disposed');
  }

  labels(): number[] {
    return [...this.cols].sort((a, b) => a - b);
  }

  /** Replace the variables by [keySize, capacity] ones holding `w` [keySize, C] and `b` [C] in their first C columns. */
  private setWeights(w: Float32Array, b: Float32Array, c: number, capacity: number) {
    const d = this.keySize;
    const wFull = new Float32Array(d * capacity);
    for (let r = 0; r < d; r++) wFull.set(w.subarray(r * c, r * c + c), r * capacity);
    const bFull = new Float32Array(capacity);
    bFull.set(b.subarray(0, c));
    const nw = variableOf(tf.tensor2d(wFull, [d, capacity]));
    const nb = variableOf(tf.tensor1d(bFull));
    this.w.dispose();
    this.b.dispose();
    this.w = nw;
    this.b = nb;
    this.capacity = capacity;
  }

  /** W [keySize, C] and b [C] of the used columns, read back to the CPU. */
  private readWeights(): { w: Float32Array; b: Float32Array } {
    const c = this.cols.length;
    if (c === 0) return { w: new Float32Array(0), b: new Float32Array(0) };
    const [w, b] = tf.tidy(() => [this.w.slice([0, 0], [this.keySize, c]).dataSync() as Float32Array, this.b.slice(0, c).dataSync() as Float32Array]);
    return { w: Float32Array.from(w), b: Float32Array.from(b) };
  }

  private column(label: number): number {
    let col = this.cols.indexOf(label);
    if (col >= 0) return col;
    if (this.cols.length === this.capacity) {
      const { w, b } = this.readWeights();
      this.setWeights(w, b, this.cols.length, this.capacity * 2);
    }
    this.cols.push(label);
    this.counts.push(0);
    col = this.cols.length - 1;
    return col;
  }

  observe(key: Key, label: number): void {
    this.alive();
    const h = unitKey(key, this.keySize);
    checkLabel(label);
    const col = this.column(label);
    const c = this.cols.length;
    tf.tidy(() => {
      const x = tf.tensor2d(h, [1, this.keySize]);
      const target = new Float32Array(c);
      target[col] = 1;
      const y = tf.tensor2d(target, [1, c]);
      for (let s = 0; s < this.stepsPer; s++) {
        this.optimizer.minimize(
          () => {
            const logits = tf.add(tf.matMul(x, this.w.slice([0, 0], [this.keySize, c])), this.b.slice(0, c));
            return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
          },
          false,
          [this.w, this.b],
        );
      }
    });
    this.counts[col]++;
    this.steps += this.stepsPer;
  }

  private logits(h: Float32Array): number[] {
    const c = this.cols.length;
    if (c === 0) return [];
    return Array.from(
      tf.tidy(() => tf.add(tf.matMul(tf.tensor2d(h, [1, this.keySize]), this.w.slice([0, 0], [this.keySize, c])), this.b.slice(0, c)).dataSync()),
    );
  }

  predict(key: Key): LearnerPrediction {
    this.alive();
    const h = unitKey(key, this.keySize);
    return predictionOf(softmaxScores([...this.cols], this.logits(h)));
  }

  explain(key: Key): SgdSoftmaxExplanation {
    this.alive();
    const h = unitKey(key, this.keySize);
    const logits = this.logits(h);
    const scores = softmaxScores([...this.cols], logits);
    return {
      kind: 'sgd-softmax',
      learningRate: this.lr,
      steps: this.steps,
      rows: scores.map(({ label, p }) => {
        const col = this.cols.indexOf(label);
        return { label, count: this.counts[col], logit: logits[col], p };
      }),
    };
  }

  deleteLabel(label: number): void {
    this.alive();
    checkLabel(label);
    const col = this.cols.indexOf(label);
    if (col < 0) throw new Error(`expected a known label, got ${label} (known: ${this.labels().join(', ') || 'none'})`);
    const { w, b } = this.readWeights();
    const c = this.cols.length;
    const keep = this.cols.map((_, j) => j).filter((j) => j !== col);
    const nw = new Float32Array(this.keySize * (c - 1));
    for (let r = 0; r < this.keySize; r++) keep.forEach((j, k) => (nw[r * (c - 1) + k] = w[r * c + j]));
    const nb = Float32Array.from(keep.map((j) => b[j]));
    this.setWeights(nw, nb, c - 1, this.capacity);
    this.cols.splice(col, 1);
    this.counts.splice(col, 1);
  }

  snapshot(): SgdSoftmaxSnapshot {
    this.alive();
    const { w, b } = this.readWeights();
    return {
      format: LEARNER_SNAPSHOT_FORMAT,
      version: LEARNER_SNAPSHOT_VERSION,
      kind: 'sgd-softmax',
      keySize: this.keySize,
      learningRate: this.lr,
      stepsPerObservation: this.stepsPer,
      steps: this.steps,
      labels: [...this.cols],
      counts: [...this.counts],
      weights: Array.from(w),
      bias: Array.from(b),
    };
  }

  restore(snapshot: unknown): void {
    this.alive();
    const s = parseLearnerSnapshot(snapshot, 'sgd-softmax', this.keySize);
    const c = s.labels.length;
    let capacity = INITIAL_CAPACITY;
    while (capacity < c) capacity *= 2;
    this.setWeights(Float32Array.from(s.weights), Float32Array.from(s.bias), c, capacity);
    this.cols = [...s.labels];
    this.counts = [...s.counts];
    this.steps = s.steps;
    if (s.learningRate !== this.lr) {
      this.optimizer.dispose();
      this.optimizer = tf.train.sgd(s.learningRate);
      this.lr = s.learningRate;
    }
    this.stepsPer = s.stepsPerObservation;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.w.dispose();
    this.b.dispose();
    this.optimizer.dispose();
  }
}
