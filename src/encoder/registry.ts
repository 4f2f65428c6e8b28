/**
 * The registry of bundled encoders: `models/encoders.json` lists every encoder the app ships (its
 * folder under models/, which objective trained it, its measured accuracy). The first entry is
 * the default (the lead orders them best first). Validated with zod when loaded: a bad registry is
 * an error that says what is wrong, never a half-read list.
 *
 * Plain TypeScript, no DOM: the browser passes a URL, Node tests pass the parsed JSON.
 */
import { z } from 'zod';

export const REGISTRY_FORMAT = 'memory-lab/encoders';
export const REGISTRY_VERSION = 1;

/**
 * The encoder that made the keys of a memory saved before encoders were a choice (files and
 * autosaves without an `encoder` field): the only one the app shipped then.
 */
export const LEGACY_ENCODER = 'omniglot-conv4';

/** names and folders: one path segment, no `..`, safe in a URL and a file name */
const segment = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected 1-64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit')
  .refine((s) => !s.includes('..'), 'must not contain ".."');
const oneLine = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `at most ${max} characters`)
    // eslint-disable-next-line no-control-regex
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must be one line (no line breaks or control characters)');

/** the first 16 hex digits of a SHA-256 (see `weights` below) */
export const weightsHash = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lowercase hex digits (the start of a SHA-256)');

export const encoderEntrySchema = z
  .object({
    /** the id a saved memory records (which encoder made its keys) */
    name: segment,
    /** folder under models/ holding model.json + weights (TF.js layers format) */
    folder: segment,
    /** the training objective, e.g. "memory", "cosface", "cosface+memory" (training/train.py --objective) */
    objective: oneLine(60),
    /** one line in plain words: what it is and which objective trained it */
    description: oneLine(300),
    /** the measured accuracy line (npm run eval), or null until it is measured */
    accuracy: oneLine(300).nullable(),
    /**
     * The "not sure" cut-off calibrated for this encoder (scripts/calibrate-near.ts, on held-out
     * background alphabets): encoders spread similarities differently, so one number cannot fit all.
     * Absent: the app's general default.
     */
    nearCutoff: z.number().gt(0, 'must be above 0').lt(1, 'must be below 1').optional(),
    /**
     * Which weights: the first 16 hex digits of the SHA-256 of the model's weight files (in manifest
     * order). A saved memory records it; one made by other weights under the same name (a retrained
     * encoder) is re-encoded on restore, as one made by another encoder is. Absent: not checked.
     */
    weights: weightsHash.optional(),
    /**
     * Test-time shifts averaged into each key (src/encoder/encoder.ts `keyShifts`): 4 or 8 copies of
     * the drawing moved by one pixel join it. Part of which keys the encoder makes: a memory saved
     * with another setting is re-encoded on restore. Absent: 0, the drawing alone.
     */
    keyShifts: z.union([z.literal(0), z.literal(4), z.literal(8)]).optional(),
    /**
     * The weights that saved memories without a recorded `weights` were made with (they predate the
     * field). Absent: unknown, so such memories are re-encoded.
     */
    unrecordedWeights: weightsHash.optional(),
  })
  .strict();
export type EncoderEntry = z.infer<typeof encoderEntrySchema>;

export const encoderRegistrySchema = z
  .object({
    format: z.literal(REGISTRY_FORMAT),
    version: z.literal(REGISTRY_VERSION),
    encoders: z.array(encoderEntrySchema).min(1, 'lists no encoder').max(32),
  })
  .strict()
  .superRefine((r, ctx) => {
    const names = new Set<string>();
    const folders = new Set<string>();
    r.encoders.forEach((e, i) => {
      if (names.has(e.name)) ctx.addIssue({ code: 'custom', path: ['encoders', i, 'name'], message: `"${e.name}" appears twice` });
      if (folders.has(e.folder)) ctx.addIssue({ code: 'custom', path: ['encoders', i, 'folder'], message: `"${e.folder}" is used by two encoders` });
      names.add(e.name);
      folders.add(e.folder);
    });
  });
export type EncoderRegistry = z.infer<typeof encoderRegistrySchema>;

/**
 * Validate parsed JSON as an encoder registry.
 * @throws Error naming `source` and the first problems (path: message).
 */
export function parseEncoderRegistry(data: unknown, source = 'models/encoders.json'): EncoderRegistry {
  const r = encoderRegistrySchema.safeParse(data);
  if (!r.success) {
    const issues = r.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.length ? i.path.join('.') : 'the registry'}: ${i.message}`)
      .join('; ');
    throw new Error(`${source} is not a valid encoder registry: ${issues}`);
  }
  return r.data;
}

/** Fetch and validate the registry (browser); every failure says which URL and why. */
export async function loadEncoderRegistry(url: string): Promise<EncoderRegistry> {
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-cache' });
  } catch (err) {
    throw new Error(`could not fetch the encoder registry ${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!res.ok) throw new Error(`could not fetch the encoder registry ${url}: HTTP ${res.status}`);
  let data: unknown;
  try {
    data = JSON.parse(await res.text());
  } catch (err) {
    throw new Error(`${url} is not JSON (${err instanceof Error ? err.message.slice(0, 120) : 'unreadable'})`);
  }
  return parseEncoderRegistry(data, url);
}

/** The entry named `name`. @throws Error listing the names the registry has. */
export function encoderEntry(registry: EncoderRegistry, name: string): EncoderEntry {
  const e = registry.encoders.find((x) => x.name === name);
  if (!e) throw new Error(`no encoder named "${name}": this app ships ${registry.encoders.map((x) => `"${x.name}"`).join(', ')}`);
  return e;
}

/** URL of an entry's model.json under `modelsBase` (e.g. "/models/"). */
export function encoderModelUrl(entry: EncoderEntry, modelsBase: string): string {
  return `${modelsBase.endsWith('/') ? modelsBase : `${modelsBase}/`}${entry.folder}/model.json`;
}
