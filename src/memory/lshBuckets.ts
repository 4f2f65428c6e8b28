/**
 * One LSH table's buckets, stored so a query's visit of its probed buckets reads flat typed arrays.
 *
 * Every bucket is a run of one Int32Array (`slots[start[id] .. start[id] + size[id])`, in no
 * particular order); a directory maps a bucket code to its id. A write moves a slot between buckets in
 * O(1): removal swaps the bucket's last slot into the hole, insertion appends, and a full bucket
 * moves to a larger run at the end of the array (amortised O(1)). When the array is full, `compact`
 * packs the live runs into a new one, dropping those left behind by moved and emptied buckets, so
 * storage stays a small multiple of the table's slots. An emptied bucket leaves the directory; its id is
 * reused by the next new code.
 *
 * Why not a Map of JS arrays (as before): visiting the ~70k bucket entries of a 500k-slot query
 * took ~24 ns an entry through JS arrays and ~9 ns through one Int32Array (bench/lsh-results.md).
 */
export class LshBuckets {
  /** [n] the bucket code of each slot, -1 when the slot is not in the table. */
  readonly codes: Int32Array;
  private readonly pos: Int32Array; // [n] position of the slot in its bucket's run
  // bucket code -> bucket id: a dense array for codes of <= DENSE_BITS bits (a Map lookup cost
  // ~0.2 us, a quarter of a 500k query's visit), else a Map; -1 / absent: no such bucket
  private readonly dense: Int32Array | null;
  private readonly sparse: Map<number, number> | null;
  /** Per bucket id: first index of its run in `slots`, its number of slots (0: id free), its room, its code. */
  start = new Int32Array(16);
  size = new Int32Array(16);
  private room = new Int32Array(16);
  private code = new Int32Array(16);
  private readonly freeIds: number[] = [];
  private ids = 0;
  /** The runs of every bucket. */
  slots = new Int32Array(64);
  private end = 0; // slots[0 .. end) is allocated to runs

  /** `n` slots, bucket codes of `bits` bits. */
  constructor(readonly n: number, bits: number) {
    this.codes = new Int32Array(n).fill(-1);
    this.pos = new Int32Array(n);
    this.dense = bits <= DENSE_BITS ? new Int32Array(2 ** bits).fill(-1) : null;
    this.sparse = bits <= DENSE_BITS ? null : new Map();
  }

  /** The id of bucket `code`, -1 when it holds no slot. */
  idOf(code: number): number {
    return this.dense !== null ? this.dense[code] : (this.sparse!.get(code) ?? -1);
  }

  /** The codes of the buckets that hold slots. */
  codesInUse(): number[] {
    const out: number[] = [];
    for (let id = 0; id < this.ids; id++) if (this.size[id] > 0) out.push(this.code[id]);
    return out;
  }

  private setId(code: number, id: number): void {
    if (this.dense !== null) this.dense[code] = id;
    else if (id < 0) this.sparse!.delete(code);
    else this.sparse!.set(code, id);
  }

  /** Puts `slot` (not in the table) into bucket `code`. */
  insert(slot: number, code: number): void {
    let id = this.idOf(code);
    if (id < 0) id = this.newBucket(code);
    if (this.size[id] === this.room[id]) this.grow(id);
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

  private newBucket(code: number): number {
    let id = this.freeIds.pop();
    if (id === undefined) {
      id = this.ids++;
      if (id === this.start.length) {
        this.start = grown(this.start, 2 * id);
        this.size = grown(this.size, 2 * id);
        this.room = grown(this.room, 2 * id);
        this.code = grown(this.code, 2 * id);
      }
      this.room[id] = 0;
    }
    this.size[id] = 0;
    this.room[id] = 0; // not a live run while alloc may compact
    this.start[id] = this.alloc(4);
    this.room[id] = 4;
    this.code[id] = code;
    this.setId(code, id);
    return id;
  }

  /** Moves bucket `id` to a run half as large again as its room. */
  private grow(id: number): void {
    const room = this.room[id] + (this.room[id] >> 1) + 2;
    const at = this.alloc(room); // may compact, which moves this bucket's run: read start after
    const s = this.start[id];
    this.slots.copyWithin(at, s, s + this.size[id]);
    this.start[id] = at;
    this.room[id] = room;
  }

  private alloc(count: number): number {
    if (this.end + count > this.slots.length) this.compact(count);
    const at = this.end;
    this.end += count;
    return at;
  }

  /**
   * Packs the live buckets' runs to the front of a new array (each with a quarter more room than
   * it has slots), 1.5 times their size plus `extra`: the runs of moved and emptied buckets are
   * dropped, and the next compaction comes after at least half as many allocations as it copied.
   */
  private compact(extra: number): void {
    let packed = extra;
    for (let id = 0; id < this.ids; id++) if (this.size[id] > 0) packed += roomFor(this.size[id]);
    const next = new Int32Array(Math.max(64, Math.ceil(1.5 * packed)));
    let at = 0;
    for (let id = 0; id < this.ids; id++) {
      if (this.size[id] === 0) continue; // free, or new and not yet allocated
      next.set(this.slots.subarray(this.start[id], this.start[id] + this.size[id]), at);
      this.start[id] = at;
      this.room[id] = roomFor(this.size[id]);
      at += this.room[id];
    }
    this.slots = next;
    this.end = at;
  }
}

const roomFor = (size: number) => Math.max(4, size + (size >> 2));

const DENSE_BITS = 20;

function grown(a: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(length);
  b.set(a);
  return b;
}
