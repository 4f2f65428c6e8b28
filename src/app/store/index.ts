/**
 * One zustand store from typed slices (zustand slices pattern). Plain data only: the encoder,
 * the memory and their tensors live in the Engine (../engine.ts), which the actions call.
 */
import { create, type StateCreator } from 'zustand';
import { EmptyDrawingError } from '../../preprocess';
import { strokesToInput, type Stroke, type StrokePoint } from '../../strokes';
import { Engine } from '../engine';
import { fromFile, loadFromIndexedDb, saveToIndexedDb, toFile } from '../persist';
import type { BackendReport } from '../tfjsBackend';
import {
  DEFAULT_SETTINGS,
  type BackendChoice,
  type Latency,
  type MemorySummary,
  type PredictionView,
  type Settings,
  type WriteView,
} from '../types';

export type Tab = 'draw' | 'memory' | 'labels' | 'settings' | 'benchmark';
export type Message = { kind: 'info' | 'error' | 'warning'; text: string } | null;

export interface DrawingSlice {
  strokes: StrokePoint[][];
  /** the 28x28 encoder input of the current drawing (null: empty) */
  input: Float32Array | null;
  /** the label typed or picked for Remember */
  labelDraft: string;
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
  remember: (name: string) => Promise<boolean>;
  renameLabel: (id: number, name: string) => void;
  deleteLabel: (id: number) => Promise<void>;
  clearMemory: () => Promise<void>;
  exportText: () => string;
  importText: (text: string) => Promise<boolean>;
}

export interface SettingsSlice {
  settings: Settings;
  backend: BackendReport | null;
  latency: Latency;
  applySettings: (patch: Partial<Settings>) => Promise<void>;
}

export interface UiSlice {
  ready: boolean;
  busy: boolean;
  tab: Tab;
  message: Message;
  setTab: (t: Tab) => void;
  setMessage: (m: Message) => void;
  start: (force?: Exclude<BackendChoice, 'auto'>) => Promise<void>;
}

export type AppState = DrawingSlice & PredictionSlice & MemorySlice & SettingsSlice & UiSlice;
type Slice<T> = StateCreator<AppState, [], [], T>;

let engine: Engine | null = null;
export function getEngine(): Engine {
  if (!engine) throw new Error('the app is still starting: the encoder and memory are not ready');
  return engine;
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

// ---- autosave: after each change, coalesced ----
let saveTimer: ReturnType<typeof setTimeout> | null = null;
let savePromise: Promise<void> = Promise.resolve();
function scheduleSave(set: (p: Partial<AppState>) => void) {
  if (saveTimer) clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    saveTimer = null;
    const e = engine;
    if (!e) return;
    savePromise = saveToIndexedDb(e.saved()).catch((err) =>
      set({ message: { kind: 'warning', text: `could not autosave the memory to IndexedDB: ${errorText(err)}` } }),
    );
  }, 150);
}
/** Resolves when pending autosaves are written (test API). */
export async function flushSave(): Promise<void> {
  while (saveTimer) await new Promise((r) => setTimeout(r, 50));
  await savePromise;
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
  lastFallback: null,
  remember: async (name) => {
    const { input } = get();
    if (!engine) return false;
    if (!input) {
      set({ message: { kind: 'error', text: 'draw something first: an empty canvas cannot be remembered' } });
      return false;
    }
    if (!name.trim()) {
      set({ message: { kind: 'error', text: 'type a label (or pick a known one) before remembering' } });
      return false;
    }
    set({ busy: true });
    try {
      const r = await engine.remember(input, name);
      set({
        lastWrite: r.write,
        summary: engine.summary(),
        latency: { ...get().latency, encodeMs: r.encodeMs, writeMs: r.writeMs },
        message: { kind: 'info', text: `remembered "${r.write.name}"` },
      });
      scheduleSave(set);
      get().requestPrediction();
      return true;
    } catch (e) {
      set({ message: { kind: 'error', text: errorText(e) } });
      return false;
    } finally {
      set({ busy: false });
    }
  },
  renameLabel: (id, name) => {
    try {
      getEngine().renameLabel(id, name);
      set({ summary: getEngine().summary(), message: { kind: 'info', text: `renamed to "${name.trim()}"` } });
      scheduleSave(set);
      get().requestPrediction();
    } catch (e) {
      set({ message: { kind: 'error', text: errorText(e) } });
    }
  },
  deleteLabel: async (id) => {
    try {
      const name = getEngine().labelName(id);
      await getEngine().deleteLabel(id);
      set({ summary: getEngine().summary(), lastWrite: null, message: { kind: 'info', text: `deleted "${name}" and freed its slots` } });
      scheduleSave(set);
      get().requestPrediction();
    } catch (e) {
      set({ message: { kind: 'error', text: errorText(e) } });
    }
  },
  clearMemory: async () => {
    await getEngine().clear();
    set({ summary: getEngine().summary(), lastWrite: null, prediction: null, message: { kind: 'info', text: 'the memory is empty' } });
    scheduleSave(set);
    get().requestPrediction();
  },
  exportText: () => JSON.stringify(toFile(getEngine().saved())),
  importText: async (text) => {
    const e = getEngine();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      set({ message: { kind: 'error', text: `import refused, the memory is unchanged: the file is not JSON (${errorText(err)})` } });
      return false;
    }
    try {
      const saved = fromFile(data, e.keySize);
      await e.restore(saved);
    } catch (err) {
      set({ message: { kind: 'error', text: `import refused, the memory is unchanged: ${errorText(err)}` } });
      return false;
    }
    set({ summary: e.summary(), settings: { ...e.settings }, lastWrite: null, message: { kind: 'info', text: 'memory imported' } });
    scheduleSave(set);
    get().requestPrediction();
    return true;
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
    set({ busy: true });
    try {
      await engine.applySettings(next);
      set({ settings: { ...engine.settings }, summary: engine.summary(), backend: engine.backend, message: null });
      scheduleSave(set);
      get().requestPrediction();
    } catch (e) {
      set({ settings: { ...engine.settings }, message: { kind: 'error', text: `settings not applied: ${errorText(e)}` } });
    } finally {
      set({ busy: false });
    }
  },
});

