import { defineConfig } from '@playwright/test';
import type { AppOptions } from './tests/e2e/fixtures';

// Debian's Chromium (never a downloaded browser); the app is the production build served by
// `vite preview` on localhost (WebGPU needs a secure context: http://localhost qualifies).
// The `dev` project checks that `npm run dev` (the README's command) serves a working app too.
const PORT = Number(process.env.E2E_PORT ?? 4173);
const DEV_PORT = Number(process.env.E2E_DEV_PORT ?? 5174);
const baseArgs = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export default defineConfig<AppOptions>({
  testDir: 'tests/e2e',
  testMatch: '**/*.spec.ts',
  timeout: 90_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://localhost:${PORT}`,
    headless: true,
    trace: 'retain-on-failure',
    viewport: { width: 1280, height: 900 },
  },
  webServer: [
    {
      command: `node_modules/.bin/vite build && node_modules/.bin/vite preview --port ${PORT} --strictPort`,
      url: `http://localhost:${PORT}`,
      reuseExistingServer: !process.env.CI,
      timeout: 180_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      command: `node_modules/.bin/vite --port ${DEV_PORT} --strictPort`,
      url: `http://localhost:${DEV_PORT}`,
      reuseExistingServer: !process.env.CI,
      timeout: 120_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
  ],
  projects: [
    {
      name: 'wasm',
      testIgnore: '**/dev.spec.ts',
      use: {
        launchOptions: { executablePath: '/usr/bin/chromium', args: baseArgs },
        backend: 'wasm', // tests/e2e/fixtures.ts opens the app with ?backend=<backend>
      },
    },
    {
      name: 'webgpu',
      testIgnore: '**/dev.spec.ts',
      use: {
        launchOptions: {
          executablePath: '/usr/bin/chromium',
          args: [...baseArgs, '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'],
        },
        backend: 'webgpu',
      },
    },
    {
      name: 'dev',
      testMatch: '**/dev.spec.ts',
      use: {
        baseURL: `http://localhost:${DEV_PORT}`,
        launchOptions: { executablePath: '/usr/bin/chromium', args: baseArgs },
        backend: 'wasm',
      },
    },
  ],
});
