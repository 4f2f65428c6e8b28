/**
 * The memory update rule of Kaiser et al. 2017, section 2 ("memory update"), for one labelled
 * key. The memory's state is reached through `UpdateState`; KeyValueMemory implements it (ages
 * as write times, the age-ordered list, the empty-slot heap and the lookup's index stay there).
 */

export interface PreviousOccupant {
  empty: boolean;
  /** Label id, -1 if the slot was empty. */
  value: number;
  /** Age before the write (0 if empty). */
  age: number;
}

export interface WriteResult {
  /** 'update': case 1, V[n1] == v, K[n1] = normalize(q + K[n1]); 'new': case 2, (q, v) to slot n'. */
  case: 'update' | 'new';
  slot: number;
  /** The nearest neighbour n1 seen by this write (-1 if the memory was empty). */
  nearest: number;
  previous: PreviousOccupant;
}

/** What the update rule reads and changes in the memory. */
export interface UpdateState {
  /** Key size D. */
  readonly d: number;
  /** K: the keys, row-major [memorySize * D], unit length (zeros for an empty slot). */
  readonly K: Float32Array;
  /** V[i]: slot i's label id, -1 if empty. */
  V(i: number): number;
  /** A[i]: slot i's age (0 if empty). */
  A(i: number): number;
  /** The lowest-index empty slot, -1 if the memory is full. */
  emptySlot(): number;
  /** n' = argmax_i(A_i + r_i), r_i ~ U[0, ageNoise), ties to the lower index (full memory). */
  oldestSlot(): number;
  /** V[i] = v (frees slot i from its previous label, fills it if it was empty). */
  setValue(i: number, v: number): void;
  /** A[i] = 0, every other filled slot's age += 1; K[i] is final (the lookup re-indexes it). */
  resetAge(i: number): void;
}

/**
 * One write of key q = q[qo .. qo + D) (unit length) with label v, whose nearest neighbour is n1
 * (-1 when no slot is a neighbour: the memory is empty, or in LSH mode no slot was a candidate):
 *   case 1, V[n1] == v:  K[n1] = normalize(q + K[n1]), A[n1] = 0  (q = -K[n1] exactly: K[n1] = q);
 *   case 2, otherwise:   n' = the lowest-index empty slot if any, else argmax(A + r);
 *                        K[n'] = q, V[n'] = v, A[n'] = 0;
 * and every other filled slot's age += 1 (in resetAge).
 */
export function updateRule(M: UpdateState, q: Float32Array, qo: number, v: number, n1: number): WriteResult {
  const { d, K } = M;
  if (n1 >= 0 && M.V(n1) === v) {
    // Case 1
    const previous = { empty: false, value: v, age: M.A(n1) };
    const o = n1 * d;
    let ss = 0;
    for (let c = 0; c < d; c++) ss += (q[qo + c] + K[o + c]) ** 2;
    if (ss > 0) {
      const inv = 1 / Math.sqrt(ss);
      for (let c = 0; c < d; c++) K[o + c] = (q[qo + c] + K[o + c]) * inv;
    } else {
      for (let c = 0; c < d; c++) K[o + c] = q[qo + c]; // q = -K[n1]: keep q
    }
    M.resetAge(n1);
    return { case: 'update', slot: n1, nearest: n1, previous };
  }
  // Case 2
  const empty = M.emptySlot();
  const nPrime = empty >= 0 ? empty : M.oldestSlot();
  const previous = { empty: empty >= 0, value: M.V(nPrime), age: empty >= 0 ? 0 : M.A(nPrime) };
  M.setValue(nPrime, v);
  K.set(q.subarray(qo, qo + d), nPrime * d);
  M.resetAge(nPrime);
  return { case: 'new', slot: nPrime, nearest: n1, previous };
}
