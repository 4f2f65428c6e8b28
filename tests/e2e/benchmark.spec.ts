import { test, expect } from './fixtures';
import { MemoryLabPage, pageOverflow } from './pages/MemoryLabPage';
import { omniglotZip } from './syntheticOmniglot';
import { OMNIGLOT_EVALUATION_URL } from '../../src/eval/omniglot';

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
    // mean ± 95% CI over the episodes; a cell whose 6 episodes all scored the same (100% on these easy
    // synthetic classes) claims no interval: "100.0 (n = 6)"
    for (const text of await cells.allTextContents()) expect(text).toMatch(/^\d+\.\d(?: ± \d+\.\d| \(n = 6\))$/);
    await expect(page.getByTestId('benchmark-table')).toContainText('Kaiser et al. (conv + memory) (published)');
    await expect(page.getByTestId('benchmark-table')).toContainText('98.4');
    await expect(page.getByTestId('benchmark-shot-chart').locator('svg path.recharts-curve').first()).toBeVisible();
    await expect(page.getByTestId('benchmark-lifelong-chart')).toBeVisible();
    // every learner side by side (issue 10): the table and the curriculum curves
    await expect(page.getByTestId('benchmark-learner-row')).toHaveCount(4);
    for (const text of await page.locator('[data-testid=benchmark-learner-row][data-learner=hebbian] td.num').allTextContents()) expect(text).toMatch(/^\d+\.\d(?: ± \d+\.\d| \(n = \d+\))$/);
    await expect(page.getByTestId('benchmark-curriculum-sightings').locator('svg path.recharts-curve').first()).toBeVisible();
    await expect(page.getByTestId('benchmark-curriculum-gap')).toBeVisible();
    const progress = page.getByTestId('benchmark-progress');
    expect(await progress.getAttribute('value')).toBe(await progress.getAttribute('max'));
    // on a phone the results tables scroll inside themselves, the page does not widen
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(() => pageOverflow(page), { message: 'the Benchmark view scrolls sideways at 390 px' }).toBeLessThanOrEqual(0);
  });

  test('a file that is not a zip gives an error naming it and the expected layout', async ({ page }) => {
    await page.getByTestId('benchmark-file').setInputFiles({ name: 'broken.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip at all') });
    await expect(page.getByTestId('benchmark-error')).toContainText('broken.zip: not a readable zip');
    await expect(page.getByTestId('benchmark-error')).toContainText('<root>/<Alphabet>/characterNN/<ID>_<DD>.png');
    await expect(page.getByTestId('benchmark-run')).toBeDisabled();
  });

  test('"Download the official evaluation zip" fetches it (the page’s Content-Security-Policy lets it through)', async ({ page }) => {
    const violations: string[] = [];
    page.on('console', (m) => /Content Security Policy|Refused to/.test(m.text()) && violations.push(m.text()));
    // the machine is offline: the official address answers with the synthetic zip
    await page.route(OMNIGLOT_EVALUATION_URL, (route) => route.fulfill({ status: 200, contentType: 'application/zip', body: zip }));
    await page.getByTestId('benchmark-download').click();
    await expect(page.getByTestId('benchmark-dataset')).toHaveText(`${OMNIGLOT_EVALUATION_URL}: 24 characters, 3 alphabets, 288 drawings`);
    expect(violations).toEqual([]);
  });

  test('closing the page during a run asks first; after the run it does not', async ({ page }) => {
    await page.getByTestId('benchmark-file').setInputFiles({ name: 'synthetic.zip', mimeType: 'application/zip', buffer: zip });
    await page.getByTestId('benchmark-episodes').fill('2000');
    await page.getByTestId('benchmark-run').click();
    await expect(page.getByTestId('benchmark-view')).toHaveAttribute('data-status', 'running');
    const asked: string[] = [];
    page.on('dialog', (d) => {
      asked.push(d.type());
      void d.dismiss(); // stay on the page
    });
    await page.close({ runBeforeUnload: true });
    await expect.poll(() => asked).toEqual(['beforeunload']);
    expect(page.isClosed()).toBe(false);
    await page.getByTestId('benchmark-cancel').click();
    await expect(page.getByTestId('benchmark-view')).toHaveAttribute('data-status', 'cancelled');
    await page.close({ runBeforeUnload: true });
    await expect.poll(() => page.isClosed()).toBe(true);
    expect(asked).toEqual(['beforeunload']);
  });

  test('the training alphabets (images_background) are said to be no one-shot test; the evaluation set is not flagged', async ({ page }) => {
    const background = Buffer.from(omniglotZip({ root: 'images_background', alphabets: 1, chars: 2, drawers: 2 }));
    await page.getByTestId('benchmark-file').setInputFiles({ name: 'images_background.zip', mimeType: 'application/zip', buffer: background });
    await expect(page.getByTestId('benchmark-dataset-caveat')).toContainText('the 30 alphabets the bundled encoders were trained on');
    await page.getByTestId('benchmark-file').setInputFiles({ name: 'synthetic.zip', mimeType: 'application/zip', buffer: zip });
    await expect(page.getByTestId('benchmark-dataset')).toHaveText('synthetic.zip: 24 characters, 3 alphabets, 288 drawings');
    await expect(page.getByTestId('benchmark-dataset-caveat')).toHaveCount(0);
  });
});
