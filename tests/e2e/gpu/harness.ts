/// <reference types="@webgpu/types" />
/**
 * In-page checks of the WebGPU lookup (src/memory/webgpuLookup.ts) against the CPU reference (the
 * WASM SIMD scan over the same mirror), for tests/e2e/webgpuLookup.spec.ts. Each function returns
 * plain data; the spec asserts on it. Served by the dev server (vite) as /tests/e2e/gpu/harness.html.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { KeyValueMemory } from '../../../src/memory';
import { mulberry32 } from '../../../src/memory/random';
import { SimdScanLookup } from '../../../src/memory/simdScan';
import { WebGpuLookup, type GpuTopK } from '../../../src/memory/webgpuLookup';
import type { Ranked } from '../../../src/memory/ranking';

const D = 128;

function unitRows(seed: number, count: number, d = D): Float32Array[] {
  const r = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const v = new Float32Array(d);
    let ss = 0;
    for (let i = 0; i < d; i++) ss += (v[i] = r() * 2 - 1) ** 2;
    for (let i = 0; i < d; i++) v[i] /= Math.sqrt(ss);
    return v;
  });
}

/** How a GPU result differs from the CPU one: rows with other indices, the largest similarity gap. */
export interface Diff {
  rows: number;
  lengths: number[];
  indexMismatches: number;
  maxSimDiff: number;
  /** the first row that differs: its first 4 neighbours on each side (for the failure message) */
  firstMismatch: { row: number; gpu: number[]; cpu: number[]; gpuSims: number[]; cpuSims: number[] } | null;
}

function diff(gpu: { indices: ArrayLike<number>[]; sims: ArrayLike<number>[] }, cpu: { indices: ArrayLike<number>[]; sims: ArrayLike<number>[] }): Diff {
  let indexMismatches = 0;
  let maxSimDiff = 0;
  let firstMismatch: Diff['firstMismatch'] = null;
  gpu.indices.forEach((idx, r) => {
    if (idx.length !== cpu.indices[r].length || Array.from(idx).some((x, j) => x !== cpu.indices[r][j])) {
      indexMismatches++;
      const head = (a: ArrayLike<number>) => Array.from(a).slice(0, 4);
      firstMismatch ??= { row: r, gpu: head(idx), cpu: head(cpu.indices[r]), gpuSims: head(gpu.sims[r]), cpuSims: head(cpu.sims[r]) };
    }
    for (let j = 0; j < Math.min(idx.length, cpu.indices[r].length); j++) maxSimDiff = Math.max(maxSimDiff, Math.abs(gpu.sims[r][j] - cpu.sims[r][j]));
  });
  return { rows: gpu.indices.length, lengths: gpu.indices.map((x) => x.length), indexMismatches, maxSimDiff, firstMismatch };
}

const ofRanked = (r: Ranked[]) => ({ indices: r.map((x) => x.indices), sims: r.map((x) => x.sims) });

async function start(): Promise<void> {
  await tf.setBackend('webgpu');
  await tf.ready();
}

const tfDevice = () => (tf.backend() as unknown as { device: GPUDevice }).device;

/**
 * Through the memory on tfjs's device: random writes into a memory with empty slots left,
 * k > filled, a batch of queries, duplicate keys (ties), a query tensor already on the GPU.
 */
