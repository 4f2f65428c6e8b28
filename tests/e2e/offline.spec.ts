// Offline after the first visit: the service worker precaches the app, the encoder and the WASM
// binaries; with the network off a reload starts the app, keeps the memory and still predicts.
import { test, expect } from './fixtures';
import { MemoryLabPage, SYMBOLS, variant } from './pages/MemoryLabPage';

test('installable, and a reload with the network off starts the app with its memory', async ({ page, context, backend }) => {
  test.skip(backend === 'webgpu', 'the service worker and its cache are backend independent (WebGPU needs no file of its own): checked on wasm');
  const app = new MemoryLabPage(page);
  await app.open(backend);
  const manifest = await page.evaluate(() => document.querySelector('link[rel=manifest]')?.getAttribute('href'));
  expect(manifest).toBeTruthy();
  // the service worker is installed, has precached everything and controls the page
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
  });
  await app.draw(SYMBOLS.ring);
  await app.remember('ring');
  await context.setOffline(true);
  await page.reload();
  await app.waitReady();
  expect((await app.state()).labels.map((l) => l.name)).toEqual(['ring']);
  await app.draw(variant(SYMBOLS.ring, 4));
  await expect(page.getByTestId('prediction-label')).toHaveText('ring');
  await context.setOffline(false);
});

test('an update installed while the page was open: a view whose code is gone says so and offers a reload, the rest goes on', async ({ browser, backend, baseURL }) => {
  test.skip(backend === 'webgpu', 'loading the views is backend independent: checked on wasm');
  // the new version's service worker removed the old files: the old page's Rare events code is gone
  const context = await browser.newContext({ serviceWorkers: 'block', baseURL, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.route(/\/assets\/RareView-[^/]*\.(js|css)$/, (route) => route.fulfill({ status: 404, body: 'not found' }));
  const app = new MemoryLabPage(page);
  await app.open(backend);
  await page.getByTestId('tab-rare').click();
  const failed = page.getByTestId('view-failed');
  await expect(failed).toHaveAttribute('data-reason', 'updated');
  await expect(failed).toContainText('Memory Lab was updated since this page opened');
  await expect(failed.getByRole('button', { name: 'Reload' })).toBeVisible();
  await failed.getByRole('button', { name: 'Go to Draw & predict' }).click();
  await app.draw(SYMBOLS.ring);
  await app.remember('ring');
  expect((await app.state()).labels.map((l) => l.name)).toEqual(['ring']);
  await context.close();
});
