/**
 * The pure stroke model: pointer strokes -> grayscale raster -> the shared 28x28 preprocessing.
 * No React, no DOM (runs in Node tests). Coordinates of the input are canvas pixels; the raster
 * has its own pixel grid (RasterPx). The two are kept apart by branded number types.
 */
import { preprocess, OUT_SIZE } from '../preprocess';

/** A length or coordinate in CSS pixels of the drawing canvas. */
export type CanvasPx = number & { readonly __unit?: 'canvas-px' };
/** A length or coordinate in pixels of the raster handed to preprocess(). */
export type RasterPx = number & { readonly __unit?: 'raster-px' };

/** One pointer sample: position in canvas pixels, pressure in [0, 1] (mouse: 0.5), time in ms. */
export interface StrokePoint {
  x: CanvasPx;
  y: CanvasPx;
  pressure: number;
  t: number;
}
export type Stroke = readonly StrokePoint[];

export interface RasterOptions {
  /** side of the square raster, in raster pixels; default 105 (an Omniglot image). */
  side?: RasterPx;
  /** the drawing's longer side is scaled to this many raster pixels; default 69 (median Omniglot span). */
  span?: RasterPx;
  /** line width at pressure 0.5, in raster pixels; default 4.5 (median Omniglot stroke). */
  lineWidth?: RasterPx;
  /** drawings smaller than this (canvas px) are not blown up beyond span * size / minSpan; default 24. */
  minSpan?: CanvasPx;
}

export interface Raster {
  /** row-major [height * width], ink 1 on background 0 */
  pixels: Float32Array;
  height: number;
  width: number;
}

const DEFAULTS: Required<RasterOptions> = { side: 105, span: 69, lineWidth: 4.5, minSpan: 24 };

/** Width factor of a pressure value: 0.5 (mouse) -> 1; a light pen 0 -> 0.5; full 1 -> 1.5. */
export function pressureWidthFactor(pressure: number): number {
  const p = Number.isFinite(pressure) ? Math.min(1, Math.max(0, pressure)) : 0.5;
  return 0.5 + p;
}

/** Number of points over all strokes. */
export function pointCount(strokes: readonly Stroke[]): number {
  return strokes.reduce((n, s) => n + s.length, 0);
}

/** Bounding box of all points in canvas pixels, or null when there is none. */
export function strokesBounds(strokes: readonly Stroke[]): { x0: number; y0: number; x1: number; y1: number } | null {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const s of strokes) {
    for (const p of s) {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
        throw new Error(`expected finite stroke coordinates, got (${p.x}, ${p.y})`);
      }
      if (p.x < x0) x0 = p.x;
      if (p.y < y0) y0 = p.y;
      if (p.x > x1) x1 = p.x;
      if (p.y > y1) y1 = p.y;
    }
  }
  return x0 === Infinity ? null : { x0, y0, x1, y1 };
}

/**
 * Coverage of one round-capped segment (a "capsule") with radii r0 at a and r1 at b, painted with
 * max() into the raster: coverage = clamp(radius + 0.5 - distance, 0, 1), a one-pixel antialiased edge.
 */
function paintCapsule(
  out: Float32Array, w: number, h: number,
  ax: number, ay: number, r0: number, bx: number, by: number, r1: number,
): void {
  const rMax = Math.max(r0, r1) + 1;
  const minX = Math.max(0, Math.floor(Math.min(ax, bx) - rMax));
  const maxX = Math.min(w - 1, Math.ceil(Math.max(ax, bx) + rMax));
  const minY = Math.max(0, Math.floor(Math.min(ay, by) - rMax));
  const maxY = Math.min(h - 1, Math.ceil(Math.max(ay, by) + rMax));
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  for (let y = minY; y <= maxY; y++) {
    const py = y + 0.5; // pixel centre
    for (let x = minX; x <= maxX; x++) {
      const px = x + 0.5;
      let u = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
      u = u < 0 ? 0 : u > 1 ? 1 : u;
      const qx = ax + u * dx - px, qy = ay + u * dy - py;
      const d = Math.sqrt(qx * qx + qy * qy);
      const c = r0 + (r1 - r0) * u + 0.5 - d;
      if (c <= 0) continue;
      const v = c >= 1 ? 1 : c;
      const i = y * w + x;
      if (v > out[i]) out[i] = v;
    }
  }
}

