/**
 * The rare-event sequence model in TensorFlow.js: the twin of training/rare/model.py (seq2seq
 * with attention, the memory inside) and of train.py's greedy `decode`, running on the files
 * written by training/rare/export.py. The memory is the project's KeyValueMemory (src/memory),
 * loaded with the exported contents: there is no second memory implementation.
 *
 * Per decoder step t (paper section 2.1, figure 2):
 *   h_t   = 2-layer LSTM(E(prev token))                       (PyTorch gate order i, f, g, o)
 *   w     = softmax(h_t . W_att e_s + rel[s - t + max_len - 1]) over the real input positions s
 *   ctx   = sum_s w_s e_s                                     (e: 2-layer bidirectional LSTM, each direction over the true length)
 *   a     = tanh(W_q ctx), or W_q ctx + b_q                   the attention vector = the memory query
 *                                                             (config.query_activation 'identity': a batch
 *                                                             norm folded into W_q, b_q by export.py)
 *   o     = tanh(W_c [ctx; h_t] + b_c)                        the decoder output
 *   (V[n1], conf) = memory(normalize(a))                      only at memory steps (aligned input is a digit)
 *   logits = W_o [o ; conf * E_v(V[n1])] + b_o                E_v index `vocab` when there is no value
 * Without the memory (useMemory false, or a step that does not consult it) the second half is zeros.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { KeyValueMemory, type LossResult, type WriteResult } from '../memory';
import { DIGIT0, GO, PAD, type Tokens } from './data';

export const RARE_MODEL_FORMAT = 'memory-lab/rare-seq2seq';
export const RARE_MODEL_VERSION = 1;
/** The files of an exported model, relative to its folder. */
export const RARE_MODEL_FILE = 'model.json';

/** Anything wrong with the model files: which file, what was expected, what came. */
export class RareModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RareModelError';
  }
}

/** model.json is not there (no export yet). */
export class RareModelMissingError extends RareModelError {
  constructor(readonly where: string) {
    super(`no rare-event model at ${where}: export one with /usr/bin/python3 training/rare/export.py (see training/rare/README.md)`);
    this.name = 'RareModelMissingError';
  }
}

const modelJsonSchema = z.object({
  format: z.literal(RARE_MODEL_FORMAT),
  version: z.literal(RARE_MODEL_VERSION),
  config: z.object({
    vocab: z.number().int().min(8),
    max_len: z.number().int().min(7),
    embed: z.number().int().min(1),
    hidden: z.number().int().min(2).multipleOf(2),
    layers: z.number().int().min(1).max(8),
    key_size: z.number().int().min(1),
    value_embed: z.number().int().min(1),
    use_memory: z.boolean(),
    /** 'tanh': a = tanh(W_q ctx); 'identity': a = W_q ctx + b_q (absent in v1 files before it: tanh) */
    query_activation: z.enum(['tanh', 'identity']).default('tanh'),
  }),
  task: z.object({
    seed: z.number().int().min(0),
    low: z.number().int(),
    high: z.number().int(),
    digits: z.number().int(),
    min_len: z.number().int(),
    max_len: z.number().int(),
    symbols: z.array(z.string()),
    n_train: z.number().int().min(0),
    n_test: z.number().int().min(0),
    memory_steps: z.enum(['digits', 'all']),
  }),
  weights: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().min(0)), offset: z.number().int().min(0) })),
  weights_bytes: z.number().int().min(0),
  memory: z.object({
    size: z.number().int().min(1),
    key_size: z.number().int().min(1),
    k: z.number().int().min(1),
    inverse_temperature: z.number().positive(),
    alpha: z.number().min(0),
    age_noise: z.number().min(0),
    writes: z.number().int().min(0),
    filled: z.number().int().min(0),
    files: z.object({ keys: z.string(), values: z.string(), ages: z.string(), origin: z.string() }),
  }),
  training: z.record(z.string(), z.unknown()).optional(),
});

export type RareModelJson = z.infer<typeof modelJsonSchema>;

/** Reads a file of the model folder by name; null when it does not exist. */
export type RareFileReader = (name: string) => Promise<ArrayBuffer | null>;

/** Where a memory slot's content came from. */
export type SlotOrigin =
  | { kind: 'training'; example: number }
  | { kind: 'session'; number: number; input: string }
  | { kind: 'none' };

