/**
 * The one preprocessing of Memory Lab: any grayscale drawing -> the 28x28 encoder input.
 *
 * A line-for-line port of `training/preprocess.py` (the reference). Every step is done in
 * float64 (JS numbers) and only the result is rounded to float32, as in numpy; the fixture
 * `tests/fixtures/preprocess_fixture.json`, written by Python, proves the two agree to 1e-6.
 *
 * Steps:
 *  1. ink polarity: ink = 1 - pixel if the ink is dark (Omniglot: black 0 on white 1), else
 *     ink = pixel; clipped to [0, 1].
 *  2. bounding box of the cells with ink > INK_THRESHOLD. None -> EmptyDrawingError.
 *  3. source square: side S = max(box height, box width), centred on the box centre
 *     (cell r covers [r, r+1)); outside the image counts as no ink.
 *  4. area resampling (box filter) of that square onto BOX x BOX cells: Ry @ ink @ Rx^T with
 *     Ry[i, r] = |[r, r+1) ∩ [y0 + i*S/BOX, y0 + (i+1)*S/BOX)| / (S/BOX).
 *  5. placed at offset MARGIN in an OUT x OUT zero grid, divided by its maximum (strongest ink = 1).
 */

/** Output side: the encoder input is OUT x OUT. */
export const OUT = 28;
/** Side of the box the drawing is resampled into (MNIST-like). */
export const BOX = 20;
/** Empty border around the box: (OUT - BOX) / 2 cells. */
export const MARGIN = (OUT - BOX) / 2;
/** A cell counts as ink for the bounding box when its ink exceeds this. */
export const INK_THRESHOLD = 0.1;
/** Number of values in one preprocessed image (row-major OUT x OUT). */
export const OUT_SIZE = OUT * OUT;

/** The drawing has no cell with ink above INK_THRESHOLD. */
export class EmptyDrawingError extends Error {
  constructor(message = 'the drawing is empty: no pixel has ink') {
    super(message);
    this.name = 'EmptyDrawingError';
  }
}

export interface PreprocessOptions {
  /** true when ink is dark on a light background (Omniglot PNGs); default true. */
  inkIsDark?: boolean;
}

/**
 * Sparse area weights of one axis: for each output cell i, the first source cell `first[i]`
 * and the weights of source cells first[i] .. first[i] + w[i].length - 1 (all other weights of
 * the Python `area_weights` row are exactly 0). Same float64 expressions as the reference.
 */
interface AxisWeights {
  first: Int32Array;
  weights: Float64Array[];
}

function areaWeights(start: number, side: number, nSrc: number, nOut: number = BOX): AxisWeights {
  const step = side / nOut;
  const first = new Int32Array(nOut);
  const weights: Float64Array[] = [];
  for (let i = 0; i < nOut; i++) {
    const lo = start + step * i;
    const hi = lo + step;
    const rLo = Math.max(0, Math.floor(lo));
    const rHi = Math.min(nSrc - 1, Math.ceil(hi) - 1);
    first[i] = rLo;
    const n = Math.max(0, rHi - rLo + 1);
    const w = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const r = rLo + k;
      const overlap = Math.min(hi, r + 1) - Math.max(lo, r);
      w[k] = overlap > 0 ? overlap / step : 0;
    }
    weights.push(w);
  }
  return { first, weights };
}

function isByteArray(a: ArrayLike<number>): boolean {
  return a instanceof Uint8Array || a instanceof Uint8ClampedArray;
}

/**
 * Preprocess one drawing.
 *
 * @param pixels row-major [height * width] grayscale in [0, 1]; a Uint8Array /
 *               Uint8ClampedArray is read as 0..255 (divided by 255, like numpy uint8).
 * @param height rows of the image (>= 1)
 * @param width  columns of the image (>= 1)
 * @returns Float32Array(784), row-major 28x28, ink = 1, background = 0.
 * @throws EmptyDrawingError when no pixel has ink; Error on a wrong size or NaN/Inf.
 */
