// The learners of src/learners: the Hebbian rule on a hand-computed case and against the running
// mean, prototypes, the SGD softmax against a plain-JS SGD step, the memory adapter against the
// memory itself; snapshots, bad input (clear error, state unchanged) and tensor leaks.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyValueMemory, mulberry32 } from '../../src/memory';
import {
  createLearner,
  HebbianSoftmax,
  LEARNER_KINDS,
  MemoryLearner,
  Prototypes,
  SgdSoftmax,
  type Learner,
  type LearnerSpec,
} from '../../src/learners';
import { noLeak, useBackend } from './memorySetup';

beforeAll(async () => {
  await useBackend('wasm');
});

function randomUnit(rng: () => number, d: number): Float32Array {
  const v = Float32Array.from({ length: d }, () => rng() * 2 - 1);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

describe('Hebbian softmax (Rae et al. 2018)', () => {
  it('follows the rule on a hand-computed case: lambda = max(1/c, gamma) while c < T, frozen after', () => {
    const h = new HebbianSoftmax({ keySize: 2, gamma: 0.25, smoothingLimit: 3, scale: 1 });
    h.observe([1, 0], 7); // c = 1, lambda = 1: theta = (1, 0)
    expect(Array.from(h.row(7)!)).toEqual([1, 0]);
    expect(h.nextLambda(7)).toBe(0.5);
    h.observe([0, 2], 7); // key normalised to (0, 1); c = 2, lambda = 0.5: theta = (0.5, 0.5)
    expect(Array.from(h.row(7)!)).toEqual([0.5, 0.5]);
    expect(h.nextLambda(7)).toBeCloseTo(1 / 3, 12);
    h.observe([1, 1], 7); // (0.7071, 0.7071); c = 3, lambda = max(1/3, 0.25) = 1/3
    const expected = (1 / 3) * Math.SQRT1_2 + (2 / 3) * 0.5; // 0.56903...
    expect(h.row(7)![0]).toBeCloseTo(expected, 6);
    expect(h.row(7)![1]).toBeCloseTo(expected, 6);
    expect(h.count(7)).toBe(3);
    expect(h.nextLambda(7)).toBe(0); // c = T: frozen
    h.observe([1, 0], 7); // c = 4 >= T: no change
    expect(h.row(7)![0]).toBeCloseTo(expected, 6);
    expect(h.count(7)).toBe(4);
    // gamma floors lambda: with gamma = 0.6 the second sighting blends 0.6, not 0.5
    const g = new HebbianSoftmax({ keySize: 2, gamma: 0.6, smoothingLimit: 10 });
    g.observe([1, 0], 0);
    g.observe([0, 1], 0);
    expect(g.row(0)![0]).toBeCloseTo(0.4, 6);
    expect(g.row(0)![1]).toBeCloseTo(0.6, 6);
  });

  it('a batch uses the mean of its keys of each class, counted n_i times', () => {
    const h = new HebbianSoftmax({ keySize: 2, gamma: 0, smoothingLimit: Infinity });
    h.observeBatch([[1, 0], [0, 1], [1, 0]], [0, 0, 1]);
    expect(h.count(0)).toBe(2);
    expect(Array.from(h.row(0)!)).toEqual([0.5, 0.5]); // lambda = n_i / c_i = 1: the batch mean
    expect(Array.from(h.row(1)!)).toEqual([1, 0]);
    h.observeBatch([[1, 0], [1, 0]], [0, 0]); // c = 4, lambda = 2/4: the running mean of all four keys
    expect(Array.from(h.row(0)!)).toEqual([0.75, 0.25]);
    expect(h.count(0)).toBe(4);
  });

  it('with gamma -> 0 and T infinite each row is the running mean of its class keys', () => {
    const rng = mulberry32(3);
    const d = 16;
    for (const gamma of [0, 1e-9]) {
      const h = new HebbianSoftmax({ keySize: d, gamma, smoothingLimit: Infinity });
      const sums = new Map<number, { s: Float64Array; n: number }>();
      for (let t = 0; t < 300; t++) {
        const label = Math.floor(rng() * 4);
        const k = randomUnit(rng, d);
        h.observe(k, label);
        const e = sums.get(label) ?? { s: new Float64Array(d), n: 0 };
        k.forEach((x, j) => (e.s[j] += x));
        e.n++;
        sums.set(label, e);
        for (const [l, { s, n }] of sums) {
          const row = h.row(l)!;
          for (let j = 0; j < d; j++) expect(Math.abs(row[j] - s[j] / n)).toBeLessThan(1e-5);
        }
      }
    }
  });

  it('predicts softmax(scale * theta . h) over the known classes', () => {
    const h = new HebbianSoftmax({ keySize: 3, scale: 10 });
    expect(h.predict([1, 0, 0])).toEqual({ label: -1, confidence: 0, scores: [] });
    h.observe([1, 0, 0], 4);
    h.observe([0, 1, 0], 9);
    const p = h.predict([0.9, 0.1, 0]);
    const hn = [0.9 / Math.hypot(0.9, 0.1), 0.1 / Math.hypot(0.9, 0.1)];
    const z = Math.exp(10 * hn[0]) + Math.exp(10 * hn[1]);
    expect(p.label).toBe(4);
    expect(p.confidence).toBeCloseTo(Math.exp(10 * hn[0]) / z, 6);
    expect(p.scores.map((s) => s.label)).toEqual([4, 9]);
    const ex = h.explain([0.9, 0.1, 0]);
    expect(ex.rows[0]).toMatchObject({ label: 4, count: 1, norm: 1 });
    expect(ex.rows[0].dot).toBeCloseTo(hn[0], 6);
    expect(ex.rows[0].lambda).toBe(0.5);
  });

  it('refuses bad input with a clear error and changes nothing', () => {
    const h = new HebbianSoftmax({ keySize: 3 });
    h.observe([1, 0, 0], 1);
    const before = JSON.stringify(h.snapshot());
    expect(() => h.observe([1, 0], 1)).toThrow(/expected a key of size 3, got 2/);
    expect(() => h.observe([0, 0, 0], 1)).toThrow(/non-zero key/);
    expect(() => h.observe([NaN, 0, 1], 1)).toThrow(/finite key values/);
    expect(() => h.observe([1, 0, 0], -1)).toThrow(/label to be an integer/);
    expect(() => h.observe([1, 0, 0], 1.5)).toThrow(/label to be an integer/);
    expect(() => h.observeBatch([[1, 0, 0], [1, 1]], [2, 2])).toThrow(/size 3, got 2/);
    expect(() => h.observeBatch([[1, 0, 0]], [2, 3])).toThrow(/expected 1 labels/);
    expect(() => h.predict([1, 2])).toThrow(/size 3/);
    expect(() => h.deleteLabel(5)).toThrow(/expected a known label, got 5/);
    expect(JSON.stringify(h.snapshot())).toBe(before);
  });

  it('takes keys past or below the 32-bit float range as the directions they are (not Infinity, not zero)', () => {
    for (const kind of ['hebbian', 'prototypes', 'sgd-softmax'] as const) {
      const l = createLearner({ kind, keySize: 4 });
      l.observe([1, 0, 0, 0], 0);
      l.observe([1e39, 0, 0, 0], 1); // Infinity in a Float32Array; the direction of [1, 0, 0, 0]
      l.observe([0, 1e-50, 0, 0], 2); // 0 in a Float32Array; the direction of [0, 1, 0, 0]
      l.observe([3e300, 4e300, 0, 0], 3); // its square overflows a double: [0.6, 0.8, 0, 0]
      const p = l.predict([0, 1, 0, 0]);
      if (kind !== 'sgd-softmax') expect(p.label, kind).toBe(2); // (one SGD step per drawing need not fit them yet)
      for (const s of p.scores) expect(Number.isFinite(s.p), `${kind}: every score is a number`).toBe(true);
      expect(JSON.stringify(l.snapshot())).not.toMatch(/null|Infinity|NaN/);
    }
  });

  it('refuses impossible settings', () => {
    expect(() => new HebbianSoftmax({ keySize: 3, gamma: 2 })).toThrow(/gamma in \[0, 1\], got 2/);
    expect(() => new HebbianSoftmax({ keySize: 3, smoothingLimit: 0 })).toThrow(/smoothing limit T/);
    expect(() => new HebbianSoftmax({ keySize: 0 })).toThrow(/keySize/);
  });
});

describe('class prototypes', () => {
  it('predicts the class of the nearest mean, softmax(-s |h - mu|^2)', () => {
    const p = new Prototypes({ keySize: 2, scale: 1 });
    p.observe([1, 0], 0);
    p.observe([0, 1], 0); // mu_0 = (0.5, 0.5)
    p.observe([-1, 0], 1); // mu_1 = (-1, 0)
    expect(Array.from(p.prototype(0)!)).toEqual([0.5, 0.5]);
    const ex = p.explain([0, 1]);
    const d0 = 0.25 + 0.25, d1 = 1 + 1;
    expect(ex.rows.find((r) => r.label === 0)!.distance2).toBeCloseTo(d0, 6);
    expect(ex.rows.find((r) => r.label === 1)!.distance2).toBeCloseTo(d1, 6);
    const pr = p.predict([0, 1]);
    expect(pr.label).toBe(0);
    expect(pr.confidence).toBeCloseTo(Math.exp(-d0) / (Math.exp(-d0) + Math.exp(-d1)), 6);
  });
});

describe('SGD softmax (TF.js)', () => {
  it('one step equals a plain-JS SGD step on the cross-entropy', () => {
    const s = new SgdSoftmax({ keySize: 3, learningRate: 0.5 });
    const x1 = [1, 0, 0], x2 = [0, 0.6, 0.8];
    s.observe(x1, 10); // one class: softmax is 1, zero gradient
    s.observe(x2, 20); // two classes, zero logits -> p = (0.5, 0.5)
    const snap = s.snapshot();
    expect(snap.labels).toEqual([10, 20]);
    // dL/dW[:, j] = x (p_j - y_j), dL/db_j = p_j - y_j; W -= lr * grad
    const W = [0, 0, 0, 0, 0, 0];
    for (let r = 0; r < 3; r++) {
      W[r * 2 + 0] = -0.5 * x2[r] * 0.5;
      W[r * 2 + 1] = -0.5 * x2[r] * -0.5;
    }
    snap.weights.forEach((w, i) => expect(w).toBeCloseTo(W[i], 6));
    expect(snap.bias[0]).toBeCloseTo(-0.25, 6);
    expect(snap.bias[1]).toBeCloseTo(0.25, 6);
    expect(s.predict(x2).label).toBe(20);
    s.dispose();
  });

  it('grows past its initial capacity and deletes a column, keeping the others', () => {
    const rng = mulberry32(5);
    const s = new SgdSoftmax({ keySize: 8, learningRate: 1, stepsPerObservation: 3 });
    const keys = Array.from({ length: 12 }, () => randomUnit(rng, 8));
    keys.forEach((k, i) => s.observe(k, i));
    keys.forEach((k, i) => s.observe(k, i));
    expect(s.labels()).toHaveLength(12);
    const before = s.snapshot();
    s.deleteLabel(3);
    const after = s.snapshot();
    expect(after.labels).toEqual(before.labels.filter((l) => l !== 3));
    // column 4 of before is column 3 of after
    for (let r = 0; r < 8; r++) expect(after.weights[r * 11 + 3]).toBeCloseTo(before.weights[r * 12 + 4], 6);
    expect(() => s.deleteLabel(3)).toThrow(/expected a known label, got 3/);
    s.dispose();
    expect(() => s.observe(keys[0], 0)).toThrow(/disposed/);
  });
});

describe('memory adapter', () => {
  it('answers V[n1] of the same memory, with summed softmax weights as confidences', () => {
    const rng = mulberry32(9);
    const d = 16;
    const m = new MemoryLearner({ memorySize: 8, keySize: d, k: 4, ageNoise: 0 });
    const ref = KeyValueMemory.create({ memorySize: 8, keySize: d, k: 4, ageNoise: 0 });
    for (let t = 0; t < 20; t++) {
      const k = randomUnit(rng, d);
      const l = Math.floor(rng() * 5);
      m.observe(k, l);
      ref.write([k], [l]);
    }
    for (let t = 0; t < 10; t++) {
      const q = randomUnit(rng, d);
      const r = ref.query([q]);
      const p = m.predict(q);
      expect(p.label).toBe(r.prediction[0]);
      expect(p.scores.reduce((s, x) => s + x.p, 0)).toBeCloseTo(1, 5);
      expect(m.explain(q).neighbours.map((n) => n.slot)).toEqual(r.indices[0]);
    }
    expect(m.labels()).toEqual([...new Set(Array.from(ref.values).filter((v) => v >= 0))].sort((a, b) => a - b));
    m.dispose();
    ref.dispose();
  });
});

const specs = (d: number): LearnerSpec[] => [
  { kind: 'hebbian', keySize: d, gamma: 0.2, smoothingLimit: 5 },
  { kind: 'prototypes', keySize: d },
  { kind: 'sgd-softmax', keySize: d },
  { kind: 'memory', keySize: d, memorySize: 16, ageNoise: 0 },
];

describe('every learner', () => {
  const made: Learner[] = [];
  afterAll(() => made.forEach((l) => l.dispose()));

  it('has the four kinds behind one factory', () => {
    expect(specs(4).map((s) => createLearner(s).kind)).toEqual(['hebbian', 'prototypes', 'sgd-softmax', 'memory']);
    expect([...LEARNER_KINDS].sort()).toEqual(['hebbian', 'memory', 'prototypes', 'sgd-softmax']);
    expect(() => createLearner({ kind: 'nope' } as unknown as LearnerSpec)).toThrow(/expected a learner kind/);
  });

  it('round-trips through a JSON snapshot, and a bad snapshot throws and changes nothing', () => {
    const rng = mulberry32(2);
    const d = 8;
    for (const spec of specs(d)) {
      const a = createLearner(spec);
      const b = createLearner(spec);
      made.push(a, b);
      for (let t = 0; t < 30; t++) a.observe(randomUnit(rng, d), t % 4);
      const json = JSON.parse(JSON.stringify(a.snapshot()));
      b.restore(json);
      const q = randomUnit(rng, d);
      expect(b.predict(q)).toEqual(a.predict(q));
      expect(b.labels()).toEqual(a.labels());
      // the restored learner keeps learning the same way
      const k = randomUnit(rng, d);
      a.observe(k, 2);
      b.observe(k, 2);
      expect(b.predict(q).scores.map((s) => s.label)).toEqual(a.predict(q).scores.map((s) => s.label));
      // bad snapshots
      const keep = JSON.stringify(b.snapshot());
      expect(() => b.restore({ ...json, format: 'other' })).toThrow(/expected a learner snapshot/);
      expect(() => b.restore({ ...json, keySize: d + 1 })).toThrow(/keys of size/);
      expect(() => b.restore(null)).toThrow(/expected a learner snapshot/);
      const other = specs(d).find((s) => s.kind !== spec.kind)!;
      const o = createLearner(other);
      made.push(o);
      expect(() => b.restore(o.snapshot())).toThrow(new RegExp(`expected a snapshot of a ${spec.kind} learner`));
      if (spec.kind === 'hebbian' || spec.kind === 'prototypes') {
        const rows = json.rows.map((r: Record<string, unknown>, i: number) => (i === 0 ? { ...r, [spec.kind === 'hebbian' ? 'theta' : 'sum']: [1, 2] } : r));
        expect(() => b.restore({ ...json, rows })).toThrow(/has 2 values, expected 8/);
        expect(() => b.restore({ ...json, rows: [json.rows[0], json.rows[0]] })).toThrow(/appears twice/);
      }
      if (spec.kind === 'sgd-softmax') expect(() => b.restore({ ...json, bias: [0] })).toThrow(/bias has 1 values/);
      expect(JSON.stringify(b.snapshot())).toBe(keep);
    }
  });

  it('leaks no tensors in observe, predict, explain, snapshot, restore, deleteLabel', () => {
    const rng = mulberry32(4);
    const d = 8;
    for (const spec of specs(d)) {
      const l = createLearner(spec);
      l.observe(randomUnit(rng, d), 1); // allocations of the first class are the learner's own
      noLeak(() => {
        for (let t = 0; t < 20; t++) l.observe(randomUnit(rng, d), t % 3);
        l.predict(randomUnit(rng, d));
        l.explain(randomUnit(rng, d));
        l.restore(l.snapshot());
        l.deleteLabel(2);
        expect(() => l.observe([1, 2], 0)).toThrow(/size 8/);
      });
      const before = tf.memory().numTensors;
      const x = createLearner(spec);
      for (let t = 0; t < 20; t++) x.observe(randomUnit(rng, d), t); // grows past the initial capacity
      x.dispose();
      expect(tf.memory().numTensors).toBe(before);
      l.dispose();
    }
  });
});
