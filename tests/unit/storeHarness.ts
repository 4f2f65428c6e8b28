// What the store tests share: a real Engine (Node, WASM backend, bundled encoder, a 16-slot memory)
// attached to the app store, and a few hand-made drawings.
import { selectBackend } from '../../src/backend';
import { Engine } from '../../src/app/engine';
import { attachEngine } from '../../src/app/store';
import { DEFAULT_SETTINGS } from '../../src/app/types';
import { loadEncoderFromDir } from '../../src/encoder/node';
import type { StrokePoint } from '../../src/strokes';
import { parseEncoderRegistry } from '../../src/encoder/registry';
import { readFileSync } from 'node:fs';

export const line = (pts: [number, number][]): StrokePoint[] => pts.map(([x, y], i) => ({ x, y, pressure: 0.5, t: i }));
export const RING = [line(Array.from({ length: 25 }, (_, i) => [150 + 90 * Math.cos((i / 24) * 2 * Math.PI), 150 + 90 * Math.sin((i / 24) * 2 * Math.PI)]))];
export const CROSS = [line([[40, 150], [260, 150]]), line([[150, 40], [150, 260]])];

/**
 * Start the store's engine (release it with dispose()). `registered`: run as the app does, under
 * the registry's entry of models/omniglot-conv4 (its recorded weights), not the fallback entry.
 */
export async function startStoreEngine(registered = false): Promise<Engine> {
  const entry = registered
    ? parseEncoderRegistry(JSON.parse(readFileSync('models/encoders.json', 'utf8')), 'models/encoders.json').encoders.find((e) => e.folder === 'omniglot-conv4')
    : undefined;
  const engine = await Engine.start(
    { ...DEFAULT_SETTINGS, memorySize: 16, ageNoise: 0 },
    undefined,
    {
      startBackend: async (force) => ({ name: (await selectBackend({ force: force ?? 'wasm' })).backend, skipped: [] }),
      // the fallback entry has no test-time shifts; the registry's entry has its own
      loadEncoder: () => loadEncoderFromDir('models/omniglot-conv4', { keyShifts: entry?.keyShifts ?? 0 }),
    },
    entry,
  );
  attachEngine(engine);
  return engine;
}

/**
 * Run `f` while IndexedDB refuses every write (a full disk, a browser error: QuotaExceededError
 * "the disk is full"); reads still work. The refusal ends with `f`, whatever it does.
 */
export async function withWritesRefused<T>(f: () => Promise<T>): Promise<T> {
  const proto = globalThis.IDBDatabase.prototype;
  const transaction = proto.transaction;
  proto.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
    if (args[1] === 'readwrite') throw new DOMException('the disk is full', 'QuotaExceededError');
    return transaction.apply(this, args);
  } as typeof transaction;
  try {
    return await f();
  } finally {
    proto.transaction = transaction;
  }
}
