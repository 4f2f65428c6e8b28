/**
 * Exact lookup over the CPU key mirror with a tiny hand-assembled WebAssembly SIMD kernel.
 *
 * Why: on the tfjs wasm backend a [1,128] x [128,500k] matMul + topk ran at ~5x the memory
 * bandwidth bound (bench/memory-results.md). This kernel streams each key row once per batch
 * (f32x4 multiply-add against up to 16 queries) and a JS heap keeps the top k, so the scan is
 * bound by memory bandwidth. The key mirror itself lives in the kernel's WebAssembly.Memory, so
 * nothing is copied: a write updates the mirror row and the next scan sees it.
 *
 * Layout (bytes) of the memory: [keys n*d*4][queries 16*d*4][scores 16*n*4], all row-major.
 */
import type { Lookup, Ranked } from './ranking';

const MAX_BATCH = 16;

// scores(kp, n, d, qp, b, outp): out[j*n + r] = sum_c K[r, c] * Q[j, c], for d % 4 == 0.
function kernelBytes(): Uint8Array<ArrayBuffer> {
  const L = { kp: 0, n: 1, d: 2, qp: 3, b: 4, outp: 5, r: 6, j: 7, c: 8, krow: 9, qrow: 10, db: 11, acc: 12 };
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const i32 = (v: number) => [0x41, ...sleb(v)];
  const simd = (op: number) => [0xfd, ...leb(op)];
  const body = [
    // locals: 6 x i32 (r, j, c, krow, qrow, db), 1 x v128 (acc)
    0x02, 0x06, 0x7f, 0x01, 0x7b,
    ...get(L.d), ...i32(2), 0x74, ...set(L.db),
    ...i32(0), ...set(L.r),
    0x02, 0x40, 0x03, 0x40, // block $R loop $r
    ...get(L.r), ...get(L.n), 0x4f, 0x0d, 0x01, // r >= n -> br $R
    ...get(L.kp), ...get(L.r), ...get(L.db), 0x6c, 0x6a, ...set(L.krow),
    ...i32(0), ...set(L.j),
    0x02, 0x40, 0x03, 0x40, // block $J loop $j
    ...get(L.j), ...get(L.b), 0x4f, 0x0d, 0x01,
    ...get(L.qp), ...get(L.j), ...get(L.db), 0x6c, 0x6a, ...set(L.qrow),
    ...simd(0x0c), ...new Array(16).fill(0), ...set(L.acc),
    ...i32(0), ...set(L.c),
    0x02, 0x40, 0x03, 0x40, // block $C loop $c
    ...get(L.c), ...get(L.db), 0x4f, 0x0d, 0x01,
    ...get(L.acc),
    ...get(L.krow), ...get(L.c), 0x6a, ...simd(0x00), 0x00, 0x00, // v128.load
    ...get(L.qrow), ...get(L.c), 0x6a, ...simd(0x00), 0x00, 0x00,
    ...simd(230), // f32x4.mul
    ...simd(228), // f32x4.add
    ...set(L.acc),
    ...get(L.c), ...i32(16), 0x6a, ...set(L.c),
    0x0c, 0x00, 0x0b, 0x0b, // br $c; end loop; end block
    // out[(j*n + r)] = (acc0 + acc1) + (acc2 + acc3)
    ...get(L.outp), ...get(L.j), ...get(L.n), 0x6c, ...get(L.r), 0x6a, ...i32(2), 0x74, 0x6a,
    ...get(L.acc), ...simd(0x1f), 0x00, ...get(L.acc), ...simd(0x1f), 0x01, 0x92,
    ...get(L.acc), ...simd(0x1f), 0x02, ...get(L.acc), ...simd(0x1f), 0x03, 0x92, 0x92,
    0x38, 0x02, 0x00, // f32.store
    ...get(L.j), ...i32(1), 0x6a, ...set(L.j),
    0x0c, 0x00, 0x0b, 0x0b,
    ...get(L.r), ...i32(1), 0x6a, ...set(L.r),
    0x0c, 0x00, 0x0b, 0x0b,
    0x0b, // end function
  ];
  const body16 = unrolledBody();
  const bodyGather = gatherBody();
  const bodyGather16 = gatherUnrolledBody();
  const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
  const str = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x06, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00]),
    ...section(2, [0x01, ...str('env'), ...str('mem'), 0x02, 0x00, 0x01]),
    ...section(3, [0x04, 0x00, 0x00, 0x00, 0x00]),
    ...section(7, [0x04, ...str('scores'), 0x00, 0x00, ...str('scores16'), 0x00, 0x01, ...str('gather'), 0x00, 0x02, ...str('gather16'), 0x00, 0x03]),
    ...section(10, [
      0x04,
      ...leb(body.length), ...body,
      ...leb(body16.length), ...body16,
      ...leb(bodyGather.length), ...bodyGather,
      ...leb(bodyGather16.length), ...bodyGather16,
    ]),
  ];
  return new Uint8Array(bytes);
}

