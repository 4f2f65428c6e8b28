/** Table 2 helpers: the bit-parallel Hamming nearest neighbour against a plain reference, accuracy by sightings. */
import { describe, expect, it } from 'vitest';
import { MAX_LEN, makeTask, render, sightingCounts } from '../../src/rare';
import { accuracyOf, hammingNearest, table2Markdown } from '../../src/rare/eval';

/** hamming.py's definition, written plainly: equal positions over MAX_LEN, padding a symbol; first maximum. */
function reference(train: number[][], test: number[][]): number[] {
  return test.map((x) => {
    let best = 0, bestM = -1;
    train.forEach((y, j) => {
      let m = 0;
      for (let t = 0; t < MAX_LEN; t++) if ((x[t] ?? 0) === (y[t] ?? 0)) m++;
      if (m > bestM) [bestM, best] = [m, j];
    });
    return best;
  });
}

describe('rare-event evaluation', () => {
  it('Hamming nearest neighbour equals the plain reference, ties to the earlier example', async () => {
    const task = makeTask(4, 3000, 300);
    const got = await hammingNearest(task.train.inputs, task.test.inputs, 64);
    expect([...got]).toEqual(reference(task.train.inputs, task.test.inputs));
    // an exact copy of a training input is its own nearest neighbour (the first copy)
    const again = await hammingNearest(task.train.inputs, [task.train.inputs[17], task.train.inputs[17]]);
    expect([...again]).toEqual([17, 17]);
    // length differences count: a prefix is nearer to itself than to a longer sequence that starts with it
    const a = task.train.inputs[5];
    const nn = await hammingNearest([[...a, 2, 2, 2].slice(0, MAX_LEN), a], [a]);
    expect(nn[0]).toBe(a.length + 3 <= MAX_LEN ? 1 : 0);
  });

  it('accuracy counts fully correct sequences only, overall and by sightings', () => {
    const task = makeTask(2, 500, 50);
    const counts = sightingCounts(task);
    const pred = task.test.outputs.map((y, i) => (i % 5 === 0 ? [...y.slice(0, -1), y[y.length - 1] === 2 ? 3 : 2] : [...y]));
    const r = accuracyOf(pred, task, counts);
    expect(r.correct).toBe(40);
    expect(r.accuracy).toBe(80);
    expect(Object.values(r.bySightings).reduce((a, b) => a + b.n, 0)).toBe(50);
    expect(() => accuracyOf(pred.slice(1), task)).toThrow('expected 50 predictions, got 49');
    const md = table2Markdown([{ id: 'x', name: 'some model', measured: r, paper: 35.2 }], ['meta line']);
    expect(md).toContain('| some model | 80.00 | 35.2 |');
    expect(render(pred[1])).toBe(render(task.test.outputs[1]));
  });
});
