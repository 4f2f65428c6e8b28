/**
 * LSH study (`npm run bench:memory -- --lsh`): how well the LSH lookup finds the exact top-k, and
 * how fast, on queries that are *new members* of stored clusters (not stored keys plus noise):
 *
 * - synthetic: clustered unit keys (tests/unit/memoryLshData.ts; n/32 clusters of 32, member-centre
 *   cosine ~0.8), queries = fresh members of those clusters (newMembers), at 65k and 500k slots;
 * - omniglot: real encoder keys (models/omniglot-conv4) of every images_background drawing with
 *   its 4 rotations as classes; drawings 1-19 of each class are stored, queries are drawing 20 of
 *   random classes (a new drawing of a stored class). Background alphabets only: the LSH settings
 *   were chosen here, never on images_evaluation;
 * - N-way K-shot accuracy on the Vinyals test classes (images_evaluation, measured, not tuned on)
 *   with the memory in LSH mode against exact mode, on the same seeded episodes.
 *
 * Figures per (data, LSH setting): query p50/p95 at batch 1 against the exact lookup's (the WASM
 * SIMD scan), recall@1 (LSH's n1 = exact n1), recall of the top k (|LSH top-k ∩ exact top-k| / k,
 * k = 256) and the softmax mass recovered (sum of the exact softmax(t * sim) weights of the exact
 * top-k that LSH also returns; t = 40). Writes bench/lsh-results.md and bench/lsh-results.json.
 *
 * Options: --lsh-sizes=65536,500000  --lsh-grid=TxBxPxM,... (tables x bits x probes x min hits; bits 0 =
 * the default for the size, +1/-1 relative to it; a trailing 's' = planes from a shared pool of 64)  --no-omniglot  --no-nway
 * --nway-episodes=N (default 300)  --queries=N (default 200)  --grid-only (print, write nothing)
 * --nway-only (re-measure the N-way part only, keep the saved recall rows).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import { loadEncoderFromDir } from '../src/encoder/node';
import { fewShot, prepareImages, rotatedClasses, splitClasses } from '../src/eval';
import { defaultOmniglotDir, loadOmniglotZip, loadVinyalsSplit } from '../src/eval/omniglotNode';
import { DEFAULTS, defaultLshBits, KeyValueMemory, mulberry32, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, softmaxOf, type MemorySnapshot } from '../src/memory';
import { clusteredKeys, newMembers } from '../tests/unit/memoryLshData';

const D = 128;
const K = 256;
const T = 40;
const args = process.argv.slice(2);
const opt = (name: string) => args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const val = (name: string, dflt: string) => opt(name)?.split('=')[1] ?? dflt;
const SIZES = val('lsh-sizes', '65536,500000').split(',').filter(Boolean).map(Number);
const NQ = Number(val('queries', '200'));
const NWAY_EPISODES = Number(val('nway-episodes', '300'));
const MODEL = 'models/omniglot-conv4';
const OMNIGLOT_DIR = defaultOmniglotDir(process.cwd());

interface LshSetting {
  tables: number;
  bits: number; // 0: defaultLshBits(n)
  probes: number;
  minHits: number;
  shared: boolean; // planes from one pool of 64 (the old default) instead of tables * bits
  relBits?: boolean; // bits relative to defaultLshBits(n) (0: the default)
}

const DEFAULT_SETTING: LshSetting = { tables: DEFAULTS.lshTables, bits: 0, relBits: true, probes: DEFAULTS.lshProbes, minHits: DEFAULTS.lshMinHits, shared: false };
const GRID: LshSetting[] = opt('lsh-grid')
  ? val('lsh-grid', '').split(',').map((s) => {
      const [t, b, p, m] = s.replace(/s$/, '').split('x');
      // bits: '0' the default for the size, '+1' / '-1' relative to it, else absolute
      const rel = /^[+-]/.test(b) || b === '0';
      return { tables: Number(t), bits: Number(b), relBits: rel, probes: Number(p), minHits: Number(m) || 1, shared: s.endsWith('s') };
    })
  : [
      { tables: 32, bits: 0, relBits: true, probes: 1, minHits: 1, shared: true }, // the old default: own bucket only, 64 shared planes
      { tables: 32, bits: 0, relBits: true, probes: 1, minHits: 1, shared: false },
      { ...DEFAULT_SETTING, shared: true },
      DEFAULT_SETTING,
    ];

const bitsFor = (s: LshSetting, n: number) => (s.relBits ? defaultLshBits(n) + s.bits : s.bits);

interface Stats {
  p50: number;
  p95: number;
}
function stats(ts: number[]): Stats {
  const s = [...ts].sort((a, b) => a - b);
  return { p50: s[Math.floor(0.5 * s.length)], p95: s[Math.min(s.length - 1, Math.floor(0.95 * s.length))] };
}

export interface LshRow {
  data: string;
  n: number;
  setting: string;
  tables: number;
  bits: number;
  probes: number;
  minHits: number;
  planes: number;
  shared: boolean;
  buildS: number;
  exactB1: Stats;
  lshB1: Stats;
  speedup: number;
  recall1: number;
  recallK: number;
  massRecall: number;
  meanReturned: number;
  /** mean exact similarity of the 1st, 32nd and 256th exact neighbour */
  profile: [number, number, number];
}

