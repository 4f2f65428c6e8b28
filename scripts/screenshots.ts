/**
 * Screenshots for the README, in Debian's Chromium (WASM backend): builds the app, serves it with
 * `vite preview`, and captures
 *   docs/screenshot-first.png   the first screen a newcomer sees (desktop, empty memory)
 *   docs/screenshot-main.png    desktop after the guided tour, a visitor's "sun" recognised
 *   docs/screenshot-memory.png  the memory view (gallery, slots, ages, key map)
 *   docs/screenshot-tablet.png  768x1024 portrait while drawing (answer and neighbours in view)
 *   docs/screenshot-phone.png   390x844 portrait while drawing (answer in view)
 *   docs/screenshot-phone-dark.png  the same with the system's dark theme
 *   docs/screenshot-share-phone.png   390x844: a memory of two drawings shared as a link and QR code
 *   docs/screenshot-shared-phone.png  390x844: that link opened on another device (asks first)
 * Run: npm run screenshots   (SCREENSHOTS_URL=http://localhost:PORT/ uses a server already running;
 * SCREENSHOTS_ONLY=share makes only the two sharing ones)
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

/** Sharing: two drawings remembered on one "device", the link opened on another (fresh context). */
async function shootShare(browser: Browser, baseUrl: string) {
  const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, hasTouch: true, isMobile: true };
  const teacher = await browser.newContext(phone);
  const page = await teacher.newPage();
  await page.goto(`${baseUrl}?backend=wasm#draw`);
  await ready(page);
  const ring = [Array.from({ length: 25 }, (_, i) => ({ x: 150 + 90 * Math.cos((i / 24) * 2 * Math.PI), y: 150 + 90 * Math.sin((i / 24) * 2 * Math.PI), pressure: 0.5, t: i }))];
  const cross = [
    [{ x: 40, y: 150, pressure: 0.5, t: 0 }, { x: 260, y: 150, pressure: 0.5, t: 1 }],
    [{ x: 150, y: 40, pressure: 0.5, t: 2 }, { x: 150, y: 260, pressure: 0.5, t: 3 }],
  ];
  for (const [strokes, name] of [[ring, 'ring'], [cross, 'cross']] as const) {
    await page.evaluate(async ([st, n]) => {
      window.__memoryLab!.setStrokes(st as never);
      if (!(await window.__memoryLab!.remember(n as string))) throw new Error(`not remembered: ${n}`);
    }, [strokes, name] as const);
  }
  await page.getByTestId('tab-labels').click();
  await page.getByTestId('share-make').click();
  const link = await page.getByTestId('share-link').inputValue();
  await page.getByTestId('share').scrollIntoViewIfNeeded();
  await page.waitForTimeout(300);
  await page.getByTestId('share').screenshot({ path: 'docs/screenshot-share-phone.png' });
  await teacher.close();

  const student = await browser.newContext(phone);
  const p2 = await student.newPage();
  await p2.goto(link.replace('#', '?backend=wasm#'));
  await ready(p2);
  await p2.getByTestId('shared-prompt').waitFor();
  await p2.waitForTimeout(300);
  await p2.screenshot({ path: 'docs/screenshot-shared-phone.png' });
  await student.close();
}

async function shoot(browser: Browser, baseUrl: string) {
  if (process.env.SCREENSHOTS_ONLY === 'share') return shootShare(browser, baseUrl);
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
  await shootShare(browser, baseUrl);
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
  console.log(
    process.env.SCREENSHOTS_ONLY === 'share'
      ? 'wrote docs/screenshot-{share,shared}-phone.png'
      : 'wrote docs/screenshot-{first,main,memory,tablet,phone,phone-dark,share-phone,shared-phone}.png',
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
