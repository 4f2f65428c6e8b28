/**
 * App benchmark (not a test): issue 5 item 11.
 *  - production build: JS size (gzip) of dist/assets/*.js;
 *  - time to ready-to-predict on localhost (navigation start -> encoder loaded and memory ready);
 *  - stroke end -> prediction on screen at memory size 8k on WASM, p50/p95 over 200 drawings
 *    (measured inside the page from pointerup to the frame after the prediction rendered).
 * Prints a table and writes bench/app-results.md.   Run: npm run bench:app
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { toFile } from '../src/app/persist';
import { DEFAULT_SETTINGS } from '../src/app/types';
import { withPreviewBrowser } from '../scripts/previewBrowser';
import { mulberry32 as rand } from '../src/memory/random';

const PORT = 4174;
const MEMORY = 8192;
const DRAWINGS = Number(process.env.DRAWINGS ?? 200);
const KEY = 128;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
}


/** A full 8k memory file: random unit keys (Gaussian), 100 labels, random ages. */
function fullMemoryFile(): string {
  const r = rand(42);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const labels = Array.from({ length: 100 }, (_, i) => ({ id: i, name: `class-${i}` }));
  const slots = Array.from({ length: MEMORY }, (_, slot) => {
    const key = new Float32Array(KEY);
    let n = 0;
    for (let j = 0; j < KEY; j++) n += (key[j] = gauss()) ** 2;
    n = Math.sqrt(n);
    for (let j = 0; j < KEY; j++) key[j] /= n;
    const thumb = new Uint8Array(784);
    for (let j = 0; j < 784; j++) thumb[j] = r() < 0.1 ? 255 : 0;
    return { slot, label: slot % 100, age: Math.floor(r() * 50), key, thumb };
  });
  return JSON.stringify(
    toFile({ settings: { ...DEFAULT_SETTINGS, memorySize: MEMORY }, size: MEMORY, keySize: KEY, labels, slots }),
  );
}

