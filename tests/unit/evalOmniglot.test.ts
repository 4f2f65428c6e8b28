import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend';
import { formatPercent } from '../../src/eval/protocols';
import { benchmarkConfigProblem, defaultConfig, resultsToMarkdown, runBenchmark, testSetCaveat, EVAL_UNROTATED, VINYALS_TEST } from '../../src/eval/benchmark';
import { plainResize, prepareImages, rotatedClasses, splitClasses, unrotatedClasses } from '../../src/eval/dataset';
import { decodeDrawing, OmniglotLayoutError, parseSplit, readOmniglotZip } from '../../src/eval/omniglot';
import { defaultOmniglotDir, loadOmniglotZip, loadVinyalsSplit } from '../../src/eval/omniglotNode';
import { preprocess, rotateImage90 } from '../../src/preprocess';
import { inkPng, omniglotZip } from './evalSynthetic';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'omniglot-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readOmniglotZip', () => {
  it('reads the official layout: alphabets, characters, drawers, sorted', () => {
    const set = readOmniglotZip(omniglotZip({ alphabets: 2, chars: 3, drawers: 4 }), 'synthetic.zip');
    expect(set.root).toBe('images_evaluation');
    expect(set.alphabets).toEqual(['Alpha0', 'Alpha1']);
    expect(set.characters.map((c) => c.name)).toEqual([
      'Alpha0/character01', 'Alpha0/character02', 'Alpha0/character03',
      'Alpha1/character01', 'Alpha1/character02', 'Alpha1/character03',
    ]);
    expect(set.characters[0].drawings.map((d) => d.drawer)).toEqual([1, 2, 3, 4]);
    expect(set.byName.get('Alpha1/character02')).toBe(4);
  });

  it('decodes 1-bit (mode 1) and 8-bit PNGs: ink 0 on paper 1', () => {
    const rect = { r0: 20, r1: 30, c0: 40, c1: 47 };
    for (const depth of [1, 8] as const) {
      const img = decodeDrawing({ path: 'x.png', drawer: 1, png: inkPng(rect, 105, depth) });
      expect([img.height, img.width]).toEqual([105, 105]);
      for (const [r, c, v] of [[0, 0, 1], [20, 40, 0], [29, 46, 0], [30, 46, 1], [29, 47, 1], [19, 40, 1]]) {
        expect(img.pixels[r * 105 + c]).toBe(v);
      }
      const ink = img.pixels.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
      expect(ink).toBe(10 * 7);
    }
  });

  it('a corrupt zip -> an error naming the source and the expected layout', () => {
    const bytes = new Uint8Array(omniglotZip()).slice(0, 500);
    expect(() => readOmniglotZip(bytes, '/data/images_evaluation.zip')).toThrow(OmniglotLayoutError);
    expect(() => readOmniglotZip(bytes, '/data/images_evaluation.zip')).toThrow(
      /\/data\/images_evaluation\.zip: not a readable zip.*<root>\/<Alphabet>\/characterNN\/<ID>_<DD>\.png/,
    );
    expect(() => readOmniglotZip(new TextEncoder().encode('hello'), 'x.zip')).toThrow(/x\.zip: not a readable zip/);
  });

  it('a zip of another layout -> an error naming the entry and the expected layout', () => {
    const flat = zipSync({ 'images_evaluation/0965_01.png': inkPng({ r0: 1, r1: 5, c0: 1, c1: 5 }) });
    expect(() => readOmniglotZip(flat, 'flat.zip')).toThrow(
      /flat\.zip: no drawings found; expected <root>\/<Alphabet>\/characterNN.*found e\.g\. "images_evaluation\/0965_01\.png"/,
    );
    const mixed = zipSync({
      'images_evaluation/Alpha/character01/0001_01.png': inkPng({ r0: 1, r1: 5, c0: 1, c1: 5 }),
      'images_evaluation/Alpha/notes.txt': new Uint8Array(3),
    });
    expect(() => readOmniglotZip(mixed, 'mixed.zip')).toThrow(/mixed\.zip: 1 unexpected entry \(e\.g\. "images_evaluation\/Alpha\/notes\.txt"\); expected <root>/);
    const empty = zipSync({});
    expect(() => readOmniglotZip(empty, 'empty.zip')).toThrow(/empty\.zip: no drawings found.*an empty zip/);
    const twoRoots = zipSync({
      'a/Alpha/character01/0001_01.png': inkPng({ r0: 1, r1: 5, c0: 1, c1: 5 }),
      'b/Alpha/character01/0001_01.png': inkPng({ r0: 1, r1: 5, c0: 1, c1: 5 }),
    });
    expect(() => readOmniglotZip(twoRoots, 'two.zip')).toThrow(/two\.zip: drawings under several root folders/);
    const badName = zipSync({ 'images_evaluation/Alpha/char1/0001_01.png': inkPng({ r0: 1, r1: 5, c0: 1, c1: 5 }) });
    expect(() => readOmniglotZip(badName, 'bad.zip')).toThrow(/bad\.zip: no drawings found.*char1/);
  });

  it('a PNG that is not a PNG -> an error naming the file', () => {
    const z = zipSync({ 'images_evaluation/Alpha/character01/0001_01.png': new TextEncoder().encode('not a png') });
    const set = readOmniglotZip(z, 'z.zip');
    expect(() => decodeDrawing(set.characters[0].drawings[0], 'z.zip')).toThrow(/z\.zip: images_evaluation\/Alpha\/character01\/0001_01\.png is not a readable PNG/);
  });
});

