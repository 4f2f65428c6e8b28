/**
 * For the scripts that drive the production app in a browser (bench/app-bench.ts,
 * scripts/screenshots.ts): build it, serve it with `vite preview` on `port`, open Debian's
 * Chromium headless, run `use`, and close both whatever happens.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chromium, type Browser } from '@playwright/test';

export async function withPreviewBrowser<T>(port: number, use: (browser: Browser, baseUrl: string) => Promise<T>): Promise<T> {
  execFileSync('node_modules/.bin/vite', ['build'], { stdio: 'ignore' });
  const baseUrl = `http://localhost:${port}/`;
  const server = spawn('node_modules/.bin/vite', ['preview', '--port', String(port), '--strictPort'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(baseUrl)).ok) break;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      return await use(browser, baseUrl);
    } finally {
      await browser.close();
    }
  } finally {
    server.kill();
  }
}
