export {
  OUT,
  BOX,
  MARGIN,
  INK_THRESHOLD,
  OUT_SIZE,
  EmptyDrawingError,
  preprocess,
  rotateImage90,
} from './preprocess';
export type { PreprocessOptions } from './preprocess';