const uiSlice: Slice<UiSlice> = (set, get) => ({
  ready: false,
  busy: false,
  tab: 'draw',
  message: null,
  setTab: (tab) => set({ tab }),
  setMessage: (message) => set({ message }),
  start: async (force) => {
    try {
      let saved: ReturnType<typeof fromFile> | null = null;
      let savedError: string | null = null;
      const raw = await loadFromIndexedDb().catch(() => undefined);
      const settings = { ...get().settings };
      if (raw && typeof raw === 'object') {
        const s = (raw as { settings?: Partial<Settings> }).settings;
        if (s && typeof s === 'object') Object.assign(settings, { backend: s.backend ?? settings.backend });
      }
      let e: Engine;
      let fallbackNote: string | null = null;
      try {
        e = await Engine.start(settings, force);
      } catch (err) {
        // a saved backend choice that no longer works here (e.g. WebGPU gone): start on the best one
        if (force || settings.backend === 'auto') throw err;
        fallbackNote = `the saved backend choice ${settings.backend} could not start (${errorText(err)}); using the best available one`;
        e = await Engine.start({ ...settings, backend: 'auto' });
      }
      if (raw !== undefined) {
        try {
          saved = fromFile(raw, e.keySize);
          await e.restore(saved);
        } catch (err) {
          savedError = errorText(err);
        }
      }
      e.onFallback = (from, to, reason) => {
        set({
          backend: to,
          summary: e.summary(),
          lastFallback: `${reason}; moved from ${from} to ${to.name}, the memory was kept`,
          message: { kind: 'warning', text: `${from} stopped working (${reason}). Now running on ${to.name}; your memory was kept.` },
        });
        get().requestPrediction();
      };
      engine = e;
      const skipped = e.backend.skipped.filter((s) => s.reason !== 'it failed earlier in this session');
      set({
        ready: true,
        settings: { ...e.settings },
        backend: e.backend,
        summary: e.summary(),
        message: savedError
          ? { kind: 'warning', text: `the saved memory could not be restored (${savedError}); starting empty` }
          : fallbackNote
            ? { kind: 'warning', text: fallbackNote }
          : skipped.length && !force
            ? { kind: 'info', text: `running on ${e.backend.name}; ${skipped.map((s) => `${s.name} skipped: ${s.reason}`).join('; ')}` }
            : null,
      });
    } catch (err) {
      set({ message: { kind: 'error', text: `Memory Lab could not start: ${errorText(err)}` } });
    }
  },
});

export const useApp = create<AppState>()((...a) => ({
  ...drawingSlice(...a),
  ...predictionSlice(...a),
  ...memorySlice(...a),
  ...settingsSlice(...a),
  ...uiSlice(...a),
}));