export interface Neighbour {
  slot: number;
  similarity: number;
  /** token id stored in the slot (a digit token 4..7 for the 'digits' task) */
  value: number;
  /** its softmax(t * similarities) weight among the top k */
  weight: number;
  origin: SlotOrigin;
}

/** One sequence decoded greedily (train.py's decode), per output position t. */
export interface DecodedSequence {
  output: Tokens;
  /** V[n1] at memory steps, -1 elsewhere */
  memoryValue: number[];
  /** softmax weight of n1 at memory steps, 0 elsewhere */
  confidence: number[];
  /** n1 slot at memory steps, -1 elsewhere */
  n1: number[];
}

export interface StepDetail {
  t: number;
  input: number;
  output: number;
  /** this step consults the memory */
  memoryStep: boolean;
  memoryValue: number;
  confidence: number;
  n1: number;
  /** the token the decoder output alone (memory input zeroed) gives at this step, same prefix */
  outputWithoutMemoryHere: number;
  /** softmax over the vocabulary of the logits, with the memory */
  probabilities: number[];
  /** the top neighbours (best first), at memory steps */
  neighbours: Neighbour[];
}

export interface Explanation {
  input: Tokens;
  output: Tokens;
  /** train.py's decode(use_memory=False): the whole sequence decoded with the memory input zeroed */
  outputWithoutMemory: Tokens;
  steps: StepDetail[];
}

export interface TeachResult {
  /** decoder steps written (memory steps of the input) */
  steps: number[];
  /** the correct token written at each */
  labels: number[];
  /** the memory loss of each step's query before the write (paper eq. 2) */
  loss: LossResult;
  writes: WriteResult[];
}

export interface DecodeOptions {
  /** consult the memory (default: the model's use_memory) */
  useMemory?: boolean;
  /** sequences decoded in lockstep per batch (default 512) */
  batchSize?: number;
}

interface LstmLayer {
  /** [in + H, 4H]: [W_ih; W_hh] transposed */
  w: tf.Tensor2D;
  /** [4H]: b_ih + b_hh */
  b: tf.Tensor1D;
  hidden: number;
}

function expectedShapes(c: RareModelJson['config']): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const H = c.hidden, Hh = H / 2, E = c.embed;
  m.set('tok.weight', [c.vocab, E]);
  m.set('rel', [2 * c.max_len - 1]);
  for (let l = 0; l < c.layers; l++) {
    for (const sfx of ['', '_reverse']) {
      m.set(`enc.weight_ih_l${l}${sfx}`, [4 * Hh, l === 0 ? E : H]);
      m.set(`enc.weight_hh_l${l}${sfx}`, [4 * Hh, Hh]);
      m.set(`enc.bias_ih_l${l}${sfx}`, [4 * Hh]);
      m.set(`enc.bias_hh_l${l}${sfx}`, [4 * Hh]);
    }
    m.set(`dec.weight_ih_l${l}`, [4 * H, l === 0 ? E : H]);
    m.set(`dec.weight_hh_l${l}`, [4 * H, H]);
    m.set(`dec.bias_ih_l${l}`, [4 * H]);
    m.set(`dec.bias_hh_l${l}`, [4 * H]);
  }
  m.set('att.weight', [H, H]);
  m.set('query.weight', [c.key_size, H]);
  if (c.query_activation === 'identity') m.set('query.bias', [c.key_size]);
  m.set('comb.weight', [c.key_size, 2 * H]);
  m.set('comb.bias', [c.key_size]);
  m.set('val.weight', [c.vocab + 1, c.value_embed]);
  m.set('out.weight', [c.vocab, c.key_size + c.value_embed]);
  m.set('out.bias', [c.vocab]);
  return m;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** IEEE half -> float (the exported keys are float16, little endian). */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Parse and check model.json; throws RareModelError naming what is wrong. */
