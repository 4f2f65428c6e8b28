import { describe, expect, it } from 'vitest';
import { CARD_HEIGHT, cardWidth, layoutKeyMap, type MapPoint, type PlacedPoint } from '../../src/app/keyMapLayout';

function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
}

/** `labels` names, `each` drawings per name, clustered around a random centre per name (spread `spread`). */
function clusters(labels: number, each: number, spread: number, seed = 1): MapPoint[] {
  const r = rng(seed);
  const out: MapPoint[] = [];
  for (let l = 0; l < labels; l++) {
    const cx = r(), cy = r();
    for (let k = 0; k < each; k++) {
      out.push({
        slot: out.length, label: l, name: `name ${l}`, age: out.length,
        x: Math.min(1, Math.max(0, cx + (r() - 0.5) * spread)), y: Math.min(1, Math.max(0, cy + (r() - 0.5) * spread)),
      });
    }
  }
  return out;
}

const cards = (ps: PlacedPoint[]) => ps.filter((p) => p.card).map((p) => p.card!);

function expectNoOverlapInside(ps: PlacedPoint[], width: number, height: number) {
  const cs = cards(ps);
  for (let i = 0; i < cs.length; i++) {
    const a = cs[i];
    expect(a.left).toBeGreaterThanOrEqual(0);
    expect(a.top).toBeGreaterThanOrEqual(0);
    expect(a.left + a.width).toBeLessThanOrEqual(width);
    expect(a.top + a.height).toBeLessThanOrEqual(height);
    for (let j = i + 1; j < cs.length; j++) {
      const b = cs[j];
      const apart = a.left + a.width <= b.left || b.left + b.width <= a.left || a.top + a.height <= b.top || b.top + b.height <= a.top;
      expect(apart, `cards ${i} and ${j} overlap`).toBe(true);
    }
  }
}

describe('key map layout', () => {
  it('places no two cards on top of each other, all inside the area, at desktop and phone widths', () => {
    for (const [w, seed] of [[1200, 1], [340, 2], [700, 3]] as const) {
      const ps = layoutKeyMap(clusters(12, 6, 0.08, seed), w, 320);
      expect(ps).toHaveLength(72);
      expectNoOverlapInside(ps, w, 320);
      // every point keeps its dot inside the area
      for (const p of ps) {
        expect(p.dotX).toBeGreaterThan(0);
        expect(p.dotX).toBeLessThan(w);
        expect(p.dotY).toBeGreaterThan(0);
        expect(p.dotY).toBeLessThan(320);
      }
    }
  });

  it('gives every name a card when there is room, the youngest drawing first', () => {
    const ps = layoutKeyMap(clusters(8, 4, 0.05, 4), 1200, 320);
    const named = new Set(ps.filter((p) => p.card).map((p) => p.label));
    expect(named.size).toBe(8);
    for (let l = 0; l < 8; l++) {
      const mine = ps.filter((p) => p.label === l);
      const youngest = mine.reduce((a, b) => (b.age < a.age ? b : a));
      expect(youngest.card, `name ${l}'s youngest drawing has the card`).not.toBeNull();
    }
  });

  it('keeps identical keys under two names both readable: the second card moves next to its dot', () => {
    const same = { x: 0.5, y: 0.5 };
    const ps = layoutKeyMap(
      [
        { slot: 0, label: 0, name: 'a', age: 0, ...same },
        { slot: 1, label: 1, name: 'b', age: 1, ...same },
      ],
      600,
      320,
    );
    const [a, b] = ps;
    expect(a.card && b.card).toBeTruthy();
    expect(Math.abs(a.card!.top - b.card!.top)).toBeGreaterThanOrEqual(CARD_HEIGHT);
    expect(a.dotX).toBe(b.dotX);
    expect(a.card!.left + a.card!.width / 2).toBeCloseTo(300, 0); // centred: the map's middle
  });

  it('finds room for each name of a crowded corner, at a phone width too', () => {
    for (const w of [1200, 340]) {
      const crowd = Array.from({ length: 8 }, (_, l) => ({ slot: l, label: l, name: `n${l}`, age: l, x: 1 - l * 0.002, y: l * 0.002 }));
      const ps = layoutKeyMap(crowd, w, 320);
      expect(cards(ps)).toHaveLength(8);
      expectNoOverlapInside(ps, w, 320);
    }
  });

  it('shows more drawings of a name where their own spot is free, and only dots where it is not', () => {
    const far = layoutKeyMap([0, 1, 2].map((k) => ({ slot: k, label: 0, name: 'x', age: k, x: k / 2, y: k / 2 })), 800, 320);
    expect(cards(far)).toHaveLength(3);
    const near = layoutKeyMap([0, 1, 2].map((k) => ({ slot: k, label: 0, name: 'x', age: k, x: 0.5 + k * 0.001, y: 0.5 })), 800, 320);
    expect(cards(near)).toHaveLength(1);
    expect(near[0].card).not.toBeNull(); // the youngest
  });

  it('sizes cards by their names, within bounds', () => {
    expect(cardWidth('a')).toBe(30);
    expect(cardWidth('x'.repeat(200))).toBe(80);
    expect(cardWidth('🐱🐱🐱')).toBe(cardWidth('汉字字')); // characters, not UTF-16 units
    expect(cardWidth('汉字汉字')).toBeGreaterThan(cardWidth('abcd') + 12); // wide characters take about an em
  });

  it('refuses an area without size', () => {
    expect(() => layoutKeyMap([], 0, 320)).toThrow(/positive size/);
    expect(() => layoutKeyMap([], NaN, 320)).toThrow(/positive size/);
  });
});
