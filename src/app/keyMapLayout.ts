/**
 * Where the key map draws its points and their cards (a drawing's picture and name).
 *
 * Every stored key is a dot at its place in the 2-D map. Cards are placed greedily so that no two
 * overlap: first one card for each name (its youngest drawing), moved to a free spot next to its dot
 * when its own spot is taken (identical keys under two names stay readable), then more drawings'
 * cards where their own spot is free. A point without a card is still its dot, with its name on hover.
 */

export interface MapPoint {
  slot: number;
  label: number;
  name: string;
  /** place in the map, 0..1 along each axis */
  x: number;
  y: number;
  /** writes since it was stored: younger points get their cards first */
  age: number;
}

export interface PlacedPoint extends MapPoint {
  /** the dot's centre, in pixels from the area's top left */
  dotX: number;
  dotY: number;
  /** the card's box (pixels), null when the point shows its dot only */
  card: { left: number; top: number; width: number; height: number } | null;
}

export const CARD_HEIGHT = 42; // a 26 px picture and a line of 0.65rem text
const THUMB = 26;
const MAX_CARD_WIDTH = 80;
const EDGE = 2;

/** A card's width for a name, without measuring text (about 6.5 px a character at 0.65rem, 10.5 for a wide one, and a little room; capped). */
export function cardWidth(name: string): number {
  let px = 0;
  // a wide character (Chinese, Japanese, Korean, most emoji) takes about a full em, ~10.5 px
  for (const ch of name) px += WIDE.test(ch) ? 10.5 : 6.5;
  return Math.max(THUMB + 4, Math.min(MAX_CARD_WIDTH, Math.ceil(px) + 10));
}
const WIDE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Extended_Pictographic}\u3000-\u303f\uff00-\uffef]/u;

interface Box { left: number; top: number; width: number; height: number }
const overlaps = (a: Box, b: Box) =>
  a.left < b.left + b.width && b.left < a.left + a.width && a.top < b.top + b.height && b.top < a.top + a.height;

/**
 * Lays out `points` in an area `width` x `height` pixels. The points span the area with a margin
 * of half the widest card at the sides, so a card centred on its dot stays inside.
 */
export function layoutKeyMap(points: readonly MapPoint[], width: number, height: number): PlacedPoint[] {
  if (!(width > 0) || !(height > 0)) throw new Error(`the key map needs a positive size, not ${width} x ${height}`);
  const side = MAX_CARD_WIDTH / 2 + 4;
  const spanX = Math.max(0, width - 2 * side);
  const spanY = Math.max(0, height - CARD_HEIGHT - 10);
  const placed: PlacedPoint[] = points.map((p) => ({
    ...p,
    dotX: side + p.x * spanX,
    dotY: 6 + p.y * spanY + THUMB / 2,
    card: null,
  }));
  const boxes: Box[] = [];
  const inside = (b: Box) => b.left >= EDGE && b.top >= EDGE && b.left + b.width <= width - EDGE && b.top + b.height <= height - EDGE;
  const tryPlace = (p: PlacedPoint, offsets: readonly (readonly [number, number])[]): boolean => {
    const w = cardWidth(p.name);
    for (const [dx, dy] of offsets) {
      const box = { left: p.dotX - w / 2 + dx * (w + 2), top: p.dotY - THUMB / 2 + dy * (CARD_HEIGHT + 2), width: w, height: CARD_HEIGHT };
      if (!inside(box) || boxes.some((b) => overlaps(b, box))) continue;
      boxes.push(box);
      p.card = box;
      return true;
    }
    return false;
  };
  const byAge = placed.map((_, i) => i).sort((a, b) => placed[a].age - placed[b].age || a - b);
  // first one card per name, near its dot if its own spot is taken: the nearest free spot within
  // three cards' widths and heights, in half-card steps (a line joins a moved card to its dot)
  const NEAR: [number, number][] = [];
  for (let i = -6; i <= 6; i++) for (let j = -6; j <= 6; j++) NEAR.push([i / 2, j / 2]);
  NEAR.sort((a, b) => Math.hypot(a[0] * 2, a[1]) - Math.hypot(b[0] * 2, b[1]) || b[1] - a[1] || a[0] - b[0]);
  const named = new Set<number>();
  for (const i of byAge) {
    const p = placed[i];
    if (named.has(p.label)) continue;
    if (tryPlace(p, NEAR)) named.add(p.label);
  }
  // then more drawings, each only on its own spot
  for (const i of byAge) if (!placed[i].card) tryPlace(placed[i], [[0, 0]]);
  return placed;
}
