/**
 * Screenshots for the README, in Debian's Chromium (WASM backend): builds the app, serves it with
 * `vite preview`, and captures
 *   docs/screenshot-first.png   the first screen a newcomer sees (desktop, empty memory)
 *   docs/screenshot-main.png    desktop after the guided tour, a visitor's "sun" recognised
 *   docs/screenshot-memory.png  the memory view (gallery, slots, ages, key map)
 *   docs/screenshot-tablet.png  768x1024 portrait while drawing (answer and neighbours in view)
 *   docs/screenshot-phone.png   390x844 portrait while drawing (answer in view)
 *   docs/screenshot-phone-dark.png  the same with the system's dark theme
 * Run: npm run screenshots   (SCREENSHOTS_URL=http://localhost:PORT/ uses a server already running)
 */
import type { Browser, Page } from '@playwright/test';
import { chromium } from '@playwright/test';
import { withPreviewBrowser } from './previewBrowser';

const PORT = 4175;

async function ready(page: Page) {
  await page.waitForFunction(() => window.__memoryLab?.ready() === true, null, { timeout: 90_000 });
}

/** Put a wobbly example "sun" on the canvas and wait until it is recognised. */
async function drawSun(page: Page) {
  await page.getByTestId('example-pick').selectOption('0');
  await page.getByTestId('example-draw').click();
  await page.getByTestId('example-draw').click();
  await page.waitForFunction(() => {
    const s = window.__memoryLab!.state();
    return s.strokes > 0 && (s.prediction as { name?: string } | null)?.name === 'sun';
  }, null, { timeout: 30_000 });
  await page.waitForTimeout(500);
}

async function shoot(browser: Browser, baseUrl: string) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(`${baseUrl}?backend=wasm`);
  await ready(page);
  await page.waitForTimeout(300);
  await page.screenshot({ path: 'docs/screenshot-first.png' });
  await page.getByTestId('start-tour').click();
  await page.getByText('Your turn', { exact: false }).waitFor({ timeout: 180_000 });
  await drawSun(page);
  await page.screenshot({ path: 'docs/screenshot-main.png', fullPage: true });
  await page.getByTestId('tab-memory').click();
  await page.getByTestId('key-map').waitFor();
  await page.waitForTimeout(400);
  await page.screenshot({ path: 'docs/screenshot-memory.png', fullPage: true });
  // one tab writes the memory: close this one, the next pages load the same memory
  await page.close();

  for (const [name, viewport, scheme] of [
    ['tablet', { width: 768, height: 1024 }, 'light'],
    ['phone', { width: 390, height: 844 }, 'light'],
    ['phone-dark', { width: 390, height: 844 }, 'dark'],
  ] as const) {
    const p = await context.newPage();
    await p.setViewportSize(viewport);
    await p.emulateMedia({ colorScheme: scheme });
    await p.goto(`${baseUrl}?backend=wasm#draw`);
    await ready(p);
    await drawSun(p);
    await p.evaluate(() => {
      window.scrollTo(0, 0);
      document.querySelector('.tabs')?.scrollTo(0, 0); // the example button scrolled the tab bar
    });
    await p.screenshot({ path: `docs/screenshot-${name}.png` });
    await p.close();
  }
  await context.close();
}

async function main() {
  const url = process.env.SCREENSHOTS_URL;
  if (url) {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      await shoot(browser, url);
    } finally {
      await browser.close();
    }
  } else {
    await withPreviewBrowser(PORT, shoot);
  }
  console.log('wrote docs/screenshot-{first,main,memory,tablet,phone,phone-dark}.png');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
