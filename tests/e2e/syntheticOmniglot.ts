/**
 * Synthetic zips in the official Omniglot layout, made in memory with fflate + fast-png (never
 * Omniglot itself): used by the loader unit tests and the Benchmark e2e test.
 */
import { zipSync } from 'fflate';
import { encode } from 'fast-png';

/** A size x size PNG, ink black 0 on white: 1-bit (Omniglot's mode '1') or 8-bit gray. */
export function inkPng(rect: { r0: number; r1: number; c0: number; c1: number }, size = 105, depth: 1 | 8 = 1): Uint8Array {
  if (depth === 8) {
    const data = new Uint8Array(size * size).fill(255);
    for (let r = rect.r0; r < rect.r1; r++) for (let c = rect.c0; c < rect.c1; c++) data[r * size + c] = 0;
    return encode({ width: size, height: size, data, depth: 8, channels: 1 });
  }
  const rowBytes = Math.ceil(size / 8);
  const data = new Uint8Array(rowBytes * size).fill(0);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const ink = r >= rect.r0 && r < rect.r1 && c >= rect.c0 && c < rect.c1;
      if (!ink) data[r * rowBytes + (c >> 3)] |= 0x80 >> (c & 7);
    }
  }
  return encode({ width: size, height: size, data, depth: 1, channels: 1 });
}

/**
 * `root/Alpha<a>/characterNN/<ID>_<DD>.png` for `alphabets` x `chars` characters x `drawers`
 * drawings; each character a rectangle whose shape depends on its index (so classes differ), each
 * drawer shifts it.
 */
export function omniglotZip(opts: { root?: string; alphabets?: number; chars?: number; drawers?: number } = {}): Uint8Array {
  const root = opts.root ?? 'images_evaluation';
  const A = opts.alphabets ?? 2, C = opts.chars ?? 3, D = opts.drawers ?? 4;
  const files: Record<string, Uint8Array> = {};
  let id = 965;
  for (let a = 0; a < A; a++) {
    for (let c = 1; c <= C; c++, id++) {
      for (let d = 1; d <= D; d++) {
        const k = a * C + c;
        const r0 = 10 + d, c0 = 10 + 2 * d;
        const rect = { r0, r1: r0 + 10 + 7 * (k % 5), c0, c1: c0 + 8 + 11 * (Math.floor(k / 5) % 5) };
        files[`${root}/Alpha${a}/character${String(c).padStart(2, '0')}/${String(id).padStart(4, '0')}_${String(d).padStart(2, '0')}.png`] =
          inkPng(rect);
      }
    }
  }
  return zipSync(files, { level: 0 });
}