/**
 * Instruction builders shared by the two 4-accumulator bodies (scores16, gather16): local get/set,
 * i32 constants, SIMD ops, and madd(a, offset) = a += K[kc + offset] * Q[qc + offset] (f32x4).
 */
function unrolledOps(kc: number, qc: number) {
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const i32 = (v: number) => [0x41, ...sleb(v)];
  const simd = (op: number) => [0xfd, ...leb(op)];
  const load = (base: number, offset: number) => [...get(base), ...simd(0x00), 0x00, ...leb(offset)];
  const zero = [...simd(0x0c), ...new Array(16).fill(0)];
  const madd = (a: number, offset: number) => [...get(a), ...load(kc, offset), ...load(qc, offset), ...simd(230), ...simd(228), ...set(a)];
  const lane = (a: number, l: number) => [...get(a), ...simd(0x1f), l];
  return { get, set, i32, simd, zero, madd, lane };
}

/**
 * scores16: the same function for d % 16 == 0, the inner loop unrolled 4x (64 bytes per step)
 * into 4 independent accumulators, so the scan is bound by memory rather than loop overhead.
 */
function unrolledBody(): number[] {
  const L = { kp: 0, n: 1, d: 2, qp: 3, b: 4, outp: 5, r: 6, j: 7, c: 8, krow: 9, qrow: 10, db: 11, kc: 12, qc: 13, a0: 14 };
  const { get, set, i32, simd, zero, madd, lane } = unrolledOps(L.kc, L.qc);
  return [
    0x02, 0x08, 0x7f, 0x04, 0x7b, // locals: 8 x i32, 4 x v128
    ...get(L.d), ...i32(2), 0x74, ...set(L.db),
    ...i32(0), ...set(L.r),
    0x02, 0x40, 0x03, 0x40,
    ...get(L.r), ...get(L.n), 0x4f, 0x0d, 0x01,
    ...get(L.kp), ...get(L.r), ...get(L.db), 0x6c, 0x6a, ...set(L.krow),
    ...i32(0), ...set(L.j),
    0x02, 0x40, 0x03, 0x40,
    ...get(L.j), ...get(L.b), 0x4f, 0x0d, 0x01,
    ...get(L.qp), ...get(L.j), ...get(L.db), 0x6c, 0x6a, ...set(L.qrow),
    ...zero, ...set(L.a0), ...zero, ...set(L.a0 + 1), ...zero, ...set(L.a0 + 2), ...zero, ...set(L.a0 + 3),
    ...i32(0), ...set(L.c),
    0x02, 0x40, 0x03, 0x40,
    ...get(L.c), ...get(L.db), 0x4f, 0x0d, 0x01,
    ...get(L.krow), ...get(L.c), 0x6a, ...set(L.kc),
    ...get(L.qrow), ...get(L.c), 0x6a, ...set(L.qc),
    ...madd(L.a0, 0), ...madd(L.a0 + 1, 16), ...madd(L.a0 + 2, 32), ...madd(L.a0 + 3, 48),
    ...get(L.c), ...i32(64), 0x6a, ...set(L.c),
    0x0c, 0x00, 0x0b, 0x0b,
    // a0 = (a0 + a1) + (a2 + a3); out[j*n + r] = (a0[0] + a0[1]) + (a0[2] + a0[3])
    ...get(L.a0), ...get(L.a0 + 1), ...simd(228), ...get(L.a0 + 2), ...get(L.a0 + 3), ...simd(228), ...simd(228), ...set(L.a0),
    ...get(L.outp), ...get(L.j), ...get(L.n), 0x6c, ...get(L.r), 0x6a, ...i32(2), 0x74, 0x6a,
    ...lane(L.a0, 0), ...lane(L.a0, 1), 0x92, ...lane(L.a0, 2), ...lane(L.a0, 3), 0x92, 0x92,
    0x38, 0x02, 0x00,
    ...get(L.j), ...i32(1), 0x6a, ...set(L.j),
    0x0c, 0x00, 0x0b, 0x0b,
    ...get(L.r), ...i32(1), 0x6a, ...set(L.r),
    0x0c, 0x00, 0x0b, 0x0b,
    0x0b,
  ];
}