export interface NwayRow {
  task: string;
  exact: number;
  lsh: number;
  ci95: number;
  agreeEpisodes: number;
}

/** The commit measured (and whether the working tree differed from it). */
function codeVersion(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src/memory', 'bench'], { encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? ' (src/memory or bench modified)' : ''}`;
  } catch {
    return 'unknown';
  }
}

function log(msg: string) {
  process.stdout.write(`[lsh ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export function snapshotOf(keys: Float32Array, labels: Int32Array, n: number): MemorySnapshot {
  const ages = new Int32Array(n);
  for (let i = 0; i < n; i++) ages[i] = n - 1 - i;
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    settings: {
      memorySize: n, keySize: D, k: K, inverseTemperature: T, alpha: 0.1, ageNoise: 8, seed: 1, lookup: 'exact',
      lsh: { tables: DEFAULTS.lshTables, bits: defaultLshBits(n), seed: 1, planes: DEFAULTS.lshTables * defaultLshBits(n), probes: DEFAULTS.lshProbes, minHits: DEFAULTS.lshMinHits },
    },
    keys: keys as Float32Array<ArrayBuffer>,
    values: labels as Int32Array<ArrayBuffer>,
    ages,
    writeCount: n,
    labelNames: {},
  };
}

function time(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

const rowsOf = (flat: Float32Array, count: number) => Array.from({ length: count }, (_, i) => flat.subarray(i * D, (i + 1) * D));

/** Exact neighbours (the SIMD scan); the exact memory stays open so its latency is timed beside each LSH setting's. */
function exactTruth(snap: MemorySnapshot, queries: Float32Array[]) {
  const exact = KeyValueMemory.fromSnapshot(snap, { lookup: 'exact' });
  for (let i = 0; i < 3; i++) exact.query([queries[i]]);
  const idx: number[][] = [];
  const sims: number[][] = [];
  for (let i = 0; i < queries.length; i += 16) {
    const r = exact.query(queries.slice(i, i + 16));
    idx.push(...r.indices);
    sims.push(...r.similarities);
  }
  const meanAt = (j: number) => sims.reduce((a, r) => a + (r[Math.min(j, r.length - 1)] ?? 0), 0) / sims.length;
  return { exact, idx, sims, profile: [meanAt(0), meanAt(31), meanAt(K - 1)] as [number, number, number] };
}

function measureLsh(data: string, snap: MemorySnapshot, queries: Float32Array[], truth: ReturnType<typeof exactTruth>, s: LshSetting): LshRow {
  const n = snap.settings.memorySize;
  const bits = bitsFor(s, n);
  const planes = s.shared ? Math.min(64, s.tables * bits) : s.tables * bits;
  let lsh!: KeyValueMemory;
  const buildS = time(() => (lsh = KeyValueMemory.fromSnapshot(snap, { lookup: 'lsh', lsh: { tables: s.tables, bits, probes: s.probes, minHits: s.minHits, planes } }))) / 1e3;
  for (let i = 0; i < 10; i++) lsh.query([queries[i % queries.length]]);
  // exact and LSH timed in alternation, so both see the same load on this shared machine
  const big = n >= 200_000;
  const tExact: number[] = [];
  const tLsh: number[] = [];
  for (let i = 0; i < (big ? 60 : 150); i++) {
    const row = [queries[i % queries.length]];
    if (i % (big ? 2 : 1) === 0) tExact.push(time(() => truth.exact.query(row)));
    tLsh.push(time(() => lsh.query(row)));
  }
  const b1 = stats(tLsh);
  const exactB1 = stats(tExact);
  let hit1 = 0, hitK = 0, mass = 0, returned = 0;
  for (let i = 0; i < queries.length; i += 16) {
    const r = lsh.query(queries.slice(i, i + 16));
    r.indices.forEach((got, b) => {
      const want = truth.idx[i + b];
      const w = softmaxOf(truth.sims[i + b], T);
      const found = new Set(got);
      if (got[0] === want[0]) hit1++;
      want.forEach((slot, j) => {
        if (found.has(slot)) {
          hitK++;
          mass += w[j];
        }
      });
      returned += got.length;
    });
  }
  lsh.dispose();
  const nq = queries.length;
  const row: LshRow = {
    data, n, setting: `${s.tables} tables x ${bits} bits, ${s.probes} probe${s.probes > 1 ? 's' : ''}/table, ${s.minHits > 1 ? `>= ${s.minHits} hits, ` : ''}${s.shared ? `shared pool of ${planes}` : 'independent'} planes`,
    tables: s.tables, bits, probes: s.probes, minHits: s.minHits, planes, shared: s.shared, buildS,
    exactB1, lshB1: b1, speedup: exactB1.p50 / b1.p50,
    recall1: hit1 / nq, recallK: hitK / (nq * Math.min(K, n)), massRecall: mass / nq, meanReturned: returned / nq, profile: truth.profile,
  };
  log(`${data} n=${n} ${row.setting}: build ${buildS.toFixed(1)} s, p50 ${b1.p50.toFixed(3)} ms (exact ${exactB1.p50.toFixed(2)}, ${row.speedup.toFixed(1)}x), recall@1 ${row.recall1.toFixed(3)}, recall@${K} ${row.recallK.toFixed(3)}, mass ${row.massRecall.toFixed(4)}, returned ${row.meanReturned.toFixed(0)}`);
  return row;
}

function synthetic(n: number): LshRow[] {
  const clusters = Math.max(1, Math.floor(n / 32));
  const data = clusteredKeys(n, D, clusters, 7);
  const q = newMembers(D, clusters, 7, NQ, 13);
  const queries = rowsOf(q.keys, NQ);
  const snap = snapshotOf(data.keys, data.labels, n);
  const truth = exactTruth(snap, queries);
  const rows = GRID.map((s) => measureLsh('synthetic, new cluster members', snap, queries, truth, s));
  truth.exact.dispose();
  return rows;
}

const CACHE = path.join(os.tmpdir(), 'memory-lab-lsh-cache'); // embeddings only, never in the repo

async function encodeAll(set: ReturnType<typeof loadOmniglotZip>, specs: Parameters<typeof prepareImages>[1], cacheName: string) {
  const prepared = await prepareImages(set, specs, { onProgress: (d, t) => d % 10000 === 0 && log(`preprocess ${d}/${t}`) });
  const file = path.join(CACHE, `${cacheName}-${prepared.pixels.count}.f32`);
  if (existsSync(file)) {
    const buf = readFileSync(file);
    return { prepared, keys: new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4) };
  }
  const enc = await loadEncoderFromDir(MODEL);
  const keys = await enc.encode(prepared.pixels.data, { batchSize: 256, onProgress: (d: number, t: number) => d % 10240 === 0 && log(`encode ${d}/${t}`) });
  enc.dispose();
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(file, Buffer.from(keys.buffer, keys.byteOffset, keys.byteLength));
  return { prepared, keys };
}

async function omniglot(): Promise<LshRow[]> {
  const set = loadOmniglotZip(OMNIGLOT_DIR, 'background');
  const specs = [{ name: 'background-rotated', classes: rotatedClasses(set) }];
  const { prepared, keys } = await encodeAll(set, specs, 'background-rotated');
  const classes = prepared.sets[0].classes;
  // stored: drawings 1-19 of every class; queries: drawing 20 of NQ random classes
  const stored: number[] = [];
  const labels: number[] = [];
  classes.forEach((c, ci) => c.items.forEach((row, d) => d < c.items.length - 1 && (stored.push(row), labels.push(ci))));
  const n = stored.length;
  const flat = new Float32Array(n * D);
  stored.forEach((row, i) => flat.set(keys.subarray(row * D, (row + 1) * D), i * D));
  const u = mulberry32(5);
  const queries = Array.from({ length: NQ }, () => {
    const c = classes[Math.floor(u() * classes.length)];
    const row = c.items[c.items.length - 1];
    return keys.slice(row * D, (row + 1) * D);
  });
  const snap = snapshotOf(flat, Int32Array.from(labels), n);
  const truth = exactTruth(snap, queries);
  const rows = GRID.map((s) => measureLsh('Omniglot background keys, new drawings', snap, queries, truth, s));
  truth.exact.dispose();
  return rows;
}

async function nway(): Promise<NwayRow[]> {
  const set = loadOmniglotZip(OMNIGLOT_DIR, 'evaluation');
  const split = loadVinyalsSplit(OMNIGLOT_DIR);
  const specs = [{ name: 'vinyals-test', classes: splitClasses(set, split.classes, split.source) }];
  const { prepared, keys } = await encodeAll(set, specs, 'vinyals-test');
  const emb = { dim: D, count: prepared.pixels.count, data: keys };
  const out: NwayRow[] = [];
  for (const [ways, shots] of [[5, 1], [5, 5], [20, 1], [20, 5]]) {
    const o = { ways, shots, episodes: NWAY_EPISODES, seed: 1 };
    const ex = await fewShot(emb, prepared.sets[0], { ...o, memory: { lookup: 'exact' } });
    const ls = await fewShot(emb, prepared.sets[0], { ...o, memory: { lookup: 'lsh' } });
    out.push({ task: `${ways}-way ${shots}-shot`, exact: ex.accuracy.mean, lsh: ls.accuracy.mean, ci95: ls.accuracy.ci95, agreeEpisodes: NWAY_EPISODES });
    log(`${ways}-way ${shots}-shot: exact ${(100 * ex.accuracy.mean).toFixed(2)}, lsh ${(100 * ls.accuracy.mean).toFixed(2)} ± ${(100 * ls.accuracy.ci95).toFixed(2)}`);
  }
  // Every test class at once: K drawings of each of the classes written to one memory (the update
  // rule may merge shots), drawings K+1..K+5 of each class answered by V[n1]. A memory large
  // enough that the LSH tables do not cover it.
  const classes = prepared.sets[0].classes;
  for (const shots of [1, 5]) {
    const acc: Record<string, number> = {};
    for (const lookup of ['exact', 'lsh'] as const) {
      const m = KeyValueMemory.create({ memorySize: classes.length * shots, keySize: D, lookup, seed: 1 });
      for (let s0 = 0; s0 < shots; s0++) {
        const rows = classes.map((c) => keys.subarray(c.items[s0] * D, (c.items[s0] + 1) * D));
        m.write(rows, classes.map((_, ci) => ci));
      }
      let ok = 0, total = 0;
      classes.forEach((c, ci) => {
        const rows = Array.from({ length: 5 }, (_, j) => keys.subarray(c.items[shots + j] * D, (c.items[shots + j] + 1) * D));
        m.query(rows).prediction.forEach((p) => {
          total++;
          if (p === ci) ok++;
        });
      });
      acc[lookup] = ok / total;
      m.dispose();
    }
    const n = classes.length * 5;
    out.push({ task: `${classes.length}-way ${shots}-shot (all test classes in one memory of ${classes.length * shots} slots, ${n} queries)`, exact: acc.exact, lsh: acc.lsh, ci95: 1.96 * Math.sqrt((acc.lsh * (1 - acc.lsh)) / n), agreeEpisodes: 1 });
    log(`${classes.length}-way ${shots}-shot: exact ${(100 * acc.exact).toFixed(2)}, lsh ${(100 * acc.lsh).toFixed(2)}`);
  }
  return out;
}

const pct = (x: number) => (100 * x).toFixed(1);

function markdown(rows: LshRow[], nwayRows: NwayRow[], meta: Record<string, string | number>): string {
  const L: string[] = ['# LSH lookup: recall and speed (`npm run bench:memory -- --lsh`)', ''];
  L.push(Object.entries(meta).map(([k, v]) => `- ${k}: ${v}`).join('\n'), '');
  L.push(`## Recall against the exact lookup (k = ${K}, batch 1)`, '');
  L.push('recall@1: LSH n1 = exact n1; recall@256: share of the exact top 256 that LSH returns; softmax mass: the exact softmax(40 sim) weight of the exact top 256 that LSH returns (what the prediction and the loss see).', '');
  L.push('Exact and LSH queries are timed in alternation (same load); speed-up = exact p50 / LSH p50.', '');
  L.push('| data | slots | LSH setting | build (s) | exact p50 | LSH p50 / p95 (ms) | speed-up | recall@1 | recall@256 | softmax mass | neighbours returned |');
  L.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    L.push(`| ${r.data} | ${r.n.toLocaleString('en')} | ${r.setting} | ${r.buildS.toFixed(1)} | ${r.exactB1.p50.toFixed(2)} | ${r.lshB1.p50.toFixed(3)} / ${r.lshB1.p95.toFixed(3)} | ${r.speedup.toFixed(1)}x | ${r.recall1.toFixed(3)} | ${r.recallK.toFixed(3)} | ${r.massRecall.toFixed(4)} | ${r.meanReturned.toFixed(0)} |`);
  }
  L.push('', 'Exact neighbour similarities (mean over the queries): how far the 256th neighbour is from the 1st.', '');
  L.push('| data | slots | 1st | 32nd | 256th |', '|---|---:|---:|---:|---:|');
  const seen = new Set<string>();
  for (const r of rows) {
    const key = `${r.data}|${r.n}`;
    if (seen.has(key)) continue;
    seen.add(key);
    L.push(`| ${r.data} | ${r.n.toLocaleString('en')} | ${r.profile[0].toFixed(3)} | ${r.profile[1].toFixed(3)} | ${r.profile[2].toFixed(3)} |`);
  }
  if (nwayRows.length) {
    L.push('', `## Omniglot N-way K-shot, Vinyals test classes, memory in LSH mode (default settings)`, '');
    L.push('| task | exact | LSH (± 95% CI) |', '|---|---:|---:|');
    for (const r of nwayRows) L.push(`| ${r.task} | ${pct(r.exact)} | ${pct(r.lsh)} ± ${pct(r.ci95)} |`);
  }
  const goalRows = rows.filter((r) => r.n >= 500_000 && r.tables === DEFAULT_SETTING.tables && r.probes === DEFAULT_SETTING.probes && r.minHits === DEFAULT_SETTING.minHits && !r.shared && r.bits === defaultLshBits(r.n));
  L.push('', '## Goal at 500k slots (default LSH settings): >= 10x faster than exact, recall@256 >= 0.9, recall@1 >= 0.98', '');
  if (goalRows.length === 0) L.push('- not measured in this run (no 500k row with the default settings)');
  for (const r of goalRows) {
    const parts = [
      [r.speedup >= 10, `speed-up ${r.speedup.toFixed(1)}x`],
      [r.recallK >= 0.9, `recall@256 ${r.recallK.toFixed(3)}`],
      [r.recall1 >= 0.98, `recall@1 ${r.recall1.toFixed(3)}`],
    ] as const;
    const all = parts.every(([ok]) => ok);
    L.push(`- ${all ? 'MET' : 'NOT MET'} (${r.data}): ${parts.map(([ok, t]) => `${t} ${ok ? '(met)' : '(not met)'}`).join(', ')}`);
  }
  L.push('', '## Notes', '');
  L.push('- Why recall@256 stays low on the synthetic keys: a new member has ~31 cluster mates (similarity ~0.56-0.72); the other ~225 of its exact top 256 are unrelated keys only slightly above the bulk (the 256th neighbour sits at ~0.24-0.29 while random keys spread with sd 1/sqrt(128) = 0.088 around 0), so a hash that does not read most of the memory cannot tell them from the rest. They carry almost no softmax weight (t = 40): the softmax mass column. On the encoder keys the top 256 is more structured (the 256th at 0.38) and LSH finds 0.97 of it.');
  L.push('- Where the time goes (500k, default setting, `npx tsx bench/lsh-profile.ts`): hashing and probe generation ~0.25 ms, visiting the ~72k entries of the 1,024 probed buckets ~1.0 ms (~14 ns an entry: each table\'s buckets are runs of one Int32Array, `src/memory/lshBuckets.ts`; through a Map of JS arrays it was ~24 ns), re-ranking the ~5.6k candidates (the SIMD gather kernel reading their 512-byte rows) ~0.9 ms, the top-k heap ~0.3 ms.');
  L.push('- For comparison, mature index families on the same distribution (`bench/ann-reference.md`, faiss IVF-Flat and HNSW): at about 10x over the exact scan they reach recall@256 well below 0.9 too; recall@256 >= 0.9 costs them reading about half of the memory (IVF) or ~2x speed-up (HNSW).');
  L.push('- N-way K-shot episodes hold at most N*K = 100 slots: with 4-bit tables and 32 probes every slot is a candidate, so LSH equals exact by construction there; those rows check the LSH path end to end, not its recall. The all-classes rows (one memory holding every test class) are where LSH has to find n1 among thousands of slots.');
  L.push('- Exact and LSH are timed in alternation, so their ratio holds better than either time when the 2-core machine is shared (see the load average above). Earlier runs of the default setting at 500k (before the bucket runs): 4.8x and 7.2x under load 5-8, 6.0x on the idle machine.');
  L.push('- Re-render from the JSON: `npx tsx bench/memory.ts --lsh --render`.', '');
  return L.join('\n');
}

