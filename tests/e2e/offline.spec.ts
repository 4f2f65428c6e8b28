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
