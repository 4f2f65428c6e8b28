// App-side start of TensorFlow.js over the shared selector (src/backend): the WASM binaries are
// served by vite.config.ts at /tfjs-wasm/, and ?backend= forces one backend.
import * as tf from '@tensorflow/tfjs';
import { BACKEND_ORDER, selectBackend, type BackendName } from '../backend';

export type { BackendName };
export const BACKENDS: readonly BackendName[] = BACKEND_ORDER;
const WASM_PATHS = `${import.meta.env.BASE_URL}tfjs-wasm/`;

export function backendFromUrl(search: string = location.search): BackendName | undefined {
  const v = new URLSearchParams(search).get('backend');
  return (BACKENDS as readonly string[]).includes(v ?? '') ? (v as BackendName) : undefined;
}

export interface BackendReport {
  name: string;
  skipped: { name: BackendName; reason: string }[];
}

/** Start `forced`, or the first that works in WebGPU -> WebGL -> WASM -> CPU order minus `exclude`. */
export async function startBackend(forced?: BackendName, exclude: string[] = []): Promise<BackendReport> {
  const order = BACKEND_ORDER.filter((b) => !exclude.includes(b));
  const sel = await selectBackend({ force: forced, order, wasmPaths: WASM_PATHS });
  return {
    name: sel.backend,
    skipped: [
      ...exclude.filter((b): b is BackendName => (BACKENDS as readonly string[]).includes(b)).map((name) => ({ name, reason: 'it failed earlier in this session' })),
      ...sel.attempts.filter((a) => a.skipped !== undefined).map((a) => ({ name: a.backend, reason: a.skipped! })),
    ],
  };
}

/**
 * Call `cb` once if the running backend's device is lost (WebGPU: GPUDevice.lost). Returns an
 * unsubscribe function. Other backends have no such event.
 */
export function onBackendLost(cb: (reason: string) => void): () => void {
  let active = true;
  if (tf.getBackend() === 'webgpu') {
    const device = (tf.backend() as unknown as { device?: GPUDeviceLike }).device;
    device?.lost?.then((info) => {
      if (active) cb(`the WebGPU device was lost (${info.reason ?? 'unknown'}${info.message ? `: ${info.message}` : ''})`);
    });
  }
  return () => {
    active = false;
  };
}

interface GPUDeviceLike {
  lost?: Promise<{ reason?: string; message?: string }>;
  destroy?: () => void;
}

/** Test hook: destroy the WebGPU device as a driver reset would. Returns false on other backends. */
export function destroyBackendDevice(): boolean {
  if (tf.getBackend() !== 'webgpu') return false;
  const device = (tf.backend() as unknown as { device?: GPUDeviceLike }).device;
  if (!device?.destroy) return false;
  device.destroy();
  return true;
}
