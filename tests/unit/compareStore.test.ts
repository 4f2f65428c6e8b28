// Compare mode's store (src/app/compare/compareStore.ts) over a real Engine (Node, WASM backend,
// bundled encoder) and IndexedDB (fake-indexeddb): a learner ticked while earlier work waits in the
// queue (the catch-up after Compare is turned on, a learner unticked a moment before) is still
// taught the memory's stored drawings, so its answer beside the memory comes from the same drawings.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/app/engine';
import { useApp } from '../../src/app/store';
import { flushCompare, installCompare, useCompare } from '../../src/app/compare/compareStore';
import { strokesToInput, type StrokePoint } from '../../src/strokes';
import { CROSS, RING, startStoreEngine } from './storeHarness';

(globalThis as { window?: unknown }).window ??= globalThis;

let engine: Engine;
const st = () => useApp.getState();
const cmp = () => useCompare.getState();

beforeAll(async () => {
  engine = await startStoreEngine(true);
  installCompare();
  for (let i = 0; i < 200 && !cmp().loaded; i++) await new Promise((r) => setTimeout(r, 25));
});
afterAll(() => engine.dispose());

async function remember(strokes: StrokePoint[][], name: string) {
  st().setStrokes(strokes, false);
  useApp.setState({ input: strokesToInput(strokes) });
  expect(await st().remember(name)).toBe(true);
}

/** Every learner's answer for a drawing (after the app's own prediction). */
async function answers(strokes: StrokePoint[][]) {
  const seq = st().predictionSeq;
  useCompare.setState({ answers: null });
  st().setStrokes(strokes, true);
  await expect.poll(() => st().predictionSeq > seq && st().prediction !== null && !st().predicting).toBe(true);
  await flushCompare();
  await expect.poll(() => cmp().answers !== null).toBe(true);
  return Object.fromEntries(cmp().answers!.learners.map((a) => [a.column, a.name]));
}

describe('Compare store: learners ticked while the queue is busy', () => {
  it('a learner ticked right after Compare is turned on (its catch-up still queued) is taught the stored drawings', async () => {
    await remember(RING, 'ring');
    await remember(CROSS, 'cross');
    cmp().setEnabled(true);
    cmp().setKinds(['hebbian', 'prototypes']); // before the catch-up ran
    await flushCompare();
    expect(await answers(RING)).toEqual({ hebbian: 'ring', prototypes: 'ring' });
  });

  it('unticked and ticked again before the queue ran, it is taught again, not left empty', async () => {
    cmp().setKinds(['hebbian']);
    cmp().setKinds(['hebbian', 'prototypes']);
    expect(cmp().kinds).toEqual(['hebbian', 'prototypes']); // shown at once
    await flushCompare();
    expect(cmp().notice).toContain('Class prototypes joined the comparison, first taught the 2 stored drawings');
    expect(await answers(CROSS)).toEqual({ hebbian: 'cross', prototypes: 'cross' });
  });
});
