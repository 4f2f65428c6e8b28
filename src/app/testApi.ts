/**
 * A small test API on window for Playwright and the benchmark: read the memory state, wait for
 * autosave, simulate a lost GPU device. Plain data only.
 */
import type { StrokePoint } from '../strokes';
import { flushSave, getEngine, predictionPhases, useApp } from './store';
import { destroyBackendDevice } from './tfjsBackend';
import type { PredictionView, Settings, WriteView } from './types';

export interface MemoryLabTestApi {
  ready(): boolean;
  state(): {
    backend: string | null;
    /** the memory's lookup engine ('webgpu', 'wasm-simd', 'tfjs-matmul', 'lsh') */
    lookup: string | null;
    size: number;
    filled: number;
    values: number[];
    ages: number[];
    labels: { id: number; name: string; count: number }[];
    lastWrite: WriteView | null;
    prediction: PredictionView | null;
    predictionSeq: number;
    strokes: number;
    settings: Settings;
    latency: { encodeMs: number | null; queryMs: number | null; writeMs: number | null };
    /** the encoder in use and the ones shipped (models/encoders.json) */
    encoder: string | null;
    encoders: string[];
  };
  flushSave(): Promise<void>;
  exportText(): string;
  importText(text: string): Promise<boolean>;
  setStrokes(strokes: StrokePoint[][]): void;
  /** Remember the current drawing under `label`, as the button does (false: refused, see the message) */
  remember(label: string): Promise<boolean>;
  lastPredictionLatencyMs(): number | null;
  /** stamps of the last stroke-end -> prediction phases (performance.now()) */
  predictionPhases(): typeof predictionPhases;
  simulateDeviceLost(): boolean;
}

declare global {
  interface Window {
    __memoryLab?: MemoryLabTestApi;
  }
}

export function installTestApi(): void {
  window.__memoryLab = {
    ready: () => useApp.getState().ready,
    state: () => {
      const s = useApp.getState();
      const sum = s.summary;
      return {
        backend: s.backend?.name ?? null,
        lookup: sum?.lookup ?? null,
        size: sum?.size ?? 0,
        filled: sum?.filled ?? 0,
        values: sum ? Array.from(sum.values) : [],
        ages: sum ? Array.from(sum.ages) : [],
        labels: sum?.labels ?? [],
        lastWrite: s.lastWrite,
        prediction: s.prediction,
        predictionSeq: s.predictionSeq,
        strokes: s.strokes.length,
        settings: s.settings,
        latency: s.latency,
        encoder: s.encoder,
        encoders: s.encoders.map((e) => e.name),
      };
    },
    flushSave,
    exportText: () => getEngine() && useApp.getState().exportText(),
    importText: (t) => useApp.getState().importText(t),
    setStrokes: (s) => useApp.getState().setStrokes(s, true),
    remember: (label) => useApp.getState().remember(label),
    lastPredictionLatencyMs: () => useApp.getState().lastPredictionLatencyMs,
    predictionPhases: () => ({ ...predictionPhases }),
    simulateDeviceLost: destroyBackendDevice,
  };
}
