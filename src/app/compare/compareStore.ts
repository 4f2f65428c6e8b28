/**
 * Compare mode's state (zustand, plain data). The session (learners, tensors) lives in
 * compareSession.ts; this store follows the app's store: a remembered drawing (a new lastWrite)
 * goes to every learner, each new prediction is answered by every learner, a deleted label is
 * forgotten, a Remember or a delete taken back is taken back from the learners. Installed once by the app (installCompare).
 */
import { create } from 'zustand';
import { IMPORT_WORDS, beforeHandover, getEngine, useApp, type AppState } from '../store';
import type { PredictionView } from '../types';
import { LEARNER_TITLES } from '../../learners';
import { loadCompare, saveCompare } from './comparePersist';
import { COMPARE_KINDS, CompareSession, type CompareAnswer, type CompareKind, type CurvePoint, type HebbianRowView } from './compareSession';

export interface MemoryAnswer {
  /** V[n1]'s label name (null: empty memory) */
  name: string | null;
  /** softmax(t * sim) summed over the neighbours holding that label */
  confidence: number;
  similarity: number;
  /** n1 is below the app's "not sure" cut-off (the answer panel says "not sure"; n1 is still the memory's V[n1]) */
  belowCutoff: number | null;
}

export interface CompareState {
  /** the saved session was loaded (or there was none) */
  loaded: boolean;
  enabled: boolean;
  kinds: CompareKind[];
  /** answers for the current drawing, side by side (null: no drawing or compare off) */
  answers: { memory: MemoryAnswer; learners: CompareAnswer[] } | null;
  curve: CurvePoint[];
  events: number;
  hebbian: HebbianRowView[];
  error: string | null;
  /** why the comparison started again (another encoder's keys), said once in the Compare view */
  notice: string | null;
  /** this tab shows a memory open in another tab: the comparison is that tab's to change */
  readOnly: boolean;
  setEnabled: (on: boolean) => void;
  setKinds: (kinds: CompareKind[]) => void;
  reset: () => void;
}

let session: CompareSession | null = null;


function sessionNow(): CompareSession {
  if (!session) {
    session = new CompareSession(getEngine().keySize, ['hebbian']);
    session.encoder = useApp.getState().encoder ?? null;
  }
  return session;
}

/** Changes to the comparison are the writable tab's: refused (said) in a read-only one. */
function refusedHere(): boolean {
  if (!useApp.getState().readOnly) return false;
  useCompare.setState({ error: 'this memory is open in another tab: change the comparison there, or close that tab to use this one' });
  return true;
}

// ---- work queue: encodes are async, learners must see drawings in order ----
let queue: Promise<void> = Promise.resolve();
function enqueue(f: () => Promise<void>) {
  queue = queue.then(f).catch((e: unknown) => useCompare.setState({ error: e instanceof Error ? e.message : String(e) }));
}

// ---- autosave, coalesced; a read-only tab (the memory open in another) reloads on each save ----
const saved: BroadcastChannel | null = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('memory-lab-compare');
let saveTimer: ReturnType<typeof setTimeout> | null = null;
let savePromise: Promise<void> = Promise.resolve();
function scheduleSave() {
  if (saveTimer) clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    saveTimer = null;
    // a read-only tab never writes over the comparison the other tab is saving
    if (!session || useApp.getState().readOnly) return;
    session.encoder ??= useApp.getState().encoder ?? null;
    savePromise = saveCompare(session.snapshot())
      .then(() => saved?.postMessage('saved'))
      .catch((e: unknown) =>
      useCompare.setState({ error: `could not autosave the comparison to IndexedDB: ${e instanceof Error ? e.message : String(e)}` }),
    );
  }, 150);
}
/** Resolves when the queued learner work and pending autosaves are done (test API). */
export async function flushCompare(): Promise<void> {
  await queue;
  while (saveTimer) await new Promise((r) => setTimeout(r, 50));
  await savePromise;
}

