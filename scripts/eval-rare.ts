/**
 * npm run eval:rare: Table 2 of "Learning to Remember Rare Events" on the synthetic task, measured
 * by the TypeScript inference (src/rare/) on the exported models, and the rare-event curve.
 *
 *   npm run eval:rare                                   # models/rare-seq2seq-memory (+ models/rare-seq2seq if present)
 *   npm run eval:rare -- --model DIR --baseline DIR --limit 1000 --out bench/rare-results
 *
 * Writes <out>.md and <out>.json (default bench/rare-results).
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import { makeTask, sightingCounts, type RareTask, type Tokens } from '../src/rare/data';
import { PAPER_TABLE2, accuracyOf, hammingNearest, table2Markdown, type Accuracy, type Table2Row } from '../src/rare/eval';
import { RareModelMissingError, type RareModel } from '../src/rare/model';
import { loadRareModelFromDir } from '../src/rare/node';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rel = (p: string) => relative(repoRoot, p) || p;

function progress(label: string, total: number): (done: number) => void {
  const t0 = performance.now();
  let last = 0;
  return (done) => {
    const now = performance.now();
    if (now - last < 2000 && done < total) return;
    last = now;
    const s = (now - t0) / 1000;
    const eta = done > 0 ? (s / done) * (total - done) : 0;
    process.stderr.write(`${label}: ${done}/${total} (${s.toFixed(0)} s, ETA ${eta.toFixed(0)} s)\n`);
  };
}

async function decodeAll(model: RareModel, task: RareTask, n: number, useMemory: boolean, label: string, batch: number) {
  const xs = task.test.inputs.slice(0, n);
  const out: Tokens[] = new Array(n);
  const p = progress(label, n);
  const t0 = performance.now();
  // chunks in length order, so that each lockstep batch has one length (no padding steps)
  const order = [...xs.keys()].sort((a, b) => xs[a].length - xs[b].length || a - b);
  for (let s = 0; s < n; s += batch) {
    const idx = order.slice(s, s + batch);
    const r = await model.decode(idx.map((i) => xs[i]), { useMemory, batchSize: batch });
    idx.forEach((i, j) => (out[i] = r[j].output));
    p(Math.min(n, s + batch));
  }
  return { outputs: out, seconds: (performance.now() - t0) / 1000 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'models/rare-seq2seq-memory' },
      baseline: { type: 'string', default: 'models/rare-seq2seq' },
      limit: { type: 'string' },
      batch: { type: 'string', default: '500' },
      out: { type: 'string', default: 'bench/rare-results' },
      backend: { type: 'string', default: 'wasm' },
      'no-hamming': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run eval:rare -- [--model DIR] [--baseline DIR] [--limit N] [--batch N] [--out PREFIX] [--backend wasm|cpu] [--no-hamming]');
    return;
  }
  const int = (name: string, v: string) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 1) throw new Error(`expected --${name} to be an integer >= 1, got ${v}`);
    return x;
  };
  const batch = int('batch', values.batch);
  if (values.backend !== 'wasm' && values.backend !== 'cpu') throw new Error(`expected --backend wasm or cpu, got ${values.backend}`);
  const backend = await selectBackend({ force: values.backend });
  const modelDir = resolve(repoRoot, values.model);
  let model: RareModel;
  try {
    model = await loadRareModelFromDir(modelDir);
  } catch (e) {
    if (e instanceof RareModelMissingError) {
      console.error(`The seq2seq + memory model is missing: ${rel(modelDir)}/model.json does not exist.`);
      console.error('Train and export it first (training/rare/README.md):');
      console.error('  /usr/bin/python3 training/rare/train.py');
      console.error(`  /usr/bin/python3 training/rare/export.py --ckpt=training/runs/rare-memory/final.pt --out=${rel(modelDir)}`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
  const tStart = performance.now();
  const task = makeTask(model.json.task.seed, model.json.task.n_train, model.json.task.n_test);
  const n = values.limit ? Math.min(int('limit', values.limit), task.test.inputs.length) : task.test.inputs.length;
  const sub: RareTask = { ...task, test: { ...task.test, inputs: task.test.inputs.slice(0, n), outputs: task.test.outputs.slice(0, n), numbers: task.test.numbers.slice(0, n), positions: task.test.positions.slice(0, n) } };
  const counts = sightingCounts(sub);
  console.log(
    `task seed ${task.seed}: ${task.train.inputs.length} training, ${n} test examples; model ${rel(modelDir)} ` +
      `(memory ${model.memory.filledCount}/${model.memory.size} slots, key ${model.memory.keySize}); tfjs ${tf.version.tfjs} ${backend.backend}, Node ${process.version}`,
  );
  const rows: Table2Row[] = [];
  const timing: Record<string, number> = {};

  if (!values['no-hamming']) {
    const t0 = performance.now();
    const nn = await hammingNearest(task.train.inputs, sub.test.inputs, 250, progress('Hamming nearest neighbour', n));
    timing.hamming_s = (performance.now() - t0) / 1000;
    rows.push({ id: 'hamming', name: 'Hamming nearest neighbour', measured: accuracyOf([...nn].map((j) => task.train.outputs[j]), sub, counts), paper: PAPER_TABLE2.hamming });
  }

  const baselineDir = resolve(repoRoot, values.baseline);
  if (existsSync(resolve(baselineDir, 'model.json'))) {
    const base = await loadRareModelFromDir(baselineDir);
    try {
      const r = await decodeAll(base, sub, n, false, 'seq2seq', batch);
      timing.seq2seq_s = r.seconds;
      rows.push({ id: 'seq2seq', name: 'seq2seq with attention', measured: accuracyOf(r.outputs, sub, counts), paper: PAPER_TABLE2.seq2seq, note: rel(baselineDir) });
    } finally {
      base.dispose();
    }
  } else {
    console.log(`seq2seq without memory: ${rel(baselineDir)} is not present (export it to measure that row)`);
    rows.push({ id: 'seq2seq', name: 'seq2seq with attention', measured: null, paper: PAPER_TABLE2.seq2seq, note: `${rel(baselineDir)} not present` });
  }

  // what the shipped model was trained by (model.json's training facts: train.py's config)
  const recon = Number((model.json.training?.config as { recon_weight?: number } | undefined)?.recon_weight ?? 0);
  const objective =
    recon > 0
      ? `cross-entropy + memory loss + a query reconstruction loss (weight ${recon}; not in the paper, see the model card)`
      : 'cross-entropy + memory loss (the paper\'s objective)';
  let memRes: Accuracy;
  try {
    const r = await decodeAll(model, sub, n, true, 'seq2seq + memory', batch);
    timing.seq2seq_memory_s = r.seconds;
    memRes = accuracyOf(r.outputs, sub, counts);
    rows.push({ id: 'seq2seq_memory', name: recon > 0 ? 'seq2seq + memory (+ query reconstruction in training)' : 'seq2seq + memory', measured: memRes, paper: PAPER_TABLE2.seq2seqMemory, note: rel(modelDir) });
    const r0 = await decodeAll(model, sub, n, false, 'seq2seq + memory, memory input zeroed', batch);
    timing.seq2seq_memory_off_s = r0.seconds;
    rows.push({ id: 'seq2seq_memory_off', name: 'seq2seq + memory, memory input zeroed', measured: accuracyOf(r0.outputs, sub, counts), paper: null, note: 'same network, no memory read' });
  } finally {
    model.dispose();
  }
  const seconds = (performance.now() - tStart) / 1000;
  const meta = [
    `test examples: ${n}${n < task.test.inputs.length ? ` (of ${task.test.inputs.length}: --limit)` : ''}; task seed ${task.seed}; ${task.train.inputs.length} training examples`,
    `model: ${rel(modelDir)} (memory ${model.json.memory.filled}/${model.json.memory.size} slots filled, key size ${model.json.memory.key_size}, k ${model.json.memory.k})`,
    `training objective of ${rel(modelDir)}: ${objective}`,
    `inference: src/rare/model.ts (TF.js ${tf.version.tfjs}, ${backend.backend} backend, Node ${process.version}), memory src/memory; greedy decoding, ${batch} sequences in lockstep`,
    `time: ${seconds.toFixed(0)} s in all (${Object.entries(timing).map(([k, v]) => `${k.replace(/_s$/, '')} ${v.toFixed(0)} s`).join(', ')}) on this machine`,
    `written by \`npm run eval:rare\` on ${new Date().toISOString().slice(0, 10)}`,
  ];
  const md = table2Markdown(rows, meta);
  const out = resolve(repoRoot, values.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.md`, md);
  writeFileSync(`${out}.json`, JSON.stringify({ meta, n, seed: task.seed, model: rel(modelDir), backend: backend.backend, seconds: Math.round(seconds), timing, rows }, null, 1) + '\n');
  console.log('\n' + md);
  console.log(`wrote ${rel(out)}.md and ${rel(out)}.json`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