describe('OMNIGLOT_DIR files (Node)', () => {
  it('a missing zip -> an error naming the path and the expected layout', () => {
    expect(() => loadOmniglotZip(dir, 'evaluation')).toThrow(
      new RegExp(`${join(dir, 'images_evaluation.zip').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: file not found.*OMNIGLOT_DIR.*<root>/<Alphabet>/characterNN`),
    );
    expect(() => loadVinyalsSplit(dir)).toThrow(/splits\/vinyals\/test\.txt: file not found/);
  });

  it('reads a zip and a split from a directory; checks the root folder', () => {
    writeFileSync(join(dir, 'images_evaluation.zip'), omniglotZip());
    writeFileSync(join(dir, 'images_background.zip'), omniglotZip({ root: 'images_evaluation' }));
    mkdirSync(join(dir, 'splits', 'vinyals'), { recursive: true });
    writeFileSync(join(dir, 'splits', 'vinyals', 'test.txt'), 'Alpha0/character01/rot000\nAlpha0/character01/rot090\nAlpha1/character03/rot270\n');
    const set = loadOmniglotZip(dir, 'evaluation');
    expect(set.characters.length).toBe(6);
    expect(() => loadOmniglotZip(dir, 'background')).toThrow(/root folder is images_evaluation; expected images_background/);
    const split = loadVinyalsSplit(dir);
    expect(split.classes.map((c) => c.rotation)).toEqual([0, 1, 3]);
    expect(splitClasses(set, split.classes, split.source).map((c) => c.character)).toEqual([0, 0, 5]);
  });

  it('OMNIGLOT_DIR overrides the default ../shared/data/omniglot', () => {
    expect(defaultOmniglotDir('/repo', {})).toBe('/shared/data/omniglot');
    expect(defaultOmniglotDir('/repo', { OMNIGLOT_DIR: '/x/y' })).toBe('/x/y');
  });
});

describe('Vinyals split', () => {
  it('parses lines and rejects anything else with the line number', () => {
    expect(parseSplit('A/character01/rot180\r\n\nB_c/character12/rot000\n', 's.txt')).toEqual([
      { character: 'A/character01', rotation: 2, line: 'A/character01/rot180' },
      { character: 'B_c/character12', rotation: 0, line: 'B_c/character12/rot000' },
    ]);
    expect(() => parseSplit('A/character01/rot045\n', 's.txt')).toThrow(/s\.txt:1: expected a line 'Alphabet\/characterNN\/rotDDD'/);
    expect(() => parseSplit('\n', 's.txt')).toThrow(/s\.txt: no classes/);
  });

  it('a split class missing from the zip -> a clear error', () => {
    const set = readOmniglotZip(omniglotZip(), 'syn.zip');
    expect(() => splitClasses(set, parseSplit('Nope/character01/rot000', 'test.txt'), 'test.txt')).toThrow(
      /test\.txt: 1 of 1 classes are not characters of syn\.zip.*Nope\/character01\/rot000/,
    );
  });
});