async function memoryParity(): Promise<Record<string, unknown>> {
  await start();
  const out: Record<string, unknown> = {};
  const m = KeyValueMemory.create({ memorySize: 2500, keySize: D, k: 256, storage: 'webgpu', seed: 3 });
  try {
    out.engine = m.lookupEngine;
    const empty = await m.queryAsync(unitRows(1, 1));
    out.emptyMemory = { indices: empty.indices[0].length, prediction: empty.prediction[0] };
    // 9 filled slots, k = 256 > filled
    m.write(unitRows(2, 9), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const q1 = unitRows(3, 3);
    out.kAboveFilled = diff(...pair(await m.queryAsync(q1), m.query(q1)));
    // random writes: ~1800 of 2500 slots filled (empty slots remain), then a batch of 5
    const keys = unitRows(4, 1800);
    for (let i = 0; i < keys.length; i += 100) m.write(keys.slice(i, i + 100), keys.slice(i, i + 100).map((_, j) => (i + j) % 37));
    out.filled = m.filledCount;
    const q2 = [...unitRows(5, 4), keys[17]];
    out.batch = diff(...pair(await m.queryAsync(q2), m.query(q2)));
    // ties: the same key stored in two slots (two new labels, so the second is a 'new' write too) -> lower index first
    const dup = unitRows(6, 1)[0];
    const w1 = m.write([dup], [1000])[0].slot;
    const w2 = m.write([dup], [1001])[0].slot;
    const t = await m.queryAsync([dup]);
    out.tie = { first: t.indices[0].slice(0, 2), slots: [w1, w2].sort((a, b) => a - b), sims: t.similarities[0].slice(0, 2) };
    // the query as a tensor on the GPU (an encoder output): no CPU copy, same neighbours
    const qt = tf.tensor2d(q2.map((r) => Array.from(r)));
    const before = tf.memory().numTensors;
    out.tensor = diff(...pair(await m.queryAsync(qt), m.query(q2)));
    out.tensorLeak = tf.memory().numTensors - before;
    qt.dispose();
    const zero = tf.zeros([1, D]) as tf.Tensor2D;
    out.zeroError = await m.queryAsync(zero).then(() => null, (e: Error) => e.message);
    zero.dispose();
  } finally {
    m.dispose();
  }
  return out;
}

function pair(a: { indices: number[][]; similarities: number[][] }, b: { indices: number[][]; similarities: number[][] }) {
  return [
    { indices: a.indices, sims: a.similarities },
    { indices: b.indices, sims: b.similarities },
  ] as const;
}

/**
 * The lookup itself with keys split over 3 buffers (2048 rows each: as a memory larger than one
 * storage binding) and 6 tiles (two merge levels at k = 256), batch 20 (two passes), k = 1 and 256.
 */
async function chunkedParity(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const topK of ['select', 'merge'] as const) out[topK] = await chunkedParityOf(topK);
  return out;
}

async function chunkedParityOf(topK: GpuTopK): Promise<Record<string, unknown>> {
  await start();
  const n = 5500;
  const cpu = new SimdScanLookup(n, D);
  const gpu = new WebGpuLookup(cpu, cpu.keys, n, D, tfDevice(), { rowsPerChunk: 2048, topK });
  try {
    const keys = unitRows(7, n);
    const r = mulberry32(8);
    let filled = 0;
    keys.forEach((k, i) => {
      if (r() < 0.8) {
        cpu.keys.set(k, i * D);
        gpu.setSlot(i, true);
        filled++;
      }
    });
    gpu.commit();
    const q = new Float32Array(20 * D);
    unitRows(9, 20).forEach((row, i) => q.set(row, i * D));
    const out: Record<string, unknown> = { chunks: gpu.chunkCount, filled };
    for (const k of [1, 256]) out[`k${k}`] = diff(ofRanked(await gpu.searchAsync(q, 20, k)), ofRanked(gpu.search(q, 20, k)));
    // a slot emptied and one rewritten: row-by-row updates reach the GPU
    gpu.setSlot(0, false);
    cpu.keys.set(keys[1], 4100 * D);
    gpu.setSlot(4100, true);
    out.afterWrites = diff(ofRanked(await gpu.searchAsync(q, 20, 256)), ofRanked(gpu.search(q, 20, 256)));
    out.passes = { ...gpu.passes };
    return out;
  } finally {
    gpu.dispose();
  }
}

/** Both top-k paths with a key size that is not a multiple of 16 (20: the score kernel's one-thread-per-row form). */
async function oddKeySize(): Promise<Record<string, unknown>> {
  await start();
  const n = 3000;
  const d = 20;
  const out: Record<string, unknown> = {};
  for (const topK of ['select', 'merge'] as const) {
    const cpu = new SimdScanLookup(n, d);
    const gpu = new WebGpuLookup(cpu, cpu.keys, n, d, tfDevice(), { topK });
    try {
      unitRows(30, n, d).forEach((k, i) => {
        if (i % 3 !== 0) {
          cpu.keys.set(k, i * d);
          gpu.setSlot(i, true);
        }
      });
      gpu.commit();
      const q = new Float32Array(4 * d);
      unitRows(31, 4, d).forEach((row, i) => q.set(row, i * d));
      out[topK] = { ...diff(ofRanked(await gpu.searchAsync(q, 4, 64)), ofRanked(gpu.search(q, 4, 64))), passes: { ...gpu.passes } };
    } finally {
      gpu.dispose();
    }
  }
  return out;
}

/**
 * The select path's overflow: 1,500 slots hold the same key, so a query near it finds them all in
 * one histogram bin, more candidates than one workgroup sorts; the pass is answered again by the
 * merge path and stays exact (ties to the lower index). A query elsewhere stays on the select path.
 */