/** Recompute the derived views (curve, Hebbian rows) from the session. */
function refresh(extra: Partial<CompareState> = {}) {
  const s = sessionNow();
  // c_i, lambda_i, |theta_i| only: the stored drawings nearest each row are found by the view, for
  // the rows it shows (every class against every stored key after each Remember took seconds)
  const hebbian: HebbianRowView[] = s.hebbianRows();
  useCompare.setState({ enabled: s.enabled, kinds: pendingKinds ?? s.kinds, curve: s.curve(), events: s.history.length, hebbian, ...extra });
}

/** the learners ticked, shown at once while the change waits in the queue (null: none waiting) */
let pendingKinds: CompareKind[] | null = null;

export const useCompare = create<CompareState>()((set) => ({
  loaded: false,
  enabled: false,
  kinds: ['hebbian'],
  answers: null,
  curve: [],
  events: 0,
  hebbian: [],
  error: null,
  notice: null,
  readOnly: false,
  setEnabled: (on) => {
    if (refusedHere()) return;
    const s = sessionNow();
    if (!on) {
      // what the memory is told from now on, the learners miss (see catchUp)
      s.enabled = false;
      offAt = useApp.getState().summary?.version ?? null;
      refresh({ answers: null, error: null });
      scheduleSave();
      return;
    }
    s.enabled = true;
    refresh({ answers: null, error: null });
    catchUp(s);
    scheduleSave();
    answerCurrent();
  },
  setKinds: (kinds) => {
    if (refusedHere()) return;
    const want = kinds.length ? kinds : (['hebbian'] as CompareKind[]);
    const bad = want.find((k) => !COMPARE_KINDS.includes(k));
    if (bad !== undefined) {
      set({ error: `expected learners among ${COMPARE_KINDS.join(', ')}, got ${String(bad)}` });
      return;
    }
    // the memory's drawings as they are now (a Remember queued before is in them and in the learners
    // already there; one queued after reaches every learner by its observe), read whenever a learner
    // is added and the memory holds drawings: the session may be empty now and taught by a restart
    // queued before this change, and a learner unticked just before is still in it
    const stored = getEngine().filled() > 0 && want.some((k) => !(pendingKinds ?? sessionNow().kinds).includes(k)) ? storedNow() : [];
    pendingKinds = want;
    set({ kinds: want });
    enqueue(async () => {
      if (pendingKinds === want) pendingKinds = null;
      const s = sessionNow();
      const dropped = s.kinds.filter((k) => !want.includes(k));
      const added = s.setKinds(want);
      // a learner added is taught what the memory knows first, as every learner was when Compare
      // was turned on: side by side, the answers compare learners that saw the same drawings
      const taught = await teachJoined(s, added, stored);
      const words: string[] = [];
      if (added.length) {
        const who = added.map((k) => LEARNER_TITLES[k]).join(' and ');
        words.push(
          taught > 0
            ? `${who} joined the comparison, first taught the ${taught === 1 ? 'one stored drawing' : `${taught} stored drawings`} of the memory (oldest first, not scored), so ${added.length === 1 ? 'it starts' : 'they start'} from what the memory knows`
            : `${who} joined the comparison: ${added.length === 1 ? 'it learns' : 'they learn'} from the next remembered drawing on`,
        );
      }
      if (dropped.length) {
        const who = dropped.map((k) => LEARNER_TITLES[k]).join(' and ');
        words.push(`${who} left the comparison with what ${dropped.length === 1 ? 'it' : 'they'} had learned (ticked again, ${dropped.length === 1 ? 'it is' : 'they are'} taught the memory's stored drawings)`);
      }
      refresh({ error: null, ...(words.length ? { notice: words.join('; ') } : {}) });
      scheduleSave();
      answerCurrent();
    });
  },
  reset: () => {
    if (refusedHere()) return;
    sessionNow().reset();
    refresh({ answers: null, error: null, notice: null });
    scheduleSave();
    answerCurrent();
  },
}));

function memoryAnswer(p: PredictionView): MemoryAnswer {
  const n1 = p.neighbours[0];
  if (!n1) return { name: null, confidence: 0, similarity: 0, belowCutoff: null };
  return {
    name: n1.name,
    confidence: p.perLabel.find((l) => l.label === n1.label)?.p ?? 0,
    similarity: n1.similarity,
    belowCutoff: p.unknownReason === 'nothing-close' ? p.cutoff : null,
  };
}

