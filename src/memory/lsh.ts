/**
 * LSH lookup: random-hyperplane (sign) LSH with query-directed multi-probe, re-ranked exactly.
 *
 * The paper (section 2) keeps the memory's nearest-neighbour search cheap with LSH and "only use[s]
 * the nearest buckets". Here:
 * - L tables (settings.lsh.tables) of `bits` sign bits each: bit j of table t is [h_tj . x >= 0]
 *   for a unit random hyperplane normal h_tj. By default every table has its own planes
 *   (planes = tables * bits); a smaller `planes` makes the tables draw their bits from one shared
 *   pool (cheaper hashing, correlated tables; bench/lsh-results.md measures the difference).
 * - Multi-probe (Lv et al., "Multi-probe LSH", VLDB 2007, query-directed probing): besides the
 *   query's own bucket in each table, the buckets reached by flipping the bits whose hyperplane
 *   the query lies closest to. A flip set S of table t scores sum_{j in S} (h_tj . q)^2 (how far the
 *   query must move to land there); the L * (probes - 1) lowest-scoring flip sets over all tables
 *   are probed, generated in score order with the shift/expand heap of Lv et al. So the nearest
 *   buckets are probed first, and tables where the query sits near a boundary get more probes.
 * - Collision counting (settings.lsh.minHits, as C2LSH, Gan et al. SIGMOD 2012): a slot is a
 *   candidate when at least minHits of the probed buckets hold it. A near key sits in several
 *   probed buckets, a far one rarely in two, so with many probes and minHits 2 far keys are
 *   dropped before their rows are read (reading a candidate's row is most of a query's time).
 * - The candidates are re-ranked exactly against the CPU key mirror (by the SIMD gather kernel
 *   when the memory uses one), so similarities are the true ones, and LSH may return fewer than
 *   k neighbours (only candidates are ranked).
 *
 * Which buckets a query probes depends on the query alone (not on what the tables hold), so
 * whether a slot is a candidate depends only on the query and that slot's key: that is what makes a
 * batch write equal to row-by-row writes (see `rescore` and memory.ts nearestInBatch).
 *
 * Tables follow every write: a written slot leaves its old buckets and joins its new ones
 * (lshBuckets.ts: each table's buckets are runs of one Int32Array, so a query's visit reads flat arrays).
 */
import type { LshSettings } from './config';
import { LshBuckets } from './lshBuckets';
import { dot, rankCandidates, type Lookup, type Ranked } from './ranking';
import { mulberry32, normalSampler } from './random';
import { SimdScanLookup, simdScanAvailable, type SimdGather } from './simdScan';

/** One LSH table's part of a lookup: the query's own bucket, every bucket probed, the slots they hold. */
export interface LshProbe {
  table: number;
  /** The query's own bucket in this table (its sign bits). */
  code: number;
  /** Every bucket this table probed, the own bucket first, then by probe order. */
  probed: number[];
  /** sign bits per code (a code is shown with this many binary digits) */
  bits: number;
  /**
   * The candidates this table contributed, ascending: slots of its probed buckets that at least
   * lsh.minHits probed buckets (over all tables) hold. Their union over the tables is the set the
   * lookup re-ranked (as the tables are now).
   */
  slots: number[];
}

