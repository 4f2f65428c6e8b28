/**
 * One zustand store from typed slices (zustand slices pattern). Plain data only: the encoder,
 * the memory and their tensors live in the Engine (../engine.ts), which the actions call.
 */
import { create, type StateCreator } from 'zustand';
import { EmptyDrawingError } from '../../preprocess';
import type { EncoderEntry } from '../../encoder';
import { strokesToInput, type Stroke, type StrokePoint } from '../../strokes';
import { Engine, type DeletedLabel, type MergedLabels, type WriteUndo } from '../engine';
import {
  asideToText,
  changeChannel,
  claimWriter,
  handoverChannel,
  metaOf,
  putAside,
  readAside,
  readAutosave,
  savedFromAutosave,
  writeSlotChange,
  writeWholeMemory,
  type SlotRecord,
  type StoredAutosave,
  type HandoverNews,
  type WriterClaim,
  waitForWriter,
} from '../autosave';
import { fromFile, fromFileText, fromLinkText } from '../persist';
import {
  createEncoderSlice,
  encodersForStart,
  restoredReencodedMessage,
  makerCutoffOf,
  savedEncoderOf,
  startWithEncoder,
  type EncoderSlice,
} from './encoderSlice';
import { createShareSlice, type ShareSlice } from './shareSlice';
export { encoderEntryInUse } from './encoderSlice';
import type { BackendReport } from '../tfjsBackend';
import {
  cutoffOf,
  DEFAULT_SETTINGS,
  type BackendChoice,
  type Latency,
  type MemorySummary,
  type PredictionView,
  type Settings,
  type WriteView,
} from '../types';

export type Tab = 'draw' | 'memory' | 'labels' | 'settings' | 'benchmark';
/**
 * A banner. `tab`: the view it belongs to (shown only there; stamped with the current view when
 * set without one); null: shown on every view (start-up, another tab, backend fallback).
 */
/**
 * A banner; `action`: one button beside the text (e.g. Undo after a delete), shown only while the
 * memory is at version `validFor` (MemorySummary.version) when that is given.
 */
export type Message = { kind: 'info' | 'error' | 'warning'; text: string; tab?: Tab | null; action?: { label: string; run: () => void; validFor?: number } } | null;
const everywhere = (m: Message): Message => (m ? { ...m, tab: null } : m);

/** The view named in the address (#memory), so a reload keeps it. */
function tabFromAddress(): Tab {
  let h = '';
  try {
    h = typeof location === 'undefined' ? '' : decodeURIComponent(location.hash.slice(1));
  } catch {
    // a damaged address (a shared memory link cut inside a %-escape): the first view
  }
  return (/^[a-z-]{1,20}$/.test(h) ? h : 'draw') as Tab;
}

export interface DrawingSlice {
  strokes: StrokePoint[][];
  /** the 28x28 encoder input of the current drawing (null: empty) */
  input: Float32Array | null;
  /** the label typed or picked for Remember */
  labelDraft: string;
  /**
   * Why the last Remember was refused for its input (nothing drawn, no name), with the drawing and
   * name it saw: said beside the field only while both are unchanged (refusalNow).
   */
  refusal: { text: string; strokes: StrokePoint[][]; draft: string } | null;
  setLabelDraft: (s: string) => void;
  addStroke: (s: StrokePoint[]) => void;
  undoStroke: () => void;
  clearDrawing: () => void;
  /** replace the drawing (tour, examples); predict=false while animating */
  setStrokes: (s: StrokePoint[][], predict?: boolean) => void;
}

export interface PredictionSlice {
  prediction: PredictionView | null;
  /** the drawing the prediction belongs to (strokes count), to tell stale results apart */
  predictionFor: number;
  predicting: boolean;
  /** performance.now() of the last stroke end, for the stroke-end -> prediction latency */
  strokeEndAt: number;
  predictionSeq: number;
  /** stroke end -> prediction rendered, ms (set by the prediction panel after paint) */
  lastPredictionLatencyMs: number | null;
  requestPrediction: () => void;
}

export interface MemorySlice {
  summary: MemorySummary | null;
  lastWrite: WriteView | null;
  lastFallback: string | null;
  /** another tab holds this memory: this one shows it but cannot change it */
  readOnly: boolean;
  /** a saved memory that could not be restored, kept aside (never overwritten) */
  rescued: { key: number; reason: string } | null;
  /** the copy put aside, as a file's text (to download) */
  rescuedText: () => Promise<string>;
  remember: (name: string) => Promise<boolean>;
  /** how to take the last Remember back (Engine.undoRemember), with its drawing and name; null when there is none */
  lastUndo: { write: WriteUndo; strokes: StrokePoint[][]; name: string } | null;
  /** Take the last Remember back, if the memory has not changed since. */
  undoRemember: () => Promise<boolean>;
  /**
   * how many times names went other than by the user's Delete (a Remember taken back, a drawing
   * forgotten, the oldest drawings forgotten by a smaller memory): the Compare learners keep their
   * classes (they cannot forget one drawing; what the memory drops is what they are compared on)
   */
  namesGoneNotDeleted: number;
  /** the last change taken back (a Remember, a delete, a forgotten drawing): the engine's version right after it (a new object each time) */
  takenBack: { version: number } | null;
  /** the last time the memory was replaced whole (an imported file, a link, a copy kept aside): a new object each time */
  replaced: { by: ImportSource } | null;
  /**
   * the last time two names were made one, or parted again by its Undo: what happened, the engine's
   * version right after the merge (its Undo applies only there), whether this is the Undo; a new object each time
   */
  relabelled: { what: string; version: number; undo: boolean } | null;
  renameLabel: (id: number, name: string) => Promise<boolean>;
  deleteLabel: (id: number) => Promise<boolean>;
  /** Forget one stored drawing (its slot; the name too if it was the last); its message offers Undo. */
  forgetSlot: (slot: number) => Promise<boolean>;
  /** Put back a label deleted by deleteLabel or a drawing forgotten by forgetSlot (the message's Undo), if the memory has not changed since. */
  undoDelete: (deleted: DeletedLabel) => Promise<boolean>;
  /** Name every drawing of label `from` as label `into` (two names for one symbol); its message offers Undo. */
  mergeLabels: (from: number, into: number) => Promise<boolean>;
  /** Part names merged by mergeLabels again (the message's Undo), if the memory has not changed since. */
  undoMerge: (merged: MergedLabels) => Promise<boolean>;
  clearMemory: () => Promise<boolean>;
  exportText: () => string;
  /** Replace the memory by a memory file's text (validated; on error nothing changes). `source` words the message. */
  /**
   * Validate a memory file's text and replace the memory by it; `beforeReplace` runs once the file
   * is known good, before anything changes (importKeepingMine puts the current memory aside there).
   */
  importText: (text: string, source?: ImportSource, beforeReplace?: () => Promise<void>) => Promise<boolean>;
}

