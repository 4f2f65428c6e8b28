/**
 * The app's core session (plain TS, no React): the TF.js backend, the encoder, the key-value
 * memory and what the app adds around it (label names, the drawing stored with each slot).
 * The memory's own CPU state (keys, values, ages) is the one copy: the engine reads slots from it
 * (O(1) or O(keySize) each) for the views and the autosave, and rebuilds from it when a GPU device
 * is lost; it keeps no second copy.
 * The zustand store calls this; components never do.
 */
import * as tf from '@tensorflow/tfjs';
import { Encoder, encoderModelUrl, imagesToFlat, LEGACY_ENCODER, type EncoderEntry } from '../encoder';
import { inputToThumbnail } from '../strokes';
import { createMemoryPort } from './memoryAdapter';
import { hasInk, reencodeSlots, type ReencodeReport } from './reencode';
import { youngestSlots } from './shrink';
import type { MemoryPort, PortQuery } from './memoryPort';
import type { SlotRecord } from './autosave';
import { cleanLabelName, keysAreCurrent, labelNameProblem, fileTooLarge, nameToUse, toFile, type IncomingSlot, type SavedMemory, type SavedSlot } from './persist';
import { startBackend, onBackendLost, type BackendReport } from './tfjsBackend';
import { cutoffAfterMove, cutoffOf, MAX_LABEL_ID, type BackendChoice, type LabelInfo, type MemorySummary, type PredictionView, type Settings, type WriteView } from './types';

/**
 * Two labels whose nearest slots are closer than this in cosine similarity are a near tie: the app
 * asks "A or B?" instead of answering A (e.g. 0.809 vs 0.808 for two confusable characters).
 */
export const NEAR_TIE = 0.02;
/** Neighbours shown in the prediction panel. */
export const SHOWN_NEIGHBOURS = 8;
/**
 * A shared link leaves a slot's key out when the key of its stored drawing is this close to it (1 -
 * cosine): the stored drawing is the encoder input rounded to bytes, so a slot written once gives
 * back its key to a few 1e-6 (measured with the bundled encoder: tests/unit/shareStore.test.ts);
 * a key averaged by the update rule is ~1e-2 or more away.
 */
export const KEY_FROM_DRAWING_TOLERANCE = 1e-4;

/** models/ as served (dev) and copied (build) by vite.config.ts */
export const MODELS_BASE = `${import.meta.env?.BASE_URL ?? '/'}models/`;
/** the registry of bundled encoders (src/encoder/registry.ts) */
export const REGISTRY_URL = `${MODELS_BASE}encoders.json`;

/**
 * The encoder used when the registry cannot be read (a warning says so) and by callers that name
 * none (Node tests, scripts): the one bundled before encoders were a choice.
 */
export const FALLBACK_ENCODER: EncoderEntry = {
  name: LEGACY_ENCODER,
  folder: 'omniglot-conv4',
  objective: 'cosface+memory',
  description: 'The bundled Conv4 encoder (see models/omniglot-conv4/README.md).',
  accuracy: null,
  nearCutoff: 0.45,
};

/** What a restore did beyond replacing the memory (null: the keys were the encoder in use's). */
export interface RestoreReport extends ReencodeReport {
  /** the "not sure" cut-off moved to the encoder in use's calibrated one (the saved one was its maker's) */
  cutoffMoved: { from: number; to: number } | null;
  /** re-encoded because an earlier version of the same encoder (other weights) made the keys */
  earlierVersion: boolean;
}

export { keysAreCurrent } from './persist';

/** Where an encoder switch is (the Settings show it). */
/** What Engine.undoRemember needs to take a Remember back. */
export interface WriteUndo {
  slot: number;
  /** the slot before the write: its label (-1: empty), age, key and drawing */
  before: { value: number; age: number; key: Float32Array; thumb: Uint8Array };
  /** the label the write created (a new name), removed again by the undo */
  createdLabel: number | null;
  /** the label whose last slot the write evicted (its name was dropped), given back by the undo */
  droppedLabel: { id: number; name: string; at: number } | null;
  /** the engine's version right after the write: an undo is refused once it moved on */
  version: number;
}

/** Engine.remember's result: what happened, timings, and how to undo it (null: not known). */
export interface Remembered {
  write: WriteView;
  encodeMs: number;
  writeMs: number;
  undo: WriteUndo | null;
}

/** A label deleted by Engine.deleteLabel (or a drawing by Engine.forgetSlot), with what Engine.undoDelete needs to put it back. */
export interface DeletedLabel {
  id: number;
  name: string;
  /** its place in the list of names */
  at: number;
  /** its slots as they were before the delete */
  slots: SavedSlot[];
  /** whether the name went too (a whole label, or its last drawing) */
  labelGone: boolean;
  /** the engine's version right after the delete: an undo is refused once it moved on */
  version: number;
}

/** Two names made one by Engine.mergeLabels, with what Engine.undoMerge needs to part them again. */
export interface MergedLabels {
  /** the name that went: its drawings are named `intoName` now */
  from: number;
  fromName: string;
  /** its place in the list of names */
  at: number;
  into: number;
  intoName: string;
  /** the slots that held `from` (they hold `into` now, with their keys, ages and drawings) */
  moved: number[];
  /** the engine's version right after the merge: an undo is refused once it moved on */
  version: number;
}

