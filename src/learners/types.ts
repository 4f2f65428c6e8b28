/**
 * One small interface for every learner that binds a class from a few keys (the encoder's unit
 * keys): the Hebbian softmax of Rae et al. (2018), class prototypes, an SGD-trained softmax layer,
 * and the key-value memory of Kaiser et al. (2017) through an adapter. All results are plain JS
 * data: no tensor for the caller to dispose.
 */
import type { LearnerSnapshot } from './snapshot';

export type LearnerKind = 'hebbian' | 'prototypes' | 'sgd-softmax' | 'memory';

/** One key: keySize numbers (normalised to unit length on the way in; zero, NaN/Inf or a wrong size is an error). */
export type Key = ArrayLike<number>;

export interface LabelScore {
  label: number;
  /** probability of this label under the learner's softmax */
  p: number;
}

export interface LearnerPrediction {
  /** the predicted label, -1 when the learner knows no class yet */
  label: number;
  /** probability of the predicted label (0 when label is -1) */
  confidence: number;
  /** probability per known label, descending */
  scores: LabelScore[];
}

/** Hebbian softmax: one entry per class row, by probability descending. */
export interface HebbianExplanation {
  kind: 'hebbian';
  scale: number;
  rows: {
    label: number;
    /** c_i: sightings of the class so far */
    count: number;
    /** lambda_i the next sighting would use (0 once c_i >= T: the row is frozen) */
    lambda: number;
    /** theta_i . h */
    dot: number;
    /** |theta_i| (1 for a class seen once; shorter when its keys disagree) */
    norm: number;
    p: number;
  }[];
}

export interface PrototypesExplanation {
  kind: 'prototypes';
  scale: number;
  rows: { label: number; count: number; /** |h - mu_i|^2 */ distance2: number; p: number }[];
}

export interface SgdSoftmaxExplanation {
  kind: 'sgd-softmax';
  learningRate: number;
  /** SGD steps taken so far */
  steps: number;
  rows: { label: number; /** examples of the class seen */ count: number; logit: number; p: number }[];
}

export interface MemoryExplanation {
  kind: 'memory';
  /** the top-k neighbours: slot, value V[slot], cosine similarity, softmax(t * sim) weight */
  neighbours: { slot: number; label: number; similarity: number; weight: number }[];
}

export type LearnerExplanation = HebbianExplanation | PrototypesExplanation | SgdSoftmaxExplanation | MemoryExplanation;

export interface Learner<E extends LearnerExplanation = LearnerExplanation> {
  readonly kind: LearnerKind;
  readonly keySize: number;
  /** the labels the learner knows, ascending */
  labels(): number[];
  /** one labelled example (a write / a Hebbian update / an SGD step) */
  observe(key: Key, label: number): void;
  /** the learner's answer for a key (never changes the learner) */
  predict(key: Key): LearnerPrediction;
  /** why: the learner's own view of the answer */
  explain(key: Key): E;
  /** forget a label (an unknown label is an error) */
  deleteLabel(label: number): void;
  /** the whole state as plain JSON-safe data (validated by snapshotSchema on restore) */
  snapshot(): LearnerSnapshot;
  /** replace the state by a snapshot of the same kind and key size; a bad one throws and changes nothing */
  restore(snapshot: unknown): void;
  dispose(): void;
}
