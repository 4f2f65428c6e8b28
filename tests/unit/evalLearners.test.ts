// The learners on the evaluation harness: the same episodes as fewShot (the memory adapter
// reproduces it exactly), the curriculum stream, its curves on synthetic clusters, the report.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend';
import { defaultConfig, resultsToMarkdown, runBenchmark } from '../../src/eval/benchmark';
import { curriculum, curriculumStream, factoryOf, fewShotLearner, GAP_BINS, SIGHTING_BINS, type EvalLearner } from '../../src/eval/learners';
import { defaultLearnersConfig } from '../../src/eval/learnersBenchmark';
import { readOmniglotZip } from '../../src/eval/omniglot';
import { fewShot } from '../../src/eval/protocols';
import { mulberry32 } from '../../src/memory';
import { clusters, omniglotZip } from './evalSynthetic';

beforeAll(async () => {
  await selectBackend({ force: 'wasm' });
});

const MEMORY: EvalLearner = { id: 'memory', title: 'memory', spec: { kind: 'memory' } };
const HEBBIAN: EvalLearner = { id: 'hebbian', title: 'hebbian', spec: { kind: 'hebbian' } };
const PROTOTYPES: EvalLearner = { id: 'prototypes', title: 'prototypes', spec: { kind: 'prototypes' } };
const SGD: EvalLearner = { id: 'sgd', title: 'sgd', spec: { kind: 'sgd-softmax' } };

describe('N-way K-shot with any learner', () => {
  it('the memory adapter reproduces fewShot on the same seeded episodes', async () => {
    const { emb, classes } = clusters(30, 12, 16, 0.9);
    for (const [ways, shots] of [[5, 1], [5, 5], [20, 1]]) {
      const a = await fewShot(emb, classes, { ways, shots, episodes: 40, seed: 5 });
      const b = await fewShotLearner(emb, classes, { ways, shots, episodes: 40, seed: 5, learner: factoryOf(MEMORY, 5) });
      expect(b.accuracy).toEqual(a.accuracy);
    }
  });

  it('every learner scores 100% on separable clusters and about 1/N on noise', async () => {
    const sep = clusters(30, 12, 32, 0.02);
    const noise = clusters(40, 12, 32, 10);
    for (const l of [MEMORY, HEBBIAN, PROTOTYPES, SGD]) {
      const r = await fewShotLearner(sep.emb, sep.classes, { ways: 5, shots: 2, episodes: 20, seed: 1, learner: factoryOf(l, 1) });
      // the SGD softmax is the slow learner: one step per support is not enough for all queries
      if (l === SGD) expect(r.accuracy.mean, l.id).toBeGreaterThan(0.5);
      else expect(r.accuracy.mean, l.id).toBe(1);
      const n = await fewShotLearner(noise.emb, noise.classes, { ways: 5, shots: 1, episodes: 150, seed: 1, learner: factoryOf(l, 1) });
      expect(Math.abs(n.accuracy.mean - 0.2), l.id).toBeLessThan(0.06);
    }
  });

  it('leaks no tensors and rejects bad options', async () => {
    const { emb, classes } = clusters(10, 8, 16, 0.3);
    const before = tf.memory().numTensors;
    await fewShotLearner(emb, classes, { ways: 5, shots: 2, episodes: 5, seed: 1, learner: factoryOf(SGD, 1) });
    await curriculum(emb, classes, { length: 60, initialClasses: 3, introduceEvery: 5, streams: 1, seed: 1, learners: [SGD, MEMORY].map((l) => ({ ...l, make: factoryOf({ ...l, spec: l.spec.kind === 'memory' ? { kind: 'memory', memorySize: 16 } : l.spec }, 1) })) });
    expect(tf.memory().numTensors).toBe(before);
    await expect(fewShotLearner(emb, classes, { ways: 11, shots: 1, episodes: 1, seed: 1, learner: factoryOf(SGD, 1) })).rejects.toThrow(/at least 11 classes/);
    await expect(fewShotLearner(emb, classes, { ways: 5, shots: 0, episodes: 1, seed: 1, learner: factoryOf(SGD, 1) })).rejects.toThrow(/shots/);
    await expect(curriculum(emb, classes, { length: 0, seed: 1, learners: [] })).rejects.toThrow(/length to be an integer >= 1, got 0/);
    await expect(curriculum(emb, classes, { seed: 1, learners: [] })).rejects.toThrow(/at least one learner/);
  });
});