export class LshLookup implements Lookup {
  readonly kind = 'lsh' as const;
  private readonly planes: Float32Array; // [P, D] unit hyperplane normals
  private readonly pool: number;
  private readonly tableBits: Int32Array; // [L, bits] plane index of each bit
  private readonly proj: Float64Array; // [P] scratch: h . x
  private buckets: LshBuckets[]; // one per table
  private readonly stamp: Int32Array;
  private stampId = 0;
  // [N] probed buckets holding the slot during one search, saturating at 255 (else 0): one byte a
  // slot keeps it in cache (these increments are at random slots, once per bucket entry visited)
  private readonly hits: Uint8Array;
  private readonly seen: Int32Array; // [N] slots with hits > 0 in this search
  private readonly once: Uint32Array; // [N/32] bitset: slot in >= 1 probed bucket (minHits <= 2)
  private readonly twice: Uint32Array; // [N/32] bitset: slot in >= 2 probed buckets
  private readonly qcode: Int32Array; // [L] scratch
  // the probe list of the last query hashed: probeTable[i], probeCode[i] for i < probeCount
  private readonly probeTable: Int32Array;
  private readonly probeCode: Int32Array;
  private probeCount = 0;
  // multi-probe scratch: per table the bit positions sorted by margin, and their squared margins
  private readonly order: Int32Array; // [L, bits]
  private readonly margin2: Float64Array; // [L, bits], ascending per table
  private readonly heap: ProbeHeap;
  /** The probes of the last row searched (query or write lookup); null before any. */
  private last: { table: Int32Array; code: Int32Array; home: Int32Array } | null = null;
  private readonly candBuf: Int32Array;
  private readonly simBuf: Float64Array | Float32Array;
  /** With the SIMD kernels: the hyperplanes as the keys of a SIMD scan, so hashing is one small matmul. */
  private readonly projector: SimdScanLookup | null;

  /** `gather`: when given, `mirror` is gather.keys and candidates are re-ranked by its SIMD kernel. */
  constructor(
    private readonly mirror: Float32Array,
    private readonly n: number,
    private readonly d: number,
    private readonly p: LshSettings,
    private readonly gather: SimdGather | null = null,
  ) {
    const u = mulberry32(p.seed ^ 0x5bd1e995);
    const normal = normalSampler(u);
    const { tables, bits } = p;
    this.pool = p.planes;
    this.planes = new Float32Array(this.pool * d);
    for (let i = 0; i < this.planes.length; i++) this.planes[i] = normal();
    for (let i = 0; i < this.pool; i++) {
      // unit normals: h . q is then the query's distance to the hyperplane (the probe score)
      const norm = Math.sqrt(dot(this.planes, i * d, this.planes, i * d, d));
      for (let c = 0; c < d; c++) this.planes[i * d + c] /= norm;
    }
    this.tableBits = new Int32Array(tables * bits);
    const all = Array.from({ length: this.pool }, (_, i) => i);
    for (let t = 0; t < tables; t++) {
      if (this.pool === tables * bits) {
        for (let j = 0; j < bits; j++) this.tableBits[t * bits + j] = t * bits + j; // independent planes
        continue;
      }
      for (let j = 0; j < bits; j++) {
        // partial Fisher-Yates: `bits` distinct planes of the shared pool for this table
        const r = j + Math.floor(u() * (this.pool - j));
        [all[j], all[r]] = [all[r], all[j]];
        this.tableBits[t * bits + j] = all[j];
      }
    }
    this.proj = new Float64Array(this.pool);
    this.buckets = Array.from({ length: tables }, () => new LshBuckets(n, bits));
    this.stamp = new Int32Array(n);
    this.hits = new Uint8Array(n);
    this.seen = new Int32Array(n);
    this.once = new Uint32Array(Math.ceil(n / 32));
    this.twice = new Uint32Array(Math.ceil(n / 32));
    this.qcode = new Int32Array(tables);
    const maxProbes = tables * p.probes;
    this.probeTable = new Int32Array(maxProbes);
    this.probeCode = new Int32Array(maxProbes);
    this.order = new Int32Array(tables * bits);
    this.margin2 = new Float64Array(tables * bits);
    this.heap = new ProbeHeap(maxProbes * 2 + tables);
    this.projector = gather !== null && simdScanAvailable(this.pool, d) ? new SimdScanLookup(this.pool, d) : null;
    this.projector?.keys.set(this.planes);
    this.candBuf = gather !== null ? gather.idx : new Int32Array(n);
    this.simBuf = gather !== null ? gather.out : new Float64Array(n);
  }

  /** The L bucket codes of vec[o..o+D) into `out`; leaves h . vec in this.proj. */
  private hash(vec: Float32Array, o: number, out: Int32Array): void {
    if (this.projector !== null) this.proj.set(this.projector.scoresOf(vec, o, 1));
    else for (let p = 0; p < this.pool; p++) this.proj[p] = dot(this.planes, p * this.d, vec, o, this.d);
    this.codesOf(this.proj, 0, out);
  }

