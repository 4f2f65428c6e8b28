import { describe, expect, it } from 'vitest';
import { pca2 } from '../../src/app/pca';

describe('pca2', () => {
  it('finds the axis of largest spread first', () => {
    // points along (1,1,0) with large spread and along (0,0,1) with small spread
    const n = 50, d = 3;
    const rows = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const a = (i - 25) / 5, b = ((i * 37) % 11 - 5) / 50;
      rows.set([a, a, b], i * d);
    }
    const p = pca2(rows, n, d);
    const var0 = Array.from({ length: n }, (_, i) => p[i * 2] ** 2).reduce((s, v) => s + v, 0);
    const var1 = Array.from({ length: n }, (_, i) => p[i * 2 + 1] ** 2).reduce((s, v) => s + v, 0);
    expect(var0).toBeGreaterThan(100 * var1);
    // first coordinate is ±sqrt(2)*a
    expect(Math.abs(p[0])).toBeCloseTo(Math.SQRT2 * (5 - 0.1), 2); // centred: mean of a is -0.1
  });
  it('checks the shape', () => {
    expect(() => pca2(new Float32Array(5), 2, 3)).toThrow(/expected 2\*3/);
    expect(pca2(new Float32Array(0), 0, 3).length).toBe(0);
  });
});
