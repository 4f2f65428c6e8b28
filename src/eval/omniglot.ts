/**
 * Omniglot loader (plain TS, no DOM, no Node APIs): the official zips
 * (`images_evaluation.zip`, `images_background.zip`) read with fflate, PNGs decoded with fast-png.
 *
 * Layout inside a zip (exactly the official archives):
 *   <root>/<Alphabet>/characterNN/<ID>_<DD>.png
 * root = images_evaluation | images_background, ID = the character's global number, DD = the
 * drawer (01-20). Ink is black (0) on white (1); PNG mode '1' (1-bit), 105x105.
 * Node file access lives in omniglotNode.ts; the browser passes the bytes of a dropped file or
 * of the official download.
 */
import { unzipSync } from 'fflate';
import { convertIndexedToRgb, decode, type DecodedPng } from 'fast-png';

/** The official download of the evaluation set (used by the browser when online). */
/** training/data.py VAL_ALPHABETS: the background alphabets held out of training, for choices made on validation */
export const VALIDATION_ALPHABETS: readonly string[] = ['Early_Aramaic', 'Hebrew'];

export const OMNIGLOT_EVALUATION_URL =
  'https://raw.githubusercontent.com/brendenlake/omniglot/master/python/images_evaluation.zip';
export const OMNIGLOT_BACKGROUND_URL =
  'https://raw.githubusercontent.com/brendenlake/omniglot/master/python/images_background.zip';

export const EXPECTED_LAYOUT =
  '<root>/<Alphabet>/characterNN/<ID>_<DD>.png (root images_evaluation or images_background; ' +
  "PNG drawings, ink black on white), as in the official Omniglot zips";

/** One drawing: where it came from and its PNG bytes (decoded on demand). */
export interface OmniglotDrawing {
  /** path inside the zip */
  path: string;
  /** drawer number parsed from `<ID>_<DD>.png` */
  drawer: number;
  png: Uint8Array;
}

/** One character (a class when unrotated). */
export interface OmniglotCharacter {
  alphabet: string;
  /** folder name, e.g. 'character07' */
  character: string;
  /** 'Alphabet/characterNN', the key the Vinyals split uses before '/rotDDD' */
  name: string;
  drawings: OmniglotDrawing[];
}

export interface OmniglotSet {
  /** where the zip came from (file path, file name or URL) */
  source: string;
  /** 'images_evaluation' | 'images_background' | another root folder of the same layout */
  root: string;
  alphabets: string[];
  characters: OmniglotCharacter[];
  /** name 'Alphabet/characterNN' -> index in characters */
  byName: Map<string, number>;
}

/** A grayscale image, row-major, values in [0, 1] (1 = white paper, 0 = black ink). */
export interface GrayImage {
  height: number;
  width: number;
  pixels: Float32Array;
}

export class OmniglotLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OmniglotLayoutError';
  }
}