export async function lshStudy(): Promise<void> {
  if (opt('render')) {
    const saved = JSON.parse(readFileSync('bench/lsh-results.json', 'utf8')) as { meta: Record<string, string | number>; rows: LshRow[]; nway: NwayRow[] };
    writeFileSync('bench/lsh-results.md', markdown(saved.rows, saved.nway, saved.meta));
    return;
  }
  const sel = await selectBackend({ force: 'wasm' });
  if (opt('nway-only')) {
    // re-measure only the N-way part, keep the recall rows of the saved run
    const saved = JSON.parse(readFileSync('bench/lsh-results.json', 'utf8')) as { meta: Record<string, string | number>; rows: LshRow[]; nway: NwayRow[] };
    const nwayRows = await nway();
    saved.meta['N-way part'] = `re-measured ${new Date().toISOString()} (--nway-only)`;
    writeFileSync('bench/lsh-results.md', markdown(saved.rows, nwayRows, saved.meta));
    writeFileSync('bench/lsh-results.json', JSON.stringify({ ...saved, nway: nwayRows }, null, 2) + '\n');
    log('updated the N-way part of bench/lsh-results.md and bench/lsh-results.json');
    return;
  }
  const t0 = performance.now();
  const rows: LshRow[] = [];
  if (!opt('no-omniglot')) rows.push(...(await omniglot()));
  for (const n of SIZES) rows.push(...synthetic(n));
  const nwayRows = opt('no-nway') ? [] : await nway();
  const meta = {
    date: new Date().toISOString(),
    code: codeVersion(),
    backend: `tfjs ${tf.version.tfjs} ${sel.backend}`,
    machine: `${os.cpus()[0]?.model ?? '?'} x ${os.cpus().length}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at the end`,
    queries: `${NQ} per data set`,
    'default LSH': `${DEFAULT_SETTING.tables} tables, bits = round(log2(n/64)), ${DEFAULT_SETTING.probes} probes per table (query-directed multi-probe), candidates in >= ${DEFAULT_SETTING.minHits} probed buckets, independent planes`,
    'bench time (s)': ((performance.now() - t0) / 1e3).toFixed(0),
  };
  const md = markdown(rows, nwayRows, meta);
  console.log('\n' + md);
  if (opt('grid-only')) return;
  writeFileSync('bench/lsh-results.md', md);
  writeFileSync('bench/lsh-results.json', JSON.stringify({ meta, rows, nway: nwayRows }, null, 2) + '\n');
  log('wrote bench/lsh-results.md and bench/lsh-results.json');
}
