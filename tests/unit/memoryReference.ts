/**
 * A plain brute-force reference of the paper's memory (section 2), for tests: every lookup scans
 * every slot, ages are an explicit array incremented on each write, the oldest slot is a full
 * argmax(A + r). Same conventions as src/memory: empty slots have value -1 and age 0, ties go to
 * the lower index, keys are stored as float32, a batch is written row by row.
 */
import { ageNoiseUniform } from '../../src/memory/random';

export interface RefSettings {
  memorySize: number;
  keySize: number;
  k: number;
  inverseTemperature: number;
  alpha: number;
  ageNoise: number;
  seed: number;
}

export class ReferenceMemory {
  keys: Float32Array;
  values: Int32Array;
  ages: Int32Array;
  writeCount = 0;

  constructor(readonly s: RefSettings) {
    this.keys = new Float32Array(s.memorySize * s.keySize);
    this.values = new Int32Array(s.memorySize).fill(-1);
    this.ages = new Int32Array(s.memorySize);
  }

  normalize(q: ArrayLike<number>): Float32Array {
    const out = Float32Array.from(q);
    let ss = 0;
    for (const x of out) ss += x * x;
    const inv = 1 / Math.sqrt(ss);
    for (let i = 0; i < out.length; i++) out[i] *= inv;
    return out;
  }

  sim(q: Float32Array, slot: number): number {
    let s = 0;
    for (let c = 0; c < this.s.keySize; c++) s += q[c] * this.keys[slot * this.s.keySize + c];
    return s;
  }

  /** All filled slots by similarity desc, index asc. */
  ranked(q: Float32Array): { idx: number[]; sims: number[] } {
    const idx: number[] = [];
    for (let i = 0; i < this.s.memorySize; i++) if (this.values[i] >= 0) idx.push(i);
    const sims = new Map(idx.map((i) => [i, this.sim(q, i)]));
    idx.sort((a, b) => sims.get(b)! - sims.get(a)! || a - b);
    return { idx, sims: idx.map((i) => sims.get(i)!) };
  }

  query(qRaw: ArrayLike<number>) {
    const q = this.normalize(qRaw);
    const r = this.ranked(q);
    const k = Math.min(this.s.k, r.idx.length);
    const indices = r.idx.slice(0, k);
    const similarities = r.sims.slice(0, k);
    const e = similarities.map((s) => Math.exp(this.s.inverseTemperature * s));
    const z = e.reduce((a, b) => a + b, 0);
    return {
      indices,
      similarities,
      values: indices.map((i) => this.values[i]),
      prediction: k > 0 ? this.values[indices[0]] : -1,
      softmax: e.map((x) => x / z),
    };
  }

  write(qRaw: ArrayLike<number>, v: number): { case: 'update' | 'new'; slot: number } {
    const q = this.normalize(qRaw);
    const d = this.s.keySize;
    const r = this.ranked(q);
    const n1 = r.idx.length > 0 ? r.idx[0] : -1;
    let slot: number;
    let kind: 'update' | 'new';
    if (n1 >= 0 && this.values[n1] === v) {
      kind = 'update';
      slot = n1;
      let ss = 0;
      for (let c = 0; c < d; c++) ss += (q[c] + this.keys[n1 * d + c]) ** 2;
      const inv = 1 / Math.sqrt(ss);
      // q = -K[n1] (sum zero): the memory keeps q (documented in src/memory/memory.ts)
      for (let c = 0; c < d; c++) this.keys[n1 * d + c] = ss > 0 ? (q[c] + this.keys[n1 * d + c]) * inv : q[c];
    } else {
      kind = 'new';
      slot = this.values.indexOf(-1);
      if (slot < 0) {
        let best = -Infinity;
        for (let i = 0; i < this.s.memorySize; i++) {
          const score = this.ages[i] + this.s.ageNoise * ageNoiseUniform(this.s.seed, this.writeCount, i);
          if (score > best) [best, slot] = [score, i];
        }
      }
      this.keys.set(q, slot * d);
      this.values[slot] = v;
    }
    for (let i = 0; i < this.s.memorySize; i++) if (this.values[i] >= 0) this.ages[i] += 1;
    this.ages[slot] = 0;
    this.writeCount++;
    return { case: kind, slot };
  }

  loss(qRaw: ArrayLike<number>, v: number) {
    const q = this.normalize(qRaw);
    const r = this.ranked(q);
    const k = Math.min(this.s.k, r.idx.length);
    let np = -1, nb = -1, sp = 0, sb = 0;
    for (let j = 0; j < k; j++) {
      const same = this.values[r.idx[j]] === v;
      if (same && np < 0) [np, sp] = [r.idx[j], r.sims[j]];
      if (!same && nb < 0) [nb, sb] = [r.idx[j], r.sims[j]];
    }
    if (np < 0) {
      const j = r.idx.findIndex((i) => this.values[i] === v);
      if (j >= 0) [np, sp] = [r.idx[j], r.sims[j]];
    }
    return { loss: Math.max(0, sb - sp + this.s.alpha), np, nb };
  }
}

/** Reference label deletion: the label's slots become empty (value -1, zero key, age 0). */
export function referenceDeleteLabel(m: ReferenceMemory, label: number): void {
  for (let i = 0; i < m.s.memorySize; i++) {
    if (m.values[i] !== label) continue;
    m.values[i] = -1;
    m.ages[i] = 0;
    m.keys.fill(0, i * m.s.keySize, (i + 1) * m.s.keySize);
  }
}

/** Reference slot freeing: one slot becomes empty (value -1, zero key, age 0); returns its old value. */
export function referenceFreeSlot(m: ReferenceMemory, slot: number): number {
  const v = m.values[slot];
  m.values[slot] = -1;
  m.ages[slot] = 0;
  m.keys.fill(0, slot * m.s.keySize, (slot + 1) * m.s.keySize);
  return v;
}
