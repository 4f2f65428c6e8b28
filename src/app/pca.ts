/**
 * 2-D PCA of stored keys for the memory map (plain TS, no tfjs: at most a few thousand rows).
 * Power iteration with deflation on the d x d covariance.
 */

/** rows: flat [n * d]; returns flat [n * 2] coordinates on the first two principal axes. */
export function pca2(rows: Float32Array, n: number, d: number, iterations = 60): Float32Array {
  if (rows.length !== n * d) throw new Error(`expected ${n}*${d} = ${n * d} values, got ${rows.length}`);
  const out = new Float32Array(n * 2);
  if (n === 0) return out;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const x = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[j] = rows[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const xa = x[a];
      if (xa === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) cov[row + b] += xa * x[b];
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a];
  const axes: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    let v = new Float64Array(d);
    // deterministic start, not orthogonal to typical data
    for (let j = 0; j < d; j++) v[j] = 1 + ((j * 7919 + c * 104729) % 13) / 13;
    for (let it = 0; it < iterations; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) {
        let s = 0;
        const row = a * d;
        for (let b = 0; b < d; b++) s += cov[row + b] * v[b];
        w[a] = s;
      }
      for (const u of axes) {
        let p = 0;
        for (let j = 0; j < d; j++) p += w[j] * u[j];
        for (let j = 0; j < d; j++) w[j] -= p * u[j];
      }
      let norm = 0;
      for (let j = 0; j < d; j++) norm += w[j] * w[j];
      norm = Math.sqrt(norm);
      if (norm < 1e-12) break;
      for (let j = 0; j < d; j++) w[j] /= norm;
      v = w;
    }
    axes.push(v);
  }
  for (let i = 0; i < n; i++) {
    let p0 = 0, p1 = 0;
    for (let j = 0; j < d; j++) {
      const xj = rows[i * d + j] - mean[j];
      p0 += xj * axes[0][j];
      p1 += xj * axes[1][j];
    }
    out[i * 2] = p0;
    out[i * 2 + 1] = p1;
  }
  return out;
}
