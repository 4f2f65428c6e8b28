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

/**
 * Start `forced`, or the first that works in WebGPU -> WebGL -> WASM -> CPU order minus `exclude`;
 * an automatic choice that lands on a software GPU (SwiftShader, llvmpipe...: 40-200 ms per drawing
 * against ~3 ms on WASM) moves to WASM and says why.
 */
export async function startBackend(forced?: BackendName, exclude: string[] = []): Promise<BackendReport> {
  const order = BACKEND_ORDER.filter((b) => !exclude.includes(b));
  let sel = await selectBackend({ force: forced, order, wasmPaths: WASM_PATHS });
  const softwareSkip: { name: BackendName; reason: string }[] = [];
  if (!forced && (sel.backend === 'webgl' || sel.backend === 'webgpu') && !exclude.includes('wasm')) {
    const renderer = await softwareRenderer(sel.backend).catch(() => null);
    if (renderer) {
      const gpu = sel;
      try {
        sel = await selectBackend({ force: 'wasm', wasmPaths: WASM_PATHS });
        softwareSkip.push({
          name: gpu.backend,
          reason: `it runs on a software renderer (${renderer}), which is slower than WebAssembly on the processor for this network`,
        });
        sel = { ...sel, attempts: [...gpu.attempts.filter((a) => a.skipped !== undefined), ...sel.attempts] };
      } catch {
        sel = await selectBackend({ force: gpu.backend, wasmPaths: WASM_PATHS }); // WASM cannot start: keep the GPU one
      }
    }
  }
  return {
    name: sel.backend,
    skipped: [
      ...exclude.filter((b): b is BackendName => (BACKENDS as readonly string[]).includes(b)).map((name) => ({ name, reason: 'it failed earlier in this session' })),
      ...sel.attempts.filter((a) => a.skipped !== undefined).map((a) => ({ name: a.backend, reason: a.skipped! })),
      ...softwareSkip,
    ],
  };
}

const SOFTWARE = /swiftshader|llvmpipe|softpipe|lavapipe|software|basic render|microsoft basic/i;

/** The renderer's name when `backend` runs on a software (CPU-emulated) GPU, else null. */
export async function softwareRenderer(backend: 'webgl' | 'webgpu'): Promise<string | null> {
  if (backend === 'webgl') {
    const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return SOFTWARE.test(renderer) ? renderer : null;
  }
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  if (adapter.isFallbackAdapter || SOFTWARE.test(text)) return text || 'a fallback adapter';
  return null;
}

interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}

/** A backend's name in plain words, for the status line. */
export function backendInWords(name: string): string {
  switch (name) {
    case 'webgpu':
      return 'the graphics card (WebGPU)';
    case 'webgl':
      return 'the graphics card (WebGL)';
    case 'wasm':
      return 'the processor (WebAssembly)';
    case 'cpu':
      return 'the processor (plain JavaScript, slow)';
    default:
      return name;
  }
}

/** Which engine finds the memory's neighbours (KeyValueMemory.lookupEngine), in plain words, for the status line. */
export function lookupInWords(engine: string): string {
  if (engine === 'webgpu') return 'the graphics card (a WebGPU kernel over the keys kept on it)';
  if (engine.startsWith('wasm-simd')) {
    return `the processor (a WebAssembly SIMD scan)${/device lost/.test(engine) ? ', since the graphics card was lost' : ''}`;
  }
  if (engine === 'tfjs-matmul') return 'the TensorFlow.js backend (a matrix product and top-k)';
  if (engine === 'lsh') return 'the processor (LSH buckets, then an exact re-ranking)';
  return engine;
}

/** Why a backend was skipped, in plain words (the raw reason goes in the details). */
export function skipInWords(name: string, reason: string): string {
  const what = name === 'webgpu' ? 'WebGPU' : name === 'webgl' ? 'WebGL' : name === 'wasm' ? 'WebAssembly' : name;
  if (/software renderer/.test(reason)) return `${what} was not used: this computer draws its graphics in software, and WebAssembly is faster here.`;
  if (/failed earlier/.test(reason)) return `${what} stopped working earlier in this session.`;
  if (/navigator\.gpu|returned false|not available|no document/.test(reason)) return `${what} is not available in this browser.`;
  return `${what} could not start here.`;
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
