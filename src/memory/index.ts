/** The key-value memory of "Learning to Remember Rare Events" (Kaiser et al. 2017), exact and LSH lookup. */
export { KeyValueMemory, softmaxOf } from './memory';
export type { KeysInput, LabelsInput, QueryResult, WriteResult, WriteOptions, LossResult, PreviousOccupant } from './memory';
export { resolveSettings, referenceInverseTemperature, defaultLshBits, DEFAULTS } from './config';
export type { MemoryConfig, MemorySettings, LookupKind, LshSettings, KeyStorage } from './config';
export { parseSnapshot, memorySnapshotSchema, SNAPSHOT_FORMAT, SNAPSHOT_VERSION } from './snapshot';
export type { MemorySnapshot } from './snapshot';
export { ageNoiseUniform, mulberry32 } from './random';
export type { LshProbe } from './lsh';
