/**
 * GPU lookup benchmark: `npm run bench:gpu` (issue 11 item 6). Serves bench/gpu/ with the vite dev
 * server, opens it in Debian's Chromium with WebGPU, and for 8k, 65k and 500k slots (keySize 128,
 * k 256, full memory) measures query p50/p95 at batch 1 and 16 and write p50 for the WebGPU kernel
 * (src/memory/webgpuLookup.ts), tfjs matMul + topk on WebGPU and the WASM SIMD scan, plus the
 * device's bandwidth from a copy kernel and so the bandwidth bound of one exact query. Prints the
 * issue's goals as met / not met and writes bench/gpu-results.md and bench/gpu-results.json.
 *
 * Without flags Chromium's WebGPU is SwiftShader (the GPU emulated on the CPU): the figures then
 * check that everything runs and agrees, and their timings are meaningless. On a machine with a
 * GPU pass Chromium's flags for it, e.g.
 *   GPU_ARGS="--enable-features=Vulkan --use-angle=vulkan --enable-unsafe-webgpu" npm run bench:gpu
 * Options: --sizes=8192,65536 (default 8192,65536,500000), --reps=N (default 30; 3 on SwiftShader),
 * --out=PREFIX (default bench/gpu-results: PREFIX.md and PREFIX.json), --runtime=dawn: the same page
 * code in Node on Dawn's WebGPU binding (npm `webgpu`) instead of Chromium, for a GPU server with no
 * browser; Dawn picks the adapter (with Vulkan: VK_ICD_FILENAMES selects the driver, e.g. SwiftShader's).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { SizeResult, Stats, start, runSize, bandwidth, pipeline } from './gpu/page';

const PORT = Number(process.env.BENCH_PORT ?? 4175);
const args = process.argv.slice(2);
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const SIZES = (opt('sizes') ?? '8192,65536,500000').split(',').map(Number);
const GPU_ARGS = (process.env.GPU_ARGS ?? '--enable-unsafe-webgpu --use-webgpu-adapter=swiftshader').split(/\s+/).filter(Boolean);
const RUNTIME = opt('runtime') ?? 'chromium';
const OUT = opt('out') ?? 'bench/gpu-results';
const COMMAND = `npm run bench:gpu${args.length ? ` -- ${args.join(' ')}` : ''}`;
if (RUNTIME !== 'chromium' && RUNTIME !== 'dawn') throw new Error(`--runtime must be chromium or dawn, got ${RUNTIME}`);
const RUNTIME_TEXT =
  RUNTIME === 'chromium'
    ? `Debian Chromium headless, flags \`${GPU_ARGS.join(' ')}\``
    : `Node ${process.version} with Dawn's WebGPU binding (npm \`webgpu\`), the same page code (bench/gpu/page.ts) and tfjs-backend-webgpu`;

interface Bench {
  start: typeof start;
  runSize: typeof runSize;
  bandwidth: typeof bandwidth;
  /** drawing -> prediction at `n` slots with the bundled encoder (Node only: it reads models/ from disk) */
  pipeline?: (n: number, reps: number) => ReturnType<typeof pipeline>;
}

const ms = (s: Stats | string) => (typeof s === 'string' ? s : `${s.p50.toFixed(2)} / ${s.p95.toFixed(2)}`);
const p50 = (s: Stats | string) => (typeof s === 'string' ? NaN : s.p50);

/** The page's functions in Chromium: bench/gpu/ served by vite, called through page.evaluate. */
async function inChromium(run: (bench: Bench) => Promise<void>) {
  const { chromium } = await import('@playwright/test');
  const { createServer } = await import('vite');
  // no file watching and no HMR: an edit elsewhere in the tree must not reload the page mid-run
  const server = await createServer({ server: { port: PORT, strictPort: true, hmr: false, watch: null }, logLevel: 'error' });
  await server.listen();
  try {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', ...GPU_ARGS],
    });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(0);
      page.on('pageerror', (e) => console.error('page error:', e.message));
      await page.goto(`http://localhost:${PORT}/bench/gpu/index.html`);
      await page.waitForFunction(() => window.gpuBench !== undefined, null, { timeout: 120_000 });
      await run({
        start: () => page.evaluate(() => window.gpuBench!.start()),
        bandwidth: (bytes, reps) => page.evaluate(({ bytes, reps }) => window.gpuBench!.bandwidth(bytes, reps), { bytes, reps }),
        runSize: (n, reps) => page.evaluate(({ n, reps }) => window.gpuBench!.runSize(n, reps), { n, reps }),
      });
    } finally {
      await browser.close();
    }
  } finally {
    await server.close();
  }
}