  /** Bucket codes from projections proj[po .. po + P). */
  private codesOf(proj: ArrayLike<number>, po: number, out: Int32Array): void {
    const { tables, bits } = this.p;
    for (let t = 0; t < tables; t++) {
      let code = 0;
      for (let j = 0; j < bits; j++) if (proj[po + this.tableBits[t * bits + j]] >= 0) code |= 1 << j;
      out[t] = code;
    }
  }

  /**
   * The buckets the query q[qo..qo+D) probes, into probeTable/probeCode: its own bucket in every
   * table, then the L * (probes - 1) flip sets of lowest score sum (h_tj . q)^2 over all tables.
   */
  private probe(q: Float32Array, qo: number): void {
    const { tables, bits, probes } = this.p;
    this.hash(q, qo, this.qcode);
    for (let t = 0; t < tables; t++) {
      this.probeTable[t] = t;
      this.probeCode[t] = this.qcode[t];
    }
    this.probeCount = tables;
    const extra = tables * (probes - 1);
    if (extra === 0) return;
    // per table: bit positions by ascending squared margin (insertion sort: bits <= 30)
    for (let t = 0; t < tables; t++) {
      const o = t * bits;
      for (let j = 0; j < bits; j++) {
        const m = this.proj[this.tableBits[o + j]] ** 2;
        let i = j;
        while (i > 0 && this.margin2[o + i - 1] > m) {
          this.margin2[o + i] = this.margin2[o + i - 1];
          this.order[o + i] = this.order[o + i - 1];
          i--;
        }
        this.margin2[o + i] = m;
        this.order[o + i] = j;
      }
    }
    // Lv et al.'s generation: a flip set is a set of sorted positions; from {0}, "shift" replaces
    // its largest position m by m+1 and "expand" adds m+1. Each set is reached once, in score order.
    const h = this.heap;
    h.clear();
    for (let t = 0; t < tables; t++) h.push(this.margin2[t * bits], t, 1, 0);
    while (this.probeCount < tables + extra && h.size > 0) {
      const { score, table: t, mask, top } = h.pop();
      const o = t * bits;
      let code = this.qcode[t];
      for (let i = 0; i <= top; i++) if (mask & (1 << i)) code ^= 1 << this.order[o + i];
      this.probeTable[this.probeCount] = t;
      this.probeCode[this.probeCount] = code;
      this.probeCount++;
      if (top + 1 < bits) {
        const next = this.margin2[o + top + 1];
        h.push(score - this.margin2[o + top] + next, t, (mask & ~(1 << top)) | (1 << (top + 1)), top + 1);
        h.push(score + next, t, mask | (1 << (top + 1)), top + 1);
      }
    }
  }

  private nextStamp(): number {
    if (++this.stampId === 2 ** 31 - 1) {
      this.stamp.fill(0);
      this.stampId = 1;
    }
    return this.stampId;
  }

  /** The buckets each table probed for the last row searched (query or write lookup), with their slots (ascending). */
  lastProbe(): LshProbe[] | null {
    const last = this.last;
    if (last === null) return null;
    const hits = new Map<number, number>();
    for (let i = 0; i < last.table.length; i++) {
      for (const slot of this.buckets[last.table[i]]?.slotsOf(last.code[i]) ?? []) hits.set(slot, (hits.get(slot) ?? 0) + 1);
    }
    return Array.from(last.home, (code, table) => {
      const probed: number[] = [];
      for (let i = 0; i < last.table.length; i++) if (last.table[i] === table) probed.push(last.code[i]);
      const slots = probed
        .flatMap((c) => this.buckets[table]?.slotsOf(c) ?? [])
        .filter((slot) => hits.get(slot)! >= this.p.minHits)
        .sort((a, b) => a - b);
      return { table, code, probed, bits: this.p.bits, slots };
    });
  }

