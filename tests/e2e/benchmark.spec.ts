import { test, expect } from './fixtures';
import { MemoryLabPage } from './pages/MemoryLabPage';
import { omniglotZip } from './syntheticOmniglot';

// 3 alphabets x 8 characters x 12 drawers: enough classes and drawings for every task (20-way 5-shot).
const zip = Buffer.from(omniglotZip({ alphabets: 3, chars: 8, drawers: 12 }));

test.describe('Benchmark view', () => {
  // Since the learners joined the run (issue 10), the SGD softmax's training steps on SwiftShader's
  // CPU-emulated WebGPU run for minutes and the emulated device is lost mid-run (the app then falls
  // back to WASM and the run stops with an error): the WebGPU benchmark needs a real GPU. The other
  // test refuses a file before any tensor exists: backend independent.
  test.skip(({ backend }) => backend === 'webgpu', 'too slow for SwiftShader WebGPU, or backend independent: checked on wasm');
  test.beforeEach(async ({ page, backend }) => {
    // WebGPU runs on SwiftShader (CPU emulation): its start can be slow on a busy machine
    test.setTimeout(300_000);
    await new MemoryLabPage(page).open(backend); // fails at once with the app's message if it cannot start
    await expect(page.getByTestId('backend-name')).toHaveText(backend);
    await page.getByTestId('tab-benchmark').click();
    await expect(page.getByTestId('benchmark-view')).toBeVisible();
  });

  test('runs a tiny benchmark in the page on a synthetic zip', async ({ page }) => {
    test.setTimeout(300_000);
    await expect(page.getByTestId('benchmark-run')).toBeDisabled();
    await page.getByTestId('benchmark-file').setInputFiles({ name: 'synthetic.zip', mimeType: 'application/zip', buffer: zip });
    await expect(page.getByTestId('benchmark-dataset')).toHaveText('synthetic.zip: 24 characters, 3 alphabets, 288 drawings');
    await page.getByTestId('benchmark-episodes').fill('6');
    await page.getByTestId('benchmark-run').click();
    await expect(page.getByTestId('benchmark-progress')).toBeVisible();
    await expect(page.getByTestId('benchmark-view')).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
    await expect(page.getByTestId('benchmark-error')).toHaveCount(0);

    const ours = page.getByTestId('benchmark-row-ours');
    await expect(ours).toHaveCount(1);
    // it measured the encoder in use, and says which
    const encoder = (await new MemoryLabPage(page).state()).encoder ?? 'no encoder in use';
    await expect(page.getByTestId('benchmark-encoder')).toContainText(encoder);
    await expect(ours).toContainText(`Memory Lab: ${encoder} + memory`);
    const cells = ours.locator('td.num');
    await expect(cells).toHaveCount(4);
    for (const text of await cells.allTextContents()) expect(text).toMatch(/^\d+\.\d ± \d+\.\d$/);
    await expect(page.getByTestId('benchmark-table')).toContainText('Kaiser et al. (conv + memory) (published)');
    await expect(page.getByTestId('benchmark-table')).toContainText('98.4');
    await expect(page.getByTestId('benchmark-shot-chart').locator('svg path.recharts-curve').first()).toBeVisible();
    await expect(page.getByTestId('benchmark-lifelong-chart')).toBeVisible();
    // every learner side by side (issue 10): the table and the curriculum curves
    await expect(page.getByTestId('benchmark-learner-row')).toHaveCount(4);
    for (const text of await page.locator('[data-testid=benchmark-learner-row][data-learner=hebbian] td.num').allTextContents()) expect(text).toMatch(/^\d+\.\d ± \d+\.\d$/);
    await expect(page.getByTestId('benchmark-curriculum-sightings').locator('svg path.recharts-curve').first()).toBeVisible();
    await expect(page.getByTestId('benchmark-curriculum-gap')).toBeVisible();
    const progress = page.getByTestId('benchmark-progress');
    expect(await progress.getAttribute('value')).toBe(await progress.getAttribute('max'));
  });

  test('a file that is not a zip gives an error naming it and the expected layout', async ({ page }) => {
    await page.getByTestId('benchmark-file').setInputFiles({ name: 'broken.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip at all') });
    await expect(page.getByTestId('benchmark-error')).toContainText('broken.zip: not a readable zip');
    await expect(page.getByTestId('benchmark-error')).toContainText('<root>/<Alphabet>/characterNN/<ID>_<DD>.png');
    await expect(page.getByTestId('benchmark-run')).toBeDisabled();
  });
});
