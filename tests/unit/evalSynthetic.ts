/** Synthetic Omniglot-like data for the evaluation tests (never Omniglot itself). */
import { mulberry32 } from '../../src/memory';
import type { ClassSet, Embeddings } from '../../src/eval/dataset';

/** C classes of P rows each around random unit centres; `spread` is the noise per coordinate. */
export function clusters(C: number, P: number, dim: number, spread: number, seed = 7): { emb: Embeddings; classes: ClassSet } {
  const rng = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const data = new Float32Array(C * P * dim);
  for (let c = 0; c < C; c++) {
    const centre = Array.from({ length: dim }, gauss);
    const n = Math.hypot(...centre);
    for (let p = 0; p < P; p++) {
      for (let j = 0; j < dim; j++) data[(c * P + p) * dim + j] = centre[j] / n + spread * gauss();
    }
  }
  return {
    emb: { dim, count: C * P, data },
    classes: {
      name: 'synthetic',
      classes: Array.from({ length: C }, (_, c) => ({ name: `c${c}`, items: Int32Array.from({ length: P }, (_, p) => c * P + p) })),
    },
  };
}

export { inkPng, omniglotZip } from '../e2e/syntheticOmniglot';