  search(q: Float32Array, b: number, k: number): Ranked[] {
    const out: Ranked[] = [];
    for (let r = 0; r < b; r++) {
      this.probe(q, r * this.d);
      const count = this.p.minHits <= 2 ? this.collectBits() : this.collectCounts();
      if (this.gather === null) {
        // float32 like the exact path's similarities
        for (let j = 0; j < count; j++) this.simBuf[j] = Math.fround(dot(this.mirror, this.candBuf[j] * this.d, q, r * this.d, this.d));
      }
      if (this.gather !== null) {
        this.gather.query.set(q.subarray(r * this.d, (r + 1) * this.d));
        this.gather.dots(count);
      }
      out.push(rankCandidates(this.candBuf, this.simBuf, count, k));
      this.last = {
        table: this.probeTable.slice(0, this.probeCount),
        code: this.probeCode.slice(0, this.probeCount),
        home: this.qcode.slice(),
      };
    }
    return out;
  }

  /**
   * The candidates of the probes in probeTable/probeCode into candBuf (returns their number), for
   * minHits <= 2: two bitsets (seen once, seen twice), N/4 bytes in all, so the random accesses
   * of the visit loop stay in cache (a byte per slot did not, at 500k on this shared machine).
   */
  private collectBits(): number {
    const { once, twice, seen, candBuf } = this;
    const one = this.p.minHits === 1;
    let nSeen = 0;
    let count = 0;
    for (let i = 0; i < this.probeCount; i++) {
      const table = this.buckets[this.probeTable[i]];
      const id = table.idOf(this.probeCode[i]);
      if (id < 0) continue;
      const list = table.slots;
      for (let j = table.start[id], end = j + table.size[id]; j < end; j++) {
        const slot = list[j];
        const w = slot >>> 5;
        const bit = 1 << (slot & 31);
        if ((once[w] & bit) === 0) {
          once[w] |= bit;
          seen[nSeen++] = slot;
          if (one) candBuf[count++] = slot;
        } else if (!one && (twice[w] & bit) === 0) {
          twice[w] |= bit;
          candBuf[count++] = slot;
        }
      }
    }
    for (let j = 0; j < nSeen; j++) {
      const w = seen[j] >>> 5;
      once[w] = 0;
      twice[w] = 0;
    }
    return count;
  }

  /** collectBits for any minHits: a saturating byte count per slot. */
  private collectCounts(): number {
    const { hits, seen, candBuf } = this;
    let nSeen = 0;
    for (let i = 0; i < this.probeCount; i++) {
      const table = this.buckets[this.probeTable[i]];
      const id = table.idOf(this.probeCode[i]);
      if (id < 0) continue;
      const list = table.slots;
      for (let j = table.start[id], end = j + table.size[id]; j < end; j++) {
        const slot = list[j];
        const h = hits[slot];
        if (h === 0) seen[nSeen++] = slot;
        if (h < 255) hits[slot] = h + 1;
      }
    }
    let count = 0;
    for (let j = 0; j < nSeen; j++) {
      const slot = seen[j];
      if (hits[slot] >= this.p.minHits) candBuf[count++] = slot;
      hits[slot] = 0;
    }
    return count;
  }

  /**
   * The similarity search(q[qo..qo+D)) would give each filled slot of `slots` (computed the same
   * way), NaN where fewer than minHits probed buckets of q hold the slot (not a candidate).
   */
  rescore(q: Float32Array, qo: number, slots: readonly number[]): Float64Array {
    this.probe(q, qo);
    const stamp = this.nextStamp();
    for (const slot of slots) {
      let hits = 0;
      for (let i = 0; i < this.probeCount; i++) if (this.buckets[this.probeTable[i]].codes[slot] === this.probeCode[i]) hits++;
      if (hits >= this.p.minHits) this.stamp[slot] = stamp;
    }
    const out = new Float64Array(slots.length).fill(NaN);
    const reached = slots.filter((s) => this.stamp[s] === stamp);
    if (this.gather !== null) {
      this.gather.query.set(q.subarray(qo, qo + this.d));
      this.gather.idx.set(reached);
      this.gather.dots(reached.length);
    }
    slots.forEach((slot, i) => {
      const j = reached.indexOf(slot);
      if (j < 0) return;
      out[i] = this.gather !== null ? this.gather.out[j] : Math.fround(dot(this.mirror, slot * this.d, q, qo, this.d));
    });
    return out;
  }

