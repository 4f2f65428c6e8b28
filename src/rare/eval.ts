/**
 * Table 2 of Kaiser et al. 2017 on the rare-event task, as measured here: % of fully correct
 * output sequences on the 10,000 test examples, and the rare-event curve (accuracy by how many
 * times the test number was seen in training). Plain TS + tfjs; used by scripts/eval-rare.ts.
 */
import { MAX_LEN, PAD, VOCAB, sightingCounts, type RareTask, type Tokens } from './data';

/** The paper's Table 2 (% fully correct test sequences). */
export const PAPER_TABLE2 = {
  hamming: 0.1,
  seq2seq: 0.9,
  seq2seqMemory: 35.2,
  extendedNeuralGpu: 12.2,
  extendedNeuralGpuMemory: 71.3,
} as const;

export interface Accuracy {
  /** % of fully correct sequences */
  accuracy: number;
  correct: number;
  n: number;
  /** sightings in training -> { n, accuracy % } */
  bySightings: Record<string, { n: number; accuracy: number }>;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Accuracy of predicted outputs against the test outputs, overall and by sightings. */
export function accuracyOf(predicted: Tokens[], task: RareTask, counts: Int32Array = sightingCounts(task)): Accuracy {
  const expected = task.test.outputs;
  if (predicted.length !== expected.length) throw new Error(`expected ${expected.length} predictions, got ${predicted.length}`);
  const by = new Map<number, { n: number; right: number }>();
  let correct = 0;
  predicted.forEach((p, i) => {
    const y = expected[i];
    const ok = p.length === y.length && p.every((t, j) => t === y[j]);
    if (ok) correct++;
    const c = by.get(counts[i]) ?? { n: 0, right: 0 };
    c.n++;
    if (ok) c.right++;
    by.set(counts[i], c);
  });
  const bySightings: Accuracy['bySightings'] = {};
  for (const k of [...by.keys()].sort((a, b) => a - b)) {
    const c = by.get(k)!;
    bySightings[String(k)] = { n: c.n, accuracy: round2((100 * c.right) / c.n) };
  }
  return { accuracy: round2((100 * correct) / predicted.length), correct, n: predicted.length, bySightings };
}

/**
 * Each sequence as 4 words of 10 positions x 3 bits (PAD = 0, then A, B, 0..3 = 1..6), padded to
 * MAX_LEN: two sequences differ at a position iff its 3-bit groups differ, padding included.
 */
function packed(seqs: Tokens[]): Int32Array {
  if (MAX_LEN > 40) throw new Error(`expected MAX_LEN <= 40 for the packed Hamming distance, got ${MAX_LEN}`);
  const out = new Int32Array(seqs.length * 4);
  seqs.forEach((s, i) => {
    for (let t = 0; t < s.length; t++) {
      const code = s[t] === PAD ? 0 : s[t] - 1;
      if (code < 0 || code > 7 || s[t] >= VOCAB) throw new Error(`expected tokens in [2, ${VOCAB - 1}], got ${s[t]}`);
      out[i * 4 + ((t / 10) | 0)] |= code << (3 * (t % 10));
    }
  });
  return out;
}

const GROUPS = 0x09249249; // bit 0 of each of the 10 three-bit groups

function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/**
 * Hamming nearest neighbour (training/rare/hamming.py): for each test input, the training input
 * that differs at the fewest of the MAX_LEN positions (left-aligned; padding is a symbol, so a
 * length difference mismatches), ties to the earlier training example. Returns training indices.
 * Bit-parallel: 3-bit codes, 10 positions per word (hamming.py's one-hot matmul gives the same counts).
 */
export async function hammingNearest(train: Tokens[], test: Tokens[], chunk = 250, onProgress?: (done: number) => void): Promise<Int32Array> {
  const tr = packed(train);
  const te = packed(test);
  const N = train.length;
  const out = new Int32Array(test.length);
  for (let s = 0; s < test.length; s += chunk) {
    const e = Math.min(test.length, s + chunk);
    for (let i = s; i < e; i++) {
      const a0 = te[4 * i], a1 = te[4 * i + 1], a2 = te[4 * i + 2], a3 = te[4 * i + 3];
      let best = 0, bestD = 1 << 30;
      for (let j = 0; j < N; j++) {
        let x = a0 ^ tr[4 * j];
        const g0 = (x | (x >>> 1) | (x >>> 2)) & GROUPS;
        x = a1 ^ tr[4 * j + 1];
        const g1 = (x | (x >>> 1) | (x >>> 2)) & GROUPS;
        x = a2 ^ tr[4 * j + 2];
        const g2 = (x | (x >>> 1) | (x >>> 2)) & GROUPS;
        x = a3 ^ tr[4 * j + 3];
        const g3 = (x | (x >>> 1) | (x >>> 2)) & GROUPS;
        const d = popcount(g0 | (g1 << 1) | (g2 << 2)) + popcount(g3);
        if (d < bestD) {
          bestD = d;
          best = j;
        }
      }
      out[i] = best;
    }
    onProgress?.(e);
    await new Promise((r) => setTimeout(r, 0)); // let a page stay responsive between chunks
  }
  return out;
}

export interface Table2Row {
  id: string;
  name: string;
  /** null: not measured (model absent) */
  measured: Accuracy | null;
  paper: number | null;
  note?: string;
}

const fmt = (a: Accuracy | null) => (a === null ? 'not present' : a.accuracy.toFixed(2));

/** Markdown: Table 2 and the rare-event curve. */
export function table2Markdown(rows: Table2Row[], meta: string[]): string {
  const lines = [
    '# Rare-event task (Kaiser et al. 2017, section 4, Table 2), measured by the TypeScript inference',
    '',
    ...meta.map((m) => `- ${m}`),
    '',
    '## Table 2: % of fully correct output sequences, 10,000 test examples',
    '',
    '| model | measured | paper |',
    '|---|---:|---:|',
    ...rows.map((r) => `| ${r.name}${r.note ? ` (${r.note})` : ''} | ${fmt(r.measured)} | ${r.paper === null ? '—' : r.paper.toFixed(1)} |`),
    `| Extended Neural GPU (paper only) | — | ${PAPER_TABLE2.extendedNeuralGpu.toFixed(1)} |`,
    `| Extended Neural GPU + memory (paper only) | — | ${PAPER_TABLE2.extendedNeuralGpuMemory.toFixed(1)} |`,
    '',
    '## The rare-event curve: % fully correct by how many times the test number was seen in training',
    '',
  ];
  const measured = rows.filter((r) => r.measured !== null);
  const keys = [...new Set(measured.flatMap((r) => Object.keys(r.measured!.bySightings)))].sort((a, b) => Number(a) - Number(b));
  lines.push(`| seen in training | test examples | ${measured.map((r) => r.name).join(' | ')} |`);
  lines.push(`|---:|---:|${measured.map(() => '---:').join('|')}|`);
  for (const k of keys) {
    const n = measured[0].measured!.bySightings[k]?.n ?? 0;
    lines.push(`| ${k} | ${n} | ${measured.map((r) => r.measured!.bySightings[k]?.accuracy.toFixed(2) ?? '—').join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