async function selectOverflow(): Promise<Record<string, unknown>> {
  await start();
  const n = 3000;
  const cpu = new SimdScanLookup(n, D);
  const gpu = new WebGpuLookup(cpu, cpu.keys, n, D, tfDevice());
  try {
    const same = unitRows(20, 1)[0];
    unitRows(21, n).forEach((k, i) => {
      cpu.keys.set(i % 2 === 0 ? same : k, i * D);
      gpu.setSlot(i, true);
    });
    gpu.commit();
    const near = new Float32Array(same);
    const other = unitRows(22, 1)[0];
    const crowded = diff(ofRanked(await gpu.searchAsync(near, 1, 256)), ofRanked(gpu.search(near, 1, 256)));
    const afterCrowded = { ...gpu.passes };
    const spread = diff(ofRanked(await gpu.searchAsync(other, 1, 256)), ofRanked(gpu.search(other, 1, 256)));
    return { crowded, afterCrowded, spread, passes: { ...gpu.passes } };
  } finally {
    gpu.dispose();
  }
}

/** dispose() destroys every GPU buffer the lookup made. */
async function disposeDestroys(): Promise<Record<string, unknown>> {
  await start();
  const device = tfDevice();
  const made: { label: string; destroyed: boolean }[] = [];
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor) => {
    const buf = create(desc);
    if (!String(desc.label ?? '').startsWith('memory')) return buf;
    const rec = { label: String(desc.label), destroyed: false };
    made.push(rec);
    const destroy = buf.destroy.bind(buf);
    buf.destroy = () => {
      rec.destroyed = true;
      destroy();
    };
    return buf;
  };
  try {
    const m = KeyValueMemory.create({ memorySize: 3000, keySize: D, k: 16, storage: 'webgpu' });
    m.write(unitRows(10, 50), Array.from({ length: 50 }, (_, i) => i));
    await m.queryAsync(unitRows(11, 2));
    const liveBefore = made.filter((b) => !b.destroyed).length;
    m.dispose();
    return { made: made.length, liveBefore, liveAfter: made.filter((b) => !b.destroyed).map((b) => b.label) };
  } finally {
    device.createBuffer = create;
  }
}

/** The device is lost: the memory keeps its content and answers (from the CPU mirror); a rebuild on a new device answers on the GPU again. */
async function deviceLoss(): Promise<Record<string, unknown>> {
  await start();
  const n = 1500;
  const cpu = new SimdScanLookup(n, D);
  const gpu = new WebGpuLookup(cpu, cpu.keys, n, D, tfDevice());
  const m = KeyValueMemory.create({ memorySize: 600, keySize: D, k: 32, storage: 'webgpu' });
  try {
    unitRows(12, 1000).forEach((k, i) => {
      cpu.keys.set(k, i * D);
      gpu.setSlot(i, true);
    });
    const keys = unitRows(13, 400);
    m.write(keys, keys.map((_, i) => i)); // 400 new labels: 400 filled slots
    const q = new Float32Array(2 * D);
    unitRows(14, 2).forEach((row, i) => q.set(row, i * D));
    const qs = unitRows(14, 2);
    const before = await m.queryAsync(qs);
    const engineBefore = m.lookupEngine;
    const device = tfDevice();
    device.destroy();
    await device.lost;
    const after = await m.queryAsync(qs);
    m.write(unitRows(15, 1), [99]); // writes go on
    const afterWrite = await m.queryAsync(qs);
    const lostSearch = diff(ofRanked(await gpu.searchAsync(q, 2, 64)), ofRanked(cpu.search(q, 2, 64)));
    const engineLost = gpu.engine;
    const adapter = await navigator.gpu.requestAdapter();
    const fresh = await adapter!.requestDevice();
    gpu.rebuild(fresh);
    const rebuilt = diff(ofRanked(await gpu.searchAsync(q, 2, 64)), ofRanked(cpu.search(q, 2, 64)));
    const engineRebuilt = gpu.engine;
    fresh.destroy();
    return {
      engineBefore,
      engineAfter: m.lookupEngine,
      filled: m.filledCount,
      sameAnswer: diff(...pair(after, before)),
      afterWrite: diff(...pair(afterWrite, m.query(qs))),
      lostSearch,
      engineLost,
      rebuilt,
      engineRebuilt,
    };
  } finally {
    gpu.dispose();
    m.dispose();
  }
}

declare global {
  interface Window {
    gpuHarness?: Record<string, () => Promise<Record<string, unknown>>>;
  }
}

window.gpuHarness = { memoryParity, chunkedParity, selectOverflow, oddKeySize, disposeDestroys, deviceLoss };
