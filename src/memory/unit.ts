/**
 * A key scaled to unit length into `out[offset..offset+d)`. As the 32-bit numbers it holds, like a
 * tensor of it would (a row given as numbers and as a tensor are the same key, to the bit), except
 * where the 32-bit copy loses the direction: a value past the 32-bit range (1e39 becomes Infinity)
 * or a row of values below its normal range (1e-50 becomes 0; 3e-45 keeps a bit or two). Those are scaled in 64-bit, the largest value
 * dividing first so that no square overflows or underflows: an accepted key that poisoned every
 * later similarity, or a valid direction refused as a zero vector, before.
 */
/** The smallest normal 32-bit float: below it a 32-bit copy keeps few bits of each value (3e-45 and 1e-45 become 3:1, not 3e-45:1e-45). */
const FLT_MIN_NORMAL = 1.1754943508222875e-38;

export function unitInto(
  src: ArrayLike<number>,
  out: Float32Array,
  offset: number,
  d: number,
  where: (column: number) => string,
  whatZero: string,
): void {
  let m = 0;
  let m32 = 0;
  for (let c = 0; c < d; c++) {
    const x = src[c];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`expected finite key values, got ${String(x)} at ${where(c)}`);
    out[offset + c] = x;
    m = Math.max(m, Math.abs(x));
    m32 = Math.max(m32, Math.abs(out[offset + c]));
  }
  if (m === 0) throw new Error(`expected a non-zero key, got a zero vector ${whatZero}`);
  if (Number.isFinite(m32) && m32 >= FLT_MIN_NORMAL) {
    // the 32-bit numbers keep the direction: normalised as they are
    let ss = 0;
    for (let c = 0; c < d; c++) ss += out[offset + c] * out[offset + c];
    const inv = 1 / Math.sqrt(ss);
    for (let c = 0; c < d; c++) out[offset + c] *= inv;
    return;
  }
  let ss = 0;
  for (let c = 0; c < d; c++) {
    const y = src[c] / m;
    ss += y * y;
  }
  const inv = 1 / Math.sqrt(ss); // ss >= 1: the largest scaled value is 1
  for (let c = 0; c < d; c++) out[offset + c] = (src[c] / m) * inv;
}
