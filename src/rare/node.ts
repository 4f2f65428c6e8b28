/** Node-only: read an exported rare-event model from a folder (not imported by the browser bundle). */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RareModel, RareModelError, type RareFileReader } from './model';

/** Reads files of `dir`; null when a file does not exist. */
export function folderReader(dir: string): RareFileReader {
  return async (name) => {
    try {
      const b = await readFile(join(dir, name));
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new RareModelError(`cannot read ${join(dir, name)}: ${(e as Error).message}`);
    }
  };
}

/** Load the model exported into `dir` (model.json, weights.bin, memory.*.bin). */
export function loadRareModelFromDir(dir: string): Promise<RareModel> {
  const abs = resolve(dir);
  return RareModel.load(folderReader(abs), abs);
}
