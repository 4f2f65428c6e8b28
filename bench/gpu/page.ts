/// <reference types="@webgpu/types" />
/**
 * The in-page side of `npm run bench:gpu` (bench/gpu-bench.ts): for one memory size, the exact
 * lookup's query p50/p95 (batch 1 and 16) and write p50 for (a) the WebGPU kernel
 * (src/memory/webgpuLookup.ts), (b) tfjs matMul + topk on the WebGPU backend, (c) the WASM SIMD
 * scan; and the device's bandwidth from a copy kernel. All memories are full, keys random unit
 * vectors, k = 256, keySize 128. Query times are wall-clock from the call to the k results in JS.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { KeyValueMemory, mulberry32, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, type MemorySnapshot } from '../../src/memory';
import type { Encoder } from '../../src/encoder/encoder';
import { SimdScanLookup } from '../../src/memory/simdScan';
import { WebGpuLookup } from '../../src/memory/webgpuLookup';
import { strokesToInput, type Stroke } from '../../src/strokes';

const D = 128;
const K = 256;

export interface Stats {
  p50: number;
  p95: number;
  n: number;
}
export interface SizeResult {
  n: number;
  gpuB1: Stats;
  gpuB16: Stats;
  gpuWrite: Stats;
  /** the same kernel's merge path alone (tile sorts and merge levels), batch 1 */
  gpuMergeB1: Stats;
  tfjsB1: Stats | string;
  tfjsB16: Stats | string;
  tfjsWrite: Stats | string;
  simdB1: Stats;
  simdB16: Stats;
  simdWrite: Stats;
  /** GPU kernel vs SIMD scan on the bench queries: rows whose top-k indices differ, max |sim diff| */
  parity: { rows: number; mismatches: number; maxSimDiff: number };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
};
const stats = (xs: number[]): Stats => ({ p50: quantile(xs, 0.5), p95: quantile(xs, 0.95), n: xs.length });

async function timeIt(reps: number, f: () => Promise<unknown> | unknown): Promise<Stats> {
  await f(); // warm-up (kernel compilation, buffer growth)
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  return stats(t);
}

function unitRows(r: () => number, count: number, d = D): Float32Array<ArrayBuffer> {
  const out = new Float32Array(count * d);
  for (let i = 0; i < count; i++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += (out[i * d + j] = r() * 2 - 1) ** 2;
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < d; j++) out[i * d + j] *= inv;
  }
  return out;
}

const rowsOf = (flat: Float32Array, b: number) => Array.from({ length: b }, (_, i) => flat.subarray(i * D, (i + 1) * D));

function snapshotOf(n: number, keys: Float32Array<ArrayBuffer>, d = D): MemorySnapshot {
  const values = new Int32Array(n);
  for (let i = 0; i < n; i++) values[i] = i % 1000;
  const ages = new Int32Array(n);
  for (let i = 0; i < n; i++) ages[i] = n - 1 - i;
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    settings: { memorySize: n, keySize: d, k: K, inverseTemperature: 40, alpha: 0.1, ageNoise: 8, seed: 1, lookup: 'exact', lsh: { tables: 32, bits: 10, planes: 64, seed: 1 } },
    keys,
    values,
    ages,
    writeCount: n,
    labelNames: {},
  };
}

const device = () => (tf.backend() as unknown as { device: GPUDevice }).device;

/**
 * Writes of a new label given a query result (the update rule without its lookup: n1 is slot 0,
 * whose label differs, so each is case 2 and goes to the oldest slot), until the row is on the
 * device. The result is made here: a real query on the 'blocked' store would need a synchronous
 * GPU read back, which fails under headless SwiftShader.
 */
async function writes(m: KeyValueMemory, r: () => number, reps: number, gpu: boolean): Promise<Stats> {
  const t: number[] = [];
  for (let i = 0; i < reps + 1; i++) {
    const key = rowsOf(unitRows(r, 1), 1);
    const hint = { indices: [[0]], similarities: [[0]], values: [[m.values[0]]], prediction: [m.values[0]], softmax: [[1]], version: m.version };
    const t0 = performance.now();
    m.write(key, [5000 + i], { queryResult: hint });
    if (gpu) await device().queue.onSubmittedWorkDone();
    if (i > 0) t.push(performance.now() - t0);
  }
  return stats(t);
}