/** gather(kp, count, d, qp, idxp, outp): out[i] = K[idx[i]] . q for i < count (LSH re-ranking). */
function gatherBody(): number[] {
  const L = { kp: 0, count: 1, d: 2, qp: 3, idxp: 4, outp: 5, i: 6, c: 7, krow: 8, db: 9, acc: 10 };
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const i32 = (v: number) => [0x41, ...sleb(v)];
  const simd = (op: number) => [0xfd, ...leb(op)];
  const lane = (l: number) => [...get(L.acc), ...simd(0x1f), l];
  return [
    0x02, 0x04, 0x7f, 0x01, 0x7b,
    ...get(L.d), ...i32(2), 0x74, ...set(L.db),
    ...i32(0), ...set(L.i),
    0x02, 0x40, 0x03, 0x40,
    ...get(L.i), ...get(L.count), 0x4f, 0x0d, 0x01,
    ...get(L.kp), ...get(L.idxp), ...get(L.i), ...i32(2), 0x74, 0x6a, 0x28, 0x02, 0x00, ...get(L.db), 0x6c, 0x6a, ...set(L.krow),
    ...simd(0x0c), ...new Array(16).fill(0), ...set(L.acc),
    ...i32(0), ...set(L.c),
    0x02, 0x40, 0x03, 0x40,
    ...get(L.c), ...get(L.db), 0x4f, 0x0d, 0x01,
    ...get(L.acc),
    ...get(L.krow), ...get(L.c), 0x6a, ...simd(0x00), 0x00, 0x00,
    ...get(L.qp), ...get(L.c), 0x6a, ...simd(0x00), 0x00, 0x00,
    ...simd(230), ...simd(228), ...set(L.acc),
    ...get(L.c), ...i32(16), 0x6a, ...set(L.c),
    0x0c, 0x00, 0x0b, 0x0b,
    ...get(L.outp), ...get(L.i), ...i32(2), 0x74, 0x6a,
    ...lane(0), ...lane(1), 0x92, ...lane(2), ...lane(3), 0x92, 0x92,
    0x38, 0x02, 0x00,
    ...get(L.i), ...i32(1), 0x6a, ...set(L.i),
    0x0c, 0x00, 0x0b, 0x0b,
    0x0b,
  ];
}

/**
 * gather16: gather for d % 16 == 0, unrolled 4x into 4 independent accumulators (as scores16):
 * a row's dot product is not one long dependency chain, so the next candidate row's loads start
 * while this one is summed (the LSH re-ranking is bound by these random row reads).
 */
function gatherUnrolledBody(): number[] {
  const L = { kp: 0, count: 1, d: 2, qp: 3, idxp: 4, outp: 5, i: 6, c: 7, krow: 8, db: 9, kc: 10, qc: 11, a0: 12 };
  const { get, set, i32, simd, zero, madd, lane } = unrolledOps(L.kc, L.qc);
  return [
    0x02, 0x06, 0x7f, 0x04, 0x7b, // locals: 6 x i32, 4 x v128
    ...get(L.d), ...i32(2), 0x74, ...set(L.db),
    ...i32(0), ...set(L.i),
    0x02, 0x40, 0x03, 0x40,
    ...get(L.i), ...get(L.count), 0x4f, 0x0d, 0x01,
    ...get(L.kp), ...get(L.idxp), ...get(L.i), ...i32(2), 0x74, 0x6a, 0x28, 0x02, 0x00, ...get(L.db), 0x6c, 0x6a, ...set(L.krow),
    ...zero, ...set(L.a0), ...zero, ...set(L.a0 + 1), ...zero, ...set(L.a0 + 2), ...zero, ...set(L.a0 + 3),
    ...i32(0), ...set(L.c),
    0x02, 0x40, 0x03, 0x40,
    ...get(L.c), ...get(L.db), 0x4f, 0x0d, 0x01,
    ...get(L.krow), ...get(L.c), 0x6a, ...set(L.kc),
    ...get(L.qp), ...get(L.c), 0x6a, ...set(L.qc),
    ...madd(L.a0, 0), ...madd(L.a0 + 1, 16), ...madd(L.a0 + 2, 32), ...madd(L.a0 + 3, 48),
    ...get(L.c), ...i32(64), 0x6a, ...set(L.c),
    0x0c, 0x00, 0x0b, 0x0b,
    ...get(L.a0), ...get(L.a0 + 1), ...simd(228), ...get(L.a0 + 2), ...get(L.a0 + 3), ...simd(228), ...simd(228), ...set(L.a0),
    ...get(L.outp), ...get(L.i), ...i32(2), 0x74, 0x6a,
    ...lane(L.a0, 0), ...lane(L.a0, 1), 0x92, ...lane(L.a0, 2), ...lane(L.a0, 3), 0x92, 0x92,
    0x38, 0x02, 0x00,
    ...get(L.i), ...i32(1), 0x6a, ...set(L.i),
    0x0c, 0x00, 0x0b, 0x0b,
    0x0b,
  ];
}

