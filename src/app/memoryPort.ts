/**
 * The narrow interface the app needs from the key-value memory (src/memory/). The adapter at the
 * bottom maps it onto the shared module; nothing here re-implements the memory.
 */
import type { Tensor2D } from '@tensorflow/tfjs';
import type { LshBucket, Settings } from './types';

export interface PortQuery {
  /** the memory version it was computed on */
  version: number;
  /** top-k slots by cosine similarity, descending */
  indices: number[];
  similarities: number[];
  values: number[];
  /** softmax(t * similarities) */
  weights: number[];
  /** LSH: buckets probed, one per table (null in exact mode) */
  buckets: LshBucket[] | null;
}

export interface PortWrite {
  case: 'update' | 'new';
  slot: number;
  /** occupant of slot n' before a 'new' write (null: was empty, or case 'update') */
  previous: { value: number; age: number } | null;
  /** the written slot as it was before the write (value -1: empty), to undo it; null when unknown */
  before: { key: Float32Array; value: number; age: number } | null;
}

export interface PortLoss {
  loss: number;
  np: number;
  nb: number;
}

export interface MemoryPort {
  readonly size: number;
  readonly keySize: number;
  /** which engine finds the neighbours: 'webgpu' (the GPU kernel), 'wasm-simd', 'tfjs-matmul', 'lsh'... */
  readonly lookupEngine: string;
  query(key: Float32Array): Promise<PortQuery>;
  /** the same with the key as a [1, keySize] tensor on the backend (WebGPU: it stays on the GPU); absent: use query */
  queryTensor?(key: Tensor2D): Promise<PortQuery>;
  /** increases with each change of the memory */
  readonly version: number;
  /** the memory loss of (key, label) against the current memory (before the write) */
  loss(key: Float32Array, label: number): Promise<PortLoss>;
  write(key: Float32Array, label: number): Promise<PortWrite>;
  /** per-slot values (-1 empty) and ages, and the write counter (age = writeCount - write time): copies, O(size) */
  state(): { values: Int32Array; ages: Float32Array; writeCount: number };
  /** slots holding a label */
  readonly filledCount: number;
  /** the write counter (age = writeCount - write time) */
  readonly writeCount: number;
  /** the label in a slot (-1: empty) and its age (0 when empty), O(1) */
  slotAt(slot: number): { value: number; age: number };
  /** how many slots hold `label`, O(1) */
  countOf(label: number): number;
  /** a copy of key K[slot] (zeros for an empty slot), O(keySize) */
  keyOf(slot: number): Float32Array;
  /** put saved slots back (memory must be empty of them); clock: the write counter (>= every age) */
  load(slots: { slot: number; label: number; age: number; key: Float32Array }[], clock?: number): Promise<void>;
  /** free every slot holding `label`; returns the freed slots */
  deleteLabel(label: number): Promise<number[]>;
  /** free one slot; returns the label it held (-1: it was empty) */
  freeSlot(slot: number): Promise<number>;
  setParams(p: Pick<Settings, 'k' | 't' | 'alpha' | 'ageNoise'>): void;
  dispose(): void;
}
