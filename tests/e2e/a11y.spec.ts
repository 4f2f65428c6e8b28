import AxeBuilder from '@axe-core/playwright';
import { test, expect } from './fixtures';
import { MemoryLabPage, SYMBOLS } from './pages/MemoryLabPage';

// axe-core's WCAG checks (roles, names, landmarks, contrast...) on every view, with something in the
// memory and an answer on screen, in the light and the dark theme. Backend independent: wasm only.
test('accessibility: no axe-core violation in any view, light and dark theme; the tabs work by keyboard', async ({ page, backend }) => {
  test.skip(backend !== 'wasm', 'the views are the same on every backend: checked on wasm');
  const app = new MemoryLabPage(page);
  await app.open(backend);
  // 64 slots: the Memory view's grid has a cell per slot, and axe takes ~8 s over 1,024 of them
  await app.setSettings({ memorySize: 64 });
  // Compare mode on: its answers under the drawing (and the Hebbian rows) are checked too
  await page.getByTestId('tab-compare').click();
  await page.getByTestId('compare-toggle').check();
  await app.tab('draw');
  await app.draw(SYMBOLS.ring);
  await app.remember('ring');
  await app.draw(SYMBOLS.ring); // an answer, its neighbours and bars on screen
  const tabs = await page.getByRole('tab').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')!.replace('tab-', '')));
  expect(tabs.length).toBeGreaterThanOrEqual(6);
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    for (const tab of tabs) {
      await page.getByTestId(`tab-${tab}`).click();
      await expect(page.getByTestId(`tab-${tab}`)).toHaveAttribute('aria-selected', 'true');
      await expect(page.locator('#tabpanel')).not.toContainText('loading…');
      const { violations } = await new AxeBuilder({ page }).analyze();
      const said = violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
      expect(said, `view "${tab}", ${colorScheme} theme`).toEqual([]);
      // a chart that takes the keyboard (recharts' accessibility layer) is named by its title, not by its axis text
      const charts = await page.locator('#tabpanel svg[tabindex="0"]').evaluateAll((els) => els.map((e) => e.querySelector(':scope > title')?.textContent ?? ''));
      for (const title of charts) expect(title, `a chart in view "${tab}"`).toMatch(/^(bar|line) chart: /);
    }
  }
  // the tabs by keyboard (WAI-ARIA tabs pattern): only the selected tab is in the Tab order; the
  // arrows (wrapping), Home and End move between the tabs and select them
  const selected = (id: string) => Promise.all([expect(page.getByTestId(`tab-${id}`)).toBeFocused(), expect(page.getByTestId(`tab-${id}`)).toHaveAttribute('aria-selected', 'true')]);
  await page.getByTestId('tab-draw').click();
  await expect(page.locator('[role=tab][tabindex="0"]')).toHaveCount(1);
  await expect(page.locator('[role=tab][tabindex="-1"]')).toHaveCount(tabs.length - 1);
  await page.keyboard.press('ArrowRight');
  await selected(tabs[1]);
  await page.keyboard.press('End');
  await selected(tabs[tabs.length - 1]);
  await page.keyboard.press('ArrowRight');
  await selected(tabs[0]);
  await page.keyboard.press('ArrowLeft');
  await selected(tabs[tabs.length - 1]);
  await page.keyboard.press('Home');
  await selected(tabs[0]);
});

test('keyboard: a button that goes disabled under the focus hands it to the next step, never to the page', async ({ page, backend }) => {
  test.skip(backend !== 'wasm', 'the views are the same on every backend: checked on wasm');
  const app = new MemoryLabPage(page);
  await app.open(backend);
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName);
  // Remember pressed as a button: the name field, for the next name
  await app.draw(SYMBOLS.ring);
  await app.labelInput.fill('ring');
  await app.rememberButton.focus();
  await page.keyboard.press('Enter');
  await expect(app.writeReport).toContainText('Remembered “ring”');
  await expect.poll(focused).toBe('label-input');
  // Clear (nothing left to clear): the drawing box
  await app.draw(SYMBOLS.cross);
  await page.getByTestId('clear').focus();
  await page.keyboard.press('Enter');
  await expect.poll(focused).toBe('drawing-canvas');
  // a rename saved, or given up with Escape: the row's Rename button
  await app.tab('labels');
  await page.getByTestId('rename').focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('rename-input').fill('circle');
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-testid=label-row][data-label=circle]')).toBeVisible();
  await expect.poll(focused).toBe('rename');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Escape');
  await expect.poll(focused).toBe('rename');
  // Settings applied (Apply has nothing left to apply): what was said about it
  await app.tab('settings');
  await page.getByTestId('setting-nearCutoff').fill('0.5');
  await page.getByTestId('apply-settings').focus();
  await page.keyboard.press('Enter');
  await expect(app.message).toContainText('settings applied');
  await expect.poll(focused).toBe('message');
});
