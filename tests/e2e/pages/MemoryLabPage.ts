import { expect, type Locator, type Page } from '@playwright/test';
import type { MemoryLabTestApi } from '../../../src/app/testApi';

/** A symbol as strokes of points in unit coordinates of the canvas ([0,1]^2). */
export type UnitStrokes = [number, number][][];

export const SYMBOLS = {
  /** a plus sign in a box-ish shape */
  cross: [
    [[0.2, 0.5], [0.8, 0.5]],
    [[0.5, 0.2], [0.5, 0.8]],
  ] as UnitStrokes,
  /** a closed circle */
  ring: [
    Array.from({ length: 25 }, (_, i) => [0.5 + 0.3 * Math.cos((i / 24) * 2 * Math.PI), 0.5 + 0.3 * Math.sin((i / 24) * 2 * Math.PI)] as [number, number]),
  ] as UnitStrokes,
  /** a zig-zag */
  zigzag: [[[0.15, 0.3], [0.35, 0.7], [0.5, 0.3], [0.65, 0.7], [0.85, 0.3]]] as UnitStrokes,
};

/** A slightly different hand: shifted, scaled and bent a little. */
export function variant(s: UnitStrokes, seed = 1): UnitStrokes {
  let a = seed;
  const r = () => ((a = (a * 16807) % 2147483647) / 2147483647 - 0.5) * 0.04;
  return s.map((stroke) => stroke.map(([x, y]) => [0.05 + x * 0.85 + r(), 0.08 + y * 0.85 + r()] as [number, number]));
}

/** What `window.__memoryLab.state()` returns (src/app/testApi.ts). */
export type AppStateView = ReturnType<MemoryLabTestApi['state']>;

/** Page object over data-testid, plus the typed window.__memoryLab API. */
export class MemoryLabPage {
  readonly canvas: Locator;
  readonly labelInput: Locator;
  readonly rememberButton: Locator;
  readonly message: Locator;
  readonly writeReport: Locator;
  /** why the last Remember was refused (nothing drawn, no name), said under the button */
  readonly refusal: Locator;
  readonly prediction: Locator;

  constructor(readonly page: Page) {
    this.canvas = page.getByTestId('drawing-canvas');
    this.labelInput = page.getByTestId('label-input');
    this.rememberButton = page.getByTestId('remember');
    this.message = page.getByTestId('message');
    this.refusal = page.getByTestId('remember-refusal');
    this.writeReport = page.getByTestId('write-report');
    this.prediction = page.getByTestId('prediction');
  }

  async open(backend: string) {
    await this.page.goto(`/?backend=${backend}`);
    await this.waitReady();
  }

  /** Wait until the encoder and memory are ready; fail at once with the app's message if it could not start. */
  async waitReady() {
    const outcome = await expect
      .poll(
        () =>
          this.page.evaluate(() => {
            if (document.querySelector('[data-testid=app][data-ready=true]')) return 'ready';
            const m = document.querySelector('[data-testid=message][data-kind=error]');
            return m ? `error: ${m.textContent}` : 'starting';
          }),
        { timeout: 60_000 },
      )
      .not.toBe('starting')
      .then(() => this.page.evaluate(() => (document.querySelector('[data-testid=app][data-ready=true]') ? 'ready' : document.querySelector('[data-testid=message]')?.textContent ?? '')));
    expect(outcome, 'the app should start').toBe('ready');
  }

  state(): Promise<AppStateView> {
    return this.page.evaluate(() => window.__memoryLab!.state() as unknown as AppStateView);
  }

  /** Draw with the mouse: each stroke a press, moves in small steps, a release; waits for the prediction. */
  async draw(strokes: UnitStrokes) {
    const box = await this.canvas.boundingBox();
    if (!box) throw new Error('the drawing canvas is not visible');
    const before = (await this.state()).strokes;
    for (const s of strokes) {
      const [x0, y0] = s[0];
      await this.page.mouse.move(box.x + x0 * box.width, box.y + y0 * box.height);
      await this.page.mouse.down();
      for (const [x, y] of s.slice(1)) {
        await this.page.mouse.move(box.x + x * box.width, box.y + y * box.height, { steps: 6 });
      }
      await this.page.mouse.up();
    }
    await expect.poll(async () => (await this.state()).strokes).toBe(before + strokes.length);
    await this.waitPrediction();
  }

  /** Wait until no prediction is running for the current drawing. */
  async waitPrediction() {
    await expect(this.page.locator('section.prediction')).toHaveAttribute('aria-busy', 'false');
    await expect
      .poll(() => this.page.evaluate(() => {
        const s = window.__memoryLab!.state();
        return (s.prediction === null) === (s.strokes === 0) || s.prediction !== null;
      }))
      .toBe(true);
  }

  async remember(label: string) {
    const filled = (await this.state()).filled;
    const writesBefore = await this.page.evaluate(() => JSON.stringify(window.__memoryLab!.state().lastWrite));
    await this.labelInput.fill(label);
    await this.rememberButton.click();
    await expect.poll(() => this.page.evaluate(() => JSON.stringify(window.__memoryLab!.state().lastWrite))).not.toBe(writesBefore);
    return { filledBefore: filled, write: (await this.state()).lastWrite! };
  }

  /**
   * The prologue of many tests: open the app, draw the ring, remember it as "ring", then go to
   * `tab` (default: stay on Draw). Resolves to the Remember's write.
   */
  async openWithOneDrawing(backend: string, tab?: 'memory' | 'labels' | 'settings') {
    await this.open(backend);
    await this.draw(SYMBOLS.ring);
    const { write } = await this.remember('ring');
    if (tab) await this.tab(tab);
    return write;
  }

  async tab(id: 'draw' | 'memory' | 'labels' | 'settings') {
    await this.page.getByTestId(`tab-${id}`).click();
  }

  async setSettings(values: Partial<Record<'memorySize' | 'k' | 'ageNoise', number>>) {
    await this.tab('settings');
    for (const [k, v] of Object.entries(values)) await this.page.getByTestId(`setting-${k}`).fill(String(v));
    await this.page.getByTestId('apply-settings').click();
    await expect.poll(async () => (await this.state()).size).toBe(values.memorySize ?? (await this.state()).size);
    await this.tab('draw');
  }
}

/** How many pixels the page is wider than the screen (0 or less: it fits; a phone must not scroll sideways). */
export function pageOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}
