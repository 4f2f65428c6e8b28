/**
 * Stroke scripts written by the project for the guided tour and the keyboard "example symbol"
 * (no dataset drawings). Each symbol is a list of strokes; each stroke a polyline in unit
 * coordinates [0, 1]^2, resampled to points every few canvas pixels.
 */
import { mulberry32 } from '../../memory/random';
import type { StrokePoint } from '../../strokes';

export interface SymbolScript {
  name: string;
  /** how to draw it, in a few words (the tour's "Your turn") */
  hint: string;
  strokes: [number, number][][];
}

const circle = (cx: number, cy: number, r: number, from = 0, to = Math.PI * 2, n = 24): [number, number][] =>
  Array.from({ length: n + 1 }, (_, i) => {
    const a = from + ((to - from) * i) / n;
    return [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  });

export const TOUR_SYMBOLS: SymbolScript[] = [
  {
    name: 'sun',
    hint: 'a circle with four rays',
    strokes: [circle(0.5, 0.5, 0.22), [[0.5, 0.05], [0.5, 0.22]], [[0.5, 0.78], [0.5, 0.95]], [[0.05, 0.5], [0.22, 0.5]], [[0.78, 0.5], [0.95, 0.5]]],
  },
  {
    name: 'lightning',
    hint: 'a zigzag from top to bottom',
    strokes: [[[0.6, 0.05], [0.3, 0.5], [0.65, 0.5], [0.35, 0.95]]],
  },
  {
    name: 'fork',
    hint: 'a handle with three prongs',
    strokes: [[[0.5, 0.95], [0.5, 0.4]], [[0.2, 0.1], [0.2, 0.35], [0.5, 0.45], [0.8, 0.35], [0.8, 0.1]], [[0.5, 0.1], [0.5, 0.4]]],
  },
];

/**
 * The strokes of a script in canvas pixels inside a box (x, y, size), one point every `step`
 * pixels. `wobble` > 0 moves each vertex randomly by up to wobble * size (a hand-drawn variant).
 */
export function scriptStrokes(
  s: SymbolScript,
  box = { x: 40, y: 40, size: 240 },
  options: { step?: number; wobble?: number; seed?: number } = {},
): StrokePoint[][] {
  const step = options.step ?? 4;
  const rand = mulberry32(options.seed ?? 1);
  const w = options.wobble ?? 0;
  let t = 0;
  return s.strokes.map((poly) => {
    const pts = poly.map(([u, v]) => [
      box.x + (u + (rand() - 0.5) * 2 * w) * box.size,
      box.y + (v + (rand() - 0.5) * 2 * w) * box.size,
    ]);
    const out: StrokePoint[] = [];
    for (let i = 0; i < pts.length; i++) {
      const [x, y] = pts[i];
      if (i === 0) {
        out.push({ x, y, pressure: 0.5, t: t++ * 8 });
        continue;
      }
      const [px, py] = pts[i - 1];
      const n = Math.max(1, Math.ceil(Math.hypot(x - px, y - py) / step));
      for (let j = 1; j <= n; j++) out.push({ x: px + ((x - px) * j) / n, y: py + ((y - py) * j) / n, pressure: 0.5, t: t++ * 8 });
    }
    return out;
  });
}
