import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Locator, type Page } from '@playwright/test';
import { MemoryLabPage } from './MemoryLabPage';

/** The tiny exported model (random init, real architecture; `make_fixture.py tiny`), served as the app's rare-event model. */
export const TINY_MODEL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/rare-tiny');

type RareStateView = ReturnType<NonNullable<Window['__memoryLabRare']>['state']>;

/** Page object of the Rare events view. */
export class RarePage {
  readonly view: Locator;
  readonly input: Locator;
  readonly run: Locator;
  readonly inputError: Locator;
  readonly result: Locator;
  readonly steps: Locator;
  readonly teach: Locator;
  readonly teachReport: Locator;

  constructor(readonly page: Page) {
    this.view = page.getByTestId('rare-view');
    this.input = page.getByTestId('rare-input');
    this.run = page.getByTestId('rare-run');
    this.inputError = page.getByTestId('rare-input-error');
    this.result = page.getByTestId('rare-result');
    this.steps = page.getByTestId('rare-step');
    this.teach = page.getByTestId('rare-teach');
    this.teachReport = page.getByTestId('rare-teach-report');
  }

  /** Serve `dir` (or nothing: 404) at the app's rare-event model URL. */
  async serveModel(dir: string | null) {
    await this.page.route('**/models/rare-seq2seq-memory/**', async (route) => {
      const name = new URL(route.request().url()).pathname.split('/').pop()!;
      if (dir === null) return route.fulfill({ status: 404, body: 'not found' });
      try {
        const body = readFileSync(path.join(dir, name));
        return route.fulfill({ status: 200, body, contentType: name.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
      } catch {
        return route.fulfill({ status: 404, body: 'not found' });
      }
    });
  }

  /** Open the app and the Rare events tab; wait for the view to settle (ready, missing or error). */
  async open(backend: string) {
    await new MemoryLabPage(this.page).open(backend);
    await this.page.getByTestId('tab-rare').click();
    await expect(this.view).toBeVisible();
    await expect(this.view).not.toHaveAttribute('data-status', /idle|loading/, { timeout: 120_000 });
  }

  state(): Promise<RareStateView> {
    return this.page.evaluate(() => window.__memoryLabRare!.state() as unknown as RareStateView);
  }

  /** Make the view's random picks reproducible from here on. */
  seed(seed: number): Promise<void> {
    return this.page.evaluate((s) => window.__memoryLabRare!.seed(s), seed);
  }

  async typeAndRun(text: string) {
    await this.input.fill(text);
    await this.input.press('Enter');
  }

  /** Wait until the result shows `text` as its input. */
  async waitResult(text?: string) {
    // WebGPU in these tests is SwiftShader (CPU emulation): the first decode compiles many shaders
    const timeout = 240_000;
    await expect(this.result).toBeVisible({ timeout });
    if (text !== undefined) await expect.poll(async () => (await this.state()).run?.input, { timeout }).toBe(text);
    await expect(this.view).toHaveAttribute('aria-busy', 'false', { timeout });
  }
}