/**
 * The same page code in Node, on Dawn's WebGPU binding (npm `webgpu`): for a machine with a GPU and
 * no Chromium (a headless GPU server). navigator.gpu must exist before tfjs-backend-webgpu loads,
 * since it registers the backend at import. Flags for Dawn: DAWN_FLAGS (comma separated).
 */
async function inDawn(run: (bench: Bench) => Promise<void>) {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const flags = (process.env.DAWN_FLAGS ?? '').split(',').filter(Boolean);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: create(flags) }, configurable: true });
  const page = await import('./gpu/page');
  const { loadEncoderFromDir, keyShiftsOf } = await import('../src/encoder/node');
  const dir = 'models/omniglot-conv4-memory';
  await run({
    ...page,
    pipeline: async (n, reps) => {
      const encoder = await loadEncoderFromDir(dir, { keyShifts: keyShiftsOf(dir, 'models/encoders.json') });
      try {
        return await page.pipeline(encoder, n, reps);
      } finally {
        encoder.dispose();
      }
    },
  });
}

async function report(bench: Bench) {
  const dev = await bench.start();
  const emulated = dev.fallback;
  const reps = Number(opt('reps') ?? (emulated ? 3 : 30));
  console.log(`device: ${dev.adapter}${emulated ? ' (software: SwiftShader emulates the GPU on the CPU; timings are meaningless)' : ''}; reps ${reps}`);
  const bw = await bench.bandwidth(256 * 2 ** 20, Math.max(3, reps));
  console.log(`copy kernel over ${(bw.bytes / 2 ** 20).toFixed(0)} MiB: ${bw.ms.p50.toFixed(2)} ms, ${bw.gbPerS.toFixed(1)} GB/s (read + write)`);
  const rows: (SizeResult & { boundMs: number })[] = [];
  for (const n of SIZES) {
    const t0 = Date.now();
    const r = await bench.runSize(n, reps);
    // one exact query reads every key once: n * 128 * 4 bytes at the measured bandwidth
    const boundMs = ((n * 128 * 4) / (bw.gbPerS * 1e9)) * 1000;
    rows.push({ ...r, boundMs });
    console.log(`${n} slots (${((Date.now() - t0) / 1000).toFixed(0)} s): webgpu ${ms(r.gpuB1)} ms (merge path alone ${ms(r.gpuMergeB1)} ms), tfjs ${ms(r.tfjsB1)} ms, wasm-simd ${ms(r.simdB1)} ms (batch 1, p50 / p95); parity ${r.parity.mismatches} of ${r.parity.rows} rows differ`);
  }
  const big = rows.find((r) => r.n === 500_000);
  // drawing -> prediction (encoder + lookup on the GPU, no UI) at 65k slots, where the runtime can load the encoder
  const app = bench.pipeline ? await bench.pipeline(65_536, Math.max(20, reps)) : null;
  if (app) console.log(`drawing -> prediction at 65536 slots (strokes, preprocess, encoder, WebGPU lookup): p50 ${app.p50.toFixed(2)} ms, p95 ${app.p95.toFixed(2)} ms`);
  const verdict = (ok: boolean | null) => (ok === null ? 'not measured' : `${ok ? 'met' : 'not met'}${emulated ? ' (on SwiftShader: meaningless)' : ''}`);
  const goals = [
    ['exact query at 500k, batch 1, within 10x of the device bound', big ? `${big.gpuB1.p50.toFixed(2)} ms vs bound ${big.boundMs.toFixed(3)} ms: ${(big.gpuB1.p50 / big.boundMs).toFixed(1)}x` : '-', verdict(big ? big.gpuB1.p50 <= 10 * big.boundMs : null)],
    ['exact query at 500k, batch 1, >= 10x faster than the WASM scan', big ? `${big.gpuB1.p50.toFixed(2)} ms vs ${big.simdB1.p50.toFixed(2)} ms: ${(big.simdB1.p50 / big.gpuB1.p50).toFixed(2)}x faster` : '-', verdict(big ? big.simdB1.p50 >= 10 * big.gpuB1.p50 : null)],
    app
      ? ['stroke -> prediction p95 <= 16 ms at 65k slots', `${app.p50.toFixed(2)} / ${app.p95.toFixed(2)} ms (p50 / p95, ${app.n} drawings): strokes -> preprocess -> omniglot-conv4-memory on WebGPU -> WebGPU lookup, without the page's rendering`, verdict(app.p95 <= 16)]
      : ['stroke -> prediction p95 <= 16 ms at 65k slots', 'Chromium page times the lookup only: run with --runtime=dawn (encoder + lookup), or `npm run bench:app` on a GPU', 'not measured'],
  ];
  const cpu = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).toString().trim();
  const md = [
    '# GPU lookup benchmark',
    '',
    `Run: \`${COMMAND}\` · ${new Date().toISOString().slice(0, 10)} · ${RUNTIME_TEXT} · device: **${dev.adapter}** · CPU ${cpu}, load average ${loadavg().map((x) => x.toFixed(1)).join(' / ')} · ${reps} reps (batch 16: ${Math.max(2, Math.ceil(reps / 2))}) after one warm-up.`,
    '',
    emulated
      ? '**The device is SwiftShader, a CPU emulation of a GPU: these timings say nothing about a GPU and are meaningless as performance figures.** What this run shows: every path runs at every size and the WebGPU kernel returns the same neighbours as the WASM SIMD scan (the parity column). The goals below are computed as written, on an emulated device.'
      : 'Timings on a real GPU.',
    '',
    'Query: wall-clock ms from the call to the k = 256 results in JavaScript (p50 / p95), full memory, keySize 128, random unit keys. WebGPU kernel: the lookup\'s default top-k (the radix select, src/memory/webgpuLookup.ts); "its merge path alone": the tile sorts and merge levels it falls back on. Write: the update rule given the query result (no lookup), until the GPU has the row (`onSubmittedWorkDone`); WebGPU kernel: one row by `writeBuffer`; tfjs: the memory\'s `blocked` key store (a 4096-row block re-uploaded); WASM SIMD: the row in the mirror.',
    '',
    `Device bandwidth (copy kernel, ${(bw.bytes / 2 ** 20).toFixed(0)} MiB read + written): ${bw.gbPerS.toFixed(1)} GB/s; bound of one exact query = keys bytes / that bandwidth.`,
    '',
    '| slots | bound | WebGPU kernel b1 | b16 | its merge path alone b1 | tfjs matMul+topk b1 | b16 | WASM SIMD b1 | b16 | write p50: WebGPU / tfjs blocked / WASM | parity (rows differing, max sim diff) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
    ...rows.map((r) => `| ${r.n} | ${r.boundMs.toFixed(3)} | ${ms(r.gpuB1)} | ${ms(r.gpuB16)} | ${ms(r.gpuMergeB1)} | ${ms(r.tfjsB1)} | ${ms(r.tfjsB16)} | ${ms(r.simdB1)} | ${ms(r.simdB16)} | ${p50(r.gpuWrite).toFixed(3)} / ${typeof r.tfjsWrite === 'string' ? r.tfjsWrite : r.tfjsWrite.p50.toFixed(3)} / ${r.simdWrite.p50.toFixed(3)} | ${r.parity.mismatches} of ${r.parity.rows}, ${r.parity.maxSimDiff.toExponential(1)} |`),
    '',
    '| goal (issue 11) | measured | verdict |',
    '|---|---|---|',
    ...goals.map((g) => `| ${g.join(' | ')} |`),
    '',
  ].join('\n');
  console.log(md);
  writeFileSync(`${OUT}.md`, md);
  writeFileSync(`${OUT}.json`, JSON.stringify({ date: new Date().toISOString(), runtime: RUNTIME, pipeline65k: app, flags: RUNTIME === 'chromium' ? GPU_ARGS : [], device: dev, emulated, reps, bandwidth: bw, rows, goals }, null, 1));
}

async function main() {
  await (RUNTIME === 'dawn' ? inDawn(report) : inChromium(report));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
