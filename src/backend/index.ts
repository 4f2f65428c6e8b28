/**
 * TensorFlow.js backend selection: WebGPU, then WebGL, then WASM, then CPU.
 *
 * `selectBackend()` tries each candidate in order, stops at the first that initialises and runs
 * a tiny probe op, and reports which backend runs and why each earlier one was skipped. In Node
 * WebGPU and WebGL are skipped (no `navigator.gpu`, no WebGL context) and WASM is used; the wasm
 * binaries are found on disk through `wasmPaths` (a directory path ending in '/'), while the
 * browser passes a URL prefix (e.g. `${import.meta.env.BASE_URL}tfjs-wasm/`).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export const BACKEND_ORDER = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

export interface BackendAttempt {
  backend: BackendName;
  /** Why this backend was not used; absent for the one that runs. */
  skipped?: string;
}

export interface BackendSelection {
  /** The backend tfjs now runs on. */
  backend: BackendName;
  /** Every backend tried, in order, the last one being the one that runs. */
  attempts: BackendAttempt[];
}

export interface SelectBackendOptions {
  /** Use only this backend (no fallback); throws if it cannot start. */
  force?: BackendName;
  /**
   * Where the tfjs-backend-wasm binaries live: a URL prefix in the browser, a directory path
   * (ending in '/') in Node. Defaults to node_modules/@tensorflow/tfjs-backend-wasm/dist/ in Node;
   * in the browser without it tfjs fetches them next to its own script.
   */
  wasmPaths?: string;
  /** Candidates to try, in order (default: WebGPU, WebGL, WASM, CPU). */
  order?: readonly BackendName[];
}

export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

/** The default directory of the wasm binaries in Node (resolved from this package's location). */
export async function defaultNodeWasmPaths(): Promise<string> {
  const { createRequire } = await import('node:module');
  const path = await import('node:path');
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@tensorflow/tfjs-backend-wasm');
  // entry is .../tfjs-backend-wasm/dist/index.js (or a file beside it)
  return path.dirname(entry) + path.sep;
}

/** A reason why `name` cannot run here, or null when it is worth trying. */
function precheck(name: BackendName): string | null {
  const g = globalThis as { navigator?: { gpu?: unknown }; document?: unknown; OffscreenCanvas?: unknown };
  if (name === 'webgpu' && !g.navigator?.gpu) return 'navigator.gpu is not available (no WebGPU in this environment)';
  if (name === 'webgl' && g.document === undefined && g.OffscreenCanvas === undefined) {
    return 'no document or OffscreenCanvas (no WebGL context in this environment)';
  }
  if (tf.findBackendFactory(name) === null) return `the ${name} backend is not registered`;
  return null;
}

let wasmPathsSet: string | null = null;

async function tryBackend(name: BackendName, opts: SelectBackendOptions): Promise<string | null> {
  const why = precheck(name);
  if (why !== null) return why;
  try {
    if (name === 'wasm') {
      const prefix = opts.wasmPaths ?? (isNode() ? await defaultNodeWasmPaths() : undefined);
      if (prefix !== undefined && prefix !== wasmPathsSet) {
        setWasmPaths(prefix);
        wasmPathsSet = prefix;
      }
    }
    const ok = await tf.setBackend(name);
    if (!ok) return `tf.setBackend('${name}') returned false (initialisation failed)`;
    await tf.ready();
    // A probe op: a backend can initialise yet fail on first use (e.g. a lost GPU device).
    // Read back asynchronously: WebGPU's synchronous read is slow, and zeros under SwiftShader.
    const product = tf.tidy(() => tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])));
    const probe = await product.data().finally(() => product.dispose());
    if (probe[0] !== 2) return `probe matMul returned ${probe[0]}, expected 2`;
    return null;
  } catch (e) {
    return `initialisation threw: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/**
 * Select the fastest working tfjs backend (WebGPU -> WebGL -> WASM -> CPU), or `force` one.
 * Resolves with the backend that runs and the reasons earlier candidates were skipped.
 */
export function selectBackend(opts: SelectBackendOptions = {}): Promise<BackendSelection> {
  if (opts.force !== undefined && !BACKEND_ORDER.includes(opts.force)) {
    return Promise.reject(new Error(`expected a backend among ${BACKEND_ORDER.join(', ')}, got '${String(opts.force)}'`));
  }
  // One selection at a time: tfjs has one global engine, and two interleaved initialisations of
  // the same backend (e.g. React StrictMode running the app's start-up effect twice in dev) make
  // tf.setBackend fail. Each call waits for the previous one to settle.
  const run = selectionQueue.then(() => selectNow(opts));
  selectionQueue = run.catch(() => undefined);
  return run;
}

let selectionQueue: Promise<unknown> = Promise.resolve();

async function selectNow(opts: SelectBackendOptions): Promise<BackendSelection> {
  const order = opts.force !== undefined ? [opts.force] : (opts.order ?? BACKEND_ORDER);
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    const skipped = await tryBackend(name, opts);
    if (skipped === null) {
      attempts.push({ backend: name });
      return { backend: name, attempts };
    }
    attempts.push({ backend: name, skipped });
  }
  const detail = attempts.map((a) => `${a.backend}: ${a.skipped}`).join('; ');
  throw new Error(`no tfjs backend could start (${detail})`);
}

/** One line for logs and the app header, e.g. "wasm (webgpu: navigator.gpu is not available; ...)". */
export function describeSelection(sel: BackendSelection): string {
  const skipped = sel.attempts.filter((a) => a.skipped !== undefined);
  if (skipped.length === 0) return sel.backend;
  return `${sel.backend} (${skipped.map((a) => `${a.backend}: ${a.skipped}`).join('; ')})`;
}