export function parseRareModelJson(doc: unknown, where = RARE_MODEL_FILE): RareModelJson {
  const r = modelJsonSchema.safeParse(doc);
  if (!r.success) {
    const detail = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new RareModelError(`${where}: expected a ${RARE_MODEL_FORMAT} v${RARE_MODEL_VERSION} model description, got an invalid one: ${detail}`);
  }
  const d = r.data;
  if (d.memory.key_size !== d.config.key_size) {
    throw new RareModelError(`${where}: expected memory.key_size = config.key_size = ${d.config.key_size}, got ${d.memory.key_size}`);
  }
  if (d.config.max_len !== d.task.max_len) throw new RareModelError(`${where}: config.max_len ${d.config.max_len} != task.max_len ${d.task.max_len}`);
  const want = expectedShapes(d.config);
  const seen = new Set<string>();
  for (const w of d.weights) {
    const shape = want.get(w.name);
    if (!shape) throw new RareModelError(`${where}: unexpected weight '${w.name}' for this architecture`);
    if (shape.join(',') !== w.shape.join(',')) {
      throw new RareModelError(`${where}: expected weight '${w.name}' of shape [${shape.join(', ')}], got [${w.shape.join(', ')}]`);
    }
    if (w.offset % 4 !== 0 || w.offset + 4 * prod(w.shape) > d.weights_bytes) {
      throw new RareModelError(`${where}: weight '${w.name}' at byte ${w.offset} (${4 * prod(w.shape)} bytes) lies outside weights.bin (${d.weights_bytes} bytes)`);
    }
    seen.add(w.name);
  }
  const missing = [...want.keys()].filter((n) => !seen.has(n));
  if (missing.length) throw new RareModelError(`${where}: missing weights ${missing.join(', ')}`);
  return d;
}

function need(buf: ArrayBuffer | null, name: string, bytes: number): ArrayBuffer {
  if (buf === null) throw new RareModelError(`${name} is missing (named in model.json)`);
  if (buf.byteLength !== bytes) throw new RareModelError(`${name}: expected ${bytes} bytes, got ${buf.byteLength} (corrupt or from another export)`);
  return buf;
}

/**
 * A loaded rare-event model: weights as tensors (kept until dispose()), the memory with the
 * exported contents, and where each slot's content came from.
 */
export class RareModel {
  readonly json: RareModelJson;
  readonly memory: KeyValueMemory;
  /** training example id that last wrote each slot (-1: none), as exported */
  private readonly trainingOrigin: Int32Array;
  private readonly sessionOrigin = new Map<number, { number: number; input: string }>();
  private readonly w: Record<string, tf.Tensor>;
  private readonly rel: Float32Array;
  private readonly enc: { fwd: LstmLayer; bwd: LstmLayer }[];
  private readonly dec: LstmLayer[];
  private disposed = false;

  private constructor(json: RareModelJson, weights: Record<string, tf.Tensor>, rel: Float32Array, memory: KeyValueMemory, origin: Int32Array) {
    this.json = json;
    this.w = weights;
    this.rel = rel;
    this.memory = memory;
    this.trainingOrigin = origin;
    const c = json.config;
    const fuse = (prefix: string, sfx: string, hidden: number): LstmLayer =>
      tf.tidy(() => ({
        w: tf.concat([weights[`${prefix}.weight_ih_${sfx}`].transpose(), weights[`${prefix}.weight_hh_${sfx}`].transpose()], 0) as tf.Tensor2D,
        b: tf.add(weights[`${prefix}.bias_ih_${sfx}`], weights[`${prefix}.bias_hh_${sfx}`]) as tf.Tensor1D,
        hidden,
      }));
    this.enc = Array.from({ length: c.layers }, (_, l) => ({ fwd: fuse('enc', `l${l}`, c.hidden / 2), bwd: fuse('enc', `l${l}_reverse`, c.hidden / 2) }));
    this.dec = Array.from({ length: c.layers }, (_, l) => fuse('dec', `l${l}`, c.hidden));
    // linear layers as [in, out] for x @ W
    for (const name of ['att.weight', 'query.weight', 'comb.weight', 'out.weight']) {
      const t = weights[name];
      weights[`${name}.T`] = tf.tidy(() => t.transpose());
    }
    weights['out.weight.o.T'] = tf.tidy(() => weights['out.weight.T'].slice([0, 0], [c.key_size, c.vocab]));
  }