export interface SettingsSlice {
  settings: Settings;
  backend: BackendReport | null;
  latency: Latency;
  applySettings: (patch: Partial<Settings>) => Promise<void>;
}

export interface UiSlice {
  ready: boolean;
  /** why the app could not start (null: it started, or is starting) */
  startFailed: string | null;
  /** why the memory on screen is not (all) kept in this browser: a save failed, or storage is refused (null: it is) */
  unsaved: string | null;
  busy: boolean;
  tab: Tab;
  message: Message;
  setTab: (t: Tab) => void;
  setMessage: (m: Message) => void;
  /** a read-only tab asks the tab that keeps the memory to hand it over ("Use it here") */
  useHere: () => void;
  /** how many times a guided tour was asked for from outside its button (the first steps' link) */
  tourRequests: number;
  /** the guided tour is drawing and naming: the canvas, the name field and Remember are its own until it ends */
  tourRunning: boolean;
  requestTour: () => void;
  start: (force?: Exclude<BackendChoice, 'auto'>) => Promise<void>;
}

export type AppState = DrawingSlice & PredictionSlice & MemorySlice & SettingsSlice & UiSlice & EncoderSlice & ShareSlice;

import { IMPORT_WORDS, type ImportSource } from './importWords';
export { IMPORT_WORDS, type ImportSource };
type Slice<T> = StateCreator<AppState, [], [], T>;

let engine: Engine | null = null;
export function getEngine(): Engine {
  if (!engine) throw new Error('the app is still starting: the encoder and memory are not ready');
  return engine;
}

/**
 * Use an engine started elsewhere (Node tests and scripts: an Engine with Node deps) with a fresh,
 * writable autosave session; the browser app calls start() instead.
 */
