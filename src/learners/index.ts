/**
 * Learners that bind classes from a few keys, behind one interface (observe, predict, explain):
 * the Hebbian softmax (Rae et al. 2018), class prototypes (Snell et al. 2017), an SGD-trained
 * softmax layer (TF.js), and the key-value memory (Kaiser et al. 2017) through an adapter.
 */
export type {
  Key,
  LabelScore,
  Learner,
  LearnerKind,
  LearnerPrediction,
  LearnerExplanation,
  HebbianExplanation,
  PrototypesExplanation,
  SgdSoftmaxExplanation,
  MemoryExplanation,
} from './types';
export { HebbianSoftmax, HEBBIAN_DEFAULTS, type HebbianConfig } from './hebbian';
export { Prototypes, PROTOTYPES_DEFAULTS, type PrototypesConfig } from './prototypes';
export { SgdSoftmax, SGD_DEFAULTS, type SgdSoftmaxConfig } from './sgdSoftmax';
export { MemoryLearner } from './memoryLearner';
export {
  learnerSnapshotSchema,
  parseLearnerSnapshot,
  LEARNER_SNAPSHOT_FORMAT,
  LEARNER_SNAPSHOT_VERSION,
  type LearnerSnapshot,
} from './snapshot';
export { createLearner, LEARNER_KINDS, LEARNER_TITLES, type LearnerSpec } from './create';
