import { describe, expect, it } from 'vitest';
import {
  strokesToRaster, strokesToInput, transformStrokes, inputToThumbnail, pressureWidthFactor, type StrokePoint,
} from '../../src/strokes';
import { EmptyDrawingError } from '../../src/preprocess';

const pt = (x: number, y: number, pressure = 0.5, t = 0): StrokePoint => ({ x, y, pressure, t });
const line = (x0: number, y0: number, x1: number, y1: number, n = 10, pressure = 0.5): StrokePoint[] =>
  Array.from({ length: n + 1 }, (_, i) => pt(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, pressure, i * 10));
const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

describe('strokesToRaster', () => {
  it('paints a horizontal line as a band of lineWidth rows, centred, spanning `span` pixels', () => {
    const r = strokesToRaster([line(10, 50, 110, 50)], { side: 105, span: 69, lineWidth: 5 });
    const at = (x: number, y: number) => r.pixels[y * r.width + x];
    expect(at(52, 52)).toBe(1); // centre of the raster
    expect(at(52, 40)).toBe(0);
    expect(at(52, 62)).toBe(0);
    // ink per column in the middle ≈ line width (antialiased edges)
    const col = Array.from({ length: 105 }, (_, y) => at(52, y));
    expect(sum(col)).toBeGreaterThan(4.5);
    expect(sum(col)).toBeLessThan(6.5);
    // horizontal extent ≈ span + line width (round caps)
    const row = Array.from({ length: 105 }, (_, x) => at(x, 52));
    const inked = row.filter((v) => v > 0.5).length;
    expect(inked).toBeGreaterThanOrEqual(69);
    expect(inked).toBeLessThanOrEqual(69 + 6);
  });

  it('returns an empty raster for no strokes and throws EmptyDrawingError on preprocessing', () => {
    expect(sum(strokesToRaster([]).pixels)).toBe(0);
    expect(() => strokesToInput([])).toThrow(EmptyDrawingError);
    expect(() => strokesToInput([[]])).toThrow(EmptyDrawingError);
  });

  it('paints a single tap as a dot', () => {
    const r = strokesToRaster([[pt(30, 30)]], { lineWidth: 6 });
    const ink = sum(r.pixels);
    expect(ink).toBeGreaterThan(Math.PI * 9 * 0.7);
    expect(ink).toBeLessThan(Math.PI * 9 * 1.4);
  });

  it('draws wider with more pressure', () => {
    const light = sum(strokesToRaster([line(0, 0, 100, 100, 10, 0.1)]).pixels);
    const firm = sum(strokesToRaster([line(0, 0, 100, 100, 10, 0.9)]).pixels);
    expect(firm).toBeGreaterThan(light * 1.5);
    expect(pressureWidthFactor(0.5)).toBe(1);
    expect(pressureWidthFactor(Number.NaN)).toBe(1);
  });

  it('refuses non-finite coordinates and bad options', () => {
    expect(() => strokesToRaster([[pt(Number.NaN, 1)]])).toThrow(/finite/);
    expect(() => strokesToRaster([[pt(1, 1)]], { side: 3 })).toThrow(/side/);
    expect(() => strokesToRaster([[pt(1, 1)]], { span: 200 })).toThrow(/span/);
  });
});

describe('strokesToInput', () => {
  const cross = [line(20, 20, 220, 220), line(220, 20, 20, 220)];

  it('gives a 28x28 input with ink 1, empty margins', () => {
    const x = strokesToInput(cross);
    expect(x.length).toBe(784);
    expect(Math.max(...x)).toBeCloseTo(1, 6);
    for (let i = 0; i < 28; i++) {
      expect(x[i]).toBe(0); // top row
      expect(x[i * 28]).toBe(0); // left column
    }
  });

  it('does not depend on where or how large the symbol was drawn', () => {
    const a = strokesToInput(cross);
    const b = strokesToInput(transformStrokes(cross, (x, y) => [x * 0.5 + 300, y * 0.5 + 40]));
    for (let i = 0; i < 784; i++) expect(b[i]).toBeCloseTo(a[i], 5);
  });

  it('tells different symbols apart', () => {
    const a = strokesToInput(cross);
    const c = strokesToInput([line(20, 120, 220, 120), line(120, 20, 120, 220)]);
    const diff = a.reduce((s, v, i) => s + Math.abs(v - c[i]), 0);
    expect(diff).toBeGreaterThan(20);
  });

  it('converts to a byte thumbnail', () => {
    const t = inputToThumbnail(strokesToInput(cross));
    expect(t.length).toBe(784);
    expect(Math.max(...t)).toBe(255);
    expect(() => inputToThumbnail(new Float32Array(10))).toThrow(/784/);
  });
});
