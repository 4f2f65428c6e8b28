import { test, expect } from './fixtures';
import { MemoryLabPage } from './pages/MemoryLabPage';

// `npm run dev` (vite's dev server, unbundled modules) must serve a working app, encoder and WASM included.
test('the dev server serves a working app', async ({ page, backend }) => {
  const app = new MemoryLabPage(page);
  await app.open(backend);
  await expect(page.getByTestId('backend-name')).toHaveText(backend);
  await page.getByTestId('example-draw').click();
  await expect.poll(async () => (await app.state()).strokes).toBe(5);
  await expect(page.getByTestId('prediction-unknown')).toBeVisible();
});
