/**
 * State of the "Rare events" view (zustand, plain serialisable data). The model, its memory and
 * the task live in module scope (not serialisable) and are only called through src/rare.
 *
 * Persistence: the session's labelled passes (the inputs taught, in order) and its attempts are
 * saved to localStorage; on the next load of the same model they are replayed through the
 * memory's write in the same order, which restores the same memory (the writes are deterministic).
 */
import { z } from 'zod';
import { create } from 'zustand';
import { useApp } from '../store';
import { mulberry32 } from '../../memory';
import {
  HIGH,
  LOW,
  RareInputError,
  RareModelMissingError,
  loadRareModelFromUrl,
  makeTask,
  parseInput,
  randomInput,
  render,
  targetFor,
  trainingCounts,
  type Explanation,
  type RareModel,
  type RareTask,
  type SlotOrigin,
} from '../../rare';

export const RARE_MODEL_URL = `${import.meta.env.BASE_URL}models/rare-seq2seq-memory/`;
export const SESSION_KEY = 'memory-lab/rare-session';
const SESSION_FORMAT = 'memory-lab/rare-session';

export type RareStatus = 'idle' | 'loading' | 'ready' | 'missing' | 'error';

export interface NeighbourView {
  slot: number;
  similarity: number;
  weight: number;
  /** the digit stored ('0'..'3') */
  value: string;
  /** 'training example #123: ABB0123012A (number 1234, seen 3 times in training)' and its parts */
  origin: { kind: SlotOrigin['kind']; example?: number; input?: string; number?: number; seenInTraining?: number; taughtInSession?: number };
}

export interface StepView {
  t: number;
  input: string;
  output: string;
  expected: string;
  correct: boolean;
  memoryStep: boolean;
  /** V[n1] as a symbol ('' when the memory was not consulted) */
  memoryValue: string;
  memoryCorrect: boolean;
  confidence: number;
  n1: number;
  /** what the decoder output alone gives at this step (same prefix) */
  withoutMemoryHere: string;
  /** probability of the chosen token */
  probability: number;
  neighbours: NeighbourView[];
}

export interface RunView {
  input: string;
  number: number;
  fOfNumber: number;
  output: string;
  expected: string;
  outputWithoutMemory: string;
  correct: boolean;
  correctWithoutMemory: boolean;
  /** times the number was seen: in training, and taught in this session */
  seenInTraining: number;
  taughtInSession: number;
  steps: StepView[];
}

export interface TeachView {
  input: string;
  number: number;
  output: string;
  writes: { t: number; digit: string; case: 'update' | 'new'; slot: number; previous: { empty: boolean; value: string; age: number }; loss: number }[];
  meanLoss: number;
}

export interface Attempt {
  number: number;
  /** training sightings + session teaches of the number at the time of the attempt */
  sightings: number;
  correct: boolean;
  /** the input run (absent in sessions saved before it was kept): the same input run again with nothing taught in between is one attempt */
  input?: string;
  /** labelled passes of the session before it (any number's: each writes to the memory) */
  taughtAt?: number;
}

export interface RareState {
  status: RareStatus;
  error: string | null;
  /** what the loaded model is */
  modelInfo: {
    filled: number;
    size: number;
    keySize: number;
    useMemory: boolean;
    testAccuracy: number | null;
    /** trained with the query reconstruction loss as well (train.py --recon_weight > 0; not the paper's) */
    reconstruction: boolean;
  } | null;
  inputText: string;
  inputError: string | null;
  busy: boolean;
  run: RunView | null;
  selectedStep: number | null;
  lastTeach: TeachView | null;
  /** inputs taught in this session, in order (persisted and replayed) */
  taught: string[];
  attempts: Attempt[];
  notice: string | null;
  /** Load the model; `restore: false` (Clear this session) skips replaying the saved session. */
  open: (opts?: { restore?: boolean }) => Promise<void>;
  setInputText: (s: string) => void;
  selectStep: (t: number) => void;
  generate: () => Promise<void>;
  pickUnseen: () => Promise<void>;
  sameNumberNewContext: () => Promise<void>;
  runInput: (text?: string) => Promise<boolean>;
  teach: () => Promise<boolean>;
  resetSession: () => Promise<void>;
}

// not serialisable: outside the store
let model: RareModel | null = null;
let task: RareTask | null = null;
let counts: Int32Array | null = null;
let loading: Promise<void> | null = null;
let rng = mulberry32((Date.now() >>> 0) ^ 0x5bd1e995);

