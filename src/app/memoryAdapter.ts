/**
 * MemoryPort over the shared KeyValueMemory (src/memory). Queries go through queryAsync (on the
 * webgpu backend the lookup runs on the GPU); the loss and the write of a Remember reuse that one
 * query's neighbours. This adapter only reshapes single-key calls and the snapshot.
 */
import { KeyValueMemory, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, type MemorySnapshot, type QueryResult } from '../memory';
import type { Tensor2D } from '@tensorflow/tfjs';
import type { MemoryPort, PortQuery } from './memoryPort';
import type { Settings } from './types';

class KeyValueMemoryPort implements MemoryPort {
  /** the last loss's query, reused by the write of the same key if the memory has not changed */
  private lastQuery: { key: Float32Array; result: QueryResult } | null = null;

  constructor(private m: KeyValueMemory) {}

  get lookupEngine() {
    return this.m.lookupEngine;
  }

  get size() {
    return this.m.size;
  }
  get keySize() {
    return this.m.keySize;
  }

  get version() {
    return this.m.version;
  }

  async query(key: Float32Array): Promise<PortQuery> {
    return this.portQuery(await this.m.queryAsync([key]));
  }

  async queryTensor(key: Tensor2D): Promise<PortQuery> {
    return this.portQuery(await this.m.queryAsync(key));
  }

  private portQuery(r: QueryResult): PortQuery {
    return {
      version: r.version,
      indices: r.indices[0],
      similarities: r.similarities[0],
      values: r.values[0],
      weights: r.softmax[0],
      buckets: this.m.lastLshProbe(),
    };
  }

  async loss(key: Float32Array, label: number) {
    const q = await this.m.queryAsync([key]);
    this.lastQuery = { key, result: q };
    const r = this.m.loss([key], [label], { queryResult: q });
    return { loss: r.loss[0], np: r.np[0], nb: r.nb[0] };
  }

  async write(key: Float32Array, label: number) {
    const hint = this.lastQuery?.key === key && this.lastQuery.result.version === this.m.version ? this.lastQuery.result : undefined;
    this.lastQuery = null;
    // the keys the write may overwrite, kept to undo it: n1's (case 1) and the slot case 2 would
    // take; O(keySize) each. n1 is known from the query of this key (an empty memory has none).
    const n1 = hint ? (hint.indices[0]?.[0] ?? -1) : this.m.filledCount === 0 ? -1 : null;
    const keysBefore = new Map<number, Float32Array>();
    if (n1 !== null) {
      if (n1 >= 0) keysBefore.set(n1, this.m.getKey(n1));
      const fresh = this.m.slotForNewKey();
      keysBefore.set(fresh, this.m.getKey(fresh));
    }
    // without a fresh query of this key, the write finds n1 with the synchronous (CPU) lookup
    const [w] = this.m.write([key], [label], { queryResult: hint });
    const oldKey = keysBefore.get(w.slot);
    return {
      case: w.case,
      slot: w.slot,
      previous: w.case === 'new' && !w.previous.empty ? { value: w.previous.value, age: w.previous.age } : null,
      before: oldKey ? { key: oldKey, value: w.previous.empty ? -1 : w.previous.value, age: w.previous.age } : null,
    };
  }

  state() {
    return { values: this.m.values, ages: Float32Array.from(this.m.ages), writeCount: this.m.writeCount };
  }

  get filledCount() {
    return this.m.filledCount;
  }

  get writeCount() {
    return this.m.writeCount;
  }

  slotAt(slot: number) {
    return this.m.slotAt(slot);
  }

  countOf(label: number) {
    return this.m.countOf(label);
  }

  keyOf(slot: number) {
    return this.m.getKey(slot);
  }

  async load(slots: { slot: number; label: number; age: number; key: Float32Array }[], clock = 0) {
    const n = this.m.size, d = this.m.keySize;
    const keys = new Float32Array(n * d);
    const values = new Int32Array(n).fill(-1);
    const ages = new Int32Array(n);
    // a loop, not Math.max(...ages): spreading ~125,000+ arguments overflows the call stack
    let writeCount = Math.max(0, Math.round(clock));
    for (const s of slots) {
      if (s.slot < 0 || s.slot >= n) throw new Error(`slot ${s.slot} is outside a memory of ${n} slots`);
      if (s.key.length !== d) throw new Error(`expected a key of size ${d}, got ${s.key.length}`);
      keys.set(s.key, s.slot * d);
      values[s.slot] = s.label;
      ages[s.slot] = Math.round(s.age);
      if (ages[s.slot] > writeCount) writeCount = ages[s.slot];
    }
    this.m.restore(this.snapshotWith({ keys, values, ages, writeCount }));
  }

  private snapshotWith(part: Pick<MemorySnapshot, 'keys' | 'values' | 'ages' | 'writeCount'>, settings?: Partial<MemorySnapshot['settings']>): MemorySnapshot {
    const { storage: _s, blockRows: _b, ...st } = this.m.settings;
    void _s;
    void _b;
    return {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      settings: { ...st, lsh: { ...st.lsh }, ...settings },
      labelNames: {},
      ...part,
    };
  }

  async freeSlot(slot: number) {
    return this.m.freeSlot(slot);
  }

  async deleteLabel(label: number) {
    return this.m.deleteLabel(label);
  }

  setParams(p: Pick<Settings, 'k' | 't' | 'alpha' | 'ageNoise'>) {
    // the memory takes k, t, alpha and age noise from a snapshot: restore its own content with them
    const snap = this.m.snapshot();
    this.m.restore({ ...snap, settings: { ...snap.settings, k: p.k, inverseTemperature: p.t, alpha: p.alpha, ageNoise: p.ageNoise } });
  }

  dispose() {
    this.m.dispose();
  }
}

export async function createMemoryPort(s: Settings, keySize: number): Promise<MemoryPort> {
  const m = KeyValueMemory.create({
    memorySize: s.memorySize,
    keySize,
    k: s.k,
    inverseTemperature: s.t,
    alpha: s.alpha,
    ageNoise: s.ageNoise,
    lookup: s.lookup,
    seed: (Math.random() * 2 ** 31) >>> 0,
  });
  return new KeyValueMemoryPort(m);
}
