/**
 * From Omniglot drawings to the evaluation's classes and embeddings (plain TS, no DOM).
 *
 * A class is (character, rotation); rotation k turns the 105x105 drawing k*90 degrees
 * counter-clockwise (numpy.rot90) BEFORE preprocessing, as the Vinyals split defines its classes.
 * Every image is preprocessed once (src/preprocess) and embedded once; the protocols then only
 * run memory operations on the rows.
 */
import { OUT, OUT_SIZE, preprocess, rotateImage90 } from '../preprocess';
import { decodeDrawing, OmniglotLayoutError, type OmniglotSet, type SplitClass } from './omniglot';

/** One class of a test set: its name and the rows of its images in the image table. */
export interface EvalClass {
  name: string;
  items: Int32Array;
}

/** A test set: a name and its classes (each with >= 2 images). */
export interface ClassSet {
  name: string;
  classes: EvalClass[];
}

/** Rows of vectors: row i = data[i*dim .. (i+1)*dim). */
export interface Embeddings {
  dim: number;
  count: number;
  data: Float32Array;
}

/** A class to build: a character of the set (index) and a rotation (quarter turns, CCW). */
export interface ClassSpec {
  name: string;
  character: number;
  rotation: number;
}

/** All characters of the set, unrotated (the '659 evaluation characters' test set). */
export function unrotatedClasses(set: OmniglotSet): ClassSpec[] {
  return set.characters.map((c, i) => ({ name: c.name, character: i, rotation: 0 }));
}

/** All characters with their four rotations as classes. */
export function rotatedClasses(set: OmniglotSet): ClassSpec[] {
  return set.characters.flatMap((c, i) =>
    [0, 1, 2, 3].map((r) => ({ name: `${c.name}/rot${String(r * 90).padStart(3, '0')}`, character: i, rotation: r })),
  );
}

/**
 * The classes of a Vinyals split that lie in this set. @throws when a split class names a
 * character the zip does not hold (wrong zip for this split).
 */
export function splitClasses(set: OmniglotSet, split: SplitClass[], splitSource: string): ClassSpec[] {
  const missing: string[] = [];
  const out: ClassSpec[] = [];
  for (const s of split) {
    const i = set.byName.get(s.character);
    if (i === undefined) missing.push(s.line);
    else out.push({ name: s.line, character: i, rotation: s.rotation });
  }
  if (missing.length > 0) {
    throw new OmniglotLayoutError(
      `${splitSource}: ${missing.length} of ${split.length} classes are not characters of ${set.source} (e.g. ${missing[0]}); ` +
        `expected the zip that holds them (the Vinyals test classes are in images_evaluation.zip)`,
    );
  }
  return out;
}

export interface PreparedImages {
  /** preprocessed 28x28 images (ink 1), row i = image i: [count, 784] */
  pixels: Embeddings;
  /** with `rawPixels`: the whole drawing area-resized to 28x28 (ink 1), no crop or rescale */
  rawPixels?: Embeddings;
  /** one ClassSet per list of specs given, in order */
  sets: ClassSet[];
}

export interface PrepareOptions {
  /** at most this many drawings per class (default all, 20 in Omniglot) */
  drawingsPerClass?: number;
  /** (done, total) images */
  onProgress?: (done: number, total: number) => void;
  /** awaited every `yieldEvery` images (the browser passes a macrotask so it can repaint) */
  tick?: () => Promise<void>;
  yieldEvery?: number;
  /** also keep the plain 28x28 area resize of each (rotated) drawing (the pixels baseline of Vinyals et al.) */
  rawPixels?: boolean;
}

/**
 * The whole [h, w] image area-resized (box filter) to OUT x OUT, as ink (1 - gray): the plain
 * "resize to 28x28" that the published pixels baseline used, without the crop and rescale of
 * preprocess().
 */
