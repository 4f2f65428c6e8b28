// App-side start of TensorFlow.js: registers the backends, tells the WASM backend where its
// binaries are served (vite.config.ts serves them at /tfjs-wasm/), and honours ?backend=.
// Temporary until src/backend/ (the shared selector) lands; then this delegates to it.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

setWasmPaths(`${import.meta.env.BASE_URL}tfjs-wasm/`);

export function backendFromUrl(search: string = location.search): BackendName | undefined {
  const v = new URLSearchParams(search).get('backend');
  return (BACKENDS as readonly string[]).includes(v ?? '') ? (v as BackendName) : undefined;
}

export interface BackendReport {
  name: string;
  skipped: { name: BackendName; reason: string }[];
}

export async function startBackend(forced?: BackendName): Promise<BackendReport> {
  const order: BackendName[] = forced ? [forced] : [...BACKENDS];
  const skipped: BackendReport['skipped'] = [];
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { name: tf.getBackend(), skipped };
      }
      skipped.push({ name, reason: 'initialisation returned false' });
    } catch (e) {
      skipped.push({ name, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
