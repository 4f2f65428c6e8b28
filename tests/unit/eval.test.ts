import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend';
import { fewShot, formatPercent, lifelong, meanCi, online, proportionCi, sampleDistinct, tQuantile975 } from '../../src/eval/protocols';
import { mulberry32 } from '../../src/memory';
import { clusters } from './evalSynthetic';

beforeAll(async () => {
  await selectBackend({ force: 'wasm' });
});

describe('N-way K-shot with the memory', () => {
  it('separable clusters score 100% on every task', async () => {
    const { emb, classes } = clusters(40, 12, 32, 0.02);
    for (const [ways, shots] of [[5, 1], [5, 5], [20, 1], [20, 5]]) {
      const r = await fewShot(emb, classes, { ways, shots, episodes: 30, seed: 3 });
      expect(r.accuracy.mean).toBe(1);
      expect(r.accuracy.ci95).toBeNaN(); // every episode alike: no interval claimed
      // tight clusters: every further shot updates its class slot (case 1), one slot per class
      expect(r.meanSlotsUsed).toBe(ways);
    }
  });

  it('random keys score about 1/N', async () => {
    const { emb, classes } = clusters(60, 12, 64, 10);
    const five = await fewShot(emb, classes, { ways: 5, shots: 1, episodes: 400, seed: 1 });
    expect(Math.abs(five.accuracy.mean - 0.2)).toBeLessThan(0.03);
    const twenty = await fewShot(emb, classes, { ways: 20, shots: 1, episodes: 200, seed: 1 });
    expect(Math.abs(twenty.accuracy.mean - 0.05)).toBeLessThan(0.015);
    // the interval is honest: 1/N lies within a few CIs of the mean
    expect(Math.abs(five.accuracy.mean - 0.2)).toBeLessThan(3 * five.accuracy.ci95);
  });

  it('is reproducible from its seed and changes with it', async () => {
    const { emb, classes } = clusters(30, 10, 16, 0.8);
    const a = await fewShot(emb, classes, { ways: 5, shots: 1, episodes: 50, seed: 11 });
    const b = await fewShot(emb, classes, { ways: 5, shots: 1, episodes: 50, seed: 11 });
    const c = await fewShot(emb, classes, { ways: 5, shots: 1, episodes: 50, seed: 12 });
    expect(a).toEqual(b);
    expect(c.accuracy.mean).not.toBe(a.accuracy.mean);
  });

  it('leaks no tensors and reports progress', async () => {
    const { emb, classes } = clusters(10, 8, 16, 0.1);
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    await fewShot(emb, classes, { ways: 5, shots: 2, episodes: 10, seed: 1, tickEvery: 5, onProgress: (d) => seen.push(d) });
    await online(emb, classes, { ways: 5, episodes: 3, length: 10, seed: 1 });
    await lifelong(emb, classes, { ways: 5, episodes: 3, length: 10, memorySize: 8, seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(seen).toEqual([5, 10]);
  });

  it('rejects impossible tasks with clear errors', async () => {
    const { emb, classes } = clusters(4, 6, 8, 0.1);
    await expect(fewShot(emb, classes, { ways: 5, shots: 1, episodes: 1, seed: 1 })).rejects.toThrow(/at least N = 5 classes.*got 4/);
    await expect(fewShot(emb, classes, { ways: 2, shots: 5, episodes: 1, seed: 1 })).rejects.toThrow(/at least 10 images per class.*has 6/);
    await expect(fewShot(emb, classes, { ways: 2, shots: 0, episodes: 1, seed: 1 })).rejects.toThrow(/shots/);
    await expect(fewShot({ ...emb, count: emb.count + 1 }, classes, { ways: 2, shots: 1, episodes: 1, seed: 1 })).rejects.toThrow(
      /expected embeddings of/,
    );
  });
});

describe('online protocol (correct_by_shot)', () => {
  it('separable clusters: shot 0 always wrong, every later shot right', async () => {
    const { emb, classes } = clusters(30, 20, 32, 0.02);
    const r = await online(emb, classes, { ways: 5, length: 30, episodes: 20, seed: 2 });
    expect(r.byShot[0].shot).toBe(0);
    expect(r.byShot[0].accuracy.mean).toBe(0);
    expect(r.byShot[0].total).toBe(5 * 20); // each of the 5 classes is new once per episode
    for (const p of r.byShot.slice(1)) expect(p.accuracy.mean).toBe(1);
    expect(r.byShot.reduce((n, p) => n + p.total, 0)).toBe(30 * 20);
  });

  it('random keys: later shots about 1/N', async () => {
    const { emb, classes } = clusters(40, 20, 64, 10);
    const r = await online(emb, classes, { ways: 5, length: 30, episodes: 100, seed: 2 });
    const later = r.byShot.filter((p) => p.shot >= 1);
    const c = later.reduce((n, p) => n + p.correct, 0), t = later.reduce((n, p) => n + p.total, 0);
    expect(Math.abs(c / t - 0.2)).toBeLessThan(0.04);
  });
});

describe('life-long', () => {
  it('one small memory evicts old classes and keeps separable clusters at 100%', async () => {
    // 200 classes: none comes back (under a new label) within the 40 episodes
    const { emb, classes } = clusters(200, 20, 32, 0.02);
    // ageNoise 0: with 12 slots the default noise (8) may evict a class of the running episode
    const r = await lifelong(emb, classes, {
      ways: 5, length: 20, episodes: 40, memorySize: 12, window: 10, seed: 4, memory: { ageNoise: 0 },
    });
    expect(r.curve.map((p) => p.episode)).toEqual([10, 20, 30, 40]);
    for (const p of r.curve) expect(p.accuracy.mean).toBe(1);
    // 5 slots per episode in 12 slots: almost every episode evicts earlier classes
    expect(r.evictions).toBeGreaterThan(5 * 30);
  });

  it('a memory smaller than one episode needs loses accuracy (the curve can fail)', async () => {
    const { emb, classes } = clusters(30, 20, 32, 0.02);
    const r = await lifelong(emb, classes, { ways: 5, length: 20, episodes: 10, memorySize: 3, seed: 4 });
    expect(r.accuracy.mean).toBeLessThan(0.9);
  });
});

describe('statistics helpers', () => {
  it("meanCi: mean and Student's t(0.975, n - 1) sd / sqrt(n)", () => {
    const e = meanCi([0, 1, 0, 1]);
    expect(e.mean).toBe(0.5);
    expect(e.ci95).toBeCloseTo((3.1824 * Math.sqrt(1 / 3)) / 2, 12); // 4 episodes: t = 3.18, not 1.96
    // one value, or values all alike: no spread measured, no interval claimed (not "± 0.0")
    expect(meanCi([0.4]).ci95).toBeNaN();
    expect(formatPercent(meanCi([0.4]))).toBe('40.0 (n = 1)');
    expect(formatPercent(meanCi([1, 1, 1, 1]))).toBe('100.0 (n = 4)');
    expect(formatPercent(meanCi([0.96, 0.96, 0.96]))).toBe('96.0 (n = 3)'); // a mean not exact in floats: still no "± 0.0"
    expect(formatPercent(e)).toBe('50.0 ± 91.9');
    expect(formatPercent(meanCi([]))).toBe('–');
    // the quantile: the table, then the expansion (exact values to 4 decimals), the normal one in the limit
    expect(tQuantile975(1)).toBe(12.7062);
    expect(tQuantile975(31)).toBeCloseTo(2.0395, 4);
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 4);
    expect(tQuantile975(999)).toBeCloseTo(1.9623, 4);
    expect(tQuantile975(1e9)).toBeCloseTo(1.96, 3);
    expect(tQuantile975(0)).toBeNaN();
  });
  it('proportionCi', () => {
    const e = proportionCi(9, 10);
    expect(e.mean).toBeCloseTo(0.9, 12);
    expect(e.ci95).toBeCloseTo(1.96 * Math.sqrt(0.09 / 10), 12);
  });
  it('sampleDistinct draws distinct items', () => {
    const rng = mulberry32(5);
    const s = sampleDistinct(rng, 10, 10);
    expect([...s].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(() => sampleDistinct(rng, 3, 4)).toThrow(/cannot sample 4 distinct items from 3/);
  });
});