/**
 * Rasterise strokes into a square grayscale image (ink 1, background 0): thick antialiased
 * polylines with round caps and joins, width following the pressure. The drawing is scaled so its
 * longer side spans `span` raster pixels and centred, so the result does not depend on how large
 * the user drew (the 28x28 preprocessing crops to the ink anyway; this fixes the stroke width
 * relative to the drawing, like an Omniglot image).
 */
export function strokesToRaster(strokes: readonly Stroke[], options: RasterOptions = {}): Raster {
  const o = { ...DEFAULTS, ...options };
  if (!Number.isInteger(o.side) || o.side < 8) throw new Error(`expected a raster side >= 8 px, got ${o.side}`);
  if (!(o.span > 0 && o.span <= o.side)) throw new Error(`expected 0 < span <= side (${o.side}), got ${o.span}`);
  if (!(o.lineWidth > 0)) throw new Error(`expected a line width > 0, got ${o.lineWidth}`);
  const side = o.side;
  const pixels = new Float32Array(side * side);
  const b = strokesBounds(strokes);
  if (!b) return { pixels, height: side, width: side };
  const extent = Math.max(b.x1 - b.x0, b.y1 - b.y0, o.minSpan);
  const scale = o.span / extent;
  const cx = (b.x0 + b.x1) / 2, cy = (b.y0 + b.y1) / 2;
  const tx = (x: number) => side / 2 + (x - cx) * scale;
  const ty = (y: number) => side / 2 + (y - cy) * scale;
  const radius = (p: StrokePoint) => (o.lineWidth * pressureWidthFactor(p.pressure)) / 2;
  for (const s of strokes) {
    if (s.length === 0) continue;
    if (s.length === 1) {
      const p = s[0];
      paintCapsule(pixels, side, side, tx(p.x), ty(p.y), radius(p), tx(p.x), ty(p.y), radius(p));
      continue;
    }
    for (let i = 1; i < s.length; i++) {
      const a = s[i - 1], c = s[i];
      paintCapsule(pixels, side, side, tx(a.x), ty(a.y), radius(a), tx(c.x), ty(c.y), radius(c));
    }
  }
  return { pixels, height: side, width: side };
}

/**
 * The encoder input of a drawing: strokes -> raster -> preprocess (the same function as
 * training and evaluation) -> Float32Array(784), row-major 28x28, ink 1.
 * @throws EmptyDrawingError (from preprocess) when there is no ink.
 */
export function strokesToInput(strokes: readonly Stroke[], options: RasterOptions = {}): Float32Array {
  const r = strokesToRaster(strokes, options);
  return preprocess(r.pixels, r.height, r.width, { inkIsDark: false });
}

/** A 28x28 input as bytes (0..255), the thumbnail stored with a memory slot. */
export function inputToThumbnail(input: ArrayLike<number>): Uint8Array {
  if (input.length !== OUT_SIZE) throw new Error(`expected ${OUT_SIZE} values (28x28), got ${input.length}`);
  const out = new Uint8Array(OUT_SIZE);
  for (let i = 0; i < OUT_SIZE; i++) out[i] = Math.round(Math.min(1, Math.max(0, input[i])) * 255);
  return out;
}

/** Move and scale a drawing (for variants and scripted strokes); time is kept. */
export function transformStrokes(
  strokes: readonly Stroke[],
  f: (x: number, y: number) => [number, number],
): StrokePoint[][] {
  return strokes.map((s) => s.map((p) => {
    const [x, y] = f(p.x, p.y);
    return { ...p, x, y };
  }));
}
