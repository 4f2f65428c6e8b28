import { test, expect } from './fixtures';
import { MemoryLabPage } from './pages/MemoryLabPage';

test('the app opens and runs on the backend it was asked for', async ({ page, backend }) => {
  await new MemoryLabPage(page).open(backend);
  await expect(page.getByTestId('backend-name')).toHaveText(backend);
});