export function attachEngine(e: Engine): void {
  engine = e;
  saveBlocked = null;
  saveBehind = null;
  useApp.setState({ unsaved: null, ready: true, readOnly: false, busy: false, settings: { ...e.settings }, backend: e.backend, summary: e.summary(), message: null, encoder: e.encoderEntry.name });
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

// ---- autosave: every change is written (one transaction) before the app shows it ----
/** why changes are not saved (null: they are) */
let saveBlocked: string | null = null;
/**
 * What the stored copy is behind on after a failed save (storage full, a browser error): the slots
 * of the changes not saved ('whole': a whole-memory change). The next save writes them too, as they
 * are now (a record, or none for an empty slot): a slot record a failed delete left behind would
 * otherwise come back, or damage the autosave, on the next start. Null: the copy is current.
 */
let saveBehind: Set<number> | 'whole' | null = null;
let saveChain: Promise<unknown> = Promise.resolve();
let channel: ReturnType<typeof changeChannel> | null = null;

type Change = { whole: true } | { slots: number[]; removed?: number[] };

/** Write a change to IndexedDB; resolves to null when saved, else to why not. */
function persist(change: Change): Promise<string | null> {
  const e = engine;
  if (!e) return Promise.resolve(null);
  if (saveBlocked) {
    if (useApp.getState().unsaved !== saveBlocked) useApp.setState({ unsaved: saveBlocked });
    return Promise.resolve(saveBlocked);
  }
  const slots = 'whole' in change ? null : [...change.slots, ...(change.removed ?? [])];
  const run = async () => {
    if (slots === null || saveBehind === 'whole') await writeWholeMemory(e.saved());
    else {
      // each slot as it is now: a change's own slots, and those of changes not saved before
      const put: SlotRecord[] = [];
      const removed: number[] = [];
      for (const s of new Set([...slots, ...(saveBehind ?? [])])) (e.slotFilled(s) ? put.push(e.slotRecord(s)) : removed.push(s));
      await writeSlotChange(metaOf(e.savedMeta()), put, removed);
    }
    saveBehind = null;
    if (useApp.getState().unsaved) useApp.setState({ unsaved: null });
    channel?.post();
    askToPersist(e);
    return null;
  };
  const p = saveChain.then(run, run).catch((err) => {
    saveBehind = slots === null || saveBehind === 'whole' ? 'whole' : new Set([...(saveBehind ?? []), ...slots]);
    const why = `could not save to IndexedDB (${errorText(err)})`;
    useApp.setState({ unsaved: why });
    return why;
  });
  saveChain = p;
  return p;
}
/**
 * Once a memory holds drawings, ask the browser to keep its storage (navigator.storage.persist):
 * without it the browser may clear the memory under storage pressure. Asked once per page; a
 * refusal changes nothing (the memory is still saved, as before).
 */
let persistAsked = false;
function askToPersist(e: Engine) {
  if (persistAsked || e.filled() === 0) return;
  persistAsked = true;
  // only where the browser grants it without a question (Chrome: an installed or often-used site);
  // a question the page did not explain (Firefox asks) is not asked
  const nav = globalThis.navigator as
    | { storage?: { persist?: () => Promise<boolean> }; permissions?: { query?: (d: { name: string }) => Promise<{ state: string }> } }
    | undefined;
  void (async () => {
    try {
      const perm = await nav?.permissions?.query?.({ name: 'persistent-storage' });
      if (perm?.state === 'granted') await nav?.storage?.persist?.();
    } catch {
      /* not supported here: the memory is saved as before */
    }
  })();
}

/** Why drawings on screen would be lost with the page (null: none would): the tab keeps the memory, holds some, and a save failed or storage is refused. */
export function unsavedNow(s: AppState): string | null {
  return s.unsaved && !s.readOnly && (s.summary?.filled ?? 0) > 0 ? s.unsaved : null;
}

/**
 * Closing or reloading the page while the memory on screen is not (all) kept asks first: the
 * browser's own question, as for any page with unsaved work (the banner said so when it happened).
 */
function warnBeforeUnload(ev: BeforeUnloadEvent) {
  if (!unsavedNow(useApp.getState())) return;
  ev.preventDefault();
  ev.returnValue = '';
}
if (typeof window !== 'undefined' && typeof window.addEventListener === 'function') window.addEventListener('beforeunload', warnBeforeUnload);

/** Resolves when every change so far is written (test API). */
export async function flushSave(): Promise<void> {
  await saveChain;
}

/**
 * Said when a change ends an offer to undo (the memory moves on): the last Remember's, or the Undo
 * of a delete or a forgotten drawing still on the banner. '' when there was none. Read before the change.
 */
function undoEndsNote(s: AppState): string {
  if (canUndoRemember(s)) return `; the last Remember (“${s.lastWrite?.name ?? s.lastUndo!.name.trim()}”) can no longer be undone`;
  if (bannerUndoOnOffer(s)) return '; the Undo offered before is gone';
  return '';
}

/** The banner offers an Undo (of a delete or a forgotten drawing) that still applies: nothing changed the memory since. */
function bannerUndoOnOffer(s: AppState): boolean {
  const offer = s.message?.action;
  return offer?.validFor !== undefined && offer.validFor === s.summary?.version;
}

/** a memory file this long (characters) takes long enough to read that the page says so first */
const LARGE_TEXT = 5_000_000;
/** Resolves once the page has painted what was set before (a timer where there are no frames: Node). */
export function nextPaint(): Promise<void> {
  if (typeof requestAnimationFrame === 'undefined') return new Promise((r) => setTimeout(r, 0));
  return new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
}

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const notSaved = (why: string | null) => (why ? ` — but it is not saved: ${why}` : '');

/** Why the memory cannot be changed now (null: it can). */
function changeRefused(s: AppState): string | null {
  if (!engine) return 'the app is still starting';
  if (s.readOnly) return 'this memory is open in another tab: change it there, close that tab, or use it here';
  if (handingOver) return 'another tab asked for the memory: this tab is handing it over';
  if (s.busy) return 'wait a moment: the memory is busy with the previous change';
  return null;
}

/**
 * Every change to the memory runs inside this: refused with a message (read-only tab, busy, still
 * starting) before anything happens; the store is busy while it runs; an error becomes a message
 * and the store is usable again. Both messages start with `notDone` ("not deleted"). `run` makes
 * the change, saves it and sets what the app shows; it returns false when it refused by itself.
 * Resolves to whether the change was made.
 */
async function memoryChange(
  notDone: string,
  run: (e: Engine) => Promise<boolean | void>,
  onError: (e: unknown) => Partial<AppState> = () => ({}),
): Promise<boolean> {
  const refused = changeRefused(useApp.getState());
  if (refused) {
    // in a read-only tab the way out stays on offer
    const action = useApp.getState().readOnly ? USE_HERE : undefined;
    useApp.setState({ message: { kind: 'error', text: `${notDone}: ${refused}`, ...(action ? { action } : {}) } });
    return false;
  }
  useApp.setState({ busy: true });
  try {
    return (await run(engine!)) !== false;
  } catch (e) {
    useApp.setState({ ...onError(e), message: { kind: 'error', text: `${notDone}: ${errorText(e)}` } });
    return false;
  } finally {
    useApp.setState({ busy: false });
  }
}

function inputOf(strokes: Stroke[]): Float32Array | null {
  try {
    return strokesToInput(strokes);
  } catch (e) {
    if (e instanceof EmptyDrawingError) return null;
    throw e;
  }
}

const drawingSlice: Slice<DrawingSlice> = (set, get) => ({
  strokes: [],
  input: null,
  labelDraft: '',
  refusal: null,
  setLabelDraft: (labelDraft) => set({ labelDraft }),
  addStroke: (s) => {
    const t0 = performance.now();
    const strokes = [...get().strokes, s];
    set({ strokes, input: inputOf(strokes), strokeEndAt: t0 });
    get().requestPrediction();
  },
  undoStroke: () => {
    const t0 = performance.now();
    const strokes = get().strokes.slice(0, -1);
    set({ strokes, input: inputOf(strokes), strokeEndAt: t0 });
    get().requestPrediction();
  },
  clearDrawing: () => set({ strokes: [], input: null, prediction: null, predictionFor: 0 }),
  setStrokes: (strokes, predict = true) => {
    if (!predict) {
      set({ strokes });
      return;
    }
    const t0 = performance.now();
    set({ strokes, input: inputOf(strokes), strokeEndAt: t0 });
    get().requestPrediction();
  },
});

/** The refusal of the last Remember while it still applies: the same drawing and name (else null). */
/** Whether the last Remember can be taken back now: nothing else changed the memory since (else the engine refuses it). */
export function canUndoRemember(s: Pick<AppState, 'lastUndo' | 'summary'>): boolean {
  return s.lastUndo !== null && s.summary?.version === s.lastUndo.write.version;
}

export function refusalNow(s: Pick<DrawingSlice, 'refusal' | 'strokes' | 'labelDraft'>): string | null {
  const r = s.refusal;
  return r && r.strokes === s.strokes && r.draft === s.labelDraft ? r.text : null;
}

/** Phases of the last stroke-end -> prediction, performance.now() stamps (benchmark and test API). */
export const predictionPhases = { strokeEnd: 0, inputReady: 0, runStart: 0, predicted: 0, committed: 0, painted: 0 };

// Latest-wins: a prediction runs after the pen lifts; strokes drawn meanwhile queue one more run.
let predictRunning = false;
let predictAgain = false;
const predictionSlice: Slice<PredictionSlice> = (set, get) => ({
  prediction: null,
  predictionFor: 0,
  predicting: false,
  strokeEndAt: 0,
  predictionSeq: 0,
  lastPredictionLatencyMs: null,
  requestPrediction: () => {
    if (predictRunning) {
      predictAgain = true;
      return;
    }
    const run = async () => {
      predictRunning = true;
      predictAgain = false;
      const { input, strokes } = get();
      predictionPhases.runStart = performance.now();
      if (!input || !engine) {
        set({ prediction: null, predictionFor: strokes.length, predicting: false, predictionSeq: get().predictionSeq + 1 });
      } else {
        set({ predicting: true });
        try {
          const r = await engine.predict(input);
          predictionPhases.predicted = performance.now();
          // stale when the drawing changed meanwhile (a new stroke queues another run; a clear wants none)
          if (!predictAgain && get().input === input) {
            set({
              prediction: r.prediction,
              predictionFor: strokes.length,
              predictionSeq: get().predictionSeq + 1,
              latency: { ...get().latency, encodeMs: r.encodeMs, queryMs: r.queryMs },
            });
          }
        } catch (e) {
          set({ message: { kind: 'error', text: `prediction failed: ${errorText(e)}` } });
        }
      }
      predictRunning = false;
      if (predictAgain) setTimeout(run, 0);
      else set({ predicting: false });
    };
    predictionPhases.strokeEnd = get().strokeEndAt;
    predictionPhases.inputReady = performance.now();
    // Start at once, at pen-up: on WASM the synchronous part (upload + forward pass) is a few ms and
    // the stroke is already on the canvas; waiting for React's render and a frame first cost ~15 ms.
    void run();
  },
});

const memorySlice: Slice<MemorySlice> = (set, get) => ({
  summary: null,
  lastWrite: null,
  lastUndo: null,
  namesGoneNotDeleted: 0,
  takenBack: null,
  replaced: null,
  relabelled: null,
  lastFallback: null,
  readOnly: false,
  rescued: null,
  rescuedText: async () => {
    const r = get().rescued;
    const copy = r ? await readAside(r.key) : undefined;
    if (!copy) throw new Error('the copy put aside is no longer in this browser');
    return asideToText(copy);
  },
  remember: async (name) => {
    const { input } = get();
    if (!input) {
      set({ refusal: { text: 'draw something first: an empty canvas cannot be remembered', strokes: get().strokes, draft: get().labelDraft } });
      return false;
    }
    if (!name.trim()) {
      set({ refusal: { text: 'type a name (or tap a known one) before remembering', strokes: get().strokes, draft: get().labelDraft } });
      return false;
    }
    const strokes = get().strokes;
    return memoryChange('not remembered', async (e) => {
      const r = await e.remember(input, name);
      // shown only once saved: a Remember on screen (the write report, lastWrite) survives a crash or
      // reload. It says what was remembered, so no banner repeats it; a banner only when not saved.
      const why = await persist({ slots: [r.write.slot] });
      set({
        lastWrite: r.write,
        lastUndo: r.undo ? { write: r.undo, strokes, name } : null,
        refusal: null,
        summary: e.summary(),
        latency: { ...get().latency, encodeMs: r.encodeMs, writeMs: r.writeMs },
        message: why ? { kind: 'warning', text: `remembered "${r.write.name}"${notSaved(why)}` } : null,
      });
      get().requestPrediction();
    });
  },
  undoRemember: async () => {
    const u = get().lastUndo;
    if (!u) return false;
    const name = get().lastWrite?.name ?? u.name.trim();
    return memoryChange(
      'not taken back',
      async (e) => {
        const r = await e.undoRemember(u.write);
        const why = await persist(r.refilled ? { slots: [r.slot] } : { slots: [], removed: [r.slot] });
        // the drawing and its name go back on an empty canvas, to name it again; a new drawing stays
        const giveBack = get().strokes.length === 0;
        set({
          lastWrite: null,
          lastUndo: null,
          namesGoneNotDeleted: get().namesGoneNotDeleted + 1,
          takenBack: { version: u.write.version },
          summary: e.summary(),
          message: {
            kind: why ? 'warning' : 'info',
            text: `took back the last Remember ("${name}"): the memory is as it was before it${giveBack ? '; the drawing is back on the canvas' : '; its drawing is gone (the canvas holds a new one)'}${notSaved(why)}`,
          },
        });
        if (giveBack) {
          get().setLabelDraft(u.name);
          get().setStrokes(u.strokes);
        } else get().requestPrediction();
      },
      () => ({ lastUndo: null }),
    );
  },
  renameLabel: (id, name) =>
    memoryChange('not renamed', async (e) => {
      const undoEnds = undoEndsNote(get());
      const before = e.labelList().find((l) => l.id === id)?.name;
      const r = e.renameLabel(id, name);
      if (!r.changed) {
        // an Undo still offered on the banner stays there
        if (!bannerUndoOnOffer(get())) set({ message: { kind: 'info', text: `the name is unchanged ("${r.name}")` } });
        return;
      }
      const why = await persist({ slots: [] });
      // (the write report on screen reads names from the summary: it follows the rename)
      set({ summary: e.summary(), message: { kind: why ? 'warning' : 'info', text: `renamed "${before}" to "${r.name}"${undoEnds}${notSaved(why)}` } });
      get().requestPrediction();
    }),
  deleteLabel: (id) =>
    memoryChange('not deleted', async (e) => {
      const undoEnds = undoEndsNote(get());
      const deleted = await e.deleteLabel(id);
      const why = await persist({ slots: [], removed: deleted.slots.map((x) => x.slot) });
      set({
        summary: e.summary(),
        lastWrite: null,
        lastUndo: null,
        message: {
          kind: why ? 'warning' : 'info',
          text: `deleted "${deleted.name}" and its ${count(deleted.slots.length, 'stored drawing')}${undoEnds}${notSaved(why)}`,
          // put back exactly as it was, until the memory changes again
          action: { label: 'Undo', run: () => void get().undoDelete(deleted), validFor: deleted.version },
        },
      });
      get().requestPrediction();
    }),
  mergeLabels: (from, into) =>
    memoryChange('not merged', async (e) => {
      const undoEnds = undoEndsNote(get());
      const m = await e.mergeLabels(from, into);
      const why = await persist({ slots: m.moved });
      const now = e.labelList().find((l) => l.id === into)?.count ?? 0;
      const what = `"${m.fromName}" merged into "${m.intoName}"`;
      set({
        summary: e.summary(),
        lastWrite: null,
        lastUndo: null,
        relabelled: { what, version: m.version, undo: false },
        message: {
          kind: why ? 'warning' : 'info',
          text: `${what}: its ${count(m.moved.length, 'stored drawing')} ${m.moved.length === 1 ? 'is' : 'are'} named "${m.intoName}" now (${count(now, 'drawing')} in all)${undoEnds}${notSaved(why)}`,
          action: { label: 'Undo', run: () => void get().undoMerge(m), validFor: m.version },
        },
      });
      get().requestPrediction();
    }),
  undoMerge: (m) =>
    memoryChange(`"${m.fromName}" not parted from "${m.intoName}"`, async (e) => {
      const slots = await e.undoMerge(m);
      const why = await persist({ slots });
      const what = `"${m.fromName}" is back with its ${count(slots.length, 'stored drawing')}, apart from "${m.intoName}"`;
      set({ summary: e.summary(), relabelled: { what, version: m.version, undo: true }, message: { kind: why ? 'warning' : 'info', text: `${what}${notSaved(why)}` } });
      get().requestPrediction();
    }),
  forgetSlot: (slot) =>
    memoryChange('not forgotten', async (e) => {
      const undoEnds = undoEndsNote(get());
      const forgotten = await e.forgetSlot(slot);
      const why = await persist({ slots: [], removed: forgotten.slots.map((x) => x.slot) });
      set({
        namesGoneNotDeleted: get().namesGoneNotDeleted + 1,
        summary: e.summary(),
        lastWrite: null,
        lastUndo: null,
        message: {
          kind: why ? 'warning' : 'info',
          text: `forgot a drawing of "${forgotten.name}" (slot ${slot})${forgotten.labelGone ? `, its last one: the name went too` : ''}${undoEnds}${notSaved(why)}`,
          action: { label: 'Undo', run: () => void get().undoDelete(forgotten), validFor: forgotten.version },
        },
      });
      get().requestPrediction();
    }),
  undoDelete: (deleted) =>
    memoryChange(`"${deleted.name}" not put back`, async (e) => {
      const slots = await e.undoDelete(deleted);
      const why = await persist({ slots });
      set({
        takenBack: { version: deleted.version },
        summary: e.summary(),
        message: {
          kind: why ? 'warning' : 'info',
          text: `${deleted.labelGone ? `"${deleted.name}" is back with its ${count(slots.length, 'stored drawing')}` : `the drawing of "${deleted.name}" is back in slot ${slots[0]}`}${notSaved(why)}`,
        },
      });
      get().requestPrediction();
    }),
  clearMemory: () =>
    memoryChange('not cleared', async (e) => {
      await e.clear();
      const why = await persist({ whole: true });
      set({ summary: e.summary(), lastWrite: null, lastUndo: null, prediction: null, message: { kind: why ? 'warning' : 'info', text: `the memory is empty${notSaved(why)}` } });
      get().requestPrediction();
    }),
  exportText: () => getEngine().fileText(),
  importText: (text, source = 'file', beforeReplace) => {
    const words = IMPORT_WORDS[source];
    return memoryChange(words.refused, async (e) => {
      // a large file is read and checked in one go (seconds at 100,000 drawings): said first, and
      // the page paints it before the work starts
      if (text.length > LARGE_TEXT) {
        set({ message: { kind: 'info', text: `reading ${words.what} (${(text.length / 1e6).toFixed(0)} MB)…` } });
        await nextPaint();
      }
      const expected = { keySize: e.keySize, encoder: e.encoderEntry.name, entry: e.encoderEntry };
      // a link may leave keys out: they are made from their drawings first, before anything is
      // put aside or replaced (a key that cannot be made refuses the link, nothing changed)
      const saved = source === 'link' ? await e.withKeys(fromLinkText(text, expected)) : fromFileText(text, expected);
      await beforeReplace?.();
      const report = await e.restore(saved, undefined, makerCutoffOf(saved.encoder, get().encoders));
      // replaced: from here on an error is not a refusal (the memory did change)
      try {
        const reencoded = restoredReencodedMessage(saved.encoder!, e, report, new Map(saved.labels.map((l) => [l.id, l.name])));
        const why = await persist({ whole: true });
        set({
          summary: e.summary(),
          settings: { ...e.settings },
          lastWrite: null,
          lastUndo: null,
          replaced: { by: source },
          message: {
            kind: why || reencoded?.kind === 'warning' ? 'warning' : 'info',
            text: `${words.done}: ${count(saved.slots.length, 'drawing')}, ${count(saved.labels.length, 'label')}${reencoded ? `. ${reencoded.text}` : ''}${notSaved(why)}`,
          },
        });
        get().requestPrediction();
      } catch (err) {
        set({ summary: e.summary(), settings: { ...e.settings }, lastWrite: null, lastUndo: null, replaced: { by: source }, message: { kind: 'error', text: `${words.done}, but not all of it went well: ${errorText(err)}` } });
      }
    });
  },
});

const settingsSlice: Slice<SettingsSlice> = (set, get) => ({
  settings: { ...DEFAULT_SETTINGS },
  backend: null,
  latency: { encodeMs: null, queryMs: null, writeMs: null },
  applySettings: async (patch) => {
    const next = { ...get().settings, ...patch };
    if (!engine) {
      set({ settings: next });
      return;
    }
    const e = engine;
    await memoryChange(
      'settings not applied',
      async () => {
        const before = e.settings;
        const undoEnds = undoEndsNote(get());
        const filledBefore = e.filled();
        await e.applySettings(next);
        const forgotten = filledBefore - e.filled();
        const memoryChanged = before.memorySize !== e.settings.memorySize || before.lookup !== e.settings.lookup;
        const why = await persist(memoryChanged ? { whole: true } : { slots: [] });
        set({
          settings: { ...e.settings },
          summary: e.summary(),
          backend: e.backend,
          ...(forgotten > 0 ? { namesGoneNotDeleted: get().namesGoneNotDeleted + 1 } : {}),
          message: {
            kind: why ? 'warning' : 'info',
            text: `settings applied${forgotten > 0 ? `; ${count(forgotten, 'drawing')} forgotten (the oldest)` : ''}${undoEnds}${notSaved(why)}`,
          },
        });
        get().requestPrediction();
      },
      () => ({ settings: { ...e.settings } }),
    );
  },
});

let starting: Promise<void> | null = null;

const uiSlice: Slice<UiSlice> = (set, get) => ({
  ready: false,
  startFailed: null,
  unsaved: null,
  busy: false,
  tab: tabFromAddress(),
  message: null,
  setTab: (tab) => {
    set({ tab });
    if (typeof history !== 'undefined') history.replaceState(history.state, '', `${location.pathname}${location.search}#${tab}`);
  },
  setMessage: (message) => set({ message }),
  useHere: () => {
    if (!get().readOnly || !handover) return;
    handover.ask();
    set({ message: { kind: 'info', text: 'asking the other tab for the memory…', tab: null } });
    const asked = get().message;
    askedNow = asked;
    setTimeout(() => {
      if (!get().readOnly || get().message !== asked) return;
      askedNow = null;
      set({
        message: {
          kind: 'warning',
          text: 'no tab answered (the tab that keeps the memory may be an older version of Memory Lab): close it, and this tab takes over',
          tab: null,
          action: USE_HERE,
        },
      });
    }, HANDOVER_WAIT_MS);
  },
  tourRequests: 0,
  tourRunning: false,
  requestTour: () => set({ tourRequests: get().tourRequests + 1 }),
  // once per page: React's StrictMode (npm run dev) runs the mounting effect twice, and a second
  // start would find the first one's writer lock and open this very tab read-only
  start: (force) => (starting ??= (async () => {
    try {
      const claim = await claimWriter().catch((): WriterClaim => ({ writer: true, turn: null, release: () => {} }));
      heldClaim = claim;
      handover = handoverChannel(() => void handOver(), heardAnswer);
      // a read-only tab follows the writer's changes, from before it reads the autosave: a change
      // saved while this tab starts (seconds) is read again once it is ready, not missed until the next
      let changedWhileStarting = false;
      channel = changeChannel(() => {
        if (!useApp.getState().ready) changedWhileStarting = true;
        else if (useApp.getState().readOnly) void reloadFromAutosave(false);
      });
      let stored: StoredAutosave = { kind: 'none' };
      try {
        stored = await readAutosave();
      } catch (err) {
        saveBlocked = `this browser does not let the page keep data (IndexedDB: ${errorText(err)}); the memory lasts until the page closes`;
      }
      const settings = { ...get().settings };
      const savedBackend = savedBackendOf(stored);
      if (savedBackend) settings.backend = savedBackend;
      let e: Engine;
      let fallbackNote: string | null = null;
      // the encoder: the saved memory's (the persisted choice) when shipped, else the registry's first
      const encoders = await encodersForStart(stored);
      let encoderNote = encoders.note;
      // the engine starts with the encoder's calibrated cut-off: a new memory, or one whose restore
      // fails (in a read-only tab, or when it cannot even be kept aside), keeps it; a restored
      // memory brings its own (restoreSaved)
      settings.nearCutoff = cutoffOf(encoders.entry);
      const startOn = async (s: Settings, f?: Exclude<BackendChoice, 'auto'>) => {
        const r = await startWithEncoder((entry) => Engine.start(s, f, {}, entry), encoders.entry, encoders.list);
        encoderNote = r.note ?? encoderNote;
        return r.engine;
      };
      try {
        e = await startOn(settings, force);
      } catch (err) {
        // a saved backend choice that no longer works here (e.g. WebGPU gone): start on the best one
        if (force || settings.backend === 'auto') throw err;
        fallbackNote = `the saved backend choice ${settings.backend} could not start (${errorText(err)}); using the best available one`;
        e = await startOn({ ...settings, backend: 'auto' });
      }
      if (encoderNote) fallbackNote = fallbackNote ? `${fallbackNote}; ${encoderNote}` : encoderNote;
      const restored = await restoreSaved(e, stored, claim.writer, encoders.list);
      // a new memory starts with the calibrated cut-off of the encoder that did start (another one
      // than planned when the chosen one failed to load)
      if (stored.kind === 'none') await useEncoderCutoff(e);
      e.onFallback = (from, to, reason) => {
        set({
          backend: to,
          summary: e.summary(),
          lastFallback: `${reason}; moved from ${from} to ${to.name}, the memory was kept`,
          message: { kind: 'warning', text: `${from} stopped working (${reason}). Now running on ${to.name}; your memory was kept.`, tab: null },
        });
        get().requestPrediction();
      };
      engine = e;
      // backends skipped at start are said in plain words under the hood (Status), not in a banner
      set({
        ready: true,
        readOnly: !claim.writer,
        rescued: restored.rescued,
        settings: { ...e.settings },
        backend: e.backend,
        summary: e.summary(),
        encoders: encoders.list,
        encoder: e.encoderEntry.name,
        message: everywhere(restored.message
          ? restored.message
          : !claim.writer
            ? readOnlyMessage()
            : saveBlocked
              ? { kind: 'warning', text: saveBlocked }
              : fallbackNote
                ? { kind: 'warning', text: fallbackNote }
                : null),
      });
      if (!claim.writer && changedWhileStarting) void reloadFromAutosave(false);
      // ... and takes over when the writer's tab closes, reloads (that tab is then the read-only one)
      // or hands the memory over
      followTurn(claim);
    } catch (err) {
      // said until it is solved: the banner can be closed, this stays (the page cannot work without it)
      const cause = errorText(err);
      const hint = /could not load the encoder/.test(cause) ? ' Check the connection (the first visit downloads the encoder), then reload the page.' : ' Reload the page to try again.';
      const why = `Memory Lab could not start: ${cause}.${hint}`;
      set({ startFailed: why, message: { kind: 'error', text: why, tab: null, action: { label: 'Reload', run: () => location.reload() } } });
    }
  })()),
});

const READ_ONLY_TEXT =
  'Memory Lab is open in another tab. This tab shows the same memory but cannot change it (two tabs writing would lose drawings): use the other tab, close it, or use the memory here (the other tab then only shows it).';
/** the offer a read-only tab makes wherever it says it cannot change the memory */
const USE_HERE = { label: 'Use it here', run: () => useApp.getState().useHere() };
const readOnlyMessage = (): NonNullable<Message> => ({ kind: 'warning', text: READ_ONLY_TEXT, action: USE_HERE });
/** how long "Use it here" waits for the other tab before saying it did not answer */
const HANDOVER_WAIT_MS = 5000;

/** Saves that follow the memory's (the comparison's), finished before this tab hands the memory over. */
export const beforeHandover: (() => Promise<void>)[] = [];

/** the message of this tab's "Use it here" while it waits for an answer (null: it did not ask) */
let askedNow: Message = null;

/**
 * The writer answered a "Use it here" (maybe another tab's): when this tab asked and is still
 * read-only, it says what happened, with the offer to ask again.
 */
function heardAnswer(news: HandoverNews) {
  const asked = askedNow;
  if (!asked) return;
  const say = () => {
    const s = useApp.getState();
    if (!s.readOnly || s.message !== asked) return;
    askedNow = null;
    useApp.setState({
      message: {
        kind: 'warning',
        text:
          news === 'kept'
            ? 'the other tab kept the memory: its last changes are not saved there (keep a copy there first, Labels → Keep a copy)'
            : 'the memory went to another tab that was waiting for it before this one (the first opened): ask again ("Use it here"), or close the other tabs',
        tab: null,
        action: USE_HERE,
      },
    });
  };
  // handed: this tab's turn, if it is first in the queue, comes a moment later
  if (news === 'kept') say();
  else setTimeout(say, 1500);
}

/** this tab's hold on the memory (or its place in the queue for it) */
let heldClaim: WriterClaim | null = null;
let handover: ReturnType<typeof handoverChannel> | null = null;
/** while handOver saves the last changes before it lets the memory go (changeRefused refuses new ones) */
let handingOver = false;

/** When this tab's turn comes (the writer closed, reloaded or handed the memory over), it takes the memory: read from the autosave. */
function followTurn(claim: WriterClaim) {
  void claim.turn?.then(async () => {
    if (heldClaim !== claim) return;
    await reloadFromAutosave(true);
    askedNow = null;
    useApp.setState({ readOnly: false, message: { kind: 'info', text: 'this tab keeps the memory now (the tab that had it was closed, reloaded, or handed it over)', tab: null } });
  });
}

/**
 * Another tab asked for the memory ("Use it here"): the writer lets it go once its last change is
 * saved, and shows the memory read-only from then on (it can ask for it back the same way). A tab
 * whose changes could not be saved keeps it: handing it over would lose them.
 */
async function handOver() {
  const s0 = useApp.getState();
  if (!s0.ready || s0.readOnly || !heldClaim) return;
  // the change in flight first, then every save (the memory's, and what follows it: the comparison)
  while (useApp.getState().busy || useApp.getState().tourRunning) await new Promise((r) => setTimeout(r, 50));
  if (handingOver) return; // asked twice: the first answer is on its way
  // no change starts from here (changeRefused): one started while the saves below are awaited
  // would be saved after the asking tab read the memory, and it would not know that drawing
  handingOver = true;
  try {
    await saveChain.catch(() => undefined);
    for (const flush of beforeHandover) await flush().catch(() => undefined);
    const s = useApp.getState();
    if (s.readOnly || s.unsaved || !heldClaim) {
      if (s.unsaved) {
        useApp.setState({ message: { kind: 'warning', text: 'another tab asked for the memory; this tab kept it: its changes are not saved (keep a copy first, Labels → Keep a copy)', tab: null } });
        handover?.tell('kept');
      }
      return;
    }
    const held = heldClaim;
    const next = waitForWriter();
    heldClaim = next;
    // read-only first (no change starts any more), then the lock goes to the asking tab
    useApp.setState({ readOnly: true, message: { ...readOnlyMessage(), text: `another tab asked for the memory and keeps it now. ${READ_ONLY_TEXT}`, tab: null } });
    held.release();
    handover?.tell('handed');
    followTurn(next);
  } finally {
    handingOver = false;
  }
}

function savedBackendOf(stored: StoredAutosave): Settings['backend'] | null {
  const rec = stored.kind === 'slots' ? stored.meta : stored.kind === 'legacy' ? stored.record : null;
  const b = (rec as { settings?: { backend?: unknown } } | null)?.settings?.backend;
  return b === 'auto' || b === 'webgpu' || b === 'webgl' || b === 'wasm' ? b : null;
}

/** The "not sure" cut-off of the encoder in use, for a memory that starts empty. */
async function useEncoderCutoff(e: Engine): Promise<void> {
  const cutoff = cutoffOf(e.encoderEntry);
  if (e.settings.nearCutoff !== cutoff) await e.applySettings({ ...e.settings, nearCutoff: cutoff });
}

/**
 * Restore the autosave into `e`. A saved memory that does not restore is never overwritten: the
 * writer tab copies it aside first (and autosave stays off when even that fails).
 */
export async function restoreSaved(
  e: Engine,
  stored: StoredAutosave,
  writer: boolean,
  /** the bundled encoders (the maker of the saved memory's calibrated cut-off is looked up there) */
  encoders: EncoderEntry[] = useApp.getState().encoders,
): Promise<{ rescued: { key: number; reason: string } | null; message: Message }> {
  if (stored.kind === 'none') return { rescued: null, message: null };
  let restored: { report: Awaited<ReturnType<Engine['restore']>>; reencoded: Message };
  try {
    const expected = { keySize: e.keySize, encoder: e.encoderEntry.name, entry: e.encoderEntry };
    const saved = stored.kind === 'slots' ? savedFromAutosave(stored.meta, stored.slots, expected) : fromFile(stored.record, expected, 'drop');
    // a memory another encoder made (that encoder is no longer shipped, or did not load) is re-encoded
    const report = await e.restore(saved, undefined, makerCutoffOf(saved.encoder, encoders));
    restored = { report, reencoded: restoredReencodedMessage(savedEncoderOf(stored) ?? '?', e, report, new Map(saved.labels.map((l) => [l.id, l.name]))) };
  } catch (err) {
    return rescueUnrestored(e, stored, writer, errorText(err));
  }
  // restored: the memory on screen is the saved one. What follows only brings the autosave up to
  // date (new keys, one record per slot); a failure there keeps the memory and says it is not saved
  const { report, reencoded } = restored;
  if (!writer || saveBlocked || (!report && stored.kind !== 'legacy')) return { rescued: null, message: reencoded };
  let rescued: { key: number; reason: string } | null = null;
  if (report?.dropped.length) {
    // drawings that could not be re-encoded are kept aside before the autosave loses them
    try {
      rescued = { key: await putAside(stored, reencoded!.text), reason: reencoded!.text };
    } catch (err) {
      saveBlocked = `the drawings that could not be re-encoded could not be kept aside (${errorText(err)}), so nothing is saved in this session to leave the saved memory untouched`;
      useApp.setState({ unsaved: saveBlocked });
      return { rescued: null, message: { kind: 'warning', text: `${reencoded!.text}; ${saveBlocked}.` } };
    }
  }
  try {
    await writeWholeMemory(e.saved()); // the new keys, or one record per slot for an older save
  } catch (err) {
    saveBehind = 'whole'; // the next change saves it whole
    // an older save not yet made one record per slot still holds the whole memory: nothing is unsaved
    if (!report) return { rescued, message: reencoded };
    const why = `could not save to IndexedDB (${errorText(err)})`;
    useApp.setState({ unsaved: why });
    return { rescued, message: { kind: 'warning', text: `${reencoded ? reencoded.text.replace(/\.$/, '') : 'Your memory is back'}. It is not saved: ${why}.` } };
  }
  return { rescued, message: reencoded };
}

/** A saved memory that did not restore: kept aside untouched (by the writer tab), and the app starts empty. */
async function rescueUnrestored(
  e: Engine,
  stored: StoredAutosave,
  writer: boolean,
  reason: string,
): Promise<{ rescued: { key: number; reason: string } | null; message: Message }> {
  if (!writer) return { rescued: null, message: { kind: 'warning', text: `the saved memory could not be shown here (${reason})` } };
  let key: number;
  try {
    key = await putAside(stored, reason);
  } catch (err) {
    saveBlocked = `the saved memory could not be restored nor kept aside (${errorText(err)}), so nothing is saved in this session to leave it untouched`;
    return { rescued: null, message: { kind: 'warning', text: `Your saved memory could not be restored (${reason}); ${saveBlocked}.` } };
  }
  const rescued = { key, reason };
  const text = `Your saved memory could not be restored (${reason}). It is kept aside, untouched: download it below. The app starts with an empty memory.`;
  try {
    await e.clear();
    await useEncoderCutoff(e);
    await writeWholeMemory(e.saved());
  } catch (err) {
    // the copy is kept aside all the same: it is offered; the empty memory is saved with the next change
    saveBehind = 'whole';
    const why = `could not save to IndexedDB (${errorText(err)})`;
    useApp.setState({ unsaved: why });
    return { rescued, message: { kind: 'warning', text: `${text} The new memory ${why}.` } };
  }
  return { rescued, message: { kind: 'warning', text } };
}

/** Load the autosave again (a read-only tab following the writer, or taking over from it). */
async function reloadFromAutosave(writer: boolean): Promise<void> {
  const e = engine;
  if (!e) return;
  const stored = await readAutosave().catch(() => ({ kind: 'none' }) as StoredAutosave);
  // the writer tab switched encoders: follow it (when this tab can load that encoder) rather than re-encode
  const madeBy = savedEncoderOf(stored);
  const entry = useApp.getState().encoders.find((x) => x.name === madeBy);
  if (entry && entry.name !== e.encoderEntry.name) await e.switchEncoder(entry).catch(() => undefined);
  const r = await restoreSaved(e, stored, writer);
  useApp.setState({ encoder: e.encoderEntry.name, summary: e.summary(), settings: { ...e.settings }, rescued: r.rescued ?? useApp.getState().rescued, ...(r.message ? { message: r.message } : {}) });
  useApp.getState().requestPrediction();
}

export const useApp = create<AppState>()((...a) => ({
  ...drawingSlice(...a),
  ...predictionSlice(...a),
  ...memorySlice(...a),
  ...settingsSlice(...a),
  ...uiSlice(...a),
  ...createEncoderSlice({ engine: () => engine, changeRefused, saveWhole: () => persist({ whole: true }) })(...a),
  ...createShareSlice({ engine: () => engine, changeRefused })(...a),
}));

// a banner set without a view belongs to the view on screen when it was set
useApp.subscribe((s, prev) => {
  if (s.message && s.message !== prev.message && s.message.tab === undefined) useApp.setState({ message: { ...s.message, tab: s.tab } });
});
