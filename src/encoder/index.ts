export { Encoder, KEY_SHIFTS, imagesToFlat, withShiftedCopies } from './encoder';
export type { EncoderOptions, EncoderSource, EncodeOptions, ImageBatch, KeyShifts } from './encoder';
export {
  LEGACY_ENCODER,
  REGISTRY_FORMAT,
  REGISTRY_VERSION,
  encoderEntry,
  encoderEntrySchema,
  encoderModelUrl,
  encoderRegistrySchema,
  loadEncoderRegistry,
  parseEncoderRegistry,
} from './registry';
export type { EncoderEntry, EncoderRegistry } from './registry';
