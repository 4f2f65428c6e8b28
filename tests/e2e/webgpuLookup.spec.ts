/**
 * The WebGPU lookup (src/memory/webgpuLookup.ts) against the CPU reference (the WASM SIMD scan over
 * the same key mirror) in Chromium's SwiftShader WebGPU. The in-page side is tests/e2e/gpu/harness.ts,
 * served by the dev server (the webServer entry on E2E_DEV_PORT). Sizes are small: SwiftShader
 * emulates the GPU on the CPU.
 */
import { test, expect } from './fixtures';

const DEV_PORT = Number(process.env.E2E_DEV_PORT ?? 5174);
const HARNESS = `http://localhost:${DEV_PORT}/tests/e2e/gpu/harness.html`;
const SIM_TOLERANCE = 1e-5;

test.describe('WebGPU exact lookup', () => {
  test.skip(({ backend }) => backend !== 'webgpu', 'needs WebGPU (the webgpu project)');
  test.setTimeout(180_000);

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const run = async (page: import('@playwright/test').Page, name: string): Promise<any> => {
    await page.goto(HARNESS);
    await page.waitForFunction(() => window.gpuHarness !== undefined, null, { timeout: 60_000 });
    return page.evaluate((n) => window.gpuHarness![n](), name);
  };

  test('gives the CPU scan neighbours: random writes, empty slots, k > filled, batch, ties, a GPU tensor query', async ({ page }) => {
    const r = await run(page, 'memoryParity');
    expect(r.engine).toBe('webgpu');
    expect(r.emptyMemory).toEqual({ indices: 0, prediction: -1 });
    expect(r.kAboveFilled).toMatchObject({ rows: 3, lengths: [9, 9, 9], indexMismatches: 0 });
    expect(r.kAboveFilled.maxSimDiff).toBeLessThanOrEqual(SIM_TOLERANCE);
    expect(r.filled).toBeGreaterThan(1000);
    expect(r.filled).toBeLessThan(2500);
    expect(r.batch).toMatchObject({ rows: 5, lengths: [256, 256, 256, 256, 256], indexMismatches: 0 });
    expect(r.batch.maxSimDiff).toBeLessThanOrEqual(SIM_TOLERANCE);
    expect(r.tie.first).toEqual(r.tie.slots);
    expect(r.tie.sims[0]).toBe(r.tie.sims[1]);
    expect(r.tensor).toMatchObject({ rows: 5, indexMismatches: 0 });
    expect(r.tensor.maxSimDiff).toBeLessThanOrEqual(SIM_TOLERANCE);
    expect(r.tensorLeak).toBe(0);
    expect(r.zeroError).toMatch(/non-zero key/);
  });

  test('keys over several GPU buffers, batches of 20, rows written one by one: the select path and the merge path (two levels)', async ({ page }) => {
    const all = await run(page, 'chunkedParity');
    for (const topK of ['select', 'merge']) {
      const r = all[topK];
      expect(r.chunks, topK).toBe(3);
      for (const name of ['k1', 'k256', 'afterWrites']) {
        expect(r[name].indexMismatches, `${topK} ${name}`).toBe(0);
        expect(r[name].rows, `${topK} ${name}`).toBe(20);
        expect(r[name].maxSimDiff, `${topK} ${name}`).toBeLessThanOrEqual(SIM_TOLERANCE);
      }
      expect(r.k256.lengths.every((l: number) => l === 256)).toBe(true);
    }
    // three searches of 20 queries = 6 passes each, all on the path asked for
    expect(all.select.passes).toEqual({ select: 6, merge: 0, overflow: 0 });
    expect(all.merge.passes).toEqual({ select: 0, merge: 6, overflow: 0 });
  });

  test('the select path hands a crowded histogram bin (duplicate keys) to the merge path and stays exact', async ({ page }) => {
    const r = await run(page, 'selectOverflow');
    expect(r.afterCrowded).toEqual({ select: 0, merge: 1, overflow: 1 });
    expect(r.crowded).toMatchObject({ rows: 1, lengths: [256], indexMismatches: 0 });
    expect(r.spread).toMatchObject({ rows: 1, lengths: [256], indexMismatches: 0 });
    expect(r.crowded.maxSimDiff).toBeLessThanOrEqual(SIM_TOLERANCE);
    expect(r.spread.maxSimDiff).toBeLessThanOrEqual(SIM_TOLERANCE);
    expect(r.passes).toEqual({ select: 1, merge: 1, overflow: 1 });
  });

  test('a key size that is not a multiple of 16: both paths give the CPU scan neighbours', async ({ page }) => {
    const r = await run(page, 'oddKeySize');
    for (const topK of ['select', 'merge']) {
      expect(r[topK], topK).toMatchObject({ rows: 4, lengths: [64, 64, 64, 64], indexMismatches: 0 });
      expect(r[topK].maxSimDiff, topK).toBeLessThanOrEqual(SIM_TOLERANCE);
    }
    expect(r.select.passes).toEqual({ select: 1, merge: 0, overflow: 0 });
    expect(r.merge.passes).toEqual({ select: 0, merge: 1, overflow: 0 });
  });

  test('dispose destroys the GPU buffers; a lost device keeps the memory, a rebuild puts it back on a GPU', async ({ page }) => {
    const d = await run(page, 'disposeDestroys');
    expect(d.made).toBeGreaterThanOrEqual(5); // keys, mask, queries, candidates, staging...
    expect(d.liveBefore).toBe(d.made);
    expect(d.liveAfter).toEqual([]);
    const l = await run(page, 'deviceLoss');
    expect(l.engineBefore).toBe('webgpu');
    expect(l.engineAfter).toMatch(/^wasm-simd \(WebGPU device lost/);
    expect(l.filled).toBe(401); // 400 before the loss, one after
    expect(l.sameAnswer.indexMismatches).toBe(0); // GPU before, CPU after
    expect(l.sameAnswer.maxSimDiff).toBeLessThanOrEqual(SIM_TOLERANCE);
    expect(l.afterWrite.indexMismatches).toBe(0);
    expect(l.lostSearch).toMatchObject({ indexMismatches: 0, maxSimDiff: 0 });
    expect(l.engineLost).toMatch(/device lost/);
    expect(l.rebuilt.indexMismatches).toBe(0);
    expect(l.rebuilt.maxSimDiff).toBeLessThanOrEqual(SIM_TOLERANCE);
    expect(l.engineRebuilt).toBe('webgpu');
  });
});