/** Answer the current drawing with every learner (after the app's own prediction). */
function answerCurrent() {
  const a = useApp.getState();
  const input = a.input;
  const p = a.prediction;
  if (!sessionNow().enabled || !input || !p) {
    useCompare.setState({ answers: null });
    return;
  }
  enqueue(async () => {
    const key = (await getEngine().encode(input)).value;
    if (useApp.getState().input !== input) return; // the drawing changed meanwhile
    useCompare.setState({ answers: { memory: memoryAnswer(p), learners: sessionNow().predict(key) } });
  });
}

/** drawings taught per step of a restart: the page stays responsive (an SGD step each for sgd-softmax) */
const STUDY_CHUNK = 64;

/**
 * The comparison as it was before two names were merged, kept while the merge's Undo can bring the
 * memory back exactly (the engine's version is still the merge's): the Undo brings it back too.
 * Set and read in the queue only.
 */
let beforeMerge: { version: number; session: CompareSession } | null = null;

function dropBeforeMerge() {
  beforeMerge?.session.dispose();
  beforeMerge = null;
}

/** The memory's stored drawings with their names, oldest first (a copy of the keys). */
function storedNow(): { key: Float32Array; name: string }[] {
  const m = getEngine().saved();
  const names = new Map(m.labels.map((l) => [l.id, l.name]));
  return [...m.slots].sort((a, b) => b.age - a.age).flatMap((x) => (names.has(x.label) ? [{ key: x.key, name: names.get(x.label)! }] : []));
}

/** Hand `items` to `learn` STUDY_CHUNK at a time, the page getting a turn between chunks. */
async function inChunks<T>(items: readonly T[], learn: (chunk: readonly T[]) => void): Promise<void> {
  for (let i = 0; i < items.length; i += STUDY_CHUNK) {
    learn(items.slice(i, i + STUDY_CHUNK));
    await new Promise((r) => setTimeout(r, 0));
  }
}

/** Teach learners just added (setKinds) the stored drawings; how many each learned. */
async function teachJoined(s: CompareSession, added: readonly CompareKind[], stored: readonly { key: Float32Array; name: string }[]): Promise<number> {
  let taught = 0;
  for (const k of added) {
    taught = 0;
    await inChunks(stored, (chunk) => (taught += s.teachJoined(k, chunk)));
  }
  return taught;
}

/**
 * Start the comparison again: new learners (the same kinds, on or off as before) taught the
 * memory's stored drawings oldest first, without scoring them, so that they know what the memory
 * knows, by name. The drawings are read now, the learners built in the queue (after any change
 * queued before); `why` starts the notice. `merge`: a merge (the session replaced is kept for its
 * Undo) or its Undo (the session kept is brought back, when it is there, instead of new learners).
 */
function restart(why: string, merge?: { what: string; version: number; undo: boolean }) {
  // the memory's drawings as they are now (a Remember queued after this change must not be taught
  // twice), oldest first; none when Compare is off, the default (then no copy of the memory is made)
  const all = sessionNow().enabled ? storedNow() : [];
  enqueue(async () => {
    if (merge?.undo && beforeMerge?.version === merge.version) {
      // the memory is back as it was before the merge: so is the comparison (on/off and learners as now)
      const kept = beforeMerge.session;
      beforeMerge = null;
      const old = sessionNow();
      kept.enabled = old.enabled;
      // a learner ticked since the merge: taught the memory's drawings, as when it was ticked
      await teachJoined(kept, kept.setKinds(old.kinds), all);
      old.dispose();
      session = kept;
      refresh({ answers: null, error: null, notice: `${merge.what}: the comparison is back as it was before the merge` });
      scheduleSave();
      answerCurrent();
      return;
    }
    const fresh = new CompareSession(getEngine().keySize, sessionNow().kinds);
    try {
      fresh.encoder = useApp.getState().encoder ?? null;
      await inChunks(all, (chunk) => fresh.study(chunk));
    } catch (e) {
      fresh.dispose();
      throw e;
    }
    // on or off, and the learners, as chosen now (a change of learners is queued: none came meanwhile)
    const old = sessionNow();
    fresh.enabled = old.enabled;
    fresh.setKinds(old.kinds);
    dropBeforeMerge();
    if (merge && !merge.undo) beforeMerge = { version: merge.version, session: old };
    else old.dispose();
    session = fresh;
    const words = all.length ? `, its learners taught the ${all.length === 1 ? 'one stored drawing' : `${all.length} stored drawings`} of the memory (oldest first)` : '';
    refresh({ answers: null, error: null, notice: `${why}${words}` });
    scheduleSave();
    answerCurrent();
  });
}

