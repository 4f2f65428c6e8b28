/**
 * State of the Benchmark view (zustand, plain serialisable data). The run itself (encoder,
 * memories, tensors) lives in runBenchmarkInPage() below and only reports into the store, so a
 * run keeps going, and its result stays, when the user switches tabs.
 */
import * as tf from '@tensorflow/tfjs';
import { create } from 'zustand';
import { Encoder } from '../../encoder';
import {
  benchmarkConfigProblem,
  defaultConfig,
  quickConfig,
  resultsToMarkdown,
  runBenchmark,
  testSetCaveat,
  type BenchmarkConfig,
  type BenchmarkResults,
} from '../../eval/benchmark';
import { OMNIGLOT_EVALUATION_URL, parseSplit, readOmniglotZip, type OmniglotSet, type SplitClass } from '../../eval/omniglot';
import { encoderModelUrl } from '../../encoder';
import { MODELS_BASE } from '../engine';
import { encoderEntryInUse, useApp } from '../store';

export type RunStatus = 'idle' | 'loading' | 'running' | 'done' | 'error' | 'cancelled';

export interface DatasetInfo {
  source: string;
  characters: number;
  alphabets: number;
  drawings: number;
  /** why its scores are not comparable with the published ones (testSetCaveat; null: they are) */
  caveat: string | null;
}

export interface BenchmarkOptions {
  episodes: number;
  pixelsBaseline: boolean;
  /** at most this many drawings per class (20 = all of Omniglot's) */
  drawingsPerClass: number;
  /** full protocol sizes (the CLI's defaults) instead of the quick ones */
  full: boolean;
}

export interface BenchmarkState {
  status: RunStatus;
  error: string | null;
  dataset: DatasetInfo | null;
  split: { source: string; classes: number } | null;
  options: BenchmarkOptions;
  stage: string;
  done: number;
  total: number;
  results: BenchmarkResults | null;
  markdown: string;
  elapsedS: number;
  setOptions: (o: Partial<BenchmarkOptions>) => void;
  loadZip: (bytes: ArrayBuffer, source: string) => void;
  downloadOfficialZip: () => Promise<void>;
  loadSplit: (text: string, source: string) => void;
  clearSplit: () => void;
  run: () => Promise<void>;
  cancel: () => void;
}

// Not serialisable, so outside the store: the parsed zip and split, and the cancel flag.
let dataset: OmniglotSet | null = null;
let split: { classes: SplitClass[]; source: string } | null = null;
let cancelRequested = false;

const macrotask = () => new Promise<void>((r) => setTimeout(r, 0));

