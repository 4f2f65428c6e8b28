/**
 * A smaller memory keeps its youngest drawings: which ones, and what goes. One rule for the engine
 * (Engine.applySettings) and for the Settings view, which asks before anything is forgotten. Pure.
 */

export interface AgedSlot {
  slot: number;
  label: number;
  age: number;
}

/**
 * The slots a memory of `size` slots keeps: the `size` youngest (smallest age; equal ages in slot
 * order, as given), and the ones it drops.
 */
export function youngestSlots<T extends AgedSlot>(slots: readonly T[], size: number): { kept: T[]; dropped: T[] } {
  if (!Number.isInteger(size) || size < 0) throw new Error(`expected a memory size >= 0, got ${size}`);
  const byAge = [...slots].sort((a, b) => a.age - b.age);
  return { kept: byAge.slice(0, size), dropped: byAge.slice(size) };
}

/** What shrinking the memory shown by `values`/`ages` (per slot, label -1: empty) to `size` forgets. */
export function shrinkLoss(values: ArrayLike<number>, ages: ArrayLike<number>, size: number): { drawings: number; labels: number[] } {
  const slots: AgedSlot[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] >= 0) slots.push({ slot: i, label: values[i], age: ages[i] });
  const { kept, dropped } = youngestSlots(slots, size);
  const keptLabels = new Set(kept.map((s) => s.label));
  const labels = [...new Set(dropped.map((s) => s.label))].filter((l) => !keptLabels.has(l));
  return { drawings: dropped.length, labels };
}
