/** The filled slots' ages in at most 12 bins of equal width, for the histogram. */
export function ageBins(values: Int32Array, ages: Float32Array): { age: string; slots: number }[] {
  const filledAges: number[] = [];
  values.forEach((v, i) => v >= 0 && filledAges.push(ages[i]));
  if (!filledAges.length) return [];
  // a loop, not Math.max(...filledAges): spreading ~125,000+ ages overflows the call stack
  let max = 0;
  for (const a of filledAges) if (a > max) max = a;
  const bins = Math.min(12, Math.max(1, Math.ceil(max) + 1));
  const width = Math.max(1, Math.ceil((max + 1) / bins));
  const counts = new Array(bins).fill(0);
  for (const a of filledAges) counts[Math.min(bins - 1, Math.floor(a / width))]++;
  return counts.map((c, i) => ({ age: width === 1 ? `${i}` : `${i * width}–${(i + 1) * width - 1}`, slots: c }));
}
