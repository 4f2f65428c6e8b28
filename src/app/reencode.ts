/**
 * Re-encoding a memory with another encoder. Keys made by one encoder mean nothing to another, so
 * switching encoders re-encodes the drawing the app keeps with each slot (its 28x28 thumbnail,
 * the encoder input quantised to bytes) and keeps the slot's place, label and age.
 *
 * What is not kept: a slot updated several times (the paper's update case averages keys) holds
 * only its last drawing, so its new key is that drawing's key, not an average. A slot whose stored
 * drawing is blank (no ink: e.g. a file written by a script) cannot be re-encoded and is left out;
 * so is one whose new key is not a finite unit vector. The report names them.
 */
import type { Encoder } from '../encoder';
import type { IncomingSlot, SavedSlot } from './persist';

export interface ReencodeReport {
  /** slots re-encoded and kept */
  kept: number;
  /** slots left out, with why */
  dropped: { slot: number; label: number; reason: string }[];
  /** label ids that had slots only among the dropped ones */
  droppedLabels: number[];
}

/** Whether a stored drawing holds any ink (a blank one cannot be encoded into a key). */
export function hasInk(thumb: Uint8Array): boolean {
  return thumb.some((v) => v > 0);
}

/** The encoder input of a stored drawing (bytes 0..255 -> ink 0..1). */
export function thumbToInput(thumb: Uint8Array): Float32Array {
  if (thumb.length !== 784) throw new Error(`expected a 28x28 drawing (784 bytes), got ${thumb.length}`);
  const x = new Float32Array(784);
  for (let i = 0; i < 784; i++) x[i] = thumb[i] / 255;
  return x;
}

/**
 * New keys for `slots` from their drawings, with `encoder` (batched, async).
 * @param onProgress (done, total) drawings, after each batch
 * @returns the kept slots (same slot, label, age, thumb; a new key of encoder.keySize) and a report
 */
export async function reencodeSlots(
  slots: readonly IncomingSlot[],
  encoder: Encoder,
  onProgress?: (done: number, total: number) => void,
): Promise<{ slots: SavedSlot[]; report: ReencodeReport }> {
  const dropped: ReencodeReport['dropped'] = [];
  const drawn = slots.filter((s) => {
    if (hasInk(s.thumb)) return true;
    dropped.push({ slot: s.slot, label: s.label, reason: 'its stored drawing is blank' });
    return false;
  });
  const flat = new Float32Array(drawn.length * 784);
  drawn.forEach((s, i) => flat.set(thumbToInput(s.thumb), i * 784));
  onProgress?.(0, drawn.length);
  const keys = drawn.length ? await encoder.encode(flat, { batchSize: 64, onProgress }) : new Float32Array(0);
  const d = encoder.keySize;
  const kept: SavedSlot[] = [];
  drawn.forEach((s, i) => {
    const key = keys.slice(i * d, (i + 1) * d);
    let norm = 0;
    for (const v of key) norm += v * v;
    if (!Number.isFinite(norm) || Math.abs(Math.sqrt(norm) - 1) > 1e-3) {
      dropped.push({ slot: s.slot, label: s.label, reason: 'the encoder gave no valid key for its drawing' });
    } else kept.push({ ...s, key });
  });
  const keptLabels = new Set(kept.map((s) => s.label));
  const droppedLabels = [...new Set(dropped.map((s) => s.label))].filter((l) => !keptLabels.has(l));
  dropped.sort((a, b) => a.slot - b.slot);
  return { slots: kept, report: { kept: kept.length, dropped, droppedLabels } };
}
