/**
 * Node-only helpers for the encoder: a file-system IOHandler (tfjs-node is not available, so
 * `file://` URLs do not work). Not imported by the browser bundle.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Encoder, type EncoderOptions, type KeyShifts } from './encoder';
import { parseEncoderRegistry } from './registry';

/**
 * An IOHandler that reads `model.json` (path to the file or to its folder) and the weight files
 * its manifest names, relative to the folder.
 */
export function fileSystemHandler(path: string): tf.io.IOHandler {
  const jsonPath = resolve(path.endsWith('.json') ? path : join(path, 'model.json'));
  const dir = dirname(jsonPath);
  return {
    load: async () => {
      let text: string;
      try {
        text = await readFile(jsonPath, 'utf8');
      } catch (err) {
        throw new Error(`cannot read ${jsonPath}: ${(err as Error).message}`);
      }
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(text) as tf.io.ModelJSON;
      } catch (err) {
        throw new Error(`${jsonPath} is not valid JSON: ${(err as Error).message}`);
      }
      if (json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
        throw new Error(`${jsonPath}: expected a layers model.json with "modelTopology" and "weightsManifest"`);
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const file = join(dir, p);
            let buf: Buffer;
            try {
              buf = await readFile(file);
            } catch (err) {
              throw new Error(`cannot read weight file ${file} named in ${jsonPath}: ${(err as Error).message}`);
            }
            buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

/** Load an Encoder from a folder holding model.json (or the path of model.json) in Node. */
export function loadEncoderFromDir(path: string, options: EncoderOptions = {}): Promise<Encoder> {
  return Encoder.load(fileSystemHandler(path), options);
}

/**
 * The test-time shifts a model folder's keys are made with: its entry's `keyShifts` when the folder
 * is one listed in `registryPath` (models/encoders.json) beside it, else 0. Scripts that take
 * `--model DIR` use it so a bundled encoder's keys are the app's.
 */
export function registryKeyShifts(modelDir: string, registryPath: string): KeyShifts {
  const registry = parseEncoderRegistry(JSON.parse(readFileSync(registryPath, 'utf8')), registryPath);
  const dir = resolve(modelDir);
  const entry = registry.encoders.find((e) => resolve(dirname(registryPath), e.folder) === dir);
  return entry?.keyShifts ?? 0;
}