describe('prepareImages', () => {
  it('rotates the drawing (numpy.rot90, CCW) before preprocessing, each image once', async () => {
    const set = readOmniglotZip(omniglotZip({ alphabets: 1, chars: 2, drawers: 3 }), 'syn.zip');
    const rot = rotatedClasses(set);
    const plain = unrotatedClasses(set);
    const prep = await prepareImages(set, [{ name: 'rot', classes: rot }, { name: 'plain', classes: plain }]);
    // unrotated images are shared by the two sets: 2 chars x 3 drawers x 4 rotations
    expect(prep.pixels.count).toBe(24);
    expect(prep.sets[1].classes[0].items).toEqual(prep.sets[0].classes[0].items);
    const dr = set.characters[1].drawings[2];
    const img = decodeDrawing(dr);
    for (let k = 0; k < 4; k++) {
      const r = rotateImage90(img.pixels, 105, 105, k);
      const expected = preprocess(r.pixels, r.height, r.width);
      const row = prep.sets[0].classes[4 + k].items[2];
      expect(Array.from(prep.pixels.data.subarray(row * 784, row * 784 + 784))).toEqual(Array.from(expected));
    }
    // rotations really differ (the rectangle is not square)
    const a = prep.sets[0].classes[4].items[0], b = prep.sets[0].classes[5].items[0];
    expect(Array.from(prep.pixels.data.subarray(a * 784, a * 784 + 784))).not.toEqual(Array.from(prep.pixels.data.subarray(b * 784, b * 784 + 784)));
  });
});

describe('plainResize (the raw pixels baseline input)', () => {
  it('area-averages the whole image to 28x28 as ink = 1 - gray', () => {
    const white = new Array(56 * 56).fill(1);
    expect(Array.from(plainResize(white, 56, 56)).every((v) => v === 0)).toBe(true);
    const img = white.slice();
    img[0] = 0; // one black pixel in the top-left 2x2 cell
    img[57] = 0.5;
    const out = plainResize(img, 56, 56);
    expect(out[0]).toBeCloseTo((1 + 0.5) / 4, 12);
    expect(out.slice(1).every((v) => v === 0)).toBe(true);
    // 105 -> 28: 3.75 source cells per output cell; a black image stays all ink
    expect(Array.from(plainResize(new Array(105 * 105).fill(0), 105, 105)).every((v) => Math.abs(v - 1) < 1e-12)).toBe(true);
  });
});