const sessionSchema = z.object({
  format: z.literal(SESSION_FORMAT),
  version: z.literal(1),
  model: z.string(),
  taught: z.array(z.string().max(100)).max(10000),
  attempts: z.array(z.object({ number: z.number().int().min(LOW).max(HIGH), sightings: z.number().int().min(0), correct: z.boolean(), input: z.string().max(200).optional(), taughtAt: z.number().int().min(0).optional() })).max(100000),
});

const sym = (t: number) => (t >= 0 && t < 8 ? ['·', '^', 'A', 'B', '0', '1', '2', '3'][t] : '?');
const symbols = (ts: number[]) => ts.map(sym).join('');

function fingerprint(m: RareModel): string {
  const j = m.json;
  return `${j.weights_bytes}:${j.memory.size}:${j.memory.filled}:${j.memory.writes}`;
}

function taughtCount(taught: string[], n: number): number {
  let c = 0;
  for (const t of taught) {
    try {
      if (parseInput(t).number === n) c++;
    } catch {
      /* a saved entry that no longer parses is ignored */
    }
  }
  return c;
}

function save(s: Pick<RareState, 'taught' | 'attempts'>): void {
  if (!model || typeof localStorage === 'undefined') return;
  // another tab holds Memory Lab (this one is read-only): that tab's session is the one kept, and
  // this one never writes over it; said, so that nothing taught here is lost unawares
  if (useApp.getState().readOnly) {
    useRare.setState({ notice: 'this session is not saved: Memory Lab is open in another tab, whose session is kept (use that tab to keep what you teach)' });
    return;
  }
  try {
    localStorage.setItem(SESSION_KEY, JSON.stringify({ format: SESSION_FORMAT, version: 1, model: fingerprint(model), taught: s.taught, attempts: s.attempts }));
  } catch {
    /* storage full or blocked: the session still works, unsaved */
  }
}

function originView(o: SlotOrigin, taught: string[]): NeighbourView['origin'] {
  if (o.kind === 'training' && task && counts) {
    const n = task.train.numbers[o.example];
    return { kind: 'training', example: o.example, input: render(task.train.inputs[o.example]), number: n, seenInTraining: counts[n], taughtInSession: taughtCount(taught, n) };
  }
  if (o.kind === 'session' && counts) return { kind: 'session', input: o.input, number: o.number, seenInTraining: counts[o.number], taughtInSession: taughtCount(taught, o.number) };
  return { kind: 'none' };
}

function runView(e: Explanation, number: number, taught: string[]): RunView {
  const y = targetFor(e.input, task!.f);
  const steps: StepView[] = e.steps.map((s) => ({
    t: s.t,
    input: sym(s.input),
    output: sym(s.output),
    expected: sym(y[s.t]),
    correct: s.output === y[s.t],
    memoryStep: s.memoryStep,
    memoryValue: s.memoryStep && s.memoryValue >= 0 ? sym(s.memoryValue) : '',
    memoryCorrect: s.memoryValue === y[s.t],
    confidence: s.confidence,
    n1: s.n1,
    withoutMemoryHere: sym(s.outputWithoutMemoryHere),
    probability: s.probabilities[s.output],
    neighbours: s.neighbours.map((n) => ({ slot: n.slot, similarity: n.similarity, weight: n.weight, value: sym(n.value), origin: originView(n.origin, taught) })),
  }));
  return {
    input: render(e.input),
    number,
    fOfNumber: task!.f[number],
    output: symbols(e.output),
    expected: render(y),
    outputWithoutMemory: symbols(e.outputWithoutMemory),
    correct: e.output.every((t, i) => t === y[i]),
    correctWithoutMemory: e.outputWithoutMemory.every((t, i) => t === y[i]),
    seenInTraining: counts![number],
    taughtInSession: taughtCount(taught, number),
    steps,
  };
}

/** A number the model has never seen in training and that this session has not taught yet. */
function unseenNumber(taught: string[]): number {
  for (let tries = 0; tries < 100000; tries++) {
    const n = LOW + Math.floor(rng() * (HIGH - LOW + 1));
    if (counts![n] === 0 && taughtCount(taught, n) === 0) return n;
  }
  throw new Error('every number has been seen: none left to pick');
}

