export { Encoder, imagesToFlat } from './encoder';
export type { EncoderSource, EncodeOptions, ImageBatch } from './encoder';
