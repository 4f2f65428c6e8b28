export { Encoder, imagesToFlat } from './encoder';
export type { EncoderSource, EncodeOptions, ImageBatch } from './encoder';
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
