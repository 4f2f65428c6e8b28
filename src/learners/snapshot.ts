/**
 * Versioned snapshots of the learners (zod): plain JSON-safe numbers, one schema per kind, told
 * apart by `kind`. Restoring validates first and then replaces the state, so a bad snapshot
 * changes nothing.
 */
import { z } from 'zod';
import { memorySnapshotSchema } from '../memory';

export const LEARNER_SNAPSHOT_FORMAT = 'memory-lab/learner';
export const LEARNER_SNAPSHOT_VERSION = 1;

const label = z.number().int().min(0).max(2 ** 31 - 1);
const finite = z.number().finite();
const vector = z.union([z.instanceof(Float32Array), z.array(finite)]);
const head = {
  format: z.literal(LEARNER_SNAPSHOT_FORMAT),
  version: z.literal(LEARNER_SNAPSHOT_VERSION),
  keySize: z.number().int().min(1).max(65536),
};

export const hebbianSnapshotSchema = z.object({
  ...head,
  kind: z.literal('hebbian'),
  gamma: z.number().min(0).max(1),
  /** T; null = infinite (JSON has no Infinity) */
  smoothingLimit: z.number().int().min(1).nullable(),
  scale: z.number().positive().finite(),
  rows: z.array(z.object({ label, count: z.number().int().min(1), theta: vector })),
});

export const prototypesSnapshotSchema = z.object({
  ...head,
  kind: z.literal('prototypes'),
  scale: z.number().positive().finite(),
  rows: z.array(z.object({ label, count: z.number().int().min(1), sum: vector })),
});

export const sgdSoftmaxSnapshotSchema = z.object({
  ...head,
  kind: z.literal('sgd-softmax'),
  learningRate: z.number().positive().finite(),
  stepsPerObservation: z.number().int().min(1),
  steps: z.number().int().min(0),
  /** one column per label, in this order */
  labels: z.array(label),
  counts: z.array(z.number().int().min(0)),
  /** W [keySize, labels.length] row-major */
  weights: vector,
  bias: vector,
});

export const memoryLearnerSnapshotSchema = z.object({
  ...head,
  kind: z.literal('memory'),
  memory: memorySnapshotSchema,
});

export const learnerSnapshotSchema = z.discriminatedUnion('kind', [
  hebbianSnapshotSchema,
  prototypesSnapshotSchema,
  sgdSoftmaxSnapshotSchema,
  memoryLearnerSnapshotSchema,
]);

export type LearnerSnapshot = z.infer<typeof learnerSnapshotSchema>;
export type HebbianSnapshot = z.infer<typeof hebbianSnapshotSchema>;
export type PrototypesSnapshot = z.infer<typeof prototypesSnapshotSchema>;
export type SgdSoftmaxSnapshot = z.infer<typeof sgdSoftmaxSnapshotSchema>;
export type MemoryLearnerSnapshot = z.infer<typeof memoryLearnerSnapshotSchema>;

/**
 * Validate a snapshot of one learner kind and key size; throws an Error listing what is wrong
 * (format, kind, key size, row lengths, duplicate labels).
 */
export function parseLearnerSnapshot<K extends LearnerSnapshot['kind']>(input: unknown, kind: K, keySize: number): Extract<LearnerSnapshot, { kind: K }> {
  const r = learnerSnapshotSchema.safeParse(input);
  if (!r.success) {
    const detail = r.error.issues
      .slice(0, 4)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new Error(`expected a learner snapshot (format ${LEARNER_SNAPSHOT_FORMAT} v${LEARNER_SNAPSHOT_VERSION}), got an invalid one: ${detail}`);
  }
  const s = r.data;
  if (s.kind !== kind) throw new Error(`expected a snapshot of a ${kind} learner, got one of a ${s.kind} learner`);
  if (s.keySize !== keySize) throw new Error(`expected a snapshot with keys of size ${keySize}, got ${s.keySize}`);
  const seen = new Set<number>();
  const labels = s.kind === 'hebbian' || s.kind === 'prototypes' ? s.rows.map((x) => x.label) : s.kind === 'sgd-softmax' ? s.labels : [];
  for (const l of labels) {
    if (seen.has(l)) throw new Error(`invalid learner snapshot: label ${l} appears twice`);
    seen.add(l);
  }
  if (s.kind === 'hebbian') {
    s.rows.forEach((row, i) => {
      if (row.theta.length !== keySize) throw new Error(`invalid learner snapshot: rows.${i}.theta has ${row.theta.length} values, expected ${keySize}`);
      if (Array.from(row.theta).some((x) => !Number.isFinite(x))) throw new Error(`invalid learner snapshot: rows.${i}.theta holds NaN or Inf`);
    });
  } else if (s.kind === 'prototypes') {
    s.rows.forEach((row, i) => {
      if (row.sum.length !== keySize) throw new Error(`invalid learner snapshot: rows.${i}.sum has ${row.sum.length} values, expected ${keySize}`);
      if (Array.from(row.sum).some((x) => !Number.isFinite(x))) throw new Error(`invalid learner snapshot: rows.${i}.sum holds NaN or Inf`);
    });
  } else if (s.kind === 'sgd-softmax') {
    const c = s.labels.length;
    if (s.counts.length !== c) throw new Error(`invalid learner snapshot: ${s.counts.length} counts for ${c} labels`);
    if (s.weights.length !== keySize * c) throw new Error(`invalid learner snapshot: weights has ${s.weights.length} values, expected ${keySize} x ${c} = ${keySize * c}`);
    if (s.bias.length !== c) throw new Error(`invalid learner snapshot: bias has ${s.bias.length} values, expected ${c}`);
    if (Array.from(s.weights).some((x) => !Number.isFinite(x)) || Array.from(s.bias).some((x) => !Number.isFinite(x))) {
      throw new Error('invalid learner snapshot: weights or bias hold NaN or Inf');
    }
  } else if (s.memory.settings.keySize !== keySize) {
    throw new Error(`expected a memory snapshot with keys of size ${keySize}, got ${s.memory.settings.keySize}`);
  }
  return s as Extract<LearnerSnapshot, { kind: K }>;
}