/** Signed LEB128 (i32.const immediates: 64 is 0xc0 0x00, not 0x40). */
function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function leb(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

let compiled: WebAssembly.Module | null | undefined;

function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const bytes = kernelBytes();
      compiled = typeof WebAssembly !== 'undefined' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Whether the SIMD scan can hold an [n, d] memory here (WebAssembly SIMD, d % 4 == 0, < 2 GiB). */
export function simdScanAvailable(n: number, d: number): boolean {
  return d % 4 === 0 && (n * d + MAX_BATCH * d + MAX_BATCH * n) * 4 < 2 ** 31 && kernelModule() !== null;
}

export class SimdScanLookup implements Lookup {
  readonly kind = 'exact' as const;
  readonly engine = 'wasm-simd';
  /** The key mirror [n * d], a view into the kernel's memory. */
  readonly keys: Float32Array;
  private readonly queries: Float32Array;
  private readonly scores: Float32Array;
  private readonly run: (kp: number, n: number, d: number, qp: number, b: number, outp: number) => void;
  private filled: Uint8Array;

  constructor(private readonly n: number, private readonly d: number) {
    const mod = kernelModule();
    if (mod === null || !simdScanAvailable(n, d)) throw new Error(`expected WebAssembly SIMD and a key size divisible by 4 for the SIMD scan, got keySize ${d}`);
    const bytes = (n * d + MAX_BATCH * d + MAX_BATCH * n) * 4;
    const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
    const inst = new WebAssembly.Instance(mod, { env: { mem: memory } });
    this.run = (d % 16 === 0 ? inst.exports.scores16 : inst.exports.scores) as SimdScanLookup['run'];
    this.keys = new Float32Array(memory.buffer, 0, n * d);
    this.queries = new Float32Array(memory.buffer, n * d * 4, MAX_BATCH * d);
    this.scores = new Float32Array(memory.buffer, (n * d + MAX_BATCH * d) * 4, MAX_BATCH * n);
    this.filled = new Uint8Array(n);
  }

  search(q: Float32Array, b: number, k: number): Ranked[] {
    const out: Ranked[] = [];
    const kk = Math.min(k, this.n);
    for (let b0 = 0; b0 < b; b0 += MAX_BATCH) {
      const bb = Math.min(MAX_BATCH, b - b0);
      this.queries.set(q.subarray(b0 * this.d, (b0 + bb) * this.d));
      this.run(0, this.n, this.d, this.n * this.d * 4, bb, (this.n * this.d + MAX_BATCH * this.d) * 4);
      for (let j = 0; j < bb; j++) out.push(topK(this.scores, j * this.n, this.n, this.filled, kk));
    }
    return out;
  }

  /**
   * The raw scores K q_j of b <= 16 rows q[qo + j*d ..] against every row of this.keys: a view
   * [b, n] (row j at j*n), overwritten by the next call. The LSH lookup hashes with it (keys = its
   * hyperplanes).
   */
  scoresOf(q: Float32Array, qo: number, b: number): Float32Array {
    if (b > MAX_BATCH) throw new Error(`expected at most ${MAX_BATCH} rows, got ${b}`);
    this.queries.set(q.subarray(qo, qo + b * this.d));
    this.run(0, this.n, this.d, this.n * this.d * 4, b, (this.n * this.d + MAX_BATCH * this.d) * 4);
    return this.scores.subarray(0, b * this.n);
  }

  setSlot(slot: number, filled: boolean): void {
    this.filled[slot] = filled ? 1 : 0; // the key row is already in the mirror (this.keys)
  }

  reload(filled: Uint8Array): void {
    this.filled = filled.slice();
  }

  commit(): void {
    // nothing pending: the mirror is the kernel's memory
  }

  dispose(): void {
    // the WebAssembly.Memory is garbage collected with this object
  }
}

/**
 * The k best filled slots of s[o .. o+n): similarity descending, index ascending on ties.
 * A size-k min-heap ordered by (score asc, index desc); scanning in index order, an equal score
 * never displaces an earlier slot.
 */
export function topK(s: Float32Array, o: number, n: number, filled: Uint8Array, k: number): Ranked {
  const hs = new Float64Array(k);
  const hi = new Int32Array(k);
  let size = 0;
  const worse = (a: number, b: number) => hs[a] < hs[b] || (hs[a] === hs[b] && hi[a] > hi[b]);
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const c = l + 1 < size && worse(l + 1, l) ? l + 1 : l;
      if (!worse(c, i)) return;
      [hs[c], hs[i]] = [hs[i], hs[c]];
      [hi[c], hi[i]] = [hi[i], hi[c]];
      i = c;
    }
  };
  if (k > 0) {
    for (let i = 0; i < n; i++) {
      if (!filled[i]) continue;
      const v = s[o + i];
      if (size < k) {
        let c = size++;
        hs[c] = v;
        hi[c] = i;
        while (c > 0) {
          const p = (c - 1) >> 1;
          if (!worse(c, p)) break;
          [hs[c], hs[p]] = [hs[p], hs[c]];
          [hi[c], hi[p]] = [hi[p], hi[c]];
          c = p;
        }
      } else if (v > hs[0]) {
        hs[0] = v;
        hi[0] = i;
        siftDown(0);
      }
    }
  }
  const order = Array.from({ length: size }, (_, i) => i).sort((a, b) => hs[b] - hs[a] || hi[a] - hi[b]);
  return { indices: Int32Array.from(order, (i) => hi[i]), sims: Float32Array.from(order, (i) => hs[i]) };
}