/** the memory's version when Compare was turned off in this page (null: not turned off here) */
let offAt: number | null = null;

/**
 * Compare turned on: "times seen" must mean the same for the memory and the learners. Learners that
 * know nothing yet (Compare was off from the start) are first taught the memory's stored drawings;
 * learners that missed changes while Compare was off (or may have: it was off when the page was
 * loaded) start again, taught them, and the notice says so. Nothing is done when the memory is empty
 * or did not change while Compare was off.
 */
function catchUp(s: CompareSession) {
  const a = useApp.getState();
  const missed = offAt === null || a.summary?.version !== offAt;
  offAt = null;
  if (!a.summary?.filled || (!s.isEmpty && !missed)) return;
  restart(s.isEmpty ? 'Compare is on' : 'Compare is on: the memory changed while it was off, so the comparison started again');
}

function onAppChange(s: AppState, prev: AppState) {
  if (s.readOnly !== useCompare.getState().readOnly) useCompare.setState({ readOnly: s.readOnly });
  if (s.ready && !prev.ready) {
    void start();
    return;
  }
  if (!s.ready || !session || !useCompare.getState().loaded) return;
  // this tab takes over from another (writable now): the comparison is the one that tab saved
  if (prev.readOnly && !s.readOnly) {
    enqueue(start);
    return;
  }
  if (s.readOnly) {
    // it follows the other tab's saves (the channel below), and the other tab's encoder once this
    // one has loaded it too (the save of the new comparison may have come first); it still answers
    if (s.encoder !== prev.encoder) enqueue(start);
    else if (s.prediction !== prev.prediction || s.input !== prev.input) answerCurrent();
    return;
  }
  // another encoder: the learners' keys mean nothing to it (another size, or other axes); or the
  // memory replaced whole (an imported file, a link, a copy kept aside): the learners followed
  // another memory, and its label ids mean other names now. Either way the comparison starts again,
  // its learners taught the memory's stored drawings, and says why
  if (s.encoder && prev.encoder && s.encoder !== prev.encoder) {
    restart(`the encoder is now ${s.encoder}: the comparison started again (its learners had learned the keys of ${prev.encoder}, which mean nothing to the new one)`);
    return;
  }
  if (s.replaced && s.replaced !== prev.replaced) {
    restart(`the memory was replaced by ${IMPORT_WORDS[s.replaced.by].what}: the comparison started again`);
    return;
  }
  // two names made one (or parted again): the learners hold them as classes of their own, which
  // cannot be merged or split faithfully (a Hebbian row, a prototype): they learn the memory again
  if (s.relabelled && s.relabelled !== prev.relabelled) {
    restart(`${s.relabelled.what}: the comparison started again`, s.relabelled);
    return;
  }
  // the memory moved on from a merge: its Undo can no longer apply, the comparison kept for it goes
  if (s.summary?.version !== prev.summary?.version) {
    const version = s.summary?.version;
    enqueue(async () => {
      if (beforeMerge && beforeMerge.version !== version) dropBeforeMerge();
    });
  }
  const newWrite = s.lastWrite !== null && s.lastWrite !== prev.lastWrite;
  // a name gone with one drawing (a Remember taken back, a drawing forgotten) or with the oldest
  // drawings a smaller memory forgot is not a user's delete: a Remember taken back is taken back
  // from the learners too (below), exactly; a drawing forgotten later stays in them (they cannot
  // forget one drawing among others), and so do the names a smaller memory dropped, as evicted ones
  const notDeleted = s.namesGoneNotDeleted !== prev.namesGoneNotDeleted;
  // labels renamed or deleted by the user (a label the memory evicted stays in the learners)
  const before = new Map((prev.summary?.labels ?? []).map((l) => [l.id, l.name]));
  const after = new Map((s.summary?.labels ?? []).map((l) => [l.id, l.name]));
  const deleteTag = s.summary?.version;
  // queued like the observes and take-backs, so that each reaches the learners in the app's order
  const changes: (() => void)[] = [];
  for (const [id, name] of before) {
    const now = after.get(id);
    if (now !== undefined && now !== name) {
      changes.push(() => {
        try {
          session!.renameClass(name, now);
        } catch (e) {
          useCompare.setState({ error: `the learners keep "${name}": ${e instanceof Error ? e.message : String(e)}` });
        }
      });
    } else if (now === undefined && !newWrite && !notDeleted) {
      // tagged with the memory's version after the delete: its Undo puts the class back (below)
      changes.push(() => session!.deleteClass(name, deleteTag));
    }
  }
  if (changes.length) {
    enqueue(async () => {
      for (const change of changes) change();
      refresh();
      scheduleSave();
    });
  }
  if (s.takenBack && s.takenBack !== prev.takenBack) {
    const { version } = s.takenBack;
    // a Remember or a delete taken back; queued: the observe of that write may still be on its way
    enqueue(async () => {
      if (session!.takeBack(version)) {
        refresh();
        scheduleSave();
      }
    });
  }
  if (newWrite && session.enabled) {
    const w = s.lastWrite!;
    const tag = s.lastUndo?.write.version;
    const input = s.input;
    if (input) {
      enqueue(async () => {
        const key = (await getEngine().encode(input)).value;
        session!.observe(key, w.name, w.case === 'update', tag);
        refresh();
        scheduleSave();
      });
    } else {
      useCompare.setState({ error: `"${w.name}" was remembered without a drawing on the canvas; the learners did not see it` });
    }
  }
  if (s.prediction !== prev.prediction || s.input !== prev.input) answerCurrent();
}