export const useRare = create<RareState>()((set, get) => ({
  status: 'idle',
  error: null,
  modelInfo: null,
  inputText: '',
  inputError: null,
  busy: false,
  run: null,
  selectedStep: null,
  lastTeach: null,
  taught: [],
  attempts: [],
  notice: null,

  open: async ({ restore = true } = {}) => {
    if (get().status === 'ready' || get().status === 'missing') return;
    if (loading) return loading;
    loading = (async () => {
      set({ status: 'loading', error: null });
      try {
        const m = await loadRareModelFromUrl(RARE_MODEL_URL);
        model?.dispose();
        model = m;
        task = makeTask(m.json.task.seed, m.json.task.n_train, 0);
        counts = trainingCounts(task);
        const training = m.json.training as { test?: { accuracy?: number }; config?: { recon_weight?: number } } | undefined;
        const test = training?.test?.accuracy;
        set({
          modelInfo: {
            filled: m.memory.filledCount,
            size: m.memory.size,
            keySize: m.memory.keySize,
            useMemory: m.config.use_memory,
            testAccuracy: typeof test === 'number' ? test : null,
            reconstruction: Number(training?.config?.recon_weight ?? 0) > 0,
          },
        });
        if (restore) await restoreSession(m, set);
        set({ status: 'ready' });
      } catch (e) {
        if (e instanceof RareModelMissingError) set({ status: 'missing', error: e.message });
        else set({ status: 'error', error: e instanceof Error ? e.message : String(e) });
      } finally {
        loading = null;
      }
    })();
    return loading;
  },

  setInputText: (s) => set({ inputText: s, inputError: null }),
  selectStep: (t) => set({ selectedStep: t }),

  generate: async () => {
    const p = randomInput(rng);
    set({ inputText: render(p.tokens), inputError: null });
    await get().runInput();
  },

  pickUnseen: async () => {
    if (!counts) return;
    const n = unseenNumber(get().taught);
    const p = randomInput(rng, n);
    set({ inputText: render(p.tokens), inputError: null, lastTeach: null });
    await get().runInput();
  },

  sameNumberNewContext: async () => {
    const r = get().run;
    if (!r) return;
    let p = randomInput(rng, r.number);
    for (let i = 0; i < 10 && render(p.tokens) === r.input; i++) p = randomInput(rng, r.number);
    set({ inputText: render(p.tokens), inputError: null });
    await get().runInput();
  },

  runInput: async (text) => {
    const s = get();
    if (!model || s.status !== 'ready') {
      set({ inputError: 'the model is not loaded yet' });
      return false;
    }
    let p;
    try {
      p = parseInput(text ?? s.inputText);
    } catch (e) {
      set({ inputError: e instanceof RareInputError ? e.message : String(e) });
      return false;
    }
    set({ busy: true, inputError: null });
    try {
      const e = await model.explain(p.tokens, 8);
      const view = runView(e, p.number, get().taught);
      const attempt: Attempt = { number: p.number, sightings: view.seenInTraining + view.taughtInSession, correct: view.correct, input: view.input, taughtAt: get().taught.length };
      // the same input run again with nothing taught in between gives the same answer: one attempt,
      // not another point for the chart (another input of the number, new As and Bs, is another)
      const before = get().attempts;
      const again = before.findIndex((a) => a.input === attempt.input && a.taughtAt === attempt.taughtAt);
      const attempts = again >= 0 ? before.map((a, i) => (i === again ? attempt : a)) : [...before, attempt];
      const first = view.steps.find((st) => st.memoryStep);
      set({ run: view, inputText: view.input, selectedStep: first ? first.t : 0, attempts });
      save(get());
      return true;
    } catch (e) {
      set({ inputError: e instanceof Error ? e.message : String(e) });
      return false;
    } finally {
      set({ busy: false });
    }
  },

  teach: async () => {
    const r = get().run;
    if (!model || !r) return false;
    set({ busy: true });
    try {
      const x = parseInput(r.input).tokens;
      const y = targetFor(x, task!.f);
      const res = await model.teach(x, y, r.number, r.input);
      const taught = [...get().taught, r.input];
      const writes = res.writes.map((w, i) => ({
        t: res.steps[i],
        digit: sym(res.labels[i]),
        case: w.case,
        slot: w.slot,
        previous: { empty: w.previous.empty, value: w.previous.value >= 0 ? sym(w.previous.value) : '', age: w.previous.age },
        loss: res.loss.loss[i],
      }));
      set({
        taught,
        lastTeach: { input: r.input, number: r.number, output: render(y), writes, meanLoss: res.loss.loss.reduce((a, b) => a + b, 0) / res.loss.loss.length },
      });
      save(get());
      return true;
    } catch (e) {
      set({ notice: `could not teach: ${e instanceof Error ? e.message : String(e)}` });
      return false;
    } finally {
      set({ busy: false });
    }
  },

  resetSession: async () => {
    // never under a run or a teach still using the model (it would come back into the cleared session)
    if (get().busy || loading) return;
    // a read-only tab clears only its own copy: the saved session is the other tab's
    const readOnly = useApp.getState().readOnly;
    if (!readOnly && typeof localStorage !== 'undefined') localStorage.removeItem(SESSION_KEY);
    model?.dispose();
    model = null;
    set({ status: 'idle', taught: [], attempts: [], run: null, lastTeach: null, selectedStep: null, notice: null });
    // the trained memory, without replaying the saved session (in a read-only tab it is still there)
    await get().open({ restore: false });
    if (get().status !== 'ready') return; // the error or the missing model is said by the view
    set({ notice: readOnly
      ? "this tab's session cleared: the memory is back to the trained one; the session saved by the other tab stays saved"
      : 'session cleared: the memory is back to the trained one' });
  },
}));