export const useBenchmark = create<BenchmarkState>()((set, get) => ({
  status: 'idle',
  error: null,
  dataset: null,
  split: null,
  options: { episodes: 100, pixelsBaseline: true, drawingsPerClass: 20, full: false },
  stage: '',
  done: 0,
  total: 0,
  results: null,
  markdown: '',
  elapsedS: 0,

  setOptions: (o) => set({ options: { ...get().options, ...o } }),

  loadZip: (bytes, source) => {
    if (get().status === 'running') return;
    try {
      const d = readOmniglotZip(new Uint8Array(bytes), source);
      dataset = d;
      set({
        dataset: {
          source,
          characters: d.characters.length,
          alphabets: d.alphabets.length,
          drawings: d.characters.reduce((n, c) => n + c.drawings.length, 0),
          caveat: testSetCaveat(d.root),
        },
        error: null,
        status: 'idle',
      });
    } catch (err) {
      set({ error: err instanceof Error ? err.message : String(err), status: 'error' });
    }
  },

  downloadOfficialZip: async () => {
    if (get().status === 'running' || get().status === 'loading') return;
    set({ status: 'loading', error: null, stage: `Downloading ${OMNIGLOT_EVALUATION_URL}` });
    try {
      const res = await fetch(OMNIGLOT_EVALUATION_URL);
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
      get().loadZip(await res.arrayBuffer(), OMNIGLOT_EVALUATION_URL);
      if (get().status === 'loading') set({ status: 'idle' });
    } catch (err) {
      set({
        status: 'error',
        error: `could not download ${OMNIGLOT_EVALUATION_URL} (${err instanceof Error ? err.message : String(err)}); offline? Drop images_evaluation.zip instead`,
      });
    }
  },

  loadSplit: (text, source) => {
    try {
      const classes = parseSplit(text, source);
      split = { classes, source };
      set({ split: { source, classes: classes.length }, error: null });
    } catch (err) {
      set({ error: err instanceof Error ? err.message : String(err) });
    }
  },

  clearSplit: () => {
    split = null;
    set({ split: null });
  },

  run: async () => {
    if (get().status === 'running') return;
    if (!dataset) {
      set({ error: 'expected an Omniglot zip first (drop images_evaluation.zip or a zip of the same layout)', status: 'error' });
      return;
    }
    const o = get().options;
    const config: BenchmarkConfig = o.full ? defaultConfig() : quickConfig();
    // refused before anything loads, in the harness's own words
    const problem = benchmarkConfigProblem({ ...config, episodes: o.episodes, drawingsPerClass: o.drawingsPerClass });
    if (problem) {
      set({ error: problem, status: 'error' });
      return;
    }
    config.episodes = o.episodes;
    config.pixelsBaseline = o.pixelsBaseline;
    config.rawPixelsBaseline = false; // a CLI sanity check; it would hold a second copy of every image
    config.drawingsPerClass = o.drawingsPerClass;
    if (!o.full) {
      // quick: online and life-long sized from the episode count, so a tiny run stays tiny
      config.online = { ...config.online, episodes: Math.max(2, Math.ceil(o.episodes / 2)) };
      config.lifelong = { ...config.lifelong, episodes: Math.max(2, Math.ceil(o.episodes * 0.6)), window: Math.max(1, Math.ceil(o.episodes / 10)) };
      // and the learners' curriculum stream too (15 drawings per episode asked, 1500 at most)
      if (config.learners) {
        config.learners = { ...config.learners, curriculum: { ...config.learners.curriculum, length: Math.min(config.learners.curriculum.length, Math.max(60, o.episodes * 15)) } };
      }
    }
    cancelRequested = false;
    set({ status: 'running', error: null, results: null, markdown: '', stage: 'Loading the encoder', done: 0, total: 1, elapsedS: 0 });
    const t0 = performance.now();
    let encoder: Encoder | null = null;
    // a run takes minutes: closing or reloading the page asks first (the browser's own question)
    const askFirst = (e: BeforeUnloadEvent) => e.preventDefault();
    addEventListener('beforeunload', askFirst);
    try {
      await tf.ready();
      // the encoder the app uses (Settings choose it), else the registry's default
      const entry = encoderEntryInUse(useApp.getState());
      encoder = await Encoder.load(encoderModelUrl(entry, MODELS_BASE), { keyShifts: entry.keyShifts });
      const enc = encoder;
      const results = await runBenchmark(
        {
          set: dataset,
          split: split ?? undefined,
          model: entry.folder,
          keyShifts: enc.keyShifts,
          backend: `tfjs ${tf.version.tfjs} ${tf.getBackend()} (browser)`,
          embed: async (pixels, onProgress) => {
            const data = await enc.encode(pixels.data, { batchSize: 64, onProgress });
            return { dim: enc.keySize, count: pixels.count, data };
          },
        },
        config,
        {
          onStage: (stage, total) => set({ stage, total, done: 0, elapsedS: (performance.now() - t0) / 1000 }),
          onProgress: (done, total) => set({ done, total, elapsedS: (performance.now() - t0) / 1000 }),
          tick: macrotask,
          cancelled: () => cancelRequested,
        },
      );
      results.timings.total = (performance.now() - t0) / 1000;
      set({ status: 'done', results, markdown: resultsToMarkdown(results), stage: 'Done', elapsedS: results.timings.total });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (msg === 'cancelled') set({ status: 'cancelled', stage: 'Cancelled' });
      else set({ status: 'error', error: msg });
    } finally {
      removeEventListener('beforeunload', askFirst);
      encoder?.dispose();
    }
  },

  cancel: () => {
    cancelRequested = true;
  },
}));