/** The stored drawings closest to the Hebbian rows of these classes (the rows the view shows). */
export function hebbianNearest(names: readonly string[], k = 3): Map<string, { slot: number; similarity: number }[]> {
  if (!session || names.length === 0) return new Map();
  const rows = session.hebbianRows(getEngine().filledKeys(), k, new Set(names));
  return new Map(rows.map((r) => [r.name, r.nearest]));
}

/** Load the saved comparison once the engine is ready (its key size is known). */
async function start() {
  let note: string | null = null;
  reloadWanted = false;
  try {
    const raw = await loadCompare().catch(() => undefined);
    if (raw !== undefined) {
      try {
        // the new one first: the one in use stays whole if the file is refused
        const loaded = CompareSession.fromFile(raw, getEngine().keySize, useApp.getState().encoder ?? undefined);
        session?.dispose();
        session = loaded;
      } catch (e) {
        note = `the saved comparison could not be restored (${e instanceof Error ? e.message : String(e)}); starting a new one`;
        session?.dispose();
        session = null;
      }
    }
  } finally {
    sessionNow();
    refresh({ loaded: true, error: note });
    answerCurrent();
    if (reloadWanted) enqueue(start); // a save announced while this one was loading
  }
}
/** a save by the other tab was announced before this tab had loaded the comparison */
let reloadWanted = false;

let installed = false;
/** Follow the app's store (call once, at start). */
export function installCompare(): void {
  if (installed) return;
  installed = true;
  beforeHandover.push(flushCompare);
  useApp.subscribe(onAppChange);
  useCompare.setState({ readOnly: useApp.getState().readOnly });
  if (saved) {
    saved.onmessage = () => {
      if (!useApp.getState().readOnly) return;
      if (useCompare.getState().loaded) enqueue(start);
      else reloadWanted = true;
    };
  }
  if (useApp.getState().ready) void start();
  (window as unknown as { __memoryLabCompare?: unknown }).__memoryLabCompare = {
    state: () => {
      const c = useCompare.getState();
      return { loaded: c.loaded, enabled: c.enabled, kinds: c.kinds, answers: c.answers, curve: c.curve, events: c.events, hebbian: c.hebbian, error: c.error, notice: c.notice, readOnly: c.readOnly };
    },
    flush: flushCompare,
  };
}

export { COMPARE_KINDS };
