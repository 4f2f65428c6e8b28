/**
 * A key scaled to unit length, computed in 64-bit before it is stored in 32 bits: a value past the
 * 32-bit range (1e39) or below it (1e-50) is a valid direction, and a copy into a Float32Array
 * first would make it Infinity or 0 (an accepted key that poisons every later similarity, or a
 * valid one refused as zero). The largest value divides first, so no square overflows or underflows.
 */
export function unitInto(
  src: ArrayLike<number>,
  out: Float32Array,
  offset: number,
  d: number,
  where: (column: number) => string,
  whatZero: string,
): void {
  let m = 0;
  for (let c = 0; c < d; c++) {
    const x = src[c];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`expected finite key values, got ${String(x)} at ${where(c)}`);
    const a = Math.abs(x);
    if (a > m) m = a;
  }
  if (m === 0) throw new Error(`expected a non-zero key, got a zero vector ${whatZero}`);
  let ss = 0;
  for (let c = 0; c < d; c++) {
    const y = src[c] / m;
    ss += y * y;
  }
  const inv = 1 / Math.sqrt(ss); // ss >= 1: the largest scaled value is 1
  for (let c = 0; c < d; c++) out[offset + c] = (src[c] / m) * inv;
}
