/**
 * Screenshots for the README (docs/screenshot-main.png, docs/screenshot-memory.png): builds the
 * app, serves it with `vite preview`, runs the guided tour in Debian's Chromium (WASM backend),
 * draws a variant of the first symbol, and captures the main screen and the memory view.
 * Run: npm run screenshots
 */
import { withPreviewBrowser } from './previewBrowser';

const PORT = 4175;

async function main() {
  await withPreviewBrowser(PORT, async (browser, baseUrl) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
    await page.goto(`${baseUrl}?backend=wasm`);
    await page.waitForFunction(() => window.__memoryLab?.ready() === true, null, { timeout: 60_000 });
    await page.getByTestId('start-tour').click();
    await page.getByText('Your turn', { exact: false }).waitFor({ timeout: 120_000 });
    // the visitor's turn: a wobbly sun from the example button (a variant of the first symbol)
    await page.getByTestId('example-pick').selectOption('0');
    await page.getByTestId('example-draw').click();
    await page.getByTestId('example-draw').click();
    await page.waitForFunction(() => {
      const s = window.__memoryLab!.state();
      return s.strokes > 0 && (s.prediction as { name?: string } | null)?.name === 'sun';
    }, null, { timeout: 30_000 });
    await page.waitForTimeout(400);
    await page.screenshot({ path: 'docs/screenshot-main.png', fullPage: true });
    await page.getByTestId('tab-memory').click();
    await page.getByTestId('key-map').waitFor();
    await page.waitForTimeout(400);
    await page.screenshot({ path: 'docs/screenshot-memory.png', fullPage: true });
  });
  console.log('wrote docs/screenshot-main.png and docs/screenshot-memory.png');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
