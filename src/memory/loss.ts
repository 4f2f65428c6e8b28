/**
 * The memory loss of Kaiser et al. 2017, section 2: [q.K[nb] - q.K[np] + alpha]_+ for each query,
 * given its top-k neighbours. The memory's state is reached through `LossState`.
 */
import { dot, type Ranked } from './ranking';

export interface LossResult {
  /** [B] [q.K[nb] - q.K[np] + alpha]_+ */
  loss: number[];
  /** [B] positive neighbour np (-1: no slot has value v; its similarity counts as 0). */
  np: number[];
  /** [B] negative neighbour nb (-1: no top-k neighbour has another value; similarity 0). */
  nb: number[];
  /** [B] q.K[np] (0 if np = -1). */
  positiveSimilarity: number[];
  /** [B] q.K[nb] (0 if nb = -1). */
  negativeSimilarity: number[];
}

/** What the loss reads from the memory. */
export interface LossState {
  /** Key size D. */
  readonly d: number;
  /** K: the keys, row-major [memorySize * D]. */
  readonly K: Float32Array;
  /** V[i]: slot i's label id, -1 if empty. */
  V(i: number): number;
  /** The slots whose value is v. */
  slotsWithValue(v: number): Iterable<number>;
}

/**
 * q: B unit keys [B * D]; v: B labels; topK[b]: q_b's top-k neighbours, best first.
 * np = the first top-k neighbour with value v, else the most similar slot with value v anywhere
 * in memory (the paper), else -1; nb = the first top-k neighbour with another value, else -1.
 * A missing np or nb counts as similarity 0 (the reference code uses a zero key).
 */
export function memoryLoss(M: LossState, q: Float32Array, v: Int32Array, topK: Ranked[], alpha: number): LossResult {
  const out: LossResult = { loss: [], np: [], nb: [], positiveSimilarity: [], negativeSimilarity: [] };
  for (let b = 0; b < v.length; b++) {
    const { indices, sims } = topK[b];
    let np = -1, nb = -1, simP = 0, simB = 0;
    for (let j = 0; j < indices.length && (np < 0 || nb < 0); j++) {
      const same = M.V(indices[j]) === v[b];
      if (same && np < 0) [np, simP] = [indices[j], sims[j]];
      if (!same && nb < 0) [nb, simB] = [indices[j], sims[j]];
    }
    if (np < 0) [np, simP] = nearestWithValue(M, q, b * M.d, v[b]);
    out.np.push(np);
    out.nb.push(nb);
    out.positiveSimilarity.push(simP);
    out.negativeSimilarity.push(simB);
    out.loss.push(Math.max(0, simB - simP + alpha));
  }
  return out;
}

/** The most similar slot with value v ([-1, 0] if none), ties to the lower index. */
function nearestWithValue(M: LossState, q: Float32Array, qo: number, v: number): [number, number] {
  let best = -1;
  let bestSim = 0;
  for (const slot of M.slotsWithValue(v)) {
    const sim = Math.fround(dot(M.K, slot * M.d, q, qo, M.d));
    if (best < 0 || sim > bestSim || (sim === bestSim && slot < best)) [best, bestSim] = [slot, sim];
  }
  return [best, bestSim];
}
