// What the store tests share: a real Engine (Node, WASM backend, bundled encoder, a 16-slot memory)
// attached to the app store, and a few hand-made drawings.
import { selectBackend } from '../../src/backend';
import { Engine } from '../../src/app/engine';
import { attachEngine } from '../../src/app/store';
import { DEFAULT_SETTINGS } from '../../src/app/types';
import { loadEncoderFromDir } from '../../src/encoder/node';
import type { StrokePoint } from '../../src/strokes';

export const line = (pts: [number, number][]): StrokePoint[] => pts.map(([x, y], i) => ({ x, y, pressure: 0.5, t: i }));
export const RING = [line(Array.from({ length: 25 }, (_, i) => [150 + 90 * Math.cos((i / 24) * 2 * Math.PI), 150 + 90 * Math.sin((i / 24) * 2 * Math.PI)]))];
export const CROSS = [line([[40, 150], [260, 150]]), line([[150, 40], [150, 260]])];

/** Start the store's engine (release it with dispose()). */
export async function startStoreEngine(): Promise<Engine> {
  const engine = await Engine.start({ ...DEFAULT_SETTINGS, memorySize: 16, ageNoise: 0 }, undefined, {
    startBackend: async (force) => ({ name: (await selectBackend({ force: force ?? 'wasm' })).backend, skipped: [] }),
    loadEncoder: () => loadEncoderFromDir('models/omniglot-conv4'),
  });
  attachEngine(engine);
  return engine;
}
