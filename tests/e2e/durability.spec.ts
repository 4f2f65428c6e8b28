// Never lose the user's memory: a Remember on screen survives a kill, two tabs lose no write, a save
// that cannot be restored is kept aside and offered as a file, and a fuzz corpus through the real
// file input is accepted only when valid, else refused with the memory unchanged.
import { readFile } from 'node:fs/promises';
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { MemoryLabPage, SYMBOLS, variant } from './pages/MemoryLabPage';
import { importCorpus, referenceValid } from '../importCorpus';

const shapes = [SYMBOLS.ring, SYMBOLS.cross, SYMBOLS.zigzag];

async function openApp(page: Page, backend: string) {
  const app = new MemoryLabPage(page);
  await app.open(backend);
  return app;
}

/** Draw a variant and press Remember; resolves when the write report says it was remembered. */
async function rememberShown(app: MemoryLabPage, i: number, label: string) {
  await app.draw(variant(shapes[i % shapes.length], i + 1));
  await app.labelInput.fill(label);
  await app.rememberButton.click();
  await expect(app.writeReport).toContainText(`Remembered “${label}”`);
}

test.describe('durability', () => {
  test('a Remember on screen survives closing the tab 0-200 ms later', async ({ page, context, backend }) => {
    test.setTimeout(300_000); // six app starts: ~70 s alone, several minutes on the loaded 2-core machine
    let app = await openApp(page, backend);
    const names: string[] = [];
    // every delay on wasm; on WebGPU (each app start ~15 s under SwiftShader) the hardest one, a close
    // right after the Remember: the write path to IndexedDB is the same code, the GPU lookup is
    // rebuilt from it on every start (each reload here is one)
    const delays = backend === 'webgpu' ? [0] : [0, 50, 100, 150, 200];
    for (const [i, delay] of delays.entries()) {
      const name = `kill ${delay}`;
      await rememberShown(app, i, name);
      names.push(name);
      await app.page.waitForTimeout(delay);
      await app.page.close({ runBeforeUnload: false });
      app = await openApp(await context.newPage(), backend);
      const labels = (await app.state()).labels.map((l) => l.name);
      expect(labels.sort()).toEqual([...names].sort());
    }
  });

  test('two tabs: the second is read-only, follows the first, takes over when it closes; no write lost', async ({ browser, backend, baseURL }) => {
    test.skip(backend === 'webgpu', 'the tab lock and following the saves are backend independent: checked on wasm (a start from the saves on WebGPU: the tab-close test; a rebuild of a live WebGPU memory: webgpuLookup.spec)');
    test.setTimeout(300_000); // ten remembers over two tabs and a reload
    // no service worker: the second tab's encoder download must reach page.route below
    const context = await browser.newContext({ serviceWorkers: 'block', baseURL, viewport: { width: 1280, height: 900 } });
    const a = await openApp(await context.newPage(), backend);
    // the second tab starts while the first saves a drawing (held at its encoder's download, after it
    // read the saves): once ready, it shows that drawing too, not only from the first tab's next change
    const bPage = await context.newPage();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atModel = new Promise<void>((r) => (reached = r));
    await bPage.route('**/model.json', async (route) => {
      reached();
      await held;
      await route.continue();
    });
    const opening = openApp(bPage, backend);
    await atModel;
    await rememberShown(a, 0, 'a0');
    await a.page.evaluate(() => window.__memoryLab!.flushSave());
    release();
    const b = await opening;
    await expect(b.message).toContainText('open in another tab');
    await expect(b.rememberButton).toBeDisabled();
    await expect.poll(async () => (await b.state()).labels.map((l) => l.name)).toEqual(['a0']);
    for (let i = 1; i < 5; i++) await rememberShown(a, i, `a${i}`);
    // the read-only tab shows the writer's memory
    await expect.poll(async () => (await b.state()).labels.length).toBe(5);
    // a Remember forced through the read-only tab is refused and changes nothing
    await b.page.evaluate(() => window.__memoryLab!.setStrokes([[{ x: 10, y: 10, pressure: 0.5, t: 0 }, { x: 200, y: 200, pressure: 0.5, t: 1 }]]));
    expect(await b.page.evaluate(() => window.__memoryLab!.remember('sneaky'))).toBe(false);
    // "Use it here": the first tab hands the memory over (once saved) and only shows it from then on
    await b.page.getByTestId('message-action').filter({ hasText: 'Use it here' }).click();
    await expect(b.message).toContainText('this tab keeps the memory now');
    await expect(b.rememberButton).toBeEnabled();
    await expect(a.message).toContainText('another tab asked for the memory and keeps it now');
    await expect(a.rememberButton).toBeDisabled();
    await rememberShown(b, 0, 'b-here');
    await expect.poll(async () => (await a.state()).labels.map((l) => l.name)).toContain('b-here');
    // and back again
    await a.page.getByTestId('message-action').filter({ hasText: 'Use it here' }).click();
    await expect(a.message).toContainText('this tab keeps the memory now');
    await expect(b.rememberButton).toBeDisabled();
    await a.page.close();
    await expect(b.message).toContainText('this tab keeps the memory now (the tab that had it was closed, reloaded, or handed it over)');
    await expect(b.rememberButton).toBeEnabled();
    for (let i = 5; i < 10; i++) await rememberShown(b, i, `b${i}`);
    await b.page.reload();
    await b.waitReady();
    const names = (await b.state()).labels.map((l) => l.name).sort();
    expect(names).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b-here', 'b5', 'b6', 'b7', 'b8', 'b9']);
    await context.close();
  });

  test('three tabs: "Use it here" from the tab that waited last says where the memory went, and works when asked again', async ({ browser, backend, baseURL }) => {
    test.skip(backend === 'webgpu', 'the tab lock is backend independent: checked on wasm');
    const context = await browser.newContext({ serviceWorkers: 'block', baseURL, viewport: { width: 1280, height: 900 } });
    const a = await openApp(await context.newPage(), backend);
    await rememberShown(a, 0, 'one');
    const b = await openApp(await context.newPage(), backend);
    const c = await openApp(await context.newPage(), backend);
    // the memory goes to the tab that waited first (b), and c is told so, with the offer to ask again
    await c.page.getByTestId('message-action').filter({ hasText: 'Use it here' }).click();
    await expect(b.message).toContainText('this tab keeps the memory now');
    await expect(c.message).toContainText('the memory went to another tab that was waiting for it before this one');
    await c.page.getByTestId('message-action').filter({ hasText: 'Use it here' }).click();
    await expect(c.message).toContainText('this tab keeps the memory now');
    await expect(c.rememberButton).toBeEnabled();
    await rememberShown(c, 1, 'two');
    await expect.poll(async () => (await a.state()).labels.map((l) => l.name).sort()).toEqual(['one', 'two']);
    await context.close();
  });

  test('a save the browser refuses is said until one works again, and closing the page asks first', async ({ page, backend }) => {
    test.skip(backend === 'webgpu', 'saving is backend independent: checked on wasm');
    // storage refuses writes while the page says so (a full disk, a browser error)
    await page.addInitScript(() => {
      const transaction = IDBDatabase.prototype.transaction;
      IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
        if (args[1] === 'readwrite' && (window as unknown as { refuseWrites?: boolean }).refuseWrites) throw new DOMException('the disk is full', 'QuotaExceededError');
        return transaction.apply(this, args);
      } as typeof transaction;
    });
    const app = await openApp(page, backend);
    await rememberShown(app, 0, 'kept');
    await expect(page.getByTestId('unsaved')).toHaveCount(0);
    await page.evaluate(() => ((window as unknown as { refuseWrites: boolean }).refuseWrites = true));
    await rememberShown(app, 1, 'not kept');
    await expect(app.message).toContainText('not saved');
    await page.getByRole('button', { name: 'dismiss message' }).click();
    await expect(page.getByTestId('unsaved')).toContainText('Not kept in this browser: could not save to IndexedDB');
    const asked: string[] = [];
    page.on('dialog', (d) => {
      asked.push(d.type());
      void d.dismiss();
    });
    await page.close({ runBeforeUnload: true });
    await expect.poll(() => asked).toEqual(['beforeunload']);
    expect(page.isClosed()).toBe(false);
    // storage works again: the next change saves what was missed, and the warning goes
    await page.evaluate(() => ((window as unknown as { refuseWrites: boolean }).refuseWrites = false));
    await rememberShown(app, 2, 'kept too');
    await expect(page.getByTestId('unsaved')).toHaveCount(0);
    await page.reload();
    await app.waitReady();
    expect((await app.state()).labels.map((l) => l.name).sort()).toEqual(['kept', 'kept too', 'not kept']);
  });

  test('a saved memory that cannot be restored is kept aside, offered as a file, and never overwritten', async ({ page, backend }, info) => {
    test.skip(backend === 'webgpu', 'restoring a save is backend independent (IndexedDB and the file checks): checked on wasm');
    let app = await openApp(page, backend);
    await rememberShown(app, 0, 'precious');
    // damage the stored key of the slot (not unit length any more), as a bug or a disk error could
    await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((res, rej) => {
        const r = indexedDB.open('memory-lab');
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      const tx = db.transaction('slots', 'readwrite');
      const store = tx.objectStore('slots');
      const all = await new Promise<{ key: Float32Array }[]>((res) => {
        const r = store.getAll();
        r.onsuccess = () => res(r.result);
      });
      for (const rec of all) store.put({ ...rec, key: new Float32Array(rec.key.length).fill(3) });
      await new Promise((res) => (tx.oncomplete = res));
      db.close();
    });
    await page.reload();
    app = new MemoryLabPage(page);
    await app.waitReady();
    await expect(page.getByTestId('rescue')).toContainText('kept aside');
    await expect(app.message).toContainText('could not be restored');
    expect((await app.state()).filled).toBe(0);
    const download = page.waitForEvent('download');
    await page.getByTestId('rescue-download').click();
    const file = info.outputPath('aside.json');
    await (await download).saveAs(file);
    const kept = JSON.parse(await readFile(file, 'utf8'));
    expect(kept.labels.map((l: { name: string }) => l.name)).toEqual(['precious']);
    expect(kept.slots).toHaveLength(1);
    // new work is saved normally and the next start is clean
    await rememberShown(app, 1, 'fresh');
    await page.reload();
    await app.waitReady();
    await expect(page.getByTestId('rescue')).toHaveCount(0);
    expect((await app.state()).labels.map((l) => l.name)).toEqual(['fresh']);
    // the copy stays listed under Labels until the user deletes it (nothing else does)
    await app.tab('labels');
    const copy = page.getByTestId('aside-copy');
    await expect(copy).toHaveCount(1);
    await expect(copy).toContainText('1 drawing');
    await expect(copy).toContainText('not of unit length');
    // asked first; Escape keeps it, the keyboard back on its Delete button
    await copy.getByTestId('delete-aside').click();
    await page.keyboard.press('Escape');
    await expect(copy.getByTestId('confirm-delete-aside')).toHaveCount(0);
    await expect(copy.getByTestId('delete-aside')).toBeFocused();
    await copy.getByTestId('delete-aside').click();
    await copy.getByTestId('confirm-delete-aside').click();
    await expect(page.getByTestId('aside-copies')).toHaveCount(0);
    await expect(app.message).toContainText('the copy kept aside was deleted');
    expect((await app.state()).labels.map((l) => l.name)).toEqual(['fresh']); // the memory itself is untouched
  });

  test('fuzzed memory files through the file input: accepted only when valid, else refused, memory unchanged', async ({ page, backend }) => {
    // validating a file is backend independent; each accepted file re-encodes its drawings, which
    // under SwiftShader WebGPU took 2.4 of the suite's minutes: the wasm project covers it
    test.skip(backend === 'webgpu', 'file validation is backend independent: checked on wasm');
    test.setTimeout(240_000);
    const app = await openApp(page, backend);
    await rememberShown(app, 0, 'keep me');
    await app.tab('labels');
    const corpus = importCorpus(60, 7, false);
    corpus.push({ kind: 'script-label', text: '' }); // replaced below
    const valid = JSON.parse(corpus.find((f) => f.kind === 'valid')!.text);
    valid.labels[0].name = '<img src=x onerror="window.__xss=1">';
    corpus[corpus.length - 1].text = JSON.stringify(valid);
    let accepted = 0;
    for (const [i, f] of corpus.entries()) {
      const before = await app.state();
      await page.getByTestId('import').setInputFiles({ name: `f${i}.json`, mimeType: 'application/json', buffer: Buffer.from(f.text) });
      const ok = referenceValid(f.text);
      await expect(app.message).toHaveAttribute('data-kind', ok ? 'info' : 'error');
      if (ok) {
        accepted++;
        await expect(app.message).toContainText('memory imported');
      } else {
        await expect(app.message).toContainText('import refused, the memory is unchanged:');
        const after = await app.state();
        expect(after.values, `${f.kind}`).toEqual(before.values);
        expect(after.labels, `${f.kind}`).toEqual(before.labels);
      }
      await page.getByRole('button', { name: 'dismiss message' }).click();
      await expect(page.getByTestId('import')).toBeEnabled();
    }
    expect(accepted).toBeGreaterThan(5);
    // the script label is shown as text and never runs
    await expect(page.getByTestId('label-row').first()).toContainText('<img src=x');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  });
});