/** Replay the saved session's labelled passes on a freshly loaded model (same order, same memory). */
async function restoreSession(m: RareModel, set: (p: Partial<RareState>) => void): Promise<void> {
  if (typeof localStorage === 'undefined') return;
  const raw = localStorage.getItem(SESSION_KEY);
  if (raw === null) return;
  let saved: z.infer<typeof sessionSchema>;
  try {
    const r = sessionSchema.safeParse(JSON.parse(raw));
    if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).slice(0, 3).join('; '));
    saved = r.data;
  } catch (e) {
    set({ notice: `the saved session could not be read and was not restored (${e instanceof Error ? e.message : String(e)})` });
    return;
  }
  if (saved.model !== fingerprint(m)) {
    set({ notice: 'the saved session belongs to another model export and was not restored' });
    return;
  }
  const taught: string[] = [];
  try {
    for (const text of saved.taught) {
      const p = parseInput(text);
      await m.teach(p.tokens, targetFor(p.tokens, task!.f), p.number, text);
      taught.push(text);
    }
  } catch (e) {
    set({ taught, attempts: saved.attempts, notice: `restored ${taught.length} of ${saved.taught.length} labelled passes; the next could not be replayed (${e instanceof Error ? e.message : String(e)})` });
    return;
  }
  set({ taught, attempts: saved.attempts, notice: taught.length ? `restored this session: ${taught.length} labelled pass${taught.length === 1 ? '' : 'es'} replayed into the memory` : null });
}

/** Accuracy by number of sightings over the session's attempts (the chart). */
export function accuracyBySightings(attempts: Attempt[]): { sightings: number; accuracy: number; n: number }[] {
  const by = new Map<number, { n: number; right: number }>();
  for (const a of attempts) {
    const c = by.get(a.sightings) ?? { n: 0, right: 0 };
    c.n++;
    if (a.correct) c.right++;
    by.set(a.sightings, c);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([sightings, c]) => ({ sightings, accuracy: Math.round((1000 * c.right) / c.n) / 10, n: c.n }));
}

declare global {
  interface Window {
    __memoryLabRare?: {
      state: () => Omit<RareState, 'open' | 'setInputText' | 'selectStep' | 'generate' | 'pickUnseen' | 'sameNumberNewContext' | 'runInput' | 'teach' | 'resetSession'>;
      /** Re-seed the generator behind "Random input", "A number never seen" and "Same number, new context" (tests: reproducible inputs). */
      seed: (seed: number) => void;
    };
  }
}
if (typeof window !== 'undefined') {
  window.__memoryLabRare = {
    state: () => {
      const { open: _o, setInputText: _s, selectStep: _ss, generate: _g, pickUnseen: _p, sameNumberNewContext: _n, runInput: _r, teach: _t, resetSession: _x, ...rest } = useRare.getState();
      void [_o, _s, _ss, _g, _p, _n, _r, _t, _x];
      return rest;
    },
    seed: (seed) => {
      if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
      rng = mulberry32(seed);
    },
  };
}
