import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BOX,
  EmptyDrawingError,
  MARGIN,
  OUT,
  OUT_SIZE,
  preprocess,
  rotateImage90,
} from '../../src/preprocess';

interface FixtureCase {
  name: string;
  height: number;
  width: number;
  inkIsDark: boolean;
  pixels: number[];
  expected?: number[];
}
interface Fixture {
  threshold?: number;
  cases: FixtureCase[];
  emptyCases: FixtureCase[];
}

// Written by training/make_fixtures.py from training/preprocess.py (synthetic images).
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/preprocess_fixture.json', import.meta.url), 'utf8'),
) as Fixture;

describe('preprocess matches training/preprocess.py (fixture)', () => {
  it('has cases', () => {
    expect(fixture.cases.length).toBeGreaterThan(0);
    expect(fixture.emptyCases.length).toBeGreaterThan(0);
  });

  for (const c of fixture.cases) {
    it(`${c.name} (${c.height}x${c.width}, inkIsDark=${c.inkIsDark}): max abs diff <= 1e-6`, () => {
      const out = preprocess(c.pixels, c.height, c.width, { inkIsDark: c.inkIsDark });
      expect(out).toBeInstanceOf(Float32Array);
      expect(out.length).toBe(OUT_SIZE);
      expect(c.expected?.length).toBe(OUT_SIZE);
      let worst = 0;
      for (let i = 0; i < OUT_SIZE; i++) worst = Math.max(worst, Math.abs(out[i] - c.expected![i]));
      expect(worst).toBeLessThanOrEqual(1e-6);
    });
  }

  for (const c of fixture.emptyCases) {
    it(`${c.name}: throws EmptyDrawingError`, () => {
      expect(() => preprocess(c.pixels, c.height, c.width, { inkIsDark: c.inkIsDark })).toThrow(EmptyDrawingError);
    });
  }
});

describe('preprocess: small exact checks', () => {
  it('a single ink cell fills the 20x20 box exactly, ink 1 inside, 0 in the margin', () => {
    const px = new Array(9).fill(1);
    px[4] = 0; // dark ink at the centre of a 3x3 white image
    const out = preprocess(px, 3, 3, { inkIsDark: true });
    for (let r = 0; r < OUT; r++) {
      for (let c = 0; c < OUT; c++) {
        const inside = r >= MARGIN && r < MARGIN + BOX && c >= MARGIN && c < MARGIN + BOX;
        expect(out[r * OUT + c]).toBe(inside ? 1 : 0);
      }
    }
  });

  it('reads Uint8Array as 0..255 like numpy uint8', () => {
    const a = new Uint8Array(25).fill(255);
    a[7] = 0;
    a[13] = 128;
    const f = Array.from(a, (v) => v / 255);
    expect(Array.from(preprocess(a, 5, 5))).toEqual(Array.from(preprocess(f, 5, 5)));
  });

  it('the polarity flag: dark ink on white equals light ink on black', () => {
    const light = Array.from({ length: 40 }, (_, i) => ((i * 7) % 5 === 0 ? 0.9 : 0));
    const dark = light.map((v) => 1 - v);
    expect(Array.from(preprocess(dark, 5, 8, { inkIsDark: true }))).toEqual(
      Array.from(preprocess(light, 5, 8, { inkIsDark: false })),
    );
  });

  it('rejects wrong sizes, bad shapes and NaN with clear errors', () => {
    expect(() => preprocess([1, 0, 1], 2, 2)).toThrow(/expected 2\*2 = 4 pixels.*got 3/);
    expect(() => preprocess([], 0, 0)).toThrow(/height, width >= 1/);
    expect(() => preprocess([0, 1], 1.5, 2)).toThrow(/integer/);
    expect(() => preprocess([0, NaN, 1, 1], 2, 2)).toThrow(/NaN or Inf/);
    expect(() => preprocess([0, Infinity, 1, 1], 2, 2)).toThrow(/NaN or Inf/);
  });

  it('an all-white image throws EmptyDrawingError (an Error subclass)', () => {
    const err = (() => {
      try {
        preprocess(new Array(16).fill(1), 4, 4);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(EmptyDrawingError);
    expect(err).toBeInstanceOf(Error);
  });
});

describe('rotateImage90 matches numpy.rot90 (counter-clockwise)', () => {
  // m = [[1, 2, 3], [4, 5, 6]]; np.rot90(m, k) written out by hand.
  const m = [1, 2, 3, 4, 5, 6];
  it('k = 1: [[3, 6], [2, 5], [1, 4]]', () => {
    const r = rotateImage90(m, 2, 3, 1);
    expect([r.height, r.width]).toEqual([3, 2]);
    expect(Array.from(r.pixels)).toEqual([3, 6, 2, 5, 1, 4]);
  });
  it('k = 2: [[6, 5, 4], [3, 2, 1]]', () => {
    const r = rotateImage90(m, 2, 3, 2);
    expect([r.height, r.width]).toEqual([2, 3]);
    expect(Array.from(r.pixels)).toEqual([6, 5, 4, 3, 2, 1]);
  });
  it('k = 3: [[4, 1], [5, 2], [6, 3]]', () => {
    const r = rotateImage90(m, 2, 3, 3);
    expect([r.height, r.width]).toEqual([3, 2]);
    expect(Array.from(r.pixels)).toEqual([4, 1, 5, 2, 6, 3]);
  });
  it('k = 0 and k = 4 are the identity', () => {
    expect(Array.from(rotateImage90(m, 2, 3, 0).pixels)).toEqual(m);
    expect(Array.from(rotateImage90(m, 2, 3, 4).pixels)).toEqual(m);
  });
});
