import { test, expect } from './fixtures';
import { MemoryLabPage, SYMBOLS, pageOverflow, variant, type UnitStrokes } from './pages/MemoryLabPage';
import type { CompareState } from '../../src/app/compare/compareStore';

type CompareView = Pick<CompareState, 'loaded' | 'enabled' | 'kinds' | 'answers' | 'curve' | 'events' | 'hebbian' | 'error'>;

/** Compare mode as a person uses it: turn it on, draw and remember, read the answers side by side. */
class ComparePage extends MemoryLabPage {
  compare(): Promise<CompareView> {
    return this.page.evaluate(() => (window as unknown as { __memoryLabCompare: { state(): CompareView } }).__memoryLabCompare.state());
  }
  async openCompareTab() {
    await this.page.getByTestId('tab-compare').click();
    await expect(this.page.getByTestId('compare-view')).toBeVisible();
  }
  /** Open the app with Compare mode on (and these learners beside the Hebbian softmax), on the Draw view. */
  async openComparing(backend: string, kinds: string[] = []) {
    await this.open(backend);
    await this.openCompareTab();
    await this.page.getByTestId('compare-toggle').check();
    for (const k of kinds) await this.page.getByTestId(`compare-kind-${k}`).check();
    await this.tab('draw');
  }
  /** Remember each drawing under its name, in order. */
  async rememberAll(items: [UnitStrokes, string][]) {
    for (const [strokes, name] of items) {
      await this.draw(strokes);
      await this.remember(name);
    }
  }
  /** Wait until the learners have seen every queued change and the comparison is saved. */
  flush(): Promise<void> {
    return this.page.evaluate(() => (window as unknown as { __memoryLabCompare: { flush(): Promise<void> } }).__memoryLabCompare.flush());
  }
  answer(column: string) {
    return this.page.locator(`[data-testid=compare-answer][data-column="${column}"]`);
  }
}