export function plainResize(gray: ArrayLike<number>, height: number, width: number): Float32Array {
  const out = new Float32Array(OUT * OUT);
  const sy = height / OUT, sx = width / OUT;
  for (let i = 0; i < OUT; i++) {
    const y0 = i * sy, y1 = y0 + sy;
    for (let j = 0; j < OUT; j++) {
      const x0 = j * sx, x1 = x0 + sx;
      let s = 0;
      for (let r = Math.floor(y0); r < Math.min(height, Math.ceil(y1)); r++) {
        const wy = Math.min(y1, r + 1) - Math.max(y0, r);
        for (let c = Math.floor(x0); c < Math.min(width, Math.ceil(x1)); c++) {
          const wx = Math.min(x1, c + 1) - Math.max(x0, c);
          s += wy * wx * (1 - gray[r * width + c]);
        }
      }
      out[i * OUT + j] = s / (sy * sx);
    }
  }
  return out;
}

/**
 * Decode, rotate and preprocess every image the given test sets need, each (character, drawing,
 * rotation) once even when several sets share it.
 */
export async function prepareImages(
  set: OmniglotSet,
  specs: { name: string; classes: ClassSpec[] }[],
  options: PrepareOptions = {},
): Promise<PreparedImages> {
  const rowOf = new Map<string, number>();
  const jobs: { character: number; drawing: number; rotation: number }[] = [];
  const sets: ClassSet[] = specs.map(({ name, classes }) => ({
    name,
    classes: classes.map((c) => {
      const ch = set.characters[c.character];
      const n = Math.min(ch.drawings.length, options.drawingsPerClass ?? Infinity);
      const items = new Int32Array(n);
      for (let d = 0; d < n; d++) {
        const key = `${c.character}:${d}:${c.rotation}`;
        let row = rowOf.get(key);
        if (row === undefined) {
          row = jobs.length;
          rowOf.set(key, row);
          jobs.push({ character: c.character, drawing: d, rotation: c.rotation });
        }
        items[d] = row;
      }
      return { name: c.name, items };
    }),
  }));
  const data = new Float32Array(jobs.length * OUT_SIZE);
  const raw = options.rawPixels ? new Float32Array(jobs.length * OUT_SIZE) : null;
  const decoded = new Map<string, { pixels: Float32Array; height: number; width: number }>();
  const yieldEvery = options.yieldEvery ?? 200;
  for (let j = 0; j < jobs.length; j++) {
    const { character, drawing, rotation } = jobs[j];
    const dr = set.characters[character].drawings[drawing];
    // rotations of one drawing are adjacent in jobs only by chance; keep a small decode cache
    const key = `${character}:${drawing}`;
    let img = decoded.get(key);
    if (!img) {
      img = decodeDrawing(dr, set.source);
      if (decoded.size > 256) decoded.clear();
      decoded.set(key, img);
    }
    const rot = rotateImage90(img.pixels, img.height, img.width, rotation);
    try {
      data.set(preprocess(rot.pixels, rot.height, rot.width, { inkIsDark: true }), j * OUT_SIZE);
      raw?.set(plainResize(rot.pixels, rot.height, rot.width), j * OUT_SIZE);
    } catch (err) {
      throw new Error(`${set.source}: ${dr.path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if ((j + 1) % yieldEvery === 0 || j + 1 === jobs.length) {
      options.onProgress?.(j + 1, jobs.length);
      if (options.tick) await options.tick();
    }
  }
  return {
    pixels: { dim: OUT_SIZE, count: jobs.length, data },
    ...(raw ? { rawPixels: { dim: OUT_SIZE, count: jobs.length, data: raw } } : {}),
    sets,
  };
}

/** Rows scaled to unit length (zero rows stay zero). */
export function unitRows(e: Embeddings): Embeddings {
  const out = new Float32Array(e.data.length);
  for (let i = 0; i < e.count; i++) {
    let s = 0;
    const o = i * e.dim;
    for (let j = 0; j < e.dim; j++) s += e.data[o + j] * e.data[o + j];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < e.dim; j++) out[o + j] = e.data[o + j] * inv;
  }
  return { dim: e.dim, count: e.count, data: out };
}
