/** Clustered unit keys for LSH tests and the benchmark (seeded, row-major Float32Array). */
import { mulberry32, normalSampler } from '../../src/memory/random';

export interface Clustered {
  keys: Float32Array; // [n, d]
  labels: Int32Array; // cluster id per key
}

function normalizeRow(a: Float32Array, o: number, d: number): void {
  let ss = 0;
  for (let i = 0; i < d; i++) ss += a[o + i] * a[o + i];
  const inv = 1 / Math.sqrt(ss);
  for (let i = 0; i < d; i++) a[o + i] *= inv;
}

/**
 * n keys in `clusters` clusters: member = normalize(center + spread * g), g ~ N(0, I/d)
 * (cosine to the center ~ 1/sqrt(1 + spread^2); 0.75 -> 0.8).
 */
export function clusteredKeys(n: number, d: number, clusters: number, seed: number, spread = 0.75): Clustered {
  const normal = normalSampler(mulberry32(seed));
  const centers = drawCentres(normal, clusters, d);
  const keys = new Float32Array(n * d);
  const labels = new Int32Array(n);
  const s = spread / Math.sqrt(d);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    labels[i] = c;
    for (let j = 0; j < d; j++) keys[i * d + j] = centers[c * d + j] + s * normal();
    normalizeRow(keys, i * d, d);
  }
  return { keys, labels };
}

function drawCentres(normal: () => number, clusters: number, d: number): Float32Array {
  const centers = new Float32Array(clusters * d);
  for (let i = 0; i < centers.length; i++) centers[i] = normal();
  for (let c = 0; c < clusters; c++) normalizeRow(centers, c * d, d);
  return centers;
}

/**
 * New members of the clusters of clusteredKeys(n, d, clusters, seed, spread): the same centres,
 * fresh noise (seed `querySeed`), so a query is like a new drawing of a stored class, not a stored
 * key plus noise. Query q belongs to cluster labels[q].
 */
export function newMembers(d: number, clusters: number, seed: number, count: number, querySeed: number, spread = 0.75): Clustered {
  const centers = drawCentres(normalSampler(mulberry32(seed)), clusters, d);
  const u = mulberry32(querySeed);
  const normal = normalSampler(u);
  const keys = new Float32Array(count * d);
  const labels = new Int32Array(count);
  const s = spread / Math.sqrt(d);
  for (let q = 0; q < count; q++) {
    const c = Math.floor(u() * clusters);
    labels[q] = c;
    for (let j = 0; j < d; j++) keys[q * d + j] = centers[c * d + j] + s * normal();
    normalizeRow(keys, q * d, d);
  }
  return { keys, labels };
}

/** Queries near stored keys: normalize(K[src] + noise * g), g ~ N(0, I/d); cosine to the source ~ 1/sqrt(1 + noise^2). */
export function queriesNear(keys: Float32Array, d: number, count: number, seed: number, noise = 0.35): Float32Array[] {
  const u = mulberry32(seed);
  const normal = normalSampler(u);
  const n = keys.length / d;
  const s = noise / Math.sqrt(d);
  const out: Float32Array[] = [];
  for (let q = 0; q < count; q++) {
    const src = Math.floor(u() * n);
    const row = new Float32Array(d);
    for (let j = 0; j < d; j++) row[j] = keys[src * d + j] + s * normal();
    normalizeRow(row, 0, d);
    out.push(row);
  }
  return out;
}