async function main() {
  console.log('building the production bundle…');
  await withPreviewBrowser(PORT, async (browser, baseUrl) => {
    const assets = readdirSync('dist/assets').filter((f) => f.endsWith('.js'));
    let raw = 0, gz = 0;
    for (const f of assets) {
      const b = readFileSync(join('dist/assets', f));
      raw += b.length;
      gz += gzipSync(b, { level: 9 }).length;
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

    // time to ready-to-predict: a cold start (fresh context, empty cache), then 4 warm reloads
    const readyTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      if (i === 0) await page.goto(`${baseUrl}?backend=wasm`);
      else await page.reload();
      await page.waitForFunction(() => window.__memoryLab?.ready() === true, null, { timeout: 60_000 });
      readyTimes.push(await page.evaluate(() => performance.now()));
    }

    const ok = await page.evaluate((t) => window.__memoryLab!.importText(t), fullMemoryFile());
    if (!ok) throw new Error('could not import the 8k memory');
    const st = await page.evaluate(() => window.__memoryLab!.state());
    if (st.filled !== MEMORY || st.backend !== 'wasm') throw new Error(`expected a full 8k memory on wasm, got ${st.filled} on ${st.backend}`);

    const canvas = (await page.getByTestId('drawing-canvas').boundingBox())!;
    const latencies: number[] = [];
    const encodes: number[] = [];
    const queries: number[] = [];
    const phases = { input: [] as number[], wait: [] as number[], render: [] as number[], paint: [] as number[] };
    const r = rand(7);
    for (let d = 0; d < DRAWINGS; d++) {
      await page.keyboard.press('Escape');
      // a random 2-stroke scribble
      for (let s = 0; s < 2; s++) {
        const seq = await page.evaluate(() => window.__memoryLab!.state().predictionSeq);
        await page.mouse.move(canvas.x + 40 + r() * 240, canvas.y + 40 + r() * 240);
        await page.mouse.down();
        for (let p = 0; p < 6; p++) await page.mouse.move(canvas.x + 40 + r() * 240, canvas.y + 40 + r() * 240, { steps: 3 });
        await page.mouse.up();
        await page.waitForFunction(
          (prev) => window.__memoryLab!.state().predictionSeq > prev && window.__memoryLab!.lastPredictionLatencyMs() !== null,
          seq,
        );
        // the latency is set one frame after the render
        await page.waitForFunction(() => !document.querySelector('section.prediction[aria-busy=true]'));
        await page.waitForTimeout(30);
        if (s === 1) {
          latencies.push((await page.evaluate(() => window.__memoryLab!.lastPredictionLatencyMs()))!);
          const l = await page.evaluate(() => window.__memoryLab!.state().latency);
          encodes.push(l.encodeMs ?? NaN);
          const ph = await page.evaluate(() => window.__memoryLab!.predictionPhases());
          phases.input.push(ph.inputReady - ph.strokeEnd);
          phases.wait.push(ph.runStart - ph.inputReady);
          phases.render.push(ph.committed - ph.predicted);
          phases.paint.push(ph.painted - ph.committed);
          queries.push(l.queryMs ?? NaN);
        }
      }
    }
    const rows = [
      ['production JS (gzip)', `${(gz / 1024).toFixed(0)} kB (raw ${(raw / 1024).toFixed(0)} kB, ${assets.length} files)`, '<= 800 kB'],
      ['time to ready-to-predict, cold', `${readyTimes[0].toFixed(0)} ms`, '<= 3 s'],
      ['time to ready-to-predict, warm (median of 4)', `${quantile(readyTimes.slice(1), 0.5).toFixed(0)} ms`, '<= 3 s'],
      [`stroke end -> prediction on screen, 8k slots, WASM, p50 (${latencies.length} drawings)`, `${quantile(latencies, 0.5).toFixed(1)} ms`, ''],
      [`stroke end -> prediction on screen, 8k slots, WASM, p95`, `${quantile(latencies, 0.95).toFixed(1)} ms`, '<= 50 ms'],
      ['of which encode (p50 / p95)', `${quantile(encodes, 0.5).toFixed(1)} / ${quantile(encodes, 0.95).toFixed(1)} ms`, ''],
      ['of which exact query, k=256 (p50 / p95)', `${quantile(queries, 0.5).toFixed(1)} / ${quantile(queries, 0.95).toFixed(1)} ms`, ''],
      ['of which strokes -> 28x28 input (p50 / p95)', `${quantile(phases.input, 0.5).toFixed(1)} / ${quantile(phases.input, 0.95).toFixed(1)} ms`, ''],
      ['of which wait before the model runs (p50 / p95)', `${quantile(phases.wait, 0.5).toFixed(1)} / ${quantile(phases.wait, 0.95).toFixed(1)} ms`, ''],
      ['of which React commit (p50 / p95)', `${quantile(phases.render, 0.5).toFixed(1)} / ${quantile(phases.render, 0.95).toFixed(1)} ms`, ''],
      ['of which commit -> painted frame (p50 / p95)', `${quantile(phases.paint, 0.5).toFixed(1)} / ${quantile(phases.paint, 0.95).toFixed(1)} ms`, ''],
    ];
    const cpu = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).toString().trim();
    const load = loadavg().map((x) => x.toFixed(1)).join(' / ');
    const md = [
      '# App benchmark',
      '',
      `Run: \`npm run bench:app\` · ${new Date().toISOString().slice(0, 10)} · Debian Chromium headless, WASM backend, ${cpu}, ${execFileSync('nproc').toString().trim()} cores, load average during the run ${load} (1/5/15 min; other jobs share the machine).`,
      'Latency is measured in the page from the stroke\'s pointerup to the frame after the prediction',
      '(label and neighbour thumbnails) was rendered: rasterise + preprocess + encode + exact query (k=256) + React',
      'render + paint; the recharts charts follow one frame later.',
      '',
      '| measure | value | goal |',
      '|---|---|---|',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      '',
    ].join('\n');
    console.log(md);
    writeFileSync('bench/app-results.md', md);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