/**
 * Key mirror + candidate buffers in one WebAssembly.Memory, for the LSH re-ranking: dots(count)
 * computes q . K[idx[i]] for the first `count` slots written to `idx`, into `out`.
 * Layout (bytes): [keys n*d*4][query d*4][idx n*4][out n*4].
 */
export class SimdGather {
  readonly keys: Float32Array;
  readonly query: Float32Array;
  readonly idx: Int32Array;
  readonly out: Float32Array;
  private readonly run: (kp: number, count: number, d: number, qp: number, idxp: number, outp: number) => void;
  private readonly qp: number;
  private readonly idxp: number;
  private readonly outp: number;

  constructor(n: number, private readonly d: number) {
    const mod = kernelModule();
    if (mod === null || d % 4 !== 0) throw new Error(`expected WebAssembly SIMD and a key size divisible by 4, got keySize ${d}`);
    this.qp = n * d * 4;
    this.idxp = this.qp + d * 4;
    this.outp = this.idxp + n * 4;
    const memory = new WebAssembly.Memory({ initial: Math.ceil((this.outp + n * 4) / 65536) });
    const inst = new WebAssembly.Instance(mod, { env: { mem: memory } });
    this.run = (d % 16 === 0 ? inst.exports.gather16 : inst.exports.gather) as SimdGather['run'];
    this.keys = new Float32Array(memory.buffer, 0, n * d);
    this.query = new Float32Array(memory.buffer, this.qp, d);
    this.idx = new Int32Array(memory.buffer, this.idxp, n);
    this.out = new Float32Array(memory.buffer, this.outp, n);
  }

  static available(n: number, d: number): boolean {
    return d % 4 === 0 && (n * d + d + 2 * n) * 4 < 2 ** 31 && kernelModule() !== null;
  }

  dots(count: number): void {
    this.run(0, count, this.d, this.qp, this.idxp, this.outp);
  }
}