export async function start(): Promise<{ adapter: string; fallback: boolean; maxBinding: number }> {
  await tf.setBackend('webgpu');
  await tf.ready();
  const adapter = await navigator.gpu.requestAdapter();
  const info = (adapter as unknown as { info?: { vendor?: string; architecture?: string; device?: string; description?: string } } | null)?.info;
  const text = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'unknown adapter';
  return { adapter: text, fallback: adapter?.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe/i.test(text), maxBinding: device().limits.maxStorageBufferBindingSize };
}

export async function runSize(n: number, reps: number): Promise<SizeResult> {
  const r = mulberry32(n);
  const keys = unitRows(r, n);
  const q1 = unitRows(r, 1);
  const q16 = unitRows(r, 16);
  const snap = snapshotOf(n, keys);
  // (a) the WebGPU kernel; its synchronous path is (c) the WASM SIMD scan over the same mirror
  const m = KeyValueMemory.create({ memorySize: n, keySize: D, k: K, storage: 'webgpu' });
  m.restore(snap);
  if (m.lookupEngine !== 'webgpu') throw new Error(`expected the webgpu lookup, got ${m.lookupEngine}`);
  const gpuB1 = await timeIt(reps, () => m.queryAsync(rowsOf(q1, 1)));
  const gpuB16 = await timeIt(Math.max(2, Math.ceil(reps / 2)), () => m.queryAsync(rowsOf(q16, 16)));
  const simdB1 = await timeIt(reps, () => m.query(rowsOf(q1, 1)));
  const simdB16 = await timeIt(Math.max(2, Math.ceil(reps / 2)), () => m.query(rowsOf(q16, 16)));
  const a = await m.queryAsync(rowsOf(q16, 16));
  const b = m.query(rowsOf(q16, 16));
  let mismatches = 0, maxSimDiff = 0;
  a.indices.forEach((idx, i) => {
    if (idx.length !== b.indices[i].length || idx.some((x, j) => x !== b.indices[i][j])) mismatches++;
    a.similarities[i].forEach((s, j) => (maxSimDiff = Math.max(maxSimDiff, Math.abs(s - (b.similarities[i][j] ?? Infinity)))));
  });
  const gpuWrite = await writes(m, r, reps, true);
  m.dispose();
  // the merge path alone, on the lookup itself over the same keys
  const cpuM = new SimdScanLookup(n, D);
  cpuM.keys.set(keys);
  const mg = new WebGpuLookup(cpuM, cpuM.keys, n, D, device(), { topK: 'merge' });
  mg.reload(new Uint8Array(n).fill(1));
  mg.commit();
  const gpuMergeB1 = await timeIt(reps, () => mg.searchAsync(q1, 1, K));
  mg.dispose();
  const s = KeyValueMemory.create({ memorySize: n, keySize: D, k: K, storage: 'simd' });
  s.restore(snap);
  const simdWrite = await writes(s, r, reps, false);
  s.dispose();
  // (b) tfjs matMul + topk on the WebGPU backend, results read back asynchronously
  const fail = (e: unknown) => `failed: ${e instanceof Error ? e.message : String(e)}`.slice(0, 200);
  let tfjsB1: Stats | string, tfjsB16: Stats | string, tfjsWrite: Stats | string;
  try {
    const kt = tf.tensor2d(keys, [n, D]);
    const topk = async (q: Float32Array, b: number) => {
      const top = tf.tidy(() => tf.topk(tf.matMul(tf.tensor2d(q, [b, D]), kt, false, true), K, true));
      await Promise.all([top.indices.data(), top.values.data()]);
      top.indices.dispose();
      top.values.dispose();
    };
    tfjsB1 = await timeIt(reps, () => topk(q1, 1));
    tfjsB16 = await timeIt(Math.max(2, Math.ceil(reps / 2)), () => topk(q16, 16));
    kt.dispose();
  } catch (e) {
    tfjsB1 = tfjsB16 = fail(e);
  }
  try {
    // the memory's tfjs key store on GPU backends: 4096-row blocks, a write re-uploads its block
    const bl = KeyValueMemory.create({ memorySize: n, keySize: D, k: K, storage: 'blocked' });
    bl.restore(snap);
    tfjsWrite = await writes(bl, r, reps, true);
    bl.dispose();
  } catch (e) {
    tfjsWrite = fail(e);
  }
  return { n, gpuB1, gpuB16, gpuWrite, gpuMergeB1, tfjsB1, tfjsB16, tfjsWrite, simdB1, simdB16, simdWrite, parity: { rows: a.indices.length, mismatches, maxSimDiff } };
}