/** What an encoder switch did; `before`: the memory as it was, when some drawings were left out. */
export type SwitchReport = ReencodeReport & { before?: SavedMemory };

export type EncoderSwitchProgress = { phase: 'loading' } | { phase: 'encoding'; done: number; total: number };

export interface Timed<T> {
  value: T;
  ms: number;
}

/**
 * Names as the memory keeps them (cleanLabelName), for names from a file, a link or an older
 * autosave, so that every name held compares exactly with a typed one. A name whose clean form is
 * taken already (two spellings of one name in an old file) is kept as it was: still two names.
 */
function cleanNames(labels: readonly { id: number; name: string }[]): Map<number, string> {
  const taken = new Set(labels.map((l) => l.name));
  return new Map(labels.map((l) => {
    const clean = cleanLabelName(l.name);
    if (clean === l.name || clean === '' || taken.has(clean)) return [l.id, l.name];
    taken.add(clean);
    return [l.id, clean];
  }));
}

const now = () => performance.now();
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** How the engine gets its backend and encoder (the defaults are the browser's; tests pass Node ones). */
export interface EngineDeps {
  startBackend?: (force?: Exclude<BackendChoice, 'auto'>, exclude?: string[]) => Promise<BackendReport>;
  /** load an entry's model (default: from MODELS_BASE/<folder>/model.json) */
  loadEncoder?: (entry: EncoderEntry) => Promise<Encoder>;
}

export class Engine {
  private memory!: MemoryPort;
  private encoder!: Encoder;
  /** the registry entry of the encoder in use (its name is what a saved memory records) */
  encoderEntry: EncoderEntry;
  backend!: BackendReport;
  settings: Settings;
  keySize = 0;
  private labels = new Map<number, string>();
  private thumbs: (Uint8Array | null)[] = [];
  private version = 0;
  /** the memory's values and ages, read once per change of the memory (views, saves and the summary share them) */
  private slotsCache: { memory: MemoryPort; version: number; values: Int32Array; ages: Float32Array } | null = null;
  /** changes of the memory run one at a time (a backend fallback waits for a Remember in flight) */
  private queue: Promise<unknown> = Promise.resolve();
  private unsubscribeLost: (() => void) | null = null;
  /** called when the backend was lost and the engine moved to another one */
  onFallback: ((from: string, to: BackendReport, reason: string) => void) | null = null;

  private constructor(settings: Settings, private readonly deps: EngineDeps, encoder: EncoderEntry) {
    this.settings = { ...settings };
    this.encoderEntry = encoder;
  }

  /** Start the backend (honouring `force`, e.g. from ?backend=), load the encoder, make an empty memory. */
  static async start(
    settings: Settings,
    force?: Exclude<BackendChoice, 'auto'>,
    deps: EngineDeps = {},
    encoder: EncoderEntry = FALLBACK_ENCODER,
  ): Promise<Engine> {
    const e = new Engine(settings, deps, encoder);
    await e.startBackend(force ?? (settings.backend === 'auto' ? undefined : settings.backend));
    await e.loadEncoder();
    await e.rebuild([]);
    return e;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** One forward pass on a blank image: the backend compiles its kernels before the first drawing. */
  private async warmUp() {
    await this.encoder.encode(new Float32Array(784));
  }

  private async startBackend(force?: Exclude<BackendChoice, 'auto'>, exclude: string[] = []) {
    this.backend = await (this.deps.startBackend ?? startBackend)(force, exclude);
    this.unsubscribeLost?.();
    this.unsubscribeLost = onBackendLost((reason) => void this.fallBack(reason));
  }

  private async loadEncoder() {
    this.encoder?.dispose();
    this.encoder = await this.loadEncoderOf(this.encoderEntry);
    this.keySize = this.encoder.keySize;
    await this.warmUp();
  }

  private loadEncoderOf(entry: EncoderEntry): Promise<Encoder> {
    return this.deps.loadEncoder ? this.deps.loadEncoder(entry) : Encoder.load(encoderModelUrl(entry, MODELS_BASE), { keyShifts: entry.keyShifts });
  }

  /** A new memory with the current settings, holding `slots` (and nothing else). */
  private async rebuild(slots: SavedSlot[], clock = 0) {
    const next = await createMemoryPort(this.settings, this.keySize);
    try {
      if (slots.length) await next.load(slots, clock);
    } catch (err) {
      next.dispose();
      throw err;
    }
    this.memory?.dispose();
    this.memory = next;
    this.thumbs = new Array<Uint8Array | null>(this.settings.memorySize).fill(null);
    for (const s of slots) this.thumbs[s.slot] = s.thumb;
    this.version++;
  }

  /** WebGPU device lost (or another backend failure): move to the next backend, keep the memory. */
  private fallBack(reason: string) {
    // after any change in flight, so that what it saves holds that change; the lost memory's
    // keys, values and ages live in its CPU state, which a lost device leaves intact
    return this.serial(async () => {
      const from = this.backend.name;
      const saved = this.saved();
      await this.startBackend(undefined, [from]);
      await this.loadEncoder();
      this.memory = undefined as unknown as MemoryPort; // the old one lived on the lost device
      await this.rebuild(saved.slots, saved.clock);
      this.onFallback?.(from, this.backend, reason);
    });
  }

  /** Free the encoder and the memory (tests; the app keeps its engine for the page's life). */
  dispose(): void {
    this.unsubscribeLost?.();
    this.encoder?.dispose();
    this.memory?.dispose();
  }

  /** Move to another backend on request; the memory is carried over through its CPU state. */
  switchBackend(choice: BackendChoice): Promise<void> {
    return this.serial(() => this.switchBackendNow(choice));
  }

  private async switchBackendNow(choice: BackendChoice): Promise<void> {
    const saved = this.saved();
    const previous = this.backend.name as Exclude<BackendChoice, 'auto'>;
    try {
      await this.startBackend(choice === 'auto' ? undefined : choice);
    } catch (err) {
      // back to the backend the encoder and memory live on; nothing else changed
      await this.startBackend(previous);
      throw err;
    }
    this.settings = { ...this.settings, backend: choice };
    await this.loadEncoder();
    await this.rebuild(saved.slots, saved.clock);
  }

  // ---- encoder ----

  /**
   * Use another encoder. Keys of two encoders are not comparable, so every stored drawing is
   * re-encoded with the new one and the memory rebuilt with the same slots, labels and ages
   * (./reencode.ts: what is kept, what cannot be). On any failure (model missing or damaged, no
   * valid key) the old encoder and memory stay as they were and the error says why.
   * @returns which slots could not be re-encoded (and labels left with no slot)
   */
  switchEncoder(entry: EncoderEntry, onProgress?: (p: EncoderSwitchProgress) => void): Promise<SwitchReport> {
    return this.serial(() => this.switchEncoderNow(entry, onProgress));
  }

  private async switchEncoderNow(entry: EncoderEntry, onProgress?: (p: EncoderSwitchProgress) => void): Promise<SwitchReport> {
    const from = this.encoderEntry;
    if (entry.name === from.name) throw new Error(`the encoder "${entry.name}" is already in use`);
    const failed = (why: unknown) =>
      new Error(`could not switch to the encoder "${entry.name}": ${errorText(why)}. Still using "${from.name}"; the memory is unchanged`);
    const saved = this.saved();
    onProgress?.({ phase: 'loading' });
    let next: Encoder;
    try {
      next = await this.loadEncoderOf(entry);
    } catch (err) {
      throw failed(err);
    }
    const old = { encoder: this.encoder, keySize: this.keySize };
    let report: ReencodeReport;
    try {
      // a model with damaged weights loads fine and answers NaN: try it before touching anything
      const probe = await next.encode(new Float32Array(784));
      if (!probe.every(Number.isFinite)) throw new Error('it gives NaN keys (damaged weights?)');
      const r = await reencodeSlots(saved.slots, next, (done, total) => onProgress?.({ phase: 'encoding', done, total }));
      if (saved.slots.length > 0 && r.slots.length === 0) {
        throw new Error(`none of the ${saved.slots.length} stored drawings could be re-encoded (${r.report.dropped[0].reason})`);
      }
      this.encoder = next;
      this.keySize = next.keySize;
      await this.rebuild(r.slots, saved.clock);
      report = r.report;
    } catch (err) {
      this.encoder = old.encoder;
      this.keySize = old.keySize;
      next.dispose();
      throw failed(err);
    }
    old.encoder.dispose();
    this.encoderEntry = entry;
    // the "not sure" cut-off is calibrated per encoder: it follows the switch unless the user set their own
    this.settings = { ...this.settings, nearCutoff: cutoffAfterMove(this.settings.nearCutoff, cutoffOf(from), entry) };
    for (const id of report.droppedLabels) this.labels.delete(id);
    // drawings left out: the memory as it was goes back to the caller, to be kept aside
    return report.dropped.length ? { ...report, before: saved } : report;
  }

  // ---- drawing -> key -> prediction ----

  async encode(input: Float32Array): Promise<Timed<Float32Array>> {
    const t0 = now();
    const key = await this.encoder.encode(input);
    return { value: key, ms: now() - t0 };
  }

  /**
   * WebGPU: the encoder's output stays on the GPU and is the memory's query (no round trip through
   * the CPU before the lookup); the key is read back beside it, for Remember and the thumbnails.
   * encodeMs: until the key is in JS; queryMs: what the lookup adds after that (they overlap).
   */
  private async encodeAndQueryOnGpu(input: Float32Array): Promise<{ enc: Timed<Float32Array>; q: PortQuery; queryMs: number }> {
    const t0 = now();
    const keys = tf.tidy(() => this.encoder.encodeTensor(tf.tensor2d(imagesToFlat(input), [1, input.length])));
    try {
      let keyAt = t0;
      const [key, q] = await Promise.all([
        keys.data().then((d) => {
          keyAt = now();
          return Float32Array.from(d);
        }),
        this.memory.queryTensor!(keys),
      ]);
      return { enc: { value: key, ms: keyAt - t0 }, q, queryMs: Math.max(0, now() - keyAt) };
    } finally {
      keys.dispose();
    }
  }

  /**
   * The memory's answer for a drawing. Not queued behind changes: a restore, clear or settings
   * change may replace the memory while the query is on the GPU; the answer is then asked again
   * of the memory as it is now, instead of failing on the one that was disposed.
   */
  async predict(input: Float32Array): Promise<{ prediction: PredictionView; encodeMs: number; queryMs: number; key: Float32Array }> {
    for (;;) {
      const memory = this.memory;
      try {
        return await this.predictOnce(input);
      } catch (err) {
        if (this.memory === memory) throw err;
      }
    }
  }

  private async predictOnce(input: Float32Array): Promise<{ prediction: PredictionView; encodeMs: number; queryMs: number; key: Float32Array }> {
    const onGpu = this.memory.queryTensor !== undefined && tf.getBackend() === 'webgpu' && this.filled() > 0 && input.length === 784;
    const gpu = onGpu ? await this.encodeAndQueryOnGpu(input) : null;
    const enc = gpu?.enc ?? (await this.encode(input));
    const t0 = now();
    const filled = this.filled();
    const cutoff = this.settings.nearCutoff;
    if (filled === 0) {
      return {
        key: enc.value,
        encodeMs: enc.ms,
        queryMs: 0,
        prediction: {
          label: null, name: null, unknownReason: 'empty-memory', topSimilarity: 0, guess: null, rival: null, cutoff,
          neighbours: [], perLabel: [], buckets: null,
        },
      };
    }
    // a write that landed while the GPU query ran: ask again on the memory as it is now
    const fresh = gpu !== null && gpu.q.version === this.memory.version;
    const q = fresh ? gpu.q : await this.memory.query(enc.value);
    const queryMs = fresh ? gpu.queryMs : now() - t0;
    // per label: summed softmax weight and the similarity of its nearest slot (neighbours are sorted)
    const per = new Map<number, { p: number; similarity: number }>();
    q.values.forEach((v, i) => {
      const e = per.get(v);
      if (e) e.p += q.weights[i];
      else per.set(v, { p: q.weights[i], similarity: q.similarities[i] });
    });
    const perLabel = [...per.entries()]
      .map(([label, e]) => ({ label, name: this.labelName(label), p: e.p, similarity: e.similarity }))
      .sort((a, b) => b.similarity - a.similarity);
    const top = q.similarities[0] ?? 0;
    // (no neighbour at all, LSH finding no candidate, is never close, whatever the cut-off)
    const close = q.indices.length > 0 && top >= cutoff;
    const label = close ? q.values[0] : null;
    const second = perLabel[1];
    const guess = perLabel.length ? { label: perLabel[0].label, name: perLabel[0].name, similarity: perLabel[0].similarity } : null;
    return {
      key: enc.value,
      encodeMs: enc.ms,
      queryMs,
      prediction: {
        label,
        name: label === null ? null : this.labelName(label),
        unknownReason: close ? null : q.indices.length === 0 ? 'no-candidates' : 'nothing-close',
        topSimilarity: top,
        guess,
        rival: second && top - second.similarity < NEAR_TIE ? { label: second.label, name: second.name, similarity: second.similarity } : null,
        cutoff,
        neighbours: q.indices.slice(0, SHOWN_NEIGHBOURS).map((slot, i) => ({
          slot,
          label: q.values[i],
          name: this.labelName(q.values[i]),
          similarity: q.similarities[i],
          weight: q.weights[i],
        })),
        perLabel,
        buckets: q.buckets,
      },
    };
  }

  // ---- remember ----

  /** Label id of a name, creating it when new. */
  labelIdFor(name: string): number {
    const { name: clean, held } = nameToUse(name, this.labels.values());
    const problem = held ? null : labelNameProblem(clean);
    if (problem) throw new Error(problem);
    for (const [id, n] of this.labels) if (n === clean) return id;
    // a loop, not Math.max(...keys): spreading ~125,000+ labels overflows the call stack
    let max = -1;
    for (const id of this.labels.keys()) if (id > max) max = id;
    let id = max + 1;
    if (id > MAX_LABEL_ID) for (id = 0; this.labels.has(id); id++); // ids from a file reached the top: reuse a free one
    this.labels.set(id, clean);
    return id;
  }

  /** One labelled write through the paper's update rule; returns what happened, and how to undo it. */
  remember(input: Float32Array, name: string, key?: Float32Array): Promise<Remembered> {
    return this.serial(() => this.rememberNow(input, name, key));
  }

  /**
   * Take back a Remember (a wrong name, a stray drawing) exactly: the written slot as it was (key,
   * label, age, drawing; or empty again), every other filled slot one write younger, the write
   * counter one back, a name the write created removed and a name its eviction dropped given back.
   * Only while nothing else changed the memory since (throws otherwise, changing nothing): a
   * rebuild, as a restore (a user's action, not a write). Returns whether the slot holds a drawing again.
   */
  undoRemember(u: WriteUndo): Promise<{ slot: number; refilled: boolean }> {
    return this.serial(async () => {
      if (this.version !== u.version) throw new Error('the memory has changed since that Remember');
      const saved = this.saved();
      const slots = saved.slots.filter((s) => s.slot !== u.slot).map((s) => ({ ...s, age: Math.max(0, s.age - 1) }));
      const refilled = u.before.value >= 0;
      if (refilled) slots.push({ slot: u.slot, label: u.before.value, age: u.before.age, key: u.before.key, thumb: u.before.thumb });
      await this.rebuild(slots, Math.max(0, (saved.clock ?? 0) - 1));
      if (u.createdLabel !== null && this.memory.countOf(u.createdLabel) === 0) this.labels.delete(u.createdLabel);
      if (u.droppedLabel) this.putLabelBack(u.droppedLabel.id, u.droppedLabel.name, u.droppedLabel.at);
      return { slot: u.slot, refilled };
    });
  }

  private async rememberNow(input: Float32Array, name: string, key?: Float32Array): Promise<Remembered> {
    const known = new Set(this.labels.keys());
    const label = this.labelIdFor(name);
    try {
      const enc = key ? { value: key, ms: 0 } : await this.encode(input);
      const t0 = now();
      const lossOut = this.filled() > 0 ? await this.memory.loss(enc.value, label) : null;
      const labelOfSlot = (slot: number) => (slot >= 0 ? this.memory.slotAt(slot).value : -1);
      const npLabel = lossOut ? labelOfSlot(lossOut.np) : -1;
      const nbLabel = lossOut ? labelOfSlot(lossOut.nb) : -1;
      const npName = npLabel >= 0 ? this.labelName(npLabel) : null;
      const nbName = nbLabel >= 0 ? this.labelName(nbLabel) : null;
      const w = await this.memory.write(enc.value, label);
      const writeMs = now() - t0;
      const oldThumb = this.thumbOf(w.slot);
      this.thumbs[w.slot] = inputToThumbnail(input);
      const evicted = w.previous && w.previous.value >= 0
        ? { label: w.previous.value, name: this.labelName(w.previous.value), age: w.previous.age, lastOfName: this.memory.countOf(w.previous.value) === 0 }
        : null;
      this.version++;
      const dropped = evicted?.lastOfName
        ? { id: evicted.label, name: evicted.name, at: [...this.labels.keys()].indexOf(evicted.label) }
        : null;
      this.dropUnusedLabels(evicted ? [evicted.label] : []);
      return {
        encodeMs: enc.ms,
        writeMs,
        undo: w.before
          ? {
              slot: w.slot,
              before: { ...w.before, thumb: oldThumb },
              createdLabel: known.has(label) ? null : label,
              droppedLabel: dropped,
              version: this.version,
            }
          : null,
        write: {
          label,
          name: this.labelName(label),
          case: w.case,
          slot: w.slot,
          evicted,
          loss: lossOut ? lossOut.loss : null,
          np: lossOut ? lossOut.np : -1,
          nb: lossOut ? lossOut.nb : -1,
          npLabel,
          nbLabel,
          npName,
          nbName,
          touched: [w.slot],
        },
      };
    } catch (err) {
      if (!known.has(label)) this.labels.delete(label);
      throw err;
    }
  }

  /** A label whose last slot was evicted keeps its name only while some slot holds it. */
  private dropUnusedLabels(candidates: number[]) {
    for (const id of candidates) if (this.memory.countOf(id) === 0) this.labels.delete(id);
  }

  // ---- labels ----

  /** Rename label `id` (the name cleaned as every name is). Returns the name, and whether it changed (an unchanged name changes nothing). */
  renameLabel(id: number, name: string): { name: string; changed: boolean } {
    const clean = cleanLabelName(name);
    if (!this.labels.has(id)) throw new Error(`no label with id ${id}`);
    const problem = labelNameProblem(clean);
    if (problem) throw new Error(problem);
    if (this.labels.get(id) === clean) return { name: clean, changed: false };
    for (const [other, n] of this.labels) if (n === clean && other !== id) throw new Error(`a label named "${clean}" exists already`);
    this.labels.set(id, clean);
    this.version++;
    return { name: clean, changed: true };
  }

  /**
   * Make two names one: every drawing of `from` is named `into` (keys, ages and drawings unchanged),
   * and the name `from` goes. A rebuild, as a restore (a user's rare action, not a write). Throws,
   * changing nothing, when either is unknown or they are the same.
   */
  mergeLabels(from: number, into: number): Promise<MergedLabels> {
    return this.serial(async () => {
      const fromName = this.labels.get(from);
      const intoName = this.labels.get(into);
      if (fromName === undefined) throw new Error(`no label with id ${from}`);
      if (intoName === undefined) throw new Error(`no label with id ${into}`);
      if (from === into) throw new Error(`"${fromName}" cannot be merged into itself`);
      const saved = this.saved();
      const moved: number[] = [];
      const slots = saved.slots.map((s) => {
        if (s.label !== from) return s;
        moved.push(s.slot);
        return { ...s, label: into };
      });
      await this.rebuild(slots, saved.clock);
      const at = [...this.labels.keys()].indexOf(from);
      this.labels.delete(from);
      return { from, fromName, at, into, intoName, moved, version: this.version };
    });
  }

  /**
   * Part two merged names again exactly (the drawings that were `fromName`'s get it back), when
   * nothing changed the memory since the merge; otherwise throws and changes nothing.
   */
  undoMerge(m: MergedLabels): Promise<number[]> {
    return this.serial(async () => {
      if (this.version !== m.version) throw new Error('the memory has changed since the merge');
      if (this.labels.has(m.from) || [...this.labels.values()].includes(m.fromName)) throw new Error(`a label "${m.fromName}" exists again`);
      if (this.labels.get(m.into) !== m.intoName) throw new Error(`"${m.intoName}" is no longer there`);
      const saved = this.saved();
      const back = new Set(m.moved);
      await this.rebuild(saved.slots.map((s) => (back.has(s.slot) ? { ...s, label: m.from } : s)), saved.clock);
      this.putLabelBack(m.from, m.fromName, m.at);
      return m.moved;
    });
  }

  /**
   * Free every slot of label `id`. Returns what `undoDelete` needs to put it back: the label and
   * its slots as they were (keys, ages, drawings), and the memory's version after the delete.
   */
  deleteLabel(id: number): Promise<DeletedLabel> {
    return this.serial(async () => {
      const name = this.labels.get(id);
      if (name === undefined) throw new Error(`no label with id ${id}`);
      const { values, ages } = this.slotArrays();
      const slots: SavedSlot[] = [];
      values.forEach((v, slot) => {
        if (v === id) slots.push(this.savedSlot(slot, id, ages[slot]));
      });
      const at = [...this.labels.keys()].indexOf(id);
      const freed = await this.memory.deleteLabel(id);
      for (const s of freed) this.thumbs[s] = null;
      this.labels.delete(id);
      this.version++;
      return { id, name, at, slots, labelGone: true, version: this.version };
    });
  }

  /**
   * Forget one stored drawing: free its slot (the other slots keep their keys and ages); its name
   * goes too when that was its last drawing. Returns what `undoDelete` needs to put it back.
   */
  forgetSlot(slot: number): Promise<DeletedLabel> {
    return this.serial(async () => {
      const held = Number.isInteger(slot) && slot >= 0 && slot < this.memory.size ? this.memory.slotAt(slot) : null;
      if (held === null || held.value < 0) throw new Error(`slot ${slot} is empty`);
      const id = held.value;
      const name = this.labelName(id);
      const record = this.savedSlot(slot, id, held.age);
      const at = [...this.labels.keys()].indexOf(id);
      await this.memory.freeSlot(slot);
      this.thumbs[slot] = null;
      const labelGone = this.memory.countOf(id) === 0;
      if (labelGone) this.labels.delete(id);
      this.version++;
      return { id, name, at, slots: [record], labelGone, version: this.version };
    });
  }

  /**
   * Put a deleted label back exactly as it was (its slots, keys, ages and drawings), when nothing
   * changed the memory since the delete; otherwise throws and changes nothing (a write may have
   * reused a freed slot, and ages have moved on). Returns the slots put back.
   */
  undoDelete(d: DeletedLabel): Promise<number[]> {
    return this.serial(async () => {
      if (this.version !== d.version) throw new Error('the memory has changed since the delete');
      if (d.labelGone && (this.labels.has(d.id) || [...this.labels.values()].includes(d.name))) throw new Error(`a label "${d.name}" exists again`);
      const saved = this.saved();
      // the memory as it stands plus the freed slots: a rebuild, as a restore (a rare action, not a write)
      await this.rebuild([...saved.slots, ...d.slots], saved.clock);
      if (d.labelGone) this.putLabelBack(d.id, d.name, d.at);
      return d.slots.map((s) => s.slot);
    });
  }

  clear(): Promise<void> {
    return this.serial(async () => {
      await this.rebuild([]);
      this.labels.clear();
    });
  }

  // ---- settings ----

  applySettings(next: Settings): Promise<void> {
    return this.serial(() => this.applySettingsNow(next));
  }

  private async applySettingsNow(next: Settings): Promise<void> {
    const prev = this.settings;
    if (next.backend !== prev.backend) await this.switchBackendNow(next.backend);
    if (next.memorySize !== prev.memorySize || next.lookup !== prev.lookup) {
      const saved = this.saved();
      // a smaller memory keeps the youngest slots
      const keep = youngestSlots(saved.slots, next.memorySize).kept;
      const renumbered = keep.map((s, i) => ({ ...s, slot: next.memorySize >= prev.memorySize ? s.slot : i }));
      const old = this.settings;
      this.settings = { ...next };
      try {
        await this.rebuild(renumbered, saved.clock);
      } catch (err) {
        this.settings = old;
        throw err;
      }
      const kept = new Set(renumbered.map((s) => s.label));
      for (const id of [...this.labels.keys()]) if (!kept.has(id)) this.labels.delete(id);
    } else {
      this.settings = { ...next };
      this.memory.setParams(next);
      this.version++;
    }
  }

  // ---- reading ----

  filled(): number {
    return this.memory.filledCount;
  }

  labelName(id: number): string {
    return this.labels.get(id) ?? `#${id}`;
  }

  labelList(): LabelInfo[] {
    return [...this.labels.entries()].map(([id, name]) => ({ id, name, count: this.memory.countOf(id) })).sort((a, b) => a.id - b.id);
  }

  /** V and A of every slot: one O(size) read of the memory per change of it, however many readers ask. */
  private slotArrays(): { values: Int32Array; ages: Float32Array } {
    const c = this.slotsCache;
    if (c && c.memory === this.memory && c.version === this.memory.version) return c;
    const { values, ages } = this.memory.state();
    this.slotsCache = { memory: this.memory, version: this.memory.version, values, ages };
    return this.slotsCache;
  }

  summary(): MemorySummary {
    const { values, ages } = this.slotArrays();
    return {
      size: this.settings.memorySize,
      keySize: this.keySize,
      filled: this.filled(),
      values,
      ages,
      labels: this.labelList(),
      version: this.version,
      lookup: this.memory.lookupEngine,
    };
  }

  thumbnail(slot: number): Uint8Array | null {
    return this.thumbs[slot] ?? null;
  }

  /** keys of the filled slots (read from the memory) with their slot numbers */
  filledKeys(): { slots: number[]; keys: Float32Array } {
    const slots: number[] = [];
    this.slotArrays().values.forEach((v, i) => v >= 0 && slots.push(i));
    const keys = new Float32Array(slots.length * this.keySize);
    slots.forEach((s, j) => keys.set(this.memory.keyOf(s), j * this.keySize));
    return { slots, keys };
  }

  // ---- save / restore ----

  /** A filled slot's drawing (a blank one when none was stored). */
  private thumbOf(slot: number): Uint8Array {
    return this.thumbs[slot] ?? new Uint8Array(784);
  }

  /** A filled slot as a save holds it (its key copied, O(keySize)). */
  private savedSlot(slot: number, label: number, age: number): SavedSlot {
    return { slot, label, age, key: this.memory.keyOf(slot), thumb: this.thumbOf(slot) };
  }

  /** A name put back at its place in the list of names (an undo). */
  private putLabelBack(id: number, name: string, at: number) {
    const entries = [...this.labels];
    entries.splice(Math.min(Math.max(0, at), entries.length), 0, [id, name]);
    this.labels = new Map(entries);
  }

  saved(): SavedMemory {
    const { values, ages } = this.slotArrays();
    const slots: SavedSlot[] = [];
    values.forEach((label, slot) => {
      if (label >= 0) slots.push(this.savedSlot(slot, label, ages[slot]));
    });
    return { ...this.savedMeta(), slots };
  }

  /** A memory (by default this one) as an export file's JSON text (src/app/persist.ts toFile). */
  fileText(m: SavedMemory<IncomingSlot> = this.saved()): string {
    // refused before the work (seconds, and then a string past the browser's limit), with what to do
    const tooLarge = fileTooLarge(m.slots.length, m.keySize, m.labels.reduce((n, l) => n + l.name.length + 24, 0));
    if (tooLarge) throw new Error(tooLarge);
    try {
      return JSON.stringify(toFile(m));
    } catch (err) {
      // (the estimate errs low: names of many escaped characters, a browser with a shorter limit)
      if (err instanceof RangeError) throw new Error(`this memory (${m.slots.length.toLocaleString('en')} drawings) is too large for one file in this browser (${err.message}); make it smaller first`);
      throw err;
    }
  }

  /**
   * The memory as a shared link carries it (src/app/share.ts): its file's text with the keys left
   * out (`keyless`) that the receiving app makes again from the slot's drawing: those whose key is
   * the encoder's key of their stored 28x28 drawing to within KEY_FROM_DRAWING_TOLERANCE in cosine
   * (a slot written once: its drawing is stored as bytes, so not exactly). A key the update rule
   * averaged is no one drawing's key and travels whole. None is left out when the registry does not
   * record the encoder's weights (the receiver could not tell whether its network is the same one).
   * `worthIt(fileText)`: whether the file with every drawn slot's key left out is worth it (fits a
   * link); when not, no drawing is encoded again and every key stays.
   */
  shareable(worthIt?: (fileText: string) => boolean): Promise<{ fileText: string; keyless: Set<number> }> {
    return this.serial(async () => {
      const saved = this.saved();
      const without = (out: ReadonlySet<number>) => this.fileText({ ...saved, slots: saved.slots.map((s) => (out.has(s.slot) ? { ...s, key: null } : s)) });
      const drawn = saved.slots.filter((s) => hasInk(s.thumb));
      const all = new Set(drawn.map((s) => s.slot));
      const none = { fileText: this.fileText(saved), keyless: new Set<number>() };
      if (this.encoderEntry.weights === undefined || all.size === 0) return none;
      const allOut = without(all);
      if (worthIt && !worthIt(allOut)) return none;
      const stored = new Map(drawn.map((s) => [s.slot, s.key]));
      const keyless = new Set<number>();
      for (const s of (await reencodeSlots(drawn, this.encoder)).slots) {
        const key = stored.get(s.slot)!;
        let dot = 0;
        for (let j = 0; j < key.length; j++) dot += key[j] * s.key[j];
        if (dot >= 1 - KEY_FROM_DRAWING_TOLERANCE) keyless.add(s.slot);
      }
      return { fileText: keyless.size === all.size ? allOut : without(keyless), keyless };
    });
  }

  /**
   * A shared link's memory with every key its link left out made from the slot's drawing, when the
   * link's keys are this encoder's (keysAreCurrent; otherwise restore re-encodes every drawing
   * anyway and the memory comes back as it was). Throws when a key cannot be made: the link is
   * refused whole. Called before anything is replaced or put aside (store importText).
   */
  withKeys(m: SavedMemory<IncomingSlot>): Promise<SavedMemory<IncomingSlot>> {
    return this.serial(async () => (keysAreCurrent(m, this.encoderEntry).current ? { ...m, slots: await this.keysFromDrawings(m.slots) } : m));
  }

  /** saved() without the slots: what the autosave's meta record needs, cheap at any memory size */
  savedMeta(): SavedMemory {
    return {
      encoder: this.encoderEntry.name,
      ...(this.encoderEntry.weights ? { weights: this.encoderEntry.weights } : {}),
      ...(this.encoderEntry.keyShifts ? { keyShifts: this.encoderEntry.keyShifts } : {}),
      encoderCutoff: cutoffOf(this.encoderEntry),
      settings: { ...this.settings },
      size: this.settings.memorySize,
      keySize: this.keySize,
      clock: this.memory.writeCount,
      labels: [...this.labels.entries()].map(([id, name]) => ({ id, name })),
      slots: [],
    };
  }

  /** Whether slot `slot` holds a drawing (false outside the memory). */
  slotFilled(slot: number): boolean {
    return Number.isInteger(slot) && slot >= 0 && slot < this.memory.size && this.memory.slotAt(slot).value >= 0;
  }

  /** The autosave record of one slot (its write time is clock - age). */
  slotRecord(slot: number): SlotRecord {
    const at = Number.isInteger(slot) && slot >= 0 && slot < this.memory.size ? this.memory.slotAt(slot) : null;
    if (at === null || at.value < 0) throw new Error(`slot ${slot} is empty`);
    return {
      slot,
      label: at.value,
      time: this.memory.writeCount - at.age,
      key: this.memory.keyOf(slot),
      thumb: this.thumbOf(slot),
    };
  }

  /**
   * The slots with every key: a key a shared link left out (null) is made from the slot's drawing
   * with the encoder in use (the sender's: the caller checked keysAreCurrent). Throws when one
   * cannot be made: the link is then refused whole. Nothing to do after withKeys.
   */
  private async keysFromDrawings(slots: readonly IncomingSlot[]): Promise<SavedSlot[]> {
    const missing = slots.filter((s) => s.key === null);
    if (missing.length === 0) return slots as SavedSlot[];
    const r = await reencodeSlots(missing, this.encoder);
    if (r.report.dropped.length > 0) {
      const d = r.report.dropped[0];
      throw new Error(`the key of slot ${d.slot} could not be made from its drawing (${d.reason})`);
    }
    const made = new Map(r.slots.map((s) => [s.slot, s]));
    return slots.map((s) => (s.key === null ? made.get(s.slot)! : (s as SavedSlot)));
  }

  /**
   * Replace the whole memory by a validated saved one; on error nothing changes. A memory whose
   * keys another encoder made (m.encoder; absent: LEGACY_ENCODER), or other weights of this one
   * (keysAreCurrent), is re-encoded from its drawings with the encoder in use; the report says
   * which slots could not be (null: no re-encoding). `makerCutoff`: the calibrated cut-off of the
   * encoder that made the keys (a saved cut-off equal to it was not the user's choice).
   */
  restore(
    m: SavedMemory<IncomingSlot>,
    onProgress?: (p: EncoderSwitchProgress) => void,
    makerCutoff: number = cutoffOf(FALLBACK_ENCODER),
  ): Promise<RestoreReport | null> {
    return this.serial(async () => {
      const madeBy = m.encoder ?? LEGACY_ENCODER;
      let slots: SavedSlot[];
      let report: RestoreReport | null = null;
      let settings: Settings = { ...m.settings, backend: this.settings.backend };
      const keys = keysAreCurrent(m, this.encoderEntry);
      if (keys.current) slots = await this.keysFromDrawings(m.slots);
      else {
        const r = await reencodeSlots(m.slots, this.encoder, (done, total) => onProgress?.({ phase: 'encoding', done, total }));
        if (m.slots.length > 0 && r.slots.length === 0) {
          throw new Error(
            `this memory's keys were made by ${keys.earlierVersion ? 'an earlier version of ' : ''}the encoder "${madeBy}", and none of its ${m.slots.length} drawings could be re-encoded with "${this.encoderEntry.name}" (${r.report.dropped[0].reason})`,
          );
        }
        slots = r.slots;
        // the "not sure" cut-off follows the encoder, as in a switch; the maker's calibrated one is
        // the one the memory recorded (older ones: the caller's, from the registry)
        const to = cutoffAfterMove(settings.nearCutoff, m.encoderCutoff ?? makerCutoff, this.encoderEntry);
        const cutoffMoved = to !== settings.nearCutoff ? { from: settings.nearCutoff, to } : null;
        settings = { ...settings, nearCutoff: to };
        report = { ...r.report, cutoffMoved, earlierVersion: keys.earlierVersion };
      }
      const old = this.settings;
      this.settings = settings;
      try {
        await this.rebuild(slots, m.clock);
      } catch (err) {
        this.settings = old;
        throw err;
      }
      this.memory.setParams(this.settings);
      const gone = new Set(report?.droppedLabels ?? []);
      this.labels = cleanNames(m.labels.filter((l) => !gone.has(l.id)));
      return report;
    });
  }
}
