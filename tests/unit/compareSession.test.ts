// Compare mode's core: scoring before learning, classes by name (an evicted label stays known),
// the accuracy-by-sightings curve, the Hebbian view, and the saved file (round trip, bad files).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CompareSession, MAX_HISTORY } from '../../src/app/compare/compareSession';
import { mulberry32 } from '../../src/memory';
import { useBackend } from './memorySetup';

beforeAll(async () => {
  await useBackend('wasm');
});

const D = 8;
function around(centre: number, rng: () => number): Float32Array {
  const v = Float32Array.from({ length: D }, (_, i) => (i === centre ? 1 : 0) + 0.05 * (rng() - 0.5));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

describe('CompareSession', () => {
  it('scores each learner before it learns, by sightings; the memory by its write case', () => {
    const rng = mulberry32(1);
    const s = new CompareSession(D, ['hebbian', 'prototypes', 'sgd-softmax']);
    expect(s.predict(around(0, rng)).map((a) => a.name)).toEqual([null, null, null]);
    const e0 = s.observe(around(0, rng), 'ring', false);
    expect(e0).toEqual({ sightings: 0, correct: { memory: false, hebbian: false, prototypes: false, 'sgd-softmax': false } });
    s.observe(around(1, rng), 'cross', false);
    const e1 = s.observe(around(0, rng), 'ring', true);
    expect(e1.sightings).toBe(1);
    expect(e1.correct).toMatchObject({ memory: true, hebbian: true, prototypes: true });
    expect(s.predict(around(1, rng)).map((a) => [a.column, a.name])).toEqual([
      ['hebbian', 'cross'],
      ['prototypes', 'cross'],
      ['sgd-softmax', 'cross'],
    ]);
    const curve = s.curve();
    expect(curve[0]).toMatchObject({ bin: '0', n: 2, values: { memory: 0, hebbian: 0 } });
    expect(curve[1]).toMatchObject({ bin: '1', n: 1, values: { memory: 100, hebbian: 100, prototypes: 100 } });
    expect(curve[2].values).toEqual({});
    // the Hebbian view: c_i, lambda_i and the stored keys closest to theta_i
    const stored = { slots: [4, 9], keys: Float32Array.from([...around(1, rng), ...around(0, rng)]) };
    const rows = s.hebbianRows(stored);
    expect(rows.map((r) => [r.name, r.count, r.lambda])).toEqual([
      ['cross', 1, 0.5],
      ['ring', 2, 1 / 3],
    ]);
    expect(rows.find((r) => r.name === 'ring')!.nearest[0].slot).toBe(9);
    s.dispose();
  });

  it('renames and deletes classes in every learner; a learner added later is scored from then on', () => {
    const rng = mulberry32(2);
    const s = new CompareSession(D, ['hebbian']);
    s.observe(around(0, rng), 'a', false);
    s.observe(around(1, rng), 'b', false);
    s.renameClass('a', 'alpha');
    expect(s.predict(around(0, rng))[0].name).toBe('alpha');
    expect(() => s.renameClass('alpha', 'b')).toThrow(/exists already/);
    s.deleteClass('b');
    expect(s.predict(around(1, rng))[0].name).toBe('alpha'); // the only class left
    s.setKinds(['hebbian', 'prototypes']);
    const e = s.observe(around(0, rng), 'alpha', true);
    expect(e.correct).toEqual({ memory: true, hebbian: true, prototypes: false }); // prototypes had seen nothing
    expect(() => s.setKinds(['nope' as 'hebbian'])).toThrow(/expected learners among/);
    expect(() => s.observe(new Float32Array(3), 'x', false)).toThrow(/key of size 8, got 3/);
    expect(() => s.observe(around(0, rng), '  ', false)).toThrow(/empty/);
    s.reset();
    expect(s.history).toEqual([]);
    expect(s.predict(around(0, rng)).every((a) => a.name === null)).toBe(true);
    s.dispose();
  });

  it('round-trips through its saved file; bad files are refused with a reason', () => {
    const rng = mulberry32(3);
    const s = new CompareSession(D, ['hebbian', 'sgd-softmax']);
    s.enabled = true;
    for (let t = 0; t < 12; t++) s.observe(around(t % 3, rng), ['x', 'y', 'z'][t % 3], t > 3);
    const file = JSON.parse(JSON.stringify(s.snapshot()));
    const tensors = tf.memory().numTensors;
    const back = CompareSession.fromFile(file, D);
    expect(back.enabled).toBe(true);
    expect(back.kinds).toEqual(['hebbian', 'sgd-softmax']);
    expect(back.curve()).toEqual(s.curve());
    const q = around(2, rng);
    expect(back.predict(q)).toEqual(s.predict(q));
    // both keep learning the same way (class ids carried over)
    s.observe(around(0, rng), 'new', false);
    const e = back.observe(around(0, rng), 'new', false);
    expect(e.sightings).toBe(0);
    back.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(() => CompareSession.fromFile(file, 16)).toThrow(/keys of size 8, but this encoder makes keys of size 16/);
    expect(() => CompareSession.fromFile({ ...file, format: 'x' }, D)).toThrow(/invalid compare file/);
    expect(() => CompareSession.fromFile({ ...file, kinds: ['hebbian'] }, D)).toThrow(/do not match kinds/);
    expect(() => CompareSession.fromFile({ ...file, classes: file.classes.slice(1) }, D)).toThrow(/knows class id \d+, which is not in classes/);
    expect(() => CompareSession.fromFile({ ...file, history: Array(MAX_HISTORY + 1).fill(file.history[0]) }, D)).toThrow(/invalid compare file/);
    expect(tf.memory().numTensors).toBe(tensors); // a refused file leaves no learner behind
    s.dispose();
  });
});
