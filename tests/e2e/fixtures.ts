import { test as base, expect } from '@playwright/test';

export type AppOptions = { backend: 'wasm' | 'webgpu' | 'webgl' | 'cpu' };

export const test = base.extend<AppOptions>({
  backend: ['wasm', { option: true }],
});

export { expect };