  /**
   * Load from a folder through `read` (fetch in the browser, the file system in Node); `where`
   * names the folder in errors. Throws RareModelMissingError when model.json is absent and
   * RareModelError on a corrupt or mismatched file. Allocates tensors: release with dispose().
   */
  static async load(read: RareFileReader, where: string): Promise<RareModel> {
    const text = await read(RARE_MODEL_FILE);
    if (text === null) throw new RareModelMissingError(where);
    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder().decode(text));
    } catch (e) {
      throw new RareModelError(`${where}/${RARE_MODEL_FILE} is not valid JSON: ${(e as Error).message}`);
    }
    const json = parseRareModelJson(doc, `${where}/${RARE_MODEL_FILE}`);
    const m = json.memory;
    const [weights, keys, values, ages, origin] = await Promise.all([
      read('weights.bin'),
      read(m.files.keys),
      read(m.files.values),
      read(m.files.ages),
      read(m.files.origin),
    ]);
    return RareModel.fromBuffers(json, {
      weights: need(weights, `${where}/weights.bin`, json.weights_bytes),
      keys: need(keys, `${where}/${m.files.keys}`, m.size * m.key_size * 2),
      values: need(values, `${where}/${m.files.values}`, m.size),
      ages: need(ages, `${where}/${m.files.ages}`, m.size * 4),
      origin: need(origin, `${where}/${m.files.origin}`, m.size * 4),
    }, where);
  }

  /** From an already parsed model.json and the file contents (sizes checked by load). */
  static fromBuffers(
    json: RareModelJson,
    files: { weights: ArrayBuffer; keys: ArrayBuffer; values: ArrayBuffer; ages: ArrayBuffer; origin: ArrayBuffer },
    where = 'the model',
  ): RareModel {
    const m = json.memory;
    const M = m.size, D = m.key_size;
    // memory contents, checked before anything is allocated
    const vals8 = new Int8Array(files.values);
    const half = new Uint16Array(files.keys);
    const ages32 = new Float32Array(files.ages);
    const origin = new Int32Array(files.origin.slice(0));
    const keys = new Float32Array(M * D);
    const values = new Int32Array(M);
    const ages = new Int32Array(M);
    let filled = 0;
    for (let i = 0; i < M; i++) {
      const v = vals8[i];
      if (v < -1 || v >= json.config.vocab) throw new RareModelError(`${where}/${m.files.values}: expected values in [-1, ${json.config.vocab - 1}], got ${v} at slot ${i}`);
      values[i] = v;
      if (v === -1) continue;
      filled++;
      // keys as every reader sees them: normalize(float32(float16 key)), as export.py's exported_keys
      let ss = 0;
      for (let c = 0; c < D; c++) {
        const x = Math.fround(halfToFloat(half[i * D + c]));
        if (!Number.isFinite(x)) throw new RareModelError(`${where}/${m.files.keys}: expected finite keys, got ${x} at slot ${i}`);
        keys[i * D + c] = x;
        ss += x * x;
      }
      if (ss === 0) throw new RareModelError(`${where}/${m.files.keys}: expected a non-zero key at filled slot ${i}, got zeros`);
      const inv = 1 / Math.sqrt(ss);
      for (let c = 0; c < D; c++) keys[i * D + c] = Math.fround(keys[i * D + c] * inv);
      const a = ages32[i];
      if (!Number.isFinite(a) || a < 0) throw new RareModelError(`${where}/${m.files.ages}: expected ages >= 0, got ${a} at slot ${i}`);
      ages[i] = Math.round(a);
      if (origin[i] < -1) throw new RareModelError(`${where}/${m.files.origin}: expected example ids >= -1, got ${origin[i]} at slot ${i}`);
    }
    if (filled !== m.filled) throw new RareModelError(`${where}/${m.files.values}: model.json says ${m.filled} filled slots, the file has ${filled}`);
    const memory = KeyValueMemory.create({ memorySize: M, keySize: D, k: m.k, inverseTemperature: m.inverse_temperature, alpha: m.alpha, ageNoise: m.age_noise });
    const tensors: Record<string, tf.Tensor> = {};
    try {
      const base = memory.snapshot();
      memory.restore({ ...base, keys, values, ages, writeCount: m.writes });
      const all = new Float32Array(files.weights);
      for (const w of json.weights) {
        const data = all.subarray(w.offset / 4, w.offset / 4 + prod(w.shape));
        for (let i = 0; i < data.length; i++) {
          if (!Number.isFinite(data[i])) throw new RareModelError(`${where}/weights.bin: expected finite weights, got ${data[i]} in '${w.name}'`);
        }
        tensors[w.name] = tf.tensor(data.slice(), w.shape);
      }
      const rel = Float32Array.from(all.subarray(json.weights.find((w) => w.name === 'rel')!.offset / 4).subarray(0, 2 * json.config.max_len - 1));
      return new RareModel(json, tensors, rel, memory, origin);
    } catch (e) {
      memory.dispose();
      for (const t of Object.values(tensors)) t.dispose();
      throw e;
    }
  }

  get config(): RareModelJson['config'] {
    return this.json.config;
  }

  /** Where slot `slot`'s content came from: a training example, a write of this session, or nothing. */
  slotOrigin(slot: number): SlotOrigin {
    const s = this.sessionOrigin.get(slot);
    if (s) return { kind: 'session', ...s };
    const e = this.trainingOrigin[slot];
    return e >= 0 && this.memory.values[slot] >= 0 ? { kind: 'training', example: e } : { kind: 'none' };
  }

  /** Decoder steps of `x` that consult the memory (model.json task.memory_steps). */
  memorySteps(x: Tokens): boolean[] {
    return x.map((t) => (this.json.task.memory_steps === 'digits' ? t >= DIGIT0 : t !== PAD));
  }

  private alive(): void {
    if (this.disposed) throw new RareModelError('expected a live model, got one that was disposed');
  }

  private checkInputs(xs: Tokens[]): void {
    if (!Array.isArray(xs) || xs.length === 0) throw new RareModelError('expected at least one input sequence, got none');
    const V = this.config.vocab, L = this.config.max_len;
    xs.forEach((x, b) => {
      if (!Array.isArray(x) || x.length === 0 || x.length > L) throw new RareModelError(`expected input ${b} to hold 1..${L} tokens, got ${Array.isArray(x) ? x.length : typeof x}`);
      x.forEach((t, i) => {
        if (!Number.isInteger(t) || t <= GO || t >= V) throw new RareModelError(`expected tokens in [2, ${V - 1}] (A, B, digits), got ${t} at position ${i} of input ${b}`);
      });
    });
  }

  // ------------------------------------------------------------------ network pieces

  private cell(layer: LstmLayer, x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    const H = layer.hidden;
    const g = tf.add(tf.matMul(tf.concat([x, h], 1), layer.w), layer.b) as tf.Tensor2D;
    const [gi, gf, gg, go] = tf.split(g, [H, H, H, H], 1);
    const c2 = tf.add(tf.mul(tf.sigmoid(gf), c), tf.mul(tf.sigmoid(gi), tf.tanh(gg))) as tf.Tensor2D;
    const h2 = tf.mul(tf.sigmoid(go), tf.tanh(c2)) as tf.Tensor2D;
    return [h2, c2];
  }

  /**
   * Encoder outputs [B, T, H] (zeros at padding): each layer a bidirectional LSTM, each direction
   * over the row's true length (pack_padded_sequence): the state only moves at real positions.
   */
  private encode(x: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, T] = x.shape;
      let seq = tf.unstack(tf.gather(this.w['tok.weight'], x), 1) as tf.Tensor2D[]; // T x [B, E]
      const m = tf.unstack(mask, 1).map((v) => v.reshape([B, 1]) as tf.Tensor2D);
      for (const layer of this.enc) {
        const run = (l: LstmLayer, order: number[]) => {
          const out: tf.Tensor2D[] = new Array(T);
          let h = tf.zeros([B, l.hidden]) as tf.Tensor2D;
          let c = tf.zeros([B, l.hidden]) as tf.Tensor2D;
          for (const t of order) {
            const [h2, c2] = this.cell(l, seq[t], h, c);
            h = tf.add(h, tf.mul(m[t], tf.sub(h2, h))) as tf.Tensor2D;
            c = tf.add(c, tf.mul(m[t], tf.sub(c2, c))) as tf.Tensor2D;
            out[t] = tf.mul(h2, m[t]) as tf.Tensor2D;
          }
          return out;
        };
        const f = run(layer.fwd, [...Array(T).keys()]);
        const b = run(layer.bwd, [...Array(T).keys()].reverse());
        seq = f.map((ft, t) => tf.concat([ft, b[t]], 1) as tf.Tensor2D);
      }
      return tf.stack(seq, 1) as tf.Tensor3D;
    });
  }

  /** The relative-offset bias rel[s - t + max_len - 1] for s in 0..S-1: [1, S]. */
  private offsetBias(t: number, S: number): tf.Tensor2D {
    const o = this.config.max_len - 1 - t;
    return tf.tensor2d(this.rel.slice(o, o + S), [1, S]);
  }

  /** memory input [B, value_embed] = conf * E_v(V[n1]) (index vocab when there is no value). */
  private memoryInput(values: number[], conf: number[]): tf.Tensor2D {
    return tf.tidy(() => {
      const idx = tf.tensor1d(values.map((v) => (v < 0 ? this.config.vocab : v)), 'int32');
      return tf.mul(tf.gather(this.w['val.weight'], idx), tf.tensor2d(conf, [conf.length, 1])) as tf.Tensor2D;
    });
  }

  // ------------------------------------------------------------------ decoding

  /**
   * Greedy decoding of a batch in lockstep (train.py's decode): no teacher forcing, memory
   * read-only. With `forced` (token ids [B][T]), the decoder is teacher-forced on those outputs
   * instead (used by teach) and no memory is read.
   */
  private async run(
    xs: Tokens[],
    opts: { useMemory: boolean; forced?: Tokens[]; detail?: boolean; neighbours?: number },
  ): Promise<{
    seqs: DecodedSequence[];
    queries: Float32Array[][];
    logits?: Float32Array[];
    logitsWithoutMemory?: Float32Array[];
    neighbours?: Neighbour[][][];
  }> {
    const B = xs.length;
    const T = Math.max(...xs.map((x) => x.length));
    const c = this.config;
    const K = c.key_size;
    const steps = xs.map((x) => this.memorySteps(x));
    const padded = xs.map((x) => [...x, ...new Array(T - x.length).fill(PAD)]);
    const x = tf.tensor2d(padded, [B, T], 'int32');
    const mask = tf.tidy(() => tf.cast(tf.notEqual(x, PAD), 'float32')) as tf.Tensor2D;
    const maskAdd = tf.tidy(() => tf.mul(tf.sub(1, mask), -1e9)) as tf.Tensor2D;
    const enc = this.encode(x, mask);
    const encAtt = tf.tidy(() => tf.matMul(enc.reshape([B * T, c.hidden]), this.w['att.weight.T']).reshape([B, T, c.hidden]).transpose([0, 2, 1])) as tf.Tensor3D;
    let hs = this.dec.map((l) => tf.zeros([B, l.hidden]) as tf.Tensor2D);
    let cs = this.dec.map((l) => tf.zeros([B, l.hidden]) as tf.Tensor2D);
    const go = tf.fill([B], GO, 'int32') as tf.Tensor1D;
    let prev = go;
    const preds: tf.Tensor1D[] = [];
    const logitsOut: tf.Tensor2D[] = [];
    const logitsNoMem: tf.Tensor2D[] = [];
    const seqs: DecodedSequence[] = xs.map((xi) => ({
      output: [],
      memoryValue: new Array(xi.length).fill(-1),
      confidence: new Array(xi.length).fill(0),
      n1: new Array(xi.length).fill(-1),
    }));
    const queries: Float32Array[][] = xs.map(() => []);
    const nbrs: Neighbour[][][] = xs.map((xi) => xi.map(() => []));
    try {
      for (let t = 0; t < T; t++) {
        const input = opts.forced
          ? tf.tensor1d(opts.forced.map((y) => (t === 0 ? GO : (y[t - 1] ?? PAD))), 'int32')
          : prev;
        const step = tf.tidy(() => {
          let inp = tf.gather(this.w['tok.weight'], input) as tf.Tensor2D;
          const h2: tf.Tensor2D[] = [], c2: tf.Tensor2D[] = [];
          this.dec.forEach((l, i) => {
            const [h, cc] = this.cell(l, inp, hs[i], cs[i]);
            h2.push(h);
            c2.push(cc);
            inp = h;
          });
          const h = h2[h2.length - 1];
          const scores = tf.add(tf.add(tf.matMul(h.reshape([B, 1, c.hidden]), encAtt).reshape([B, T]), this.offsetBias(t, T)), maskAdd);
          const w = tf.softmax(scores, -1);
          const ctx = tf.matMul(w.reshape([B, 1, T]), enc).reshape([B, c.hidden]) as tf.Tensor2D;
          const aLin = tf.matMul(ctx, this.w['query.weight.T']);
          const a = (c.query_activation === 'identity' ? tf.add(aLin, this.w['query.bias']) : tf.tanh(aLin)) as tf.Tensor2D;
          const o = tf.tanh(tf.add(tf.matMul(tf.concat([ctx, h], 1), this.w['comb.weight.T']), this.w['comb.bias'])) as tf.Tensor2D;
          return { h2, c2, a, o };
        });
        if (input !== prev) input.dispose();
        tf.dispose([...hs, ...cs]);
        hs = step.h2;
        cs = step.c2;
        // the memory, at the rows whose step t consults it
        const mval = new Array<number>(B).fill(-1);
        const mconf = new Array<number>(B).fill(0);
        const rows = [...Array(B).keys()].filter((b) => t < xs[b].length && steps[b][t]);
        if (rows.length > 0 && (opts.useMemory || opts.forced)) {
          const aData = (await step.a.data()) as Float32Array;
          const q = rows.map((b) => aData.slice(b * K, (b + 1) * K));
          rows.forEach((b, i) => queries[b].push(q[i]));
          if (opts.useMemory && !opts.forced && this.memory.filledCount > 0) {
            const r = this.memory.query(q);
            rows.forEach((b, i) => {
              mval[b] = r.prediction[i];
              mconf[b] = r.softmax[i][0];
              seqs[b].memoryValue[t] = r.prediction[i];
              seqs[b].confidence[t] = r.softmax[i][0];
              seqs[b].n1[t] = r.indices[i][0];
              if (opts.neighbours) {
                nbrs[b][t] = r.indices[i].slice(0, opts.neighbours).map((slot, j) => ({
                  slot,
                  similarity: r.similarities[i][j],
                  value: r.values[i][j],
                  weight: r.softmax[i][j],
                  origin: this.slotOrigin(slot),
                }));
              }
            });
          }
        }
        const out = tf.tidy(() => {
          const v = this.memoryInput(mval, mconf);
          const logits = tf.add(tf.matMul(tf.concat([step.o, v], 1), this.w['out.weight.T']), this.w['out.bias']) as tf.Tensor2D;
          const noMem = tf.add(tf.matMul(step.o, this.w['out.weight.o.T']), this.w['out.bias']) as tf.Tensor2D;
          return { pred: tf.argMax(logits, 1).toInt() as tf.Tensor1D, logits, noMem };
        });
        tf.dispose([step.a, step.o]);
        preds.push(out.pred);
        prev = out.pred;
        if (opts.detail) {
          logitsOut.push(out.logits);
          logitsNoMem.push(out.noMem);
        } else {
          tf.dispose([out.logits, out.noMem]);
        }
      }
      const all = tf.tidy(() => tf.stack(preds, 1));
      const p = (await all.data()) as Int32Array;
      all.dispose();
      xs.forEach((xi, b) => {
        for (let t = 0; t < xi.length; t++) seqs[b].output.push(p[b * T + t]);
      });
      const res: Awaited<ReturnType<RareModel['run']>> = { seqs, queries };
      if (opts.detail) {
        const rows = async (ts: tf.Tensor2D[]) => {
          const s = tf.tidy(() => tf.stack(ts, 1)); // [B, T, V]
          const d = (await s.data()) as Float32Array;
          s.dispose();
          const V = c.vocab;
          return Array.from({ length: T }, (_, t) => d.slice(t * V, (t + 1) * V)); // row 0 only (detail is B = 1)
        };
        res.logits = await rows(logitsOut);
        res.logitsWithoutMemory = await rows(logitsNoMem);
        res.neighbours = nbrs;
      }
      return res;
    } finally {
      tf.dispose([x, go, mask, maskAdd, enc, encAtt, ...hs, ...cs, ...preds, ...logitsOut, ...logitsNoMem]);
    }
  }

  /**
   * Greedy decoding of many inputs (train.py's decode), `batchSize` sequences in lockstep per
   * batch (sorted by length, so a batch wastes no steps on padding). Results in input order.
   */
  async decode(xs: Tokens[], options: DecodeOptions = {}): Promise<DecodedSequence[]> {
    this.alive();
    this.checkInputs(xs);
    const useMemory = options.useMemory ?? this.config.use_memory;
    const bs = options.batchSize ?? 512;
    if (!Number.isInteger(bs) || bs < 1) throw new RareModelError(`expected batchSize >= 1, got ${bs}`);
    const order = [...xs.keys()].sort((a, b) => xs[a].length - xs[b].length || a - b);
    const out: DecodedSequence[] = new Array(xs.length);
    for (let s = 0; s < order.length; s += bs) {
      const idx = order.slice(s, s + bs);
      const r = await this.run(idx.map((i) => xs[i]), { useMemory });
      idx.forEach((i, j) => (out[i] = r.seqs[j]));
    }
    return out;
  }

  /**
   * One input decoded with everything the view shows: per step the output, the memory's top
   * `neighbours` with their origin, V[n1], its confidence, the vocabulary softmax, the token the
   * decoder output alone gives at that step, and the whole output decoded without the memory.
   */
  async explain(x: Tokens, neighbours = 8): Promise<Explanation> {
    this.alive();
    this.checkInputs([x]);
    const useMemory = this.config.use_memory;
    const r = await this.run([x], { useMemory, detail: true, neighbours });
    const without = await this.run([x], { useMemory: false });
    const seq = r.seqs[0];
    const mem = this.memorySteps(x);
    const softmax = (l: Float32Array) => {
      const mx = Math.max(...l);
      const e = Array.from(l, (v) => Math.exp(v - mx));
      const z = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / z);
    };
    const argmax = (l: Float32Array) => l.reduce((bi, v, i, arr) => (v > arr[bi] ? i : bi), 0);
    return {
      input: [...x],
      output: seq.output,
      outputWithoutMemory: without.seqs[0].output,
      steps: x.map((tok, t) => ({
        t,
        input: tok,
        output: seq.output[t],
        memoryStep: useMemory && mem[t],
        memoryValue: seq.memoryValue[t],
        confidence: seq.confidence[t],
        n1: seq.n1[t],
        outputWithoutMemoryHere: argmax(r.logitsWithoutMemory![t]),
        probabilities: softmax(r.logits![t]),
        neighbours: r.neighbours![0][t],
      })),
    };
  }

  /** Per-step logits [T][vocab] of the greedy run on `x` (for tests against the Python fixture). */
  async logits(x: Tokens): Promise<{ logits: Float32Array[]; queries: Float32Array[] }> {
    this.alive();
    this.checkInputs([x]);
    const r = await this.run([x], { useMemory: this.config.use_memory, detail: true });
    return { logits: r.logits!, queries: r.queries[0] };
  }

  /**
   * The life-long step: one labelled pass of (x, y) through the memory, no gradient step. The
   * decoder is teacher-forced on the correct output y; at each memory step its attention vector
   * (the query) is written with the correct token by the memory's update rule. Returns the memory
   * loss of each query before the write and each write's case. Throws, memory unchanged, on bad input.
   */
  async teach(x: Tokens, y: Tokens, number: number, text: string): Promise<TeachResult> {
    this.alive();
    this.checkInputs([x, y]);
    if (y.length !== x.length) throw new RareModelError(`expected an output as long as the input (${x.length}), got ${y.length}`);
    if (!this.config.use_memory) throw new RareModelError('this model has no memory (use_memory false): nothing to write');
    const r = await this.run([x], { useMemory: false, forced: [y] });
    const mem = this.memorySteps(x);
    const steps = x.map((_, t) => t).filter((t) => mem[t]);
    if (steps.length === 0) throw new RareModelError('expected an input with memory steps, got none');
    const q = r.queries[0];
    const labels = steps.map((t) => y[t]);
    const loss = this.memory.loss(q, labels);
    const writes = this.memory.write(q, labels);
    for (const w of writes) this.sessionOrigin.set(w.slot, { number, input: text });
    return { steps, labels, loss, writes };
  }

  /** Release the weights and the memory. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(Object.values(this.w));
    for (const l of [...this.enc.flatMap((e) => [e.fwd, e.bwd]), ...this.dec]) tf.dispose([l.w, l.b]);
    this.memory.dispose();
  }
}

/** Reads files under `baseUrl` with fetch; a 404 is "missing" (null). */
export function urlReader(baseUrl: string, fetchFn: typeof fetch = fetch): RareFileReader {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return async (name) => {
    let res: Response;
    try {
      res = await fetchFn(base + name);
    } catch (e) {
      throw new RareModelError(`cannot fetch ${base + name}: ${(e as Error).message}`);
    }
    if (res.status === 404) return null;
    if (!res.ok) throw new RareModelError(`cannot fetch ${base + name}: HTTP ${res.status}`);
    // a dev server answers unknown paths with index.html: that is a missing file, not a model
    if (name.endsWith('.json') && (res.headers.get('content-type') ?? '').includes('text/html')) return null;
    return res.arrayBuffer();
  };
}

/** Load the model exported under `baseUrl` (e.g. '/models/rare-seq2seq-memory/'). */
export function loadRareModelFromUrl(baseUrl: string, fetchFn: typeof fetch = fetch): Promise<RareModel> {
  return RareModel.load(urlReader(baseUrl, fetchFn), baseUrl);
}
