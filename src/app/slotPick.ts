/**
 * Picking a slot of the Memory view's grid with a finger: 1,024 slots on a phone are ~10 px wide,
 * a finger ~44 px, so a tap on or between empty slots picks the nearest filled slot within reach.
 * Pure: the caller says where each slot is on screen.
 */

/** A tap this close (CSS px, to the slot's centre) to a filled slot picks it, not the empty one under the finger. */
export const TOUCH_SNAP_PX = 22;

/**
 * The filled slot whose centre is nearest (x, y), if within `radius`: `centre(i)` gives slot i's
 * centre on screen (null: not shown). Slots are scanned only where values[i] >= 0.
 */
export function nearestFilledSlot(
  values: ArrayLike<number>,
  centre: (slot: number) => { x: number; y: number } | null,
  x: number,
  y: number,
  radius: number,
): number | null {
  let best: number | null = null;
  let bestD = radius * radius;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < 0) continue;
    const c = centre(i);
    if (!c) continue;
    const d = (c.x - x) ** 2 + (c.y - y) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}
