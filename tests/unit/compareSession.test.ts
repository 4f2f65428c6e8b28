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
    // the k best in one pass equal the first k of a full sort; without stored keys, no scan
    const many = { slots: Array.from({ length: 50 }, (_, i) => 100 + i), keys: Float32Array.from({ length: 50 * D }, () => rng() - 0.5) };
    const theta = Float32Array.from(s.hebbianRows().length ? (s as unknown as { learners: Map<string, { row(id: number): Float32Array }> }).learners.get('hebbian')!.row(0) : []);
    const norm = Math.hypot(...theta);
    const bySort = many.slots
      .map((slot, j) => ({ slot, similarity: theta.reduce((a, x, i) => a + x * many.keys[j * D + i], 0) / norm }))
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, 4)
      .map((x) => x.slot);
    expect(s.hebbianRows(many, 4, new Set(['ring']))[0].nearest.map((x) => x.slot)).toEqual(bySort);
    expect(s.hebbianRows().every((r) => r.nearest.length === 0)).toBe(true);
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

  it('a learner added mid-session is scored by the times it saw the class itself (kept through a rename, a take-back and the file)', () => {
    const rng = mulberry32(6);
    const s = new CompareSession(D, ['hebbian']);
    for (let t = 0; t < 5; t++) s.observe(around(0, rng), 'cat', true);
    s.setKinds(['hebbian', 'prototypes']);
    s.renameClass('cat', 'Cat');
    // its first sighting of the class: bin 0 for it, bin 4-5 for the memory and the Hebbian softmax
    const first = s.observe(around(0, rng), 'Cat', true, 7);
    expect(first).toEqual({ sightings: 5, by: { prototypes: 0 }, correct: { memory: true, hebbian: true, prototypes: false } });
    expect(s.takeBack(7)).toBe(true);
    expect(s.observe(around(0, rng), 'Cat', true)).toMatchObject({ sightings: 5, by: { prototypes: 0 } });
    const second = s.observe(around(0, rng), 'Cat', true);
    expect(second).toMatchObject({ sightings: 6, by: { prototypes: 1 }, correct: { prototypes: true } });
    // a class new to the session is new to every learner: no separate count
    expect(s.observe(around(1, rng), 'dog', false).by).toBeUndefined();
    const curve = s.curve();
    const bin = (label: string) => curve.find((p) => p.bin === label)!;
    expect(bin('0').values.prototypes).toBe(0); // its own first sighting, wrong
    expect(bin('1').values.prototypes).toBe(100);
    expect(bin('4-5').values.prototypes).toBeUndefined();
    // the saved file keeps its counts
    const back = CompareSession.fromFile(JSON.parse(JSON.stringify(s.snapshot())), D);
    expect(back.curve()).toEqual(curve);
    expect(back.observe(around(0, rng), 'Cat', true).by).toEqual({ prototypes: 2 });
    back.dispose();
    // a file whose learner saw a class more often than the session did is cleaned, not trusted
    const bad = JSON.parse(JSON.stringify(s.snapshot()));
    bad.joined = { prototypes: { Cat: 999 } };
    bad.history[0].by = { prototypes: 999 };
    const cleaned = CompareSession.fromFile(bad, D);
    expect(cleaned.history[0].by).toBeUndefined();
    expect(cleaned.observe(around(0, rng), 'Cat', true).by).toBeUndefined();
    cleaned.dispose();
    s.dispose();
  });

  it('a learner added later is taught the stored drawings it missed: it answers as the others do, and counts what it saw itself', () => {
    const rng = mulberry32(9);
    const s = new CompareSession(D, ['hebbian']);
    for (let t = 0; t < 3; t++) s.observe(around(0, rng), 'ring', true);
    s.observe(around(1, rng), 'cross', false);
    expect(s.setKinds(['hebbian', 'prototypes'])).toEqual(['prototypes']);
    expect(s.predict(around(0, rng))[1].name).toBeNull(); // empty until taught
    // the memory holds one (averaged) ring and one cross, and a drawing of a name the session never saw
    const stored = [{ key: around(0, rng), name: 'ring' }, { key: around(1, rng), name: 'cross' }, { key: around(2, rng), name: 'zig' }];
    expect(() => s.teachJoined('prototypes', [{ key: new Float32Array(3), name: 'ring' }])).toThrow(/key of size 8, got 3/);
    expect(() => s.teachJoined('sgd-softmax', stored)).toThrow(/not in the comparison/);
    expect(s.teachJoined('prototypes', stored)).toBe(2); // "zig" skipped: no learner knows it
    expect(s.predict(around(0, rng)).map((a) => a.name)).toEqual(['ring', 'ring']);
    expect(s.predict(around(2, rng))[1].name).not.toBe('zig');
    // its own count: 1 ring taught, so the next ring is its sighting 1 (the session's 3)
    expect(s.observe(around(0, rng), 'ring', true)).toEqual({ sightings: 3, by: { prototypes: 1 }, correct: { memory: true, hebbian: true, prototypes: true } });
    // as many taught as the session saw: no separate count
    expect(s.observe(around(1, rng), 'cross', true)).toEqual({ sightings: 1, correct: { memory: true, hebbian: true, prototypes: true } });
    // left out, it goes with what it learned; added again, it starts empty
    expect(s.setKinds(['hebbian'])).toEqual([]);
    expect(s.setKinds(['hebbian', 'prototypes'])).toEqual(['prototypes']);
    expect(s.predict(around(0, rng))[1].name).toBeNull();
    s.dispose();
  });

  it('studies stored drawings without scoring them: classes by name, no curve point; a bad item changes nothing', () => {
    const rng = mulberry32(5);
    const s = new CompareSession(D, ['hebbian', 'prototypes']);
    expect(() => s.study([{ key: around(0, rng), name: 'a' }, { key: new Float32Array(3), name: 'b' }])).toThrow(/key of size 8, got 3/);
    expect(s.predict(around(0, rng)).every((a) => a.name === null)).toBe(true); // the good first item was not learned either
    expect(() => s.study([{ key: around(0, rng), name: ' ' }])).toThrow(/empty/);
    s.study([{ key: around(0, rng), name: 'a' }, { key: around(1, rng), name: 'b' }, { key: around(0, rng), name: 'a' }]);
    expect(s.history).toEqual([]);
    expect(s.predict(around(0, rng)).map((a) => a.name)).toEqual(['a', 'a']);
    expect(s.predict(around(1, rng)).map((a) => a.name)).toEqual(['b', 'b']);
    // the next drawing of "a" is its third sighting, and every learner was right before learning it
    expect(s.observe(around(0, rng), 'a', true)).toEqual({ sightings: 2, correct: { memory: true, hebbian: true, prototypes: true } });
    s.dispose();
  });

  it('takes back the last tagged drawing exactly (learners, classes, curve); refused once the session changed', () => {
    const rng = mulberry32(4);
    const s = new CompareSession(D, ['hebbian', 'prototypes', 'sgd-softmax']);
    s.observe(around(0, rng), 'ring', false, 1);
    s.observe(around(1, rng), 'cross', false, 2);
    const before = s.snapshot();
    const q = around(2, rng);
    const answers = s.predict(q);
    // a drawing of a known class under a new, wrong name
    s.observe(around(0, rng), 'rnig', false, 3);
    expect(s.takeBack(2)).toBe(false); // not the last one
    expect(s.takeBack(3)).toBe(true);
    expect(s.snapshot()).toEqual(before);
    expect(s.predict(q)).toEqual(answers);
    expect(s.takeBack(3)).toBe(false); // once only
    // of a known class: its sightings and the curve are as before too
    s.observe(around(1, rng), 'cross', true, 4);
    expect(s.takeBack(4)).toBe(true);
    expect(s.snapshot()).toEqual(before);
    // the next drawing takes the id the taken-back class had, as if it had never been
    s.observe(around(3, rng), 'star', false, 5);
    expect(s.snapshot().classes.find((c) => c.name === 'star')!.id).toBe(2);
    // any change since (rename, delete, learners, an untagged drawing) ends it
    const changes: ((x: CompareSession) => void)[] = [
      (x) => x.renameClass('star', 'asterisk'),
      (x) => x.deleteClass('ring'),
      (x) => x.setKinds(['hebbian']),
      (x) => x.observe(around(0, rng), 'ring', true),
    ];
    for (const change of changes) {
      s.observe(around(3, rng), 'star', true, 6);
      change(s);
      const now = s.snapshot();
      expect(s.takeBack(6)).toBe(false);
      expect(s.snapshot()).toEqual(now);
    }
    s.dispose();
  });

  it('takes back a tagged delete exactly, several classes deleted by one change at once', () => {
    const rng = mulberry32(6);
    const s = new CompareSession(D, ['hebbian', 'prototypes', 'sgd-softmax']);
    for (const [i, name] of ['a', 'b', 'c'].entries()) s.observe(around(i, rng), name, false);
    const before = s.snapshot();
    s.deleteClass('b', 10);
    expect(s.predict(around(1, rng)).every((a) => a.name !== 'b')).toBe(true);
    expect(s.takeBack(10)).toBe(true);
    expect(s.snapshot()).toEqual(before);
    // one change deleting two classes: one take-back restores both
    s.deleteClass('a', 11);
    s.deleteClass('c', 11);
    expect(s.snapshot().classes.map((c) => c.name)).toEqual(['b']);
    expect(s.takeBack(11)).toBe(true);
    expect(s.snapshot()).toEqual(before);
    // an untagged delete (or another tag) cannot be taken back
    s.deleteClass('a');
    const now = s.snapshot();
    expect(s.takeBack(11)).toBe(false);
    expect(s.snapshot()).toEqual(now);
    s.dispose();
  });

  it('a take-back at the history cap gives back the oldest event it dropped', () => {
    const rng = mulberry32(5);
    const s = new CompareSession(D, ['prototypes']);
    for (let i = 0; i < MAX_HISTORY; i++) s.observe(around(i % 4, rng), `c${i % 4}`, i >= 4);
    const before = s.snapshot();
    s.observe(around(0, rng), 'c0', true, 7);
    expect(s.history.length).toBe(MAX_HISTORY);
    expect(s.takeBack(7)).toBe(true);
    expect(s.snapshot()).toEqual(before);
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
    // the encoder whose keys the learners learned: another one's keys (even of the same size) are refused
    const tagged = { ...file, encoder: 'enc-a' };
    const encoderOf = (f: unknown, encoder: string) => {
      const x = CompareSession.fromFile(f, D, encoder);
      const e = x.snapshot().encoder;
      x.dispose();
      return e;
    };
    expect(encoderOf(tagged, 'enc-a')).toBe('enc-a');
    expect(() => CompareSession.fromFile(tagged, D, 'enc-b')).toThrow(/learned the keys of the encoder enc-a, and enc-b is in use/);
    expect(encoderOf(file, 'enc-b')).toBe('enc-b'); // an older file: taken as the current one's
    expect(() => CompareSession.fromFile({ ...file, format: 'x' }, D)).toThrow(/invalid compare file/);
    expect(() => CompareSession.fromFile({ ...file, kinds: ['hebbian'] }, D)).toThrow(/do not match kinds/);
    expect(() => CompareSession.fromFile({ ...file, classes: file.classes.slice(1) }, D)).toThrow(/knows class id \d+, which is not in classes/);
    expect(() => CompareSession.fromFile({ ...file, history: Array(MAX_HISTORY + 1).fill(file.history[0]) }, D)).toThrow(/invalid compare file/);
    expect(tf.memory().numTensors).toBe(tensors); // a refused file leaves no learner behind
    s.dispose();
  });
});