export function preprocess(
  pixels: ArrayLike<number>,
  height: number,
  width: number,
  options: PreprocessOptions = {},
): Float32Array {
  const inkIsDark = options.inkIsDark ?? true;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new Error(`expected a 2-D grayscale image with integer height, width >= 1, got ${height}x${width}`);
  }
  if (pixels == null || typeof pixels.length !== 'number') {
    throw new Error(`expected an array of ${height}*${width} pixels, got ${String(pixels)}`);
  }
  if (pixels.length !== height * width) {
    throw new Error(
      `expected ${height}*${width} = ${height * width} pixels (row-major), got ${pixels.length}`,
    );
  }
  const scale = isByteArray(pixels) ? 1 / 255 : 1;
  const n = height * width;
  const ink = new Float64Array(n);
  let r0 = height, r1 = -1, c0 = width, c1 = -1;
  for (let idx = 0; idx < n; idx++) {
    const raw = pixels[idx];
    const v = scale === 1 ? Number(raw) : raw / 255;
    if (!Number.isFinite(v)) {
      throw new Error(`image contains NaN or Inf (pixel ${idx}: row ${Math.floor(idx / width)}, col ${idx % width})`);
    }
    let x = inkIsDark ? 1 - v : v;
    x = x < 0 ? 0 : x > 1 ? 1 : x;
    ink[idx] = x;
    if (x > INK_THRESHOLD) {
      const r = Math.floor(idx / width);
      const c = idx - r * width;
      if (r < r0) r0 = r;
      if (r > r1) r1 = r;
      if (c < c0) c0 = c;
      if (c > c1) c1 = c;
    }
  }
  if (r1 < 0) throw new EmptyDrawingError();
  r1 += 1;
  c1 += 1;
  const side = Math.max(r1 - r0, c1 - c0);
  const y0 = (r0 + r1) / 2 - side / 2;
  const x0 = (c0 + c1) / 2 - side / 2;
  const ry = areaWeights(y0, side, height);
  const rx = areaWeights(x0, side, width);

  // tmp = Ry @ ink  -> [BOX, width]
  const tmp = new Float64Array(BOX * width);
  for (let i = 0; i < BOX; i++) {
    const w = ry.weights[i];
    const base = ry.first[i];
    const row = i * width;
    for (let k = 0; k < w.length; k++) {
      const wk = w[k];
      if (wk === 0) continue;
      const src = (base + k) * width;
      for (let c = 0; c < width; c++) tmp[row + c] += wk * ink[src + c];
    }
  }
  // box = tmp @ Rx^T -> [BOX, BOX], placed at MARGIN in the OUT x OUT grid
  const out = new Float64Array(OUT_SIZE);
  let max = 0;
  for (let i = 0; i < BOX; i++) {
    const row = i * width;
    for (let j = 0; j < BOX; j++) {
      const w = rx.weights[j];
      const base = rx.first[j];
      let s = 0;
      for (let k = 0; k < w.length; k++) s += w[k] * tmp[row + base + k];
      out[(i + MARGIN) * OUT + j + MARGIN] = s;
      if (s > max) max = s;
    }
  }
  const result = new Float32Array(OUT_SIZE);
  for (let idx = 0; idx < OUT_SIZE; idx++) result[idx] = out[idx] / max;
  return result;
}

/**
 * Rotate a row-major [height, width] image by k*90 degrees counter-clockwise, exactly like
 * `numpy.rot90(img, k)`. Returns the new pixels and shape (height and width swap for odd k).
 */
export function rotateImage90<T extends ArrayLike<number>>(
  pixels: T,
  height: number,
  width: number,
  k: number,
): { pixels: Float64Array; height: number; width: number } {
  if (pixels.length !== height * width) {
    throw new Error(`expected ${height}*${width} = ${height * width} pixels, got ${pixels.length}`);
  }
  if (!Number.isInteger(k)) throw new Error(`expected an integer number of quarter turns, got ${k}`);
  const q = ((k % 4) + 4) % 4;
  const H = height, W = width;
  if (q === 0) return { pixels: Float64Array.from(pixels as ArrayLike<number>), height: H, width: W };
  if (q === 2) {
    const out = new Float64Array(H * W);
    // out[i, j] = m[H-1-i, W-1-j]
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) out[i * W + j] = pixels[(H - 1 - i) * W + (W - 1 - j)];
    return { pixels: out, height: H, width: W };
  }
  const out = new Float64Array(H * W);
  if (q === 1) {
    // np.rot90(m): out[i, j] = m[j, W-1-i], shape (W, H)
    for (let i = 0; i < W; i++) for (let j = 0; j < H; j++) out[i * H + j] = pixels[j * W + (W - 1 - i)];
  } else {
    // np.rot90(m, 3): out[i, j] = m[H-1-j, i], shape (W, H)
    for (let i = 0; i < W; i++) for (let j = 0; j < H; j++) out[i * H + j] = pixels[(H - 1 - j) * W + i];
  }
  return { pixels: out, height: W, width: H };
}
