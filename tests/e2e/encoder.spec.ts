import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { MemoryLabPage, SYMBOLS } from './pages/MemoryLabPage';
import { encoderVariant } from '../shared/encoderVariant';
import { parseEncoderRegistry } from '../../src/encoder/registry';
import { DEFAULT_SETTINGS } from '../../src/app/types';

// Switching the encoder in Settings, as a person does (issue 8). Besides the shipped encoders,
// the test serves its own: the registry gets test-only entries whose models are made
// in memory from the bundled omniglot-conv4 (tests/shared/encoderVariant.ts) and served by page.route; none
// of them is in the repository. `e2e-permuted` has its key units reversed (different keys, same
// similarities: a memory that was not re-encoded would answer wrongly); `e2e-broken` has a
// truncated weights file.
test.use({ serviceWorkers: 'block' }); // the page.route answers, not a service worker's cache

const TEST_ENCODERS = [
  { name: 'e2e-permuted', folder: 'e2e-permuted', objective: 'test', description: 'Test only: the bundled encoder with its key units reversed.', accuracy: null },
  { name: 'e2e-broken', folder: 'e2e-broken', objective: 'test', description: 'Test only: a model whose weights file is cut in half.', accuracy: null },
];

async function serveTestEncoders(page: Page) {
  const registry = JSON.parse(readFileSync('models/encoders.json', 'utf8')) as { encoders: unknown[] };
  registry.encoders.push(...TEST_ENCODERS);
  await page.route('**/models/encoders.json', (r) => r.fulfill({ contentType: 'application/json', body: JSON.stringify(registry) }));
  for (const [folder, kind] of [['e2e-permuted', 'permuted'], ['e2e-broken', 'truncated']] as const) {
    const v = encoderVariant(kind);
    await page.route(`**/models/${folder}/model.json`, (r) => r.fulfill({ contentType: 'application/json', body: v.modelJson }));
    await page.route(`**/models/${folder}/weights.bin`, (r) => r.fulfill({ contentType: 'application/octet-stream', body: v.weights }));
  }
}

