/**
 * One LSH table's buckets, stored so a query's visit of its probed buckets reads flat typed arrays.
 *
 * Every bucket is a run of one Int32Array (`slots[start[id] .. start[id] + size[id])`, in no
 * particular order); a directory maps a bucket code to its id. A write moves a slot between buckets
 * in O(1): removal swaps the bucket's last slot into the hole, insertion appends, and a full bucket
 * moves to a larger run at the end of the array. When the array is full, `compact` packs the live
 * runs into a new array sized from them (dropping the runs of moved and emptied buckets) and
 * renumbers the live buckets 0..k-1, so storage stays a small multiple of the live slots and the next
 * compaction comes after at least half as many allocations as it copied (amortised O(1) a write).
 *
 * Why not a Map of JS arrays (as before): visiting the ~72k bucket entries of a 500k-slot query
 * took ~24 ns an entry through JS arrays and ~14 ns here (bench/lsh-results.md, bench/lsh-profile.ts).
 */
export class LshBuckets {
  /** [n] the bucket code of each slot, -1 when the slot is not in the table. */
  readonly codes: Int32Array;
  private readonly pos: Int32Array; // [n] position of the slot in its bucket's run
  // bucket code -> bucket id, -1 / absent: no such bucket. A dense array while 2^bits is small
  // beside n (a Map lookup cost ~0.2 us, a quarter of a 500k query's visit), else a Map.
  private readonly dense: Int32Array | null;
  private readonly sparse: Map<number, number> | null;
  private readonly codeLimit: number;
  /** Per bucket id: first index of its run in `slots`, its number of slots (0: id free). */
  start = new Int32Array(16);
  size = new Int32Array(16);
  private room = new Int32Array(16); // per bucket id: length of its run
  private code = new Int32Array(16); // per bucket id: its code
  private freeIds: number[] = [];
  private ids = 0; // ids in use or free: 0 .. ids-1
  /** The runs of every bucket. */
  slots = new Int32Array(64);
  private end = 0; // slots[0 .. end) is allocated to runs

  /** `n` slots, bucket codes in [0, 2^bits). */
  constructor(readonly n: number, bits: number) {
    this.codes = new Int32Array(n).fill(-1);
    this.pos = new Int32Array(n);
    this.codeLimit = 2 ** bits;
    const dense = this.codeLimit <= Math.max(2 ** 16, 4 * n);
    this.dense = dense ? new Int32Array(this.codeLimit).fill(-1) : null;
    this.sparse = dense ? null : new Map();
  }

  /** The id of bucket `code`, -1 when it holds no slot. */
  idOf(code: number): number {
    return this.dense !== null ? this.dense[code] : (this.sparse!.get(code) ?? -1);
  }

  /** Bucket ids in use or free (what a compaction scans); a compaction brings it down to the live buckets. */
  get idCount(): number {
    return this.ids;
  }

  /** The codes of the buckets that hold slots. */
  codesInUse(): number[] {
    const out: number[] = [];
    for (let id = 0; id < this.ids; id++) if (this.size[id] > 0) out.push(this.code[id]);
    return out;
  }

  /** Puts `slot` (not in the table) into bucket `code`. */
  insert(slot: number, code: number): void {
    if (!(code >= 0 && code < this.codeLimit && Number.isInteger(code))) throw new Error(`expected a bucket code in [0, ${this.codeLimit}), got ${code}`);
    let id = this.idOf(code);
    if (id < 0) id = this.newBucket(code);
    else if (this.size[id] === this.room[id]) id = this.grow(id);
    const p = this.size[id]++;
    this.slots[this.start[id] + p] = slot;
    this.pos[slot] = p;
    this.codes[slot] = code;
  }

  /** Takes `slot` out of its bucket (no-op when it is in none). */
  remove(slot: number): void {
    const code = this.codes[slot];
    if (code < 0) return;
    const id = this.idOf(code);
    const s = this.start[id];
    const p = this.pos[slot];
    const lastPos = --this.size[id];
    const last = this.slots[s + lastPos];
    this.slots[s + p] = last;
    this.pos[last] = p;
    this.codes[slot] = -1;
    if (lastPos === 0) {
      this.setId(code, -1);
      this.freeIds.push(id); // its run is dropped by the next compaction
    }
  }

  /** The slots of bucket `code` (a copy, in storage order). */
  slotsOf(code: number): number[] {
    const id = this.idOf(code);
    if (id < 0) return [];
    return Array.from(this.slots.subarray(this.start[id], this.start[id] + this.size[id]));
  }

  private setId(code: number, id: number): void {
    if (this.dense !== null) this.dense[code] = id;
    else if (id < 0) this.sparse!.delete(code);
    else this.sparse!.set(code, id);
  }

  /** A new, empty bucket for `code` with a run of 4; returns its id. */
  private newBucket(code: number): number {
    const at = this.alloc(4); // first: a compaction renumbers the ids
    let id = this.freeIds.pop();
    if (id === undefined) {
      id = this.ids++;
      if (id === this.start.length) {
        this.start = grown(this.start, 2 * id);
        this.size = grown(this.size, 2 * id);
        this.room = grown(this.room, 2 * id);
        this.code = grown(this.code, 2 * id);
      }
    }
    this.start[id] = at;
    this.size[id] = 0;
    this.room[id] = 4;
    this.code[id] = code;
    this.setId(code, id);
    return id;
  }

  /** Moves bucket `id` to a run half as large again; returns its id (a compaction renumbers). */
  private grow(id: number): number {
    const code = this.code[id];
    const room = this.room[id] + (this.room[id] >> 1) + 2;
    const at = this.alloc(room);
    id = this.idOf(code);
    const s = this.start[id];
    this.slots.copyWithin(at, s, s + this.size[id]);
    this.start[id] = at;
    this.room[id] = room;
    return id;
  }

  private alloc(count: number): number {
    if (this.end + count > this.slots.length) this.compact(count);
    const at = this.end;
    this.end += count;
    return at;
  }

  /**
   * Packs the live buckets' runs, each with a quarter more room than it has slots, into a new array
   * of 1.5 times (their rooms + `extra`), and renumbers the live buckets 0..k-1 (free ids go).
   */
  private compact(extra: number): void {
    let packed = extra;
    for (let id = 0; id < this.ids; id++) if (this.size[id] > 0) packed += roomFor(this.size[id]);
    const next = new Int32Array(Math.max(64, Math.ceil(1.5 * packed)));
    let at = 0;
    let k = 0;
    for (let id = 0; id < this.ids; id++) {
      const size = this.size[id];
      if (size === 0) continue; // free
      next.set(this.slots.subarray(this.start[id], this.start[id] + size), at);
      this.start[k] = at;
      this.size[k] = size;
      this.room[k] = roomFor(size);
      this.code[k] = this.code[id];
      this.setId(this.code[k], k);
      at += this.room[k];
      k++;
    }
    this.size.fill(0, k, this.ids);
    this.ids = k;
    this.freeIds = [];
    this.slots = next;
    this.end = at;
  }
}

const roomFor = (size: number) => Math.max(4, size + (size >> 2));

function grown(a: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(length);
  b.set(a);
  return b;
}
