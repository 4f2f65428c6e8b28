// >= 1000 generated memory files through the app's real import path (the store's importText: parse,
// validate, restore into the Engine, save to IndexedDB), checked against an independent reference of
// what a valid file is: each is accepted only when valid, else refused with a clear message in
// bounded time, the memory (in the engine and in IndexedDB) unchanged.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend';
import { loadEncoderFromDir } from '../../src/encoder/node';
import { Engine } from '../../src/app/engine';
import { readAutosave } from '../../src/app/autosave';
import { attachEngine, useApp } from '../../src/app/store';
import { DEFAULT_SETTINGS } from '../../src/app/types';
import { importCorpus, referenceValid, validFile } from '../importCorpus';
import { mulberry32 } from '../../src/memory/random';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.start({ ...DEFAULT_SETTINGS, memorySize: 32 }, undefined, {
    startBackend: async (force) => ({ name: (await selectBackend({ force: force ?? 'wasm' })).backend, skipped: [] }),
    loadEncoder: () => loadEncoderFromDir('models/omniglot-conv4'),
  });
  attachEngine(engine);
});
afterAll(() => engine.dispose());

/** Everything the user would lose: labels, slots with label, age and key bytes, settings. */
function digest(): string {
  const m = engine.saved();
  return JSON.stringify({
    settings: m.settings,
    labels: m.labels,
    slots: m.slots.map((s) => [s.slot, s.label, s.age, Array.from(s.key).join(','), s.thumb[0]]),
  });
}
async function storedDigest(): Promise<string> {
  const s = await readAutosave();
  return s.kind === 'slots' ? JSON.stringify([s.meta && { ...(s.meta as object), savedAt: 0 }, s.slots.length]) : s.kind;
}

// raw JS errors that must never reach the user
const RAW = /atob|call stack|is not a function|Cannot read prop|undefined is not|InvalidCharacter|RangeError|TypeError|\[object Object\]|Unexpected token .* in JSON at position \d{5,}/;

describe('import fuzz', () => {
  it('1000 generated files + 50 MB ones: accepted exactly when valid, else refused clearly, memory unchanged', async () => {
    const corpus = importCorpus(1000, 12);
    const baseline = JSON.stringify(validFile(mulberry32(99)));
    const times: number[] = [];
    const kinds = new Map<string, { accepted: number; refused: number }>();
    for (const [i, file] of corpus.entries()) {
      expect(await useApp.getState().importText(baseline)).toBe(true);
      const before = digest();
      const beforeStored = await storedDigest();
      const valid = referenceValid(file.text);
      const t0 = performance.now();
      const ok = await useApp.getState().importText(file.text);
      times.push(performance.now() - t0);
      const msg = useApp.getState().message?.text ?? '';
      const k = kinds.get(file.kind) ?? { accepted: 0, refused: 0 };
      kinds.set(file.kind, k);
      const where = `file ${i} (${file.kind}): ${msg.slice(0, 200)}`;
      expect(ok, where).toBe(valid);
      expect(({} as Record<string, unknown>).polluted, where).toBeUndefined();
      if (ok) {
        k.accepted++;
        const f = JSON.parse(file.text);
        expect(engine.summary().size, where).toBe(f.size);
        expect(engine.saved().slots.length, where).toBe(f.slots.length);
        expect(engine.labelList().map((l) => l.name).sort(), where).toEqual(f.labels.map((l: { name: string }) => l.name).sort());
        expect(msg, where).toMatch(/^memory imported/);
      } else {
        k.refused++;
        expect(msg, where).toMatch(/^import refused, the memory is unchanged: \S/);
        expect(msg, where).not.toMatch(RAW);
        expect(msg.length, where).toBeLessThan(600);
        expect(digest(), where).toBe(before);
        expect(await storedDigest(), where).toBe(beforeStored);
      }
      expect(times[times.length - 1], where).toBeLessThan(10_000); // bounded: no hang, no freeze
    }
    const sorted = [...times].sort((a, b) => a - b);
    const summary = [...kinds.entries()].sort().map(([kind, c]) => `${kind} ${c.accepted}/${c.refused}`).join(', ');
    console.log(
      `import fuzz: ${corpus.length} files, ${[...kinds.values()].reduce((s, c) => s + c.accepted, 0)} accepted; ` +
        `time p50 ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms; kinds (accepted/refused): ${summary}`,
    );
    expect(corpus.length).toBeGreaterThanOrEqual(1000);
    // the corpus exercises both outcomes in quantity
    expect([...kinds.values()].reduce((s, c) => s + c.accepted, 0)).toBeGreaterThan(50);
    expect([...kinds.values()].reduce((s, c) => s + c.refused, 0)).toBeGreaterThan(500);
  });
});
