import { test, expect } from './fixtures';
import { MemoryLabPage, SYMBOLS } from './pages/MemoryLabPage';

// One app start per backend: it runs on the backend asked for, under the page's Content-Security-Policy,
// with no violation while it starts and predicts.
test('the app opens and runs on the backend it was asked for, under its Content-Security-Policy', async ({ page, backend }) => {
  const violations: string[] = [];
  page.on('console', (m) => /Content Security Policy|Refused to/.test(m.text()) && violations.push(m.text()));
  const app = new MemoryLabPage(page);
  await app.open(backend);
  await expect(page.getByTestId('backend-name')).toHaveText(backend);
  const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '');
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("object-src 'none'");
  await app.draw(SYMBOLS.cross);
  expect(violations).toEqual([]);
});
