import { test, expect } from './fixtures';

test('the app opens and runs on the backend it was asked for', async ({ page, backend }) => {
  await page.goto(`/?backend=${backend}`);
  await expect(page.getByTestId('backend-name')).toHaveText(backend, { timeout: 60_000 });
});