test.describe('Compare mode', () => {
  test.skip(({ backend }) => backend !== 'wasm', 'runs on the wasm project');

  test('remembered drawings go to every learner; answers side by side; curve and Hebbian rows; kept across a reload', async ({ page, backend }) => {
    // a long flow (five drawings, a reload, a deletion): ~1.3 min on the 2-core machine, more under load
    test.setTimeout(300_000);
    const app = new ComparePage(page);
    await app.open(backend);
    await app.openCompareTab();
    // nothing compared yet: a hint in place of an empty chart
    await expect(page.getByTestId('compare-chart-empty')).toContainText('Turn Compare mode on');
    await expect(page.getByTestId('compare-chart').locator('svg')).toHaveCount(0);
    await expect(page.getByTestId('compare-toggle')).toBeEnabled();
    await page.getByTestId('compare-toggle').check();
    await page.getByTestId('compare-kind-prototypes').check();
    await expect.poll(async () => (await app.compare()).kinds).toEqual(['hebbian', 'prototypes']);

    await app.tab('draw');
    await expect(page.getByTestId('compare-strip')).toBeVisible();
    await app.draw(SYMBOLS.ring);
    await app.remember('ring');
    await app.draw(SYMBOLS.cross);
    await app.remember('cross');
    await expect.poll(async () => (await app.compare()).events).toBe(2);

    // a new drawing of the ring: the memory, the Hebbian softmax and the prototypes all answer "ring"
    await app.draw(variant(SYMBOLS.ring, 3));
    for (const column of ['memory', 'hebbian', 'prototypes']) await expect(app.answer(column)).toHaveAttribute('data-name', 'ring');
    await expect(app.answer('hebbian')).toContainText('Hebbian softmax');
    await expect(app.answer('sgd-softmax')).toHaveCount(0);
    const answers = (await app.compare()).answers!;
    expect(answers.learners.find((a) => a.column === 'hebbian')!.confidence).toBeGreaterThan(0.5);

    // remembering it is its second sighting: every learner was right before learning it
    await app.remember('ring');
    await expect.poll(async () => (await app.compare()).events).toBe(3);
    const c = await app.compare();
    expect(c.curve[0]).toMatchObject({ bin: '0', n: 2, values: { memory: 0, hebbian: 0, prototypes: 0 } });
    expect(c.curve[1]).toMatchObject({ bin: '1', n: 1, values: { memory: 100, hebbian: 100, prototypes: 100 } });

    await app.openCompareTab();
    await expect(page.getByTestId('compare-chart')).toHaveAttribute('data-events', '3');
    await expect(page.getByTestId('compare-chart').locator('svg path.recharts-curve').first()).toBeVisible();
    await expect(page.getByTestId('compare-chart-empty')).toHaveCount(0);
    // on a phone the chart shrinks to the screen instead of widening the page
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(() => page.getByTestId('compare-chart').locator('svg.recharts-surface').first().evaluate((el) => el.getBoundingClientRect().right)).toBeLessThanOrEqual(390);
    // the layout settles after the resize (recharts measures its box in a ResizeObserver callback)
    await expect.poll(() => pageOverflow(page), { message: 'the Compare view scrolls sideways at 390 px' }).toBeLessThanOrEqual(0);
    // the Hebbian rows keep names and numbers whole (one line each), the table scrolling inside itself
    const lines = await page.locator('[data-testid=hebbian-row] > *:not(:last-child)').evaluateAll((cells) =>
      cells.map((c) => {
        const r = document.createRange();
        r.selectNodeContents(c);
        return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size;
      }),
    );
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((n) => n === 1), `lines per cell: ${lines}`).toBe(true);
    // each checkbox sits beside its words, centred on them (not above them, as with the text fields' height)
    for (const id of ['compare-toggle', 'compare-kind-prototypes']) {
      const box = (await page.getByTestId(id).boundingBox())!;
      const words = (await page.getByTestId(id).locator('xpath=..').boundingBox())!;
      expect(box.height).toBeLessThan(30);
      expect(Math.abs(box.y + box.height / 2 - (words.y + words.height / 2))).toBeLessThanOrEqual(3);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    const ring = page.locator('[data-testid=hebbian-row][data-name="ring"]');
    await expect(ring).toHaveAttribute('data-count', '2');
    await expect(ring).toHaveAttribute('data-lambda', String(1 / 3));
    await expect(page.locator('[data-testid=hebbian-row][data-name="cross"]')).toHaveAttribute('data-count', '1');
    await expect(ring.getByTestId('hebbian-nearest').first().locator('canvas')).toBeVisible();
    await expect(page.getByTestId('compare-error')).toHaveCount(0);

    // kept across a reload, like the memory
    await app.flush();
    await app.page.evaluate(() => window.__memoryLab!.flushSave());
    await page.reload();
    await app.waitReady();
    await expect.poll(async () => (await app.compare()).loaded).toBe(true);
    const after = await app.compare();
    expect(after).toMatchObject({ enabled: true, kinds: ['hebbian', 'prototypes'], events: 3, error: null });
    expect(after.hebbian.map((r) => [r.name, r.count])).toEqual([['cross', 1], ['ring', 2]]);

    // deleting a label forgets it in every learner; its Undo gives it back to them too, exactly
    await app.tab('labels');
    const beforeDelete = await app.compare();
    await page.locator('[data-testid=label-row][data-label=cross]').getByTestId('delete-label').click();
    await expect.poll(async () => (await app.compare()).hebbian.map((r) => r.name)).toEqual(['ring']);
    await page.getByTestId('message-action').click();
    await expect(app.message).toContainText('"cross" is back');
    await app.flush();
    expect(await app.compare()).toMatchObject({ events: 3, curve: beforeDelete.curve, hebbian: beforeDelete.hebbian });
    await page.locator('[data-testid=label-row][data-label=cross]').getByTestId('delete-label').click();
    await expect.poll(async () => (await app.compare()).hebbian.map((r) => r.name)).toEqual(['ring']);
    await app.tab('draw');
    await app.draw(SYMBOLS.cross);
    await expect(app.answer('hebbian')).toHaveAttribute('data-name', 'ring'); // the only class it knows now

    // a Remember taken back is taken back from the learners too: its class and its event are gone
    const beforePlus = await app.compare();
    await app.remember('plus');
    await expect.poll(async () => (await app.compare()).events).toBe(4);
    expect((await app.compare()).hebbian.map((r) => r.name)).toEqual(['plus', 'ring']);
    await page.getByTestId('undo-remember').click();
    await expect(app.message).toContainText('took back the last Remember');
    expect((await app.state()).labels.map((l) => l.name)).toEqual(['ring']);
    await app.flush();
    const afterUndo = await app.compare();
    expect(afterUndo.events).toBe(3);
    expect(afterUndo.curve).toEqual(beforePlus.curve);
    expect(afterUndo.hebbian.map((r) => [r.name, r.count])).toEqual([['ring', 2]]);
    // the drawing is back on the canvas; remembered again, then an Undo pressed at once, before the
    // learners have seen it (its encode still queued): the take-back waits for it
    expect((await app.state()).strokes).toBe(SYMBOLS.cross.length);
    await app.remember('plus');
    await page.getByTestId('undo-remember').click();
    await expect(app.message).toContainText('took back the last Remember');
    await app.flush();
    expect(await app.compare()).toMatchObject({ events: 3, curve: beforePlus.curve, hebbian: afterUndo.hebbian });

    // forgetting one drawing leaves the learners as they are, even a name's last one (they cannot
    // forget one drawing among others; the name goes from the memory only, not a deleted label)
    await app.tab('memory');
    const ringSlots = (await app.state()).values.flatMap((v, i) => (v >= 0 ? [i] : []));
    for (const slot of ringSlots) {
      await page.locator(`[data-testid=slot][data-slot="${slot}"]`).click();
      await page.getByTestId('forget-slot').click();
      await expect(app.message).toContainText('forgot a drawing of "ring"');
    }
    expect((await app.state()).labels).toEqual([]);
    await app.flush();
    expect((await app.compare()).hebbian.map((r) => r.name)).toEqual(['ring']);

    // another encoder (another key size): the learners' keys mean nothing to it, the comparison starts
    // again and says why; the next Remember reaches the new learners
    await app.tab('settings');
    await page.getByTestId('setting-encoder').selectOption('omniglot-conv4');
    await page.getByTestId('switch-encoder').click();
    await expect.poll(async () => (await app.state()).encoder).toBe('omniglot-conv4');
    await app.openCompareTab();
    await expect(page.getByTestId('compare-notice')).toContainText('the comparison started again');
    expect(await app.compare()).toMatchObject({ enabled: true, kinds: ['hebbian', 'prototypes'], events: 0, hebbian: [], error: null });
    await app.tab('draw');
    await app.draw(SYMBOLS.ring);
    await app.remember('ring');
    await expect.poll(async () => (await app.compare()).events).toBe(1);
    await app.draw(variant(SYMBOLS.ring, 5));
    await expect(app.answer('hebbian')).toHaveAttribute('data-name', 'ring');
    expect((await app.compare()).error).toBeNull();
  });

  test('a memory replaced by an imported file: the comparison starts again and learns the new memory, never a name by its old id', async ({ page, backend }) => {
    const app = new ComparePage(page);
    await app.openComparing(backend, ['prototypes']);
    // a file whose label 0 is "plus" (a cross) and label 1 "wave" (a zigzag)
    await app.draw(SYMBOLS.cross);
    await app.remember('plus');
    await app.draw(SYMBOLS.zigzag);
    await app.remember('wave');
    const file = (await page.evaluate(() => window.__memoryLab!.exportText()))!;
    await app.tab('labels');
    await page.getByTestId('clear-memory').click();
    await page.getByTestId('confirm-clear').click();
    await expect.poll(async () => (await app.state()).filled).toBe(0);
    // this memory: "zz" (a zigzag) is label 0 now, "ring" label 1
    await app.tab('draw');
    await app.draw(SYMBOLS.zigzag);
    await app.remember('zz');
    await app.draw(SYMBOLS.ring);
    await app.remember('ring');
    await app.flush();
    expect((await app.compare()).hebbian.map((r) => r.name).sort()).toEqual(['ring', 'zz']);
    expect(await page.evaluate((t) => window.__memoryLab!.importText(t), file)).toBe(true);
    await app.flush();
    // the learners know what the memory knows, by name (by id, "zz" would have become "plus")
    const after = await app.compare();
    expect(after).toMatchObject({ enabled: true, kinds: ['hebbian', 'prototypes'], events: 0, error: null });
    expect(after.hebbian.map((r) => [r.name, r.count]).sort()).toEqual([['plus', 1], ['wave', 1]]);
    await app.openCompareTab();
    await expect(page.getByTestId('compare-notice')).toContainText('the memory was replaced by an imported file: the comparison started again, its learners taught the 2 stored drawings');
    await app.tab('draw');
    await app.draw(variant(SYMBOLS.zigzag, 2));
    for (const column of ['memory', 'hebbian', 'prototypes']) await expect(app.answer(column)).toHaveAttribute('data-name', 'wave');
    await expect(app.answer('memory')).toHaveAttribute('data-sure', 'true');
    // a ring is like neither stored drawing: the answer panel is not sure, and so is the strip's memory column
    await page.getByTestId('clear').click();
    await app.draw(SYMBOLS.ring);
    await expect.poll(async () => (await app.state()).prediction?.unknownReason).toBe('nothing-close');
    await expect(app.answer('memory')).toHaveAttribute('data-sure', 'false');
    await expect(app.answer('memory')).toContainText('not sure (nearest: ');
    await expect(app.answer('memory')).toContainText('below the cut-off 0.60');
  });

  test('two names merged: the comparison starts again, its learners know the names the memory has; the Undo brings the comparison back', async ({ page, backend }) => {
    const app = new ComparePage(page);
    await app.openComparing(backend);
    await app.rememberAll([[SYMBOLS.ring, 'Ring'], [variant(SYMBOLS.ring, 3), 'ring']]);
    await app.flush();
    const before = await app.compare();
    expect(before.hebbian.map((r) => r.name).sort()).toEqual(['Ring', 'ring']);
    expect(before.events).toBe(2);
    await app.tab('labels');
    await page.locator('[data-testid=label-row][data-label=Ring]').getByTestId('rename').click();
    await page.getByTestId('rename-input').fill('ring');
    await page.getByTestId('rename-input').press('Enter');
    // the question says what happens to the comparison
    await expect(page.getByTestId('merge-confirm')).toContainText('Compare starts again');
    await page.getByTestId('confirm-merge').click();
    await expect(app.message).toContainText('"Ring" merged into "ring"');
    await app.flush();
    // one class of two drawings (a delete of "Ring" would have left one drawing, or two classes)
    expect((await app.compare()).hebbian.map((r) => [r.name, r.count])).toEqual([['ring', 2]]);
    await app.openCompareTab();
    await expect(page.getByTestId('compare-notice')).toContainText('"Ring" merged into "ring": the comparison started again, its learners taught the 2 stored drawings');
    await app.tab('labels');
    await page.getByTestId('message-action').click();
    await expect(app.message).toContainText('"Ring" is back');
    await app.flush();
    // the memory is back exactly: so is the comparison, its curve and events included
    const after = await app.compare();
    expect(after.hebbian).toEqual(before.hebbian);
    expect(after.events).toBe(2);
    expect(after.curve).toEqual(before.curve);
    await app.openCompareTab();
    await expect(page.getByTestId('compare-notice')).toContainText('"Ring" is back with its 1 stored drawing, apart from "ring": the comparison is back as it was before the merge');
  });

  test('Compare turned on after drawings were remembered: the learners are first taught them, so "times seen" means the same in every column', async ({ page, backend }) => {
    const app = new ComparePage(page);
    await app.open(backend);
    await app.rememberAll([[SYMBOLS.ring, 'ring'], [SYMBOLS.cross, 'cross']]);
    await app.openCompareTab();
    await page.getByTestId('compare-toggle').check();
    await app.flush();
    await expect(page.getByTestId('compare-notice')).toContainText('Compare is on, its learners taught the 2 stored drawings of the memory (oldest first)');
    let c = await app.compare();
    expect(c.events).toBe(0); // taught, not scored
    expect(c.hebbian.map((r) => [r.name, r.count]).sort()).toEqual([['cross', 1], ['ring', 1]]);
    // another ring is the class's second sighting for the memory and the learners alike (a Hebbian
    // softmax that had not been taught would have been scored wrong in bin 0 beside a right memory)
    await app.tab('draw');
    await app.draw(variant(SYMBOLS.ring, 5));
    await app.remember('ring');
    await app.flush();
    c = await app.compare();
    expect(c.curve.filter((p) => p.n > 0)).toEqual([expect.objectContaining({ bin: '1', values: { memory: 100, hebbian: 100 } })]);
    // off and on again with no change: the comparison goes on as it was
    await app.openCompareTab();
    await page.getByTestId('compare-toggle').uncheck();
    await page.getByTestId('compare-toggle').check();
    await app.flush();
    expect((await app.compare()).events).toBe(1);
    // off, a drawing remembered, on: the learners missed it, so the comparison starts again, taught
    // the memory's drawings (the ring's two are one averaged slot), and says so
    await page.getByTestId('compare-toggle').uncheck();
    await app.tab('draw');
    await app.draw(SYMBOLS.zigzag);
    await app.remember('zig');
    await app.openCompareTab();
    await page.getByTestId('compare-toggle').check();
    await app.flush();
    await expect(page.getByTestId('compare-notice')).toContainText('the memory changed while it was off, so the comparison started again, its learners taught the 3 stored drawings');
    c = await app.compare();
    expect(c.hebbian.map((r) => [r.name, r.count]).sort()).toEqual([['cross', 1], ['ring', 1], ['zig', 1]]);
    expect(c.events).toBe(0);
    // a learner ticked now is taught the stored drawings too: side by side, it answers from what the
    // memory knows; unticked and ticked again, it is taught again (not left empty)
    for (const step of ['ticked', 'again'] as const) {
      await page.getByTestId('compare-kind-prototypes').check();
      await app.flush();
      await expect(page.getByTestId('compare-notice')).toContainText('Class prototypes joined the comparison, first taught the 3 stored drawings of the memory');
      await app.tab('draw');
      await app.draw(variant(SYMBOLS.zigzag, 2));
      await expect(app.answer('prototypes')).toHaveAttribute('data-name', 'zig');
      await app.openCompareTab();
      if (step === 'ticked') {
        await page.getByTestId('compare-kind-prototypes').uncheck();
        await app.flush();
        await expect(page.getByTestId('compare-notice')).toContainText('Class prototypes left the comparison with what it had learned');
      }
    }
  });

  test('names a smaller memory forgets stay in the learners, as evicted ones do (what the comparison is about)', async ({ page, backend }) => {
    const app = new ComparePage(page);
    await app.openComparing(backend);
    await app.rememberAll([[SYMBOLS.ring, 'ring'], [SYMBOLS.cross, 'cross']]);
    await app.flush();
    await app.tab('settings');
    await page.getByTestId('setting-memorySize').fill('1');
    await page.getByTestId('apply-settings').click();
    await page.getByTestId('confirm-shrink').click();
    await expect(app.message).toContainText('settings applied; 1 drawing forgotten (the oldest)');
    expect((await app.state()).labels.map((l) => l.name)).toEqual(['cross']);
    await app.flush();
    expect((await app.compare()).hebbian.map((r) => r.name).sort()).toEqual(['cross', 'ring']);
    await app.tab('draw');
    await app.draw(variant(SYMBOLS.ring, 3));
    await expect(app.answer('hebbian')).toHaveAttribute('data-name', 'ring');
  });

  test('a second tab shows the comparison the first saves, cannot change it, and takes it over when the first closes', async ({ page, context, backend }) => {
    test.setTimeout(180_000);
    const a = new ComparePage(page);
    await a.open(backend);
    await a.openCompareTab();
    await page.getByTestId('compare-toggle').check();
    await a.tab('draw');
    await a.draw(SYMBOLS.ring);
    await a.remember('ring');
    await expect.poll(async () => (await a.compare()).events).toBe(1);
    const b = new ComparePage(await context.newPage());
    await b.open(backend);
    await b.openCompareTab();
    await expect(b.page.getByTestId('compare-read-only')).toBeVisible();
    await expect(b.page.getByTestId('compare-toggle')).toBeDisabled();
    await expect.poll(async () => (await b.compare()).events).toBe(1);
    // the first tab goes on: the second follows each save
    await a.draw(SYMBOLS.cross);
    await a.remember('cross');
    await expect.poll(async () => (await b.compare()).events).toBe(2);
    // and still answers a drawing made in it, with the learners it follows
    await b.tab('draw');
    await b.draw(variant(SYMBOLS.cross, 4));
    await expect(b.answer('hebbian')).toHaveAttribute('data-name', 'cross');
    await b.openCompareTab();
    await a.flush();
    await page.close();
    await expect(b.page.getByTestId('compare-read-only')).toHaveCount(0);
    await expect(b.page.getByTestId('compare-toggle')).toBeEnabled();
    await b.tab('draw');
    await b.draw(SYMBOLS.zigzag);
    await b.remember('zigzag');
    await expect.poll(async () => (await b.compare()).events).toBe(3);
    expect((await b.compare()).hebbian.map((r) => r.name)).toEqual(['cross', 'ring', 'zigzag']);
  });
});
