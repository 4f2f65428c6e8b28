export {
  strokesToRaster,
  strokesToInput,
  strokesBounds,
  pointCount,
  pressureWidthFactor,
  inputToThumbnail,
  transformStrokes,
} from './strokes';
export type { CanvasPx, RasterPx, StrokePoint, Stroke, RasterOptions, Raster } from './strokes';
