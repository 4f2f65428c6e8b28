/**
 * Seeded randomness. Everything random in the memory (age noise, LSH hyperplanes) comes from
 * here so that a seed reproduces a run exactly.
 */

/** mulberry32: a small, fast 32-bit PRNG; returns uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples from a uniform source (Box-Muller). */
export function normalSampler(uniform: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The uniform in [0, 1) behind the age noise r of slot `slot` at write number `writeIndex`
 * (counter-based: a hash of (seed, writeIndex, slot)). Being a pure function of its arguments, the
 * memory only evaluates it for the few slots that can win argmax(A + r), while a brute-force
 * reference evaluates it for every slot and gets the same numbers.
 */
export function ageNoiseUniform(seed: number, writeIndex: number, slot: number): number {
  let h = mix32((seed >>> 0) ^ 0x9e3779b9);
  h = mix32(h ^ (writeIndex >>> 0));
  h = mix32(h ^ Math.floor(writeIndex / 4294967296));
  h = mix32(h ^ (slot >>> 0) ^ 0x632be5ab);
  return h / 4294967296;
}