/**
 * The app's path from a finished drawing to its prediction, without the UI: synthetic strokes ->
 * raster -> preprocess -> the encoder on the WebGPU backend -> the exact lookup (WebGPU kernel)
 * in a full memory of n slots (random unit keys of the encoder's key size). Wall-clock per drawing.
 */
export async function pipeline(encoder: Encoder, n: number, reps: number): Promise<Stats> {
  const r = mulberry32(7 + n);
  const m = KeyValueMemory.create({ memorySize: n, keySize: encoder.keySize, k: K, storage: 'webgpu' });
  try {
    m.restore(snapshotOf(n, unitRows(r, n, encoder.keySize), encoder.keySize));
    if (m.lookupEngine !== 'webgpu') throw new Error(`expected the webgpu lookup, got ${m.lookupEngine}`);
    const drawing = (): Stroke[] => {
      // two random strokes of 12 points on a 300 px canvas, as a finger draws them
      return [0, 1].map((s) => Array.from({ length: 12 }, (_, i) => ({ x: 60 + 180 * r(), y: 60 + 180 * r(), pressure: 0.5, t: 20 * (12 * s + i) })));
    };
    return await timeIt(reps, async () => {
      const key = await encoder.encode([strokesToInput(drawing())]);
      return m.queryAsync([key]);
    });
  } finally {
    m.dispose();
  }
}

/** Copy kernel over `bytes` (vec4 per thread): bytes read + bytes written per second, GB/s. */
export async function bandwidth(bytes: number, reps: number): Promise<{ bytes: number; gbPerS: number; ms: Stats }> {
  const dev = device();
  const size = Math.min(bytes, dev.limits.maxStorageBufferBindingSize, dev.limits.maxBufferSize) & ~0xffff;
  const src = dev.createBuffer({ size, usage: GPUBufferUsage.STORAGE });
  const dst = dev.createBuffer({ size, usage: GPUBufferUsage.STORAGE });
  const n4 = size / 16;
  const perThread = 4;
  const module = dev.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let stride = nw.x * 256u;
  for (var j = 0u; j < ${perThread}u; j = j + 1u) {
    let i = g.x + j * stride;
    if (i < ${n4}u) { dst[i] = src[i]; }
  }
}`,
  });
  const pipeline = dev.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bind = dev.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }] });
  const groups = Math.ceil(n4 / 256 / perThread);
  const once = async () => {
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(Math.min(groups, dev.limits.maxComputeWorkgroupsPerDimension));
    pass.end();
    dev.queue.submit([enc.finish()]);
    await dev.queue.onSubmittedWorkDone();
  };
  if (groups > dev.limits.maxComputeWorkgroupsPerDimension) throw new Error(`copy kernel: ${groups} workgroups exceed the device limit`);
  const ms = await timeIt(reps, once);
  src.destroy();
  dst.destroy();
  return { bytes: size, gbPerS: (2 * size) / (ms.p50 / 1000) / 1e9, ms };
}

declare global {
  interface Window {
    gpuBench?: { start: typeof start; runSize: typeof runSize; bandwidth: typeof bandwidth };
  }
}
if (typeof window !== 'undefined') window.gpuBench = { start, runSize, bandwidth }; // in Node (bench:gpu --runtime=dawn) the functions are imported