  setSlot(slot: number, filled: boolean): void {
    if (!filled) {
      for (const table of this.buckets) table.remove(slot);
      return;
    }
    this.hash(this.mirror, slot * this.d, this.qcode);
    for (let t = 0; t < this.p.tables; t++) {
      const table = this.buckets[t];
      if (table.codes[slot] === this.qcode[t]) continue; // still in the right bucket
      table.remove(slot);
      table.insert(slot, this.qcode[t]);
    }
  }

  reload(filled: Uint8Array): void {
    this.buckets = Array.from({ length: this.p.tables }, () => new LshBuckets(this.n, this.p.bits));
    const slots: number[] = [];
    for (let i = 0; i < this.n; i++) if (filled[i]) slots.push(i);
    if (this.projector === null) {
      for (const i of slots) {
        this.hash(this.mirror, i * this.d, this.qcode);
        for (let t = 0; t < this.p.tables; t++) this.buckets[t].insert(i, this.qcode[t]);
      }
      return;
    }
    // 16 keys per pass of the SIMD kernel over the hyperplanes
    const rows = new Float32Array(16 * this.d);
    for (let s0 = 0; s0 < slots.length; s0 += 16) {
      const b = Math.min(16, slots.length - s0);
      for (let j = 0; j < b; j++) rows.set(this.mirror.subarray(slots[s0 + j] * this.d, (slots[s0 + j] + 1) * this.d), j * this.d);
      const scores = this.projector.scoresOf(rows, 0, b);
      for (let j = 0; j < b; j++) {
        this.codesOf(scores, j * this.pool, this.qcode);
        for (let t = 0; t < this.p.tables; t++) this.buckets[t].insert(slots[s0 + j], this.qcode[t]);
      }
    }
  }

  commit(): void {
    // tables are updated in setSlot
  }

  dispose(): void {
    this.buckets = [];
  }
}

/** A binary min-heap of flip sets (score, table, mask of sorted positions, largest position). */
class ProbeHeap {
  private readonly score: Float64Array;
  private readonly table: Int32Array;
  private readonly mask: Int32Array;
  private readonly top: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.score = new Float64Array(capacity);
    this.table = new Int32Array(capacity);
    this.mask = new Int32Array(capacity);
    this.top = new Int32Array(capacity);
  }

  clear(): void {
    this.size = 0;
  }

  // ties by table then mask, so the probe order depends on the query only
  private less(a: number, b: number): boolean {
    const { score, table, mask } = this;
    return score[a] < score[b] || (score[a] === score[b] && (table[a] < table[b] || (table[a] === table[b] && mask[a] < mask[b])));
  }

  private swap(a: number, b: number): void {
    const { score, table, mask, top } = this;
    const s = score[a];
    score[a] = score[b];
    score[b] = s;
    const t = table[a];
    table[a] = table[b];
    table[b] = t;
    const m = mask[a];
    mask[a] = mask[b];
    mask[b] = m;
    const p = top[a];
    top[a] = top[b];
    top[b] = p;
  }

  push(score: number, table: number, mask: number, top: number): void {
    if (this.size === this.score.length) return; // never reached: capacity covers every push of one probe()
    let i = this.size++;
    this.score[i] = score;
    this.table[i] = table;
    this.mask[i] = mask;
    this.top[i] = top;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { score: number; table: number; mask: number; top: number } {
    const r = { score: this.score[0], table: this.table[0], mask: this.mask[0], top: this.top[0] };
    this.size--;
    if (this.size > 0) {
      this.swap(0, this.size);
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= this.size) break;
        const c = l + 1 < this.size && this.less(l + 1, l) ? l + 1 : l;
        if (!this.less(c, i)) break;
        this.swap(c, i);
        i = c;
      }
    }
    return r;
  }
}