describe('the curriculum', () => {
  it('introduces classes on schedule, shows every drawing at most once, and counts sightings and gaps', () => {
    const { classes } = clusters(50, 20, 4, 0.1);
    const s = curriculumStream(mulberry32(3), classes, 400, 5, 10);
    expect(s).toHaveLength(400);
    expect(new Set(s.map((x) => x.row)).size).toBe(400);
    // classes by step t: one per step for 5 steps, then one more every 10 steps
    const firstSeen = new Map<number, number>();
    s.forEach((x, t) => firstSeen.has(x.label) || firstSeen.set(x.label, t));
    expect([...firstSeen.values()]).toEqual([0, 1, 2, 3, 4, ...Array.from({ length: 40 }, (_, j) => 5 + 10 * j)]);
    const count = new Map<number, number>();
    const last = new Map<number, number>();
    s.forEach((x, t) => {
      expect(x.sightings).toBe(count.get(x.label) ?? 0);
      expect(x.gap).toBe(last.has(x.label) ? t - last.get(x.label)! : 0);
      expect(classes.classes[x.label].items).toContain(x.row);
      count.set(x.label, (count.get(x.label) ?? 0) + 1);
      last.set(x.label, t);
    });
  });

  it('on separable clusters: first sightings are wrong, a large memory and the class means are right after, a tiny memory forgets', async () => {
    const { emb, classes } = clusters(80, 20, 32, 0.05);
    const mk = (l: EvalLearner) => ({ id: l.id, title: l.title, make: factoryOf(l, 2) });
    const r = await curriculum(emb, classes, {
      length: 800,
      initialClasses: 5,
      introduceEvery: 10,
      streams: 2,
      seed: 2,
      learners: [
        mk({ id: 'large', title: 'large', spec: { kind: 'memory', memorySize: 1024 } }),
        mk({ id: 'tiny', title: 'tiny', spec: { kind: 'memory', memorySize: 8, ageNoise: 0 } }),
        mk(HEBBIAN),
        mk(PROTOTYPES),
      ],
    });
    expect(r.learners.map((l) => l.id)).toEqual(['large', 'tiny', 'hebbian', 'prototypes']);
    for (const l of r.learners) {
      expect(l.bySightings.map((b) => b.label)).toEqual(SIGHTING_BINS.map((b) => b.label));
      expect(l.byGap.map((b) => b.label)).toEqual(GAP_BINS.map((b) => b.label));
      expect(l.bySightings[0].accuracy.mean).toBe(0); // a class never seen cannot be named
      expect(l.bySightings.reduce((s, b) => s + b.total, 0)).toBe(1600);
    }
    for (const id of ['large', 'hebbian', 'prototypes']) expect(r.learners.find((l) => l.id === id)!.seenAccuracy.mean, id).toBe(1);
    const tiny = r.learners.find((l) => l.id === 'tiny')!;
    // 8 slots: a class last seen 31+ steps ago (>= 8 other writes) has been evicted
    expect(tiny.byGap.find((b) => b.label === '31-100')!.accuracy.mean).toBe(0);
    expect(tiny.byGap[0].accuracy.mean).toBeGreaterThan(0.3);
  });
});

describe('runBenchmark with the learners', () => {
  it('adds the learners table and the curriculum to the results and the report', async () => {
    const set = readOmniglotZip(omniglotZip({ alphabets: 3, chars: 8, drawers: 12 }), 'syn.zip');
    const config = defaultConfig();
    config.episodes = 8;
    config.pixelsBaseline = false;
    config.rawPixelsBaseline = false;
    config.learnersOnly = true;
    config.learners = { ...defaultLearnersConfig(), episodes: undefined }; // the main table's 8
    config.learners.curriculum = { ...config.learners.curriculum, length: 200, streams: 1 };
    const r = await runBenchmark({ set, model: 'identity', backend: 'wasm', embed: async (p) => ({ dim: p.dim, count: p.count, data: p.data.slice() }) }, config);
    expect(r.fewShot).toEqual([]); // learners only
    expect(r.learners!.fewShot.map((x) => x.learner)).toEqual(['memory', 'hebbian', 'prototypes', 'sgd-softmax'].flatMap((l) => [l, l, l, l]));
    expect(r.learners!.fewShot.map((x) => `${x.ways}/${x.shots}`).slice(0, 4)).toEqual(['5/1', '5/5', '20/1', '20/5']);
    expect(r.learners!.curriculum!.learners.map((l) => l.id)).toEqual(['memory-small', 'memory-large', 'hebbian', 'prototypes', 'sgd-softmax']);
    const md = resultsToMarkdown(r);
    expect(md).toContain('## Learners side by side');
    expect(md).toMatch(/\| Hebbian softmax \(gamma 0\.1, T 100\)( \| \d+\.\d(?: ± \d+\.\d| \(n = \d+\)) \(\d\.\d\d\)){4} \|/);
    expect(md).toContain('### Curriculum');
    expect(md).toContain('| Learner | 0 | 1 | 2 | 3 | 4-5 | 6-10 | 11+ | seen >= 1 |');
  });
});
