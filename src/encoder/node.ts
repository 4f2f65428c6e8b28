/**
 * Node-only helpers for the encoder: a file-system IOHandler (tfjs-node is not available, so
 * `file://` URLs do not work). Not imported by the browser bundle.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Encoder, KEY_SHIFTS, type EncoderOptions, type KeyShifts } from './encoder';
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
 * The test-time shifts a script's keys are made with: `flag` (the script's --key-shifts) when
 * given, else the model folder's entry in `registryPath` (models/encoders.json) when it is listed
 * there, else 0. So a bundled encoder's keys are the app's unless the caller asks otherwise.
 * @throws Error when the flag is not 0, 4 or 8.
 */
export function keyShiftsOf(modelDir: string, registryPath: string, flag?: string): KeyShifts {
  if (flag !== undefined) {
    const k = Number(flag);
    if (!KEY_SHIFTS.includes(k as KeyShifts)) throw new Error(`expected --key-shifts to be one of ${KEY_SHIFTS.join(', ')}, got ${flag}`);
    return k as KeyShifts;
  }
  const registry = parseEncoderRegistry(JSON.parse(readFileSync(registryPath, 'utf8')), registryPath);
  const dir = resolve(modelDir);
  return registry.encoders.find((e) => resolve(dirname(registryPath), e.folder) === dir)?.keyShifts ?? 0;
}

/**
 * Refuse a model that trained on the background validation alphabets (export_tfjs.py records
 * `training.trainval` in model.json): measuring it there would read drawings it has learned.
 * @throws Error naming the model and its run, followed by `advice`.
 */
export function refuseTrainval(modelDir: string, advice: string): void {
  const meta = JSON.parse(readFileSync(join(resolve(modelDir), 'model.json'), 'utf8')) as { userDefinedMetadata?: { training?: { trainval?: boolean; run?: string } } };
  const training = meta.userDefinedMetadata?.training;
  if (training?.trainval) throw new Error(`${modelDir} was trained on the validation alphabets too (${training.run ?? 'train.py --trainval'}): ${advice}`);
}