describe('runBenchmark end to end (synthetic zip, pixels as keys)', () => {
  beforeAll(async () => {
    await selectBackend({ force: 'wasm' });
  });

  it('runs every protocol and writes the report', async () => {
    const set = readOmniglotZip(omniglotZip({ alphabets: 3, chars: 8, drawers: 12 }), 'syn.zip');
    const config = defaultConfig();
    config.episodes = 20;
    config.rawPixelsBaseline = true;
    config.online = { ways: [5], length: [20], episodes: 5, maxShot: 5 };
    config.lifelong = { ways: 5, length: 20, episodes: 4, memorySize: 12, window: 2 };
    const stages: string[] = [];
    // 6 characters x 4 rotations = 24 classes: enough for 20-way
    const lines = set.characters.slice(0, 6).flatMap((c) => ['000', '090', '180', '270'].map((r) => `${c.name}/rot${r}`));
    const split = { classes: parseSplit(lines.join('\n'), 'split.txt'), source: 'split.txt' };
    const r = await runBenchmark(
      {
        set,
        split,
        model: 'identity',
        backend: 'wasm',
        // a "model" whose key is the preprocessed image itself
        embed: async (p) => ({ dim: p.dim, count: p.count, data: p.data.slice() }),
      },
      config,
      { onStage: (s) => stages.push(s) },
    );
    expect(r.testSets.map((t) => [t.name, t.classes, t.images])).toEqual([
      [VINYALS_TEST, 24, 288],
      [EVAL_UNROTATED, 24, 288],
    ]);
    expect(r.fewShot.length).toBe(3 * 2 * 4);
    expect(r.fewShot.filter((f) => f.method === 'raw-pixels').length).toBe(2 * 4);
    expect(r.skipped).toEqual([]);
    // the synthetic characters are clean rectangles of distinct shapes: pixels separate them well
    for (const f of r.fewShot.filter((x) => x.shots === 5)) expect(f.accuracy.mean).toBeGreaterThan(0.5);
    expect(r.online.length).toBe(2);
    expect(r.lifelong.length).toBe(2);
    expect(stages[0]).toMatch(/preprocessing/);
    const md = resultsToMarkdown(r);
    expect(md).toContain('| Kaiser et al. (conv + memory) (published) | Kaiser et al. 2017, Table 1 | 98.4 | 99.6 | 95.0 | 98.6 |');
    expect(md).toContain('| Prototypical Networks (published) | Snell et al. 2017 | 98.8 | 99.7 | 96.0 | 98.9 |');
    expect(md).toMatch(/\| \*\*Memory Lab: `identity` \+ memory\*\* \| vinyals-test \| \d+\.\d ± \d+\.\d \|/);
    expect(md).toContain('| Memory Lab: raw pixels NN (plain 28x28 resize) | evaluation-unrotated |');
    expect(md).toContain('## Online protocol');
    expect(md).toContain('## Life-long');
  });

  it('skips what a small set cannot hold, and says so', async () => {
    const set = readOmniglotZip(omniglotZip({ alphabets: 1, chars: 6, drawers: 12 }), 'small.zip');
    const config = defaultConfig();
    config.episodes = 5;
    config.pixelsBaseline = false;
    config.rawPixelsBaseline = false;
    config.online = { ways: [5, 20], length: [10, 10], episodes: 2, maxShot: 3 };
    config.lifelong = { ways: 5, length: 10, episodes: 2, memorySize: 8, window: 1 };
    const r = await runBenchmark({ set, model: 'id', backend: 'wasm', embed: async (p) => p }, config);
    expect(r.fewShot.map((f) => `${f.ways}/${f.shots}`)).toEqual(['5/1', '5/5']);
    expect(r.skipped).toEqual([
      'id: 20-way 1-shot on evaluation-unrotated: needs 20 classes of >= 6 images, the set has 6 classes of >= 12',
      'id: 20-way 5-shot on evaluation-unrotated: needs 20 classes of >= 10 images, the set has 6 classes of >= 12',
      'id: online 20-way on evaluation-unrotated: needs 20 classes of >= 1 images, the set has 6 classes of >= 12',
      'life-long on evaluation-unrotated: 1 episodes instead of 2 (6 classes, 5 new per episode)',
    ]);
    expect(r.lifelong[0].episodes).toBe(1);
    expect(resultsToMarkdown(r)).toContain('Skipped or shortened (test set too small):');
  });

  it('names a set by its root unless it is the evaluation set, and says why it is not comparable; one episode has no interval', async () => {
    const set = readOmniglotZip(omniglotZip({ root: 'images_background', alphabets: 1, chars: 6, drawers: 12 }), 'bg.zip');
    const config = defaultConfig();
    config.episodes = 1;
    config.pixelsBaseline = false;
    config.rawPixelsBaseline = false;
    config.online = { ways: [5], length: [10], episodes: 1, maxShot: 3 };
    config.lifelong = { ways: 5, length: 10, episodes: 1, memorySize: 8, window: 1 };
    const r = await runBenchmark({ set, model: 'id', backend: 'wasm', embed: async (p) => p }, config);
    expect(r.testSets.map((t) => t.name)).toEqual(['images_background-unrotated']);
    expect(r.testSets[0].description).toContain('the 30 alphabets the bundled encoders were trained on');
    expect(testSetCaveat('images_evaluation')).toBeNull();
    expect(testSetCaveat('my_alphabets')).toMatch(/not Omniglot's evaluation set/);
    const cell = r.fewShot.find((f) => f.ways === 5 && f.shots === 1)!;
    expect(cell.accuracy.n).toBe(1);
    expect(cell.accuracy.ci95).toBeNaN();
    expect(formatPercent(cell.accuracy)).toMatch(/^\d+\.\d \(n = 1\)$/);
    expect(resultsToMarkdown(r)).toContain('`images_background-unrotated`: all 6 characters of images_background, unrotated (images_background holds the 30 alphabets');
  });

  it('refuses an impossible configuration before any work, saying why', async () => {
    const set = readOmniglotZip(omniglotZip(), 'syn.zip');
    let embedded = 0;
    const run = (patch: Partial<ReturnType<typeof defaultConfig>>) =>
      runBenchmark({ set, model: 'm', backend: 'wasm', embed: async (p) => (embedded++, p) }, { ...defaultConfig(), ...patch });
    for (const d of [1, 0, -4, 2.5, 21, NaN]) await expect(run({ drawingsPerClass: d })).rejects.toThrow(/expected drawings per class to be an integer from 2 to 20/);
    await expect(run({ episodes: 0 })).rejects.toThrow(/expected episodes to be an integer from 1 to 100,000 \(the published protocols use 1,000\), got 0/);
    await expect(run({ episodes: 1e9 })).rejects.toThrow(/from 1 to 100,000 .*got 1000000000/);
    await expect(run({ queriesPerClass: 0 })).rejects.toThrow(/expected queries per class/);
    expect(embedded).toBe(0);
    expect(benchmarkConfigProblem({ episodes: 3, queriesPerClass: 5, drawingsPerClass: 2 })).toBeNull();
    expect(benchmarkConfigProblem({ episodes: 3, queriesPerClass: 5 })).toBeNull();
  });

  it('can be cancelled', async () => {
    const set = readOmniglotZip(omniglotZip(), 'syn.zip');
    await expect(
      runBenchmark({ set, model: 'm', backend: 'wasm', embed: async (p) => p }, defaultConfig(), { cancelled: () => true }),
    ).rejects.toThrow(/cancelled/);
  });
});