test('switching the encoder re-encodes the memory: labels survive, predictions work, a broken model changes nothing, the choice persists', async ({ page, backend }) => {
  test.skip(backend !== 'wasm', 'the wasm project covers it (SwiftShader WebGPU is slow)');
  test.setTimeout(300_000); // three remembers, three switches of the model, a reload: ~1.5 min on a loaded 2-core machine
  await serveTestEncoders(page);
  const app = new MemoryLabPage(page);
  await app.open(backend);
  const registry = parseEncoderRegistry(JSON.parse(readFileSync('models/encoders.json', 'utf8')));
  const shipped = registry.encoders.map((e) => e.name);
  const DEFAULT = shipped[0]; // the registry's first entry is the default
  expect((await app.state()).encoder).toBe(DEFAULT);
  // a new memory starts with the default encoder's own calibrated "not sure" cut-off
  const defaultCutoff = registry.encoders[0].nearCutoff!;
  expect(defaultCutoff).toBeGreaterThan(0);
  expect((await app.state()).settings.nearCutoff).toBe(defaultCutoff);
  expect((await app.state()).encoders).toEqual([...shipped, 'e2e-permuted', 'e2e-broken']);

  for (const [symbol, label] of [[SYMBOLS.ring, 'ring'], [SYMBOLS.cross, 'cross'], [SYMBOLS.zigzag, 'zig']] as const) {
    await app.draw(symbol);
    await app.remember(label);
  }
  const before = await app.state();
  expect(before.labels.map((l) => l.name)).toEqual(['ring', 'cross', 'zig']);

  // Settings: the default encoder is in use and explained in plain words
  await app.tab('settings');
  const select = page.getByTestId('setting-encoder');
  await expect(page.getByTestId('encoder-in-use')).toContainText(DEFAULT);
  await expect(page.getByTestId('encoder-description')).toContainText('Trained with: memory'); // the paper's loss makes the default
  await expect(page.getByTestId('encoder-description')).toContainText('Accuracy:');
  await expect(page.getByTestId('switch-encoder')).toBeDisabled(); // the one in use

  // a broken model: a clear error, the old encoder and memory stay
  await select.selectOption('e2e-broken');
  await expect(page.getByTestId('encoder-description')).toContainText('Accuracy: not measured yet');
  await page.getByTestId('switch-encoder').click();
  await expect(app.message).toHaveAttribute('data-kind', 'error');
  await expect(app.message).toContainText('could not switch to the encoder "e2e-broken"');
  await expect(app.message).toContainText(`Still using "${DEFAULT}"; the memory is unchanged`);
  const afterBroken = await app.state();
  expect(afterBroken.encoder).toBe(DEFAULT);
  expect(afterBroken.labels).toEqual(before.labels);
  expect(afterBroken.values).toEqual(before.values);

  // the second encoder: every drawing re-encoded, labels and slots kept
  await select.selectOption('e2e-permuted');
  await page.getByTestId('switch-encoder').click();
  await expect.poll(async () => (await app.state()).encoder).toBe('e2e-permuted');
  await expect(app.message).toContainText('now using the encoder "e2e-permuted": 3 drawings re-encoded');
  if (defaultCutoff !== DEFAULT_SETTINGS.nearCutoff) {
    // the test encoder has no calibrated cut-off: the general default replaces the default encoder's
    await expect(app.message).toContainText(
      `the “not sure” cut-off changed from ${defaultCutoff} to ${DEFAULT_SETTINGS.nearCutoff}, the general default (none was measured for this encoder)`,
    );
    await expect(page.getByTestId('setting-nearCutoff')).toHaveValue(String(DEFAULT_SETTINGS.nearCutoff));
  }
  await expect(page.getByTestId('encoder-in-use')).toContainText('e2e-permuted');
  await expect(select).toBeFocused(); // the button went off while switching: the focus is back on the list
  const after = await app.state();
  expect(after.labels).toEqual(before.labels);
  expect(after.values).toEqual(before.values);
  expect(after.ages).toEqual(before.ages);

  // predictions with the new encoder: each symbol finds its own label, at a similarity near 1
  await app.tab('draw');
  for (const [symbol, label] of [[SYMBOLS.zigzag, 'zig'], [SYMBOLS.ring, 'ring'], [SYMBOLS.cross, 'cross']] as const) {
    if ((await app.state()).strokes > 0) await page.getByTestId('clear').click();
    await app.draw(symbol);
    await expect(page.getByTestId('prediction-label')).toHaveText(label);
    expect((await app.state()).prediction?.topSimilarity).toBeGreaterThan(0.95);
  }
  const file = JSON.parse(await page.evaluate(() => window.__memoryLab!.exportText())) as { encoder: string };
  expect(file.encoder).toBe('e2e-permuted');

  // the choice persists with the memory: a reload starts with the same encoder and labels
  await page.evaluate(() => window.__memoryLab!.flushSave());
  await page.reload();
  await app.waitReady();
  const reloaded = await app.state();
  expect(reloaded.encoder).toBe('e2e-permuted');
  expect(reloaded.labels).toEqual(before.labels);
  await app.tab('draw');
  await app.draw(SYMBOLS.ring);
  await expect(page.getByTestId('prediction-label')).toHaveText('ring');
});

test('the built app serves the encoder registry and every model it lists', async ({ request, backend }) => {
  test.skip(backend !== 'wasm', 'one project is enough: no browser involved');
  const res = await request.get('/models/encoders.json');
  expect(res.status()).toBe(200);
  const registry = parseEncoderRegistry(await res.json());
  for (const e of registry.encoders) {
    const model = await request.get(`/models/${e.folder}/model.json`);
    expect(model.status(), `${e.folder}/model.json`).toBe(200);
    const manifest = ((await model.json()) as { weightsManifest: { paths: string[] }[] }).weightsManifest;
    for (const g of manifest) for (const p of g.paths) expect((await request.get(`/models/${e.folder}/${p}`)).status(), `${e.folder}/${p}`).toBe(200);
  }
});

test('an encoder that cannot be downloaded: the page says so and how to go on, and keeps saying it once the banner is closed', async ({ page, backend }) => {
  test.skip(backend !== 'wasm', 'the start-up path is the same on every backend: checked on wasm');
  await page.route('**/models/**/weights.bin', (r) => r.abort());
  await page.goto(`/?backend=${backend}`);
  const banner = page.locator('[data-testid=message][data-kind=error]');
  await expect(banner).toContainText('Memory Lab could not start: could not load the encoder');
  await expect(banner).toContainText('Check the connection');
  await expect(page.getByTestId('message-action')).toHaveText('Reload');
  await page.getByRole('button', { name: 'dismiss message' }).click();
  await expect(page.getByTestId('start-failed')).toContainText('Memory Lab could not start');
  await expect(page.getByTestId('loading')).toHaveCount(0);
  // the reload tries again: with the weights back, the app starts
  await page.unroute('**/models/**/weights.bin');
  await page.getByTestId('start-failed').getByRole('button', { name: 'Reload' }).click();
  await new MemoryLabPage(page).waitReady();
});