const PNG_RE = /^([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\.png$/i;
const FILE_RE = /^(\d+)_(\d+)$/;

/**
 * Parse an Omniglot zip (bytes) into characters and their drawings. PNGs are not decoded here
 * (decodeDrawing does it on demand). `source` names the file in errors.
 * @throws OmniglotLayoutError naming `source` and the expected layout on a corrupt zip or a
 *         layout that is not Omniglot's.
 */
/** @throws Error when images_background lacks a validation alphabet (another zip, or a cut one) */
export function checkValidationAlphabets(set: OmniglotSet): void {
  const missing = VALIDATION_ALPHABETS.filter((a) => !set.alphabets.includes(a));
  if (missing.length) throw new Error(`expected the validation alphabets ${VALIDATION_ALPHABETS.join(', ')} in ${set.source}, missing ${missing.join(', ')}`);
}

export function readOmniglotZip(bytes: Uint8Array | ArrayBuffer, source: string): OmniglotSet {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(data);
  } catch (err) {
    throw new OmniglotLayoutError(
      `${source}: not a readable zip (${err instanceof Error ? err.message : String(err)}); expected an Omniglot zip with ${EXPECTED_LAYOUT}`,
    );
  }
  const roots = new Set<string>();
  const chars = new Map<string, OmniglotCharacter>();
  const unexpected: string[] = [];
  for (const path of Object.keys(files)) {
    if (path.endsWith('/')) continue; // directory entry
    if (path.startsWith('__MACOSX/') || /(^|\/)\.[^/]*$/.test(path)) continue; // OS metadata
    const m = PNG_RE.exec(path);
    const f = m ? FILE_RE.exec(m[4]) : null;
    if (!m || !f || !/^character\d+$/.test(m[3])) {
      unexpected.push(path);
      continue;
    }
    roots.add(m[1]);
    const name = `${m[2]}/${m[3]}`;
    let c = chars.get(name);
    if (!c) {
      c = { alphabet: m[2], character: m[3], name, drawings: [] };
      chars.set(name, c);
    }
    c.drawings.push({ path, drawer: Number(f[2]), png: files[path] });
  }
  if (chars.size === 0) {
    const seen = Object.keys(files).slice(0, 3);
    throw new OmniglotLayoutError(
      `${source}: no drawings found; expected ${EXPECTED_LAYOUT}; found ${
        seen.length === 0 ? 'an empty zip' : `e.g. ${seen.map((s) => JSON.stringify(s)).join(', ')}`
      }`,
    );
  }
  if (unexpected.length > 0) {
    throw new OmniglotLayoutError(
      `${source}: ${unexpected.length} unexpected entr${unexpected.length === 1 ? 'y' : 'ies'} (e.g. ${JSON.stringify(
        unexpected[0],
      )}); expected ${EXPECTED_LAYOUT}`,
    );
  }
  if (roots.size !== 1) {
    throw new OmniglotLayoutError(
      `${source}: drawings under several root folders (${[...roots].join(', ')}); expected one root, ${EXPECTED_LAYOUT}`,
    );
  }
  const characters = [...chars.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const c of characters) c.drawings.sort((a, b) => a.drawer - b.drawer || (a.path < b.path ? -1 : 1));
  const byName = new Map<string, number>();
  characters.forEach((c, i) => byName.set(c.name, i));
  const alphabets = [...new Set(characters.map((c) => c.alphabet))];
  return { source, root: [...roots][0], alphabets, characters, byName };
}

/** Gray value in [0, 1] of channel samples (RGB -> mean, alpha ignored). */
function grayFromDecoded(png: DecodedPng, path: string): GrayImage {
  let d = png;
  if (d.palette) {
    const rgb = convertIndexedToRgb(d);
    d = { ...d, data: rgb, depth: 8, channels: d.palette[0]?.length ?? 3, palette: undefined };
  }
  const { width, height, depth, channels } = d;
  const pixels = new Float32Array(width * height);
  const colorChannels = channels >= 3 ? 3 : 1;
  if (depth < 8) {
    // packed rows, MSB first, each row padded to a whole byte (gray only)
    if (channels !== 1) throw new OmniglotLayoutError(`${path}: unsupported PNG (${depth}-bit with ${channels} channels)`);
    const rowBytes = Math.ceil((width * depth) / 8);
    const maxV = (1 << depth) - 1;
    const perByte = 8 / depth;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const byte = d.data[y * rowBytes + Math.floor(x / perByte)];
        const shift = 8 - depth * ((x % perByte) + 1);
        pixels[y * width + x] = ((byte >> shift) & maxV) / maxV;
      }
    }
  } else {
    const maxV = depth === 16 ? 65535 : 255;
    for (let i = 0; i < width * height; i++) {
      let s = 0;
      for (let c = 0; c < colorChannels; c++) s += d.data[i * channels + c];
      pixels[i] = s / colorChannels / maxV;
    }
  }
  return { width, height, pixels };
}

/** Decode one drawing's PNG to gray [0, 1] (ink 0). @throws naming the path on a bad PNG. */
export function decodeDrawing(drawing: OmniglotDrawing, source = ''): GrayImage {
  let png: DecodedPng;
  try {
    png = decode(drawing.png);
  } catch (err) {
    throw new OmniglotLayoutError(
      `${source ? source + ': ' : ''}${drawing.path} is not a readable PNG (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  return grayFromDecoded(png, drawing.path);
}

/** One class of the Vinyals split: 'Alphabet/characterNN/rotDDD'. */
export interface SplitClass {
  /** 'Alphabet/characterNN' */
  character: string;
  /** quarter turns counter-clockwise (rot090 -> 1) */
  rotation: number;
  line: string;
}

/**
 * Parse a Vinyals split file (one class per line, `Alphabet/characterNN/rotDDD`, DDD in
 * 000/090/180/270). @throws naming `source` and the line on anything else.
 */
export function parseSplit(text: string, source: string): SplitClass[] {
  const out: SplitClass[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = /^([^/]+\/character\d+)\/rot(000|090|180|270)$/.exec(line);
    if (!m) {
      throw new OmniglotLayoutError(
        `${source}:${i + 1}: expected a line 'Alphabet/characterNN/rotDDD' (DDD in 000, 090, 180, 270), got ${JSON.stringify(line)}`,
      );
    }
    out.push({ character: m[1], rotation: Number(m[2]) / 90, line });
  });
  if (out.length === 0) throw new OmniglotLayoutError(`${source}: no classes (expected lines 'Alphabet/characterNN/rotDDD')`);
  return out;
}
