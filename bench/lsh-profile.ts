/**
 * Where an LSH query's time goes (`npx tsx bench/lsh-profile.ts [n] [tables] [probes]`): the LSH study's
 * synthetic memory (tests/unit/memoryLshData.ts, n/32 clusters of 32, default 500k slots), 200 queries
 * that are new cluster members, batch 1, on the default LSH settings unless given. Prints the mean time
 * per query of hashing + probe generation, visiting the probed buckets, re-ranking the candidates (SIMD
 * gather), and the whole query, with the bucket entries visited and the candidates re-ranked.
 *
 * It wraps the private steps of LshLookup (src/memory/lsh.ts) to time them; a profiling aid, not an API.
 */
import { defaultLshBits, DEFAULTS, KeyValueMemory } from '../src/memory';
import { snapshotOf } from './lsh';
import { clusteredKeys, newMembers } from '../tests/unit/memoryLshData';

const D = 128;
const NQ = 200;
const [n, tables, probes] = [Number(process.argv[2] ?? 500_000), Number(process.argv[3] ?? DEFAULTS.lshTables), Number(process.argv[4] ?? DEFAULTS.lshProbes)];
const bits = defaultLshBits(n);
const clusters = Math.floor(n / 32);
const data = clusteredKeys(n, D, clusters, 7);
const q = newMembers(D, clusters, 7, NQ, 13);
const queries = Array.from({ length: NQ }, (_, i) => q.keys.subarray(i * D, (i + 1) * D));
// the LSH study's own snapshot of these keys, opened in LSH mode with the settings asked for (as its measureLsh)
const mem = KeyValueMemory.fromSnapshot(snapshotOf(data.keys, data.labels, n), { lookup: 'lsh', lsh: { tables, bits, probes, planes: tables * bits } });

// the LshLookup inside the memory, and the steps to time
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const lookup = (mem as any).lookup;
const time = { probe: 0, visit: 0, rerank: 0 };
let visited = 0;
let candidates = 0;
const wrap = (obj: Record<string, (...a: unknown[]) => unknown>, name: string, key: keyof typeof time, after?: (r: unknown) => void) => {
  const f = obj[name].bind(obj);
  obj[name] = (...a: unknown[]) => {
    const t0 = performance.now();
    const r = f(...a);
    time[key] += performance.now() - t0;
    after?.(r);
    return r;
  };
};
wrap(lookup, 'probe', 'probe');
wrap(lookup, lookup.p.minHits <= 2 ? 'collectBits' : 'collectCounts', 'visit', (count) => {
  candidates += count as number;
  for (let i = 0; i < lookup.probeCount; i++) {
    const table = lookup.buckets[lookup.probeTable[i]];
    const id = table.idOf(lookup.probeCode[i]);
    if (id >= 0) visited += table.size[id];
  }
});
wrap(lookup.gather, 'dots', 'rerank');

for (let i = 0; i < 20; i++) mem.query([queries[i]]); // warm up
time.probe = time.visit = time.rerank = 0;
visited = candidates = 0;
const t0 = performance.now();
for (const row of queries) mem.query([row]);
const total = (performance.now() - t0) / NQ;
const ms = (v: number) => (v / NQ).toFixed(3);
console.log(
  `${n.toLocaleString('en')} slots, ${tables} tables x ${bits} bits, ${probes} probes/table, minHits ${DEFAULTS.lshMinHits}: ` +
    `query ${total.toFixed(3)} ms = hash+probe ${ms(time.probe)} + visit ${ms(time.visit)} + re-rank ${ms(time.rerank)} + rest ` +
    `${(total - (time.probe + time.visit + time.rerank) / NQ).toFixed(3)}; bucket entries visited ${(visited / NQ).toFixed(0)}, candidates ${(candidates / NQ).toFixed(0)}`,
);
mem.dispose();
