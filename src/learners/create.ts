/** One factory for every learner kind (the evaluation and the app make learners by name). */
import type { MemoryConfig } from '../memory';
import { HebbianSoftmax, type HebbianConfig } from './hebbian';
import { MemoryLearner } from './memoryLearner';
import { Prototypes, type PrototypesConfig } from './prototypes';
import { SgdSoftmax, type SgdSoftmaxConfig } from './sgdSoftmax';
import type { Learner, LearnerKind } from './types';

export const LEARNER_KINDS: readonly LearnerKind[] = ['memory', 'hebbian', 'prototypes', 'sgd-softmax'];

export const LEARNER_TITLES: Record<LearnerKind, string> = {
  memory: 'Key-value memory',
  hebbian: 'Hebbian softmax',
  prototypes: 'Class prototypes',
  'sgd-softmax': 'SGD softmax',
};

export type LearnerSpec =
  | ({ kind: 'hebbian' } & HebbianConfig)
  | ({ kind: 'prototypes' } & PrototypesConfig)
  | ({ kind: 'sgd-softmax' } & SgdSoftmaxConfig)
  | ({ kind: 'memory' } & MemoryConfig);

export function createLearner(spec: LearnerSpec): Learner {
  if (spec === null || typeof spec !== 'object') throw new Error(`expected a learner spec object, got ${String(spec)}`);
  switch (spec.kind) {
    case 'hebbian':
      return new HebbianSoftmax(spec);
    case 'prototypes':
      return new Prototypes(spec);
    case 'sgd-softmax':
      return new SgdSoftmax(spec);
    case 'memory':
      return new MemoryLearner(spec);
    default:
      throw new Error(`expected a learner kind of ${LEARNER_KINDS.join(', ')}, got ${String((spec as { kind?: unknown }).kind)}`);
  }
}
