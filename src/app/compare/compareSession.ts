/**
 * Compare mode's core (plain TS, no React): every remembered drawing's key goes to the learners of
 * src/learners beside the app's key-value memory. Classes are the app's label names (a label the
 * memory evicted stays known to the other learners: that is the comparison). Before each learner
 * observes a drawing it predicts it, so the session keeps, per learner, whether it was right by
 * the number of times the class had been seen: the app's accuracy-by-sightings curve. The
 * memory's own answer before the write is the update rule's case: V[n1] == v exactly when the
 * write was case 1 ('update').
 */
import { z } from 'zod';
import { SIGHTING_BINS } from '../../eval/learners';
import { createLearner, learnerSnapshotSchema, parseLearnerSnapshot, type Learner, type LearnerKind, type LearnerSnapshot } from '../../learners';
import { HebbianSoftmax } from '../../learners/hebbian';

export const COMPARE_KINDS = ['hebbian', 'prototypes', 'sgd-softmax'] as const;
export type CompareKind = (typeof COMPARE_KINDS)[number];
/** every column of the comparison: the memory, then the learners */
export type CompareColumn = 'memory' | CompareKind;

export const COMPARE_FORMAT = 'memory-lab/compare';
export const COMPARE_VERSION = 1;
/** events kept for the curve (the oldest are dropped beyond this) */
export const MAX_HISTORY = 5000;

export interface CompareEvent {
  /** times the class had been seen before this drawing (by the memory, and by every learner there from the start) */
  sightings: number;
  /** a learner added later: times it had seen the class (where that differs from `sightings`) */
  by?: Partial<Record<CompareKind, number>>;
  /** per column present at the time: was its answer right before it learned the drawing */
  correct: Partial<Record<CompareColumn, boolean>>;
}

export interface CompareAnswer {
  column: CompareColumn;
  /** class name, or null when the learner knows no class yet */
  name: string | null;
  confidence: number;
}

export interface CurvePoint {
  bin: string;
  /** accuracy in % per column (absent: no event in this bin) */
  values: Partial<Record<CompareColumn, number>>;
  /** events in the bin */
  n: number;
}

export interface HebbianRowView {
  name: string;
  /** c_i */
  count: number;
  /** lambda_i of the next sighting (0: frozen at T) */
  lambda: number;
  /** |theta_i| */
  norm: number;
  /** the stored drawings whose keys are closest to theta_i (cosine), best first */
  nearest: { slot: number; similarity: number }[];
}

const kindSchema = z.enum(COMPARE_KINDS);
export const compareFileSchema = z.object({
  format: z.literal(COMPARE_FORMAT),
  version: z.literal(COMPARE_VERSION),
  keySize: z.number().int().min(1),
  /** the encoder whose keys the learners learned (absent in files saved before it was recorded) */
  encoder: z.string().min(1).optional(),
  enabled: z.boolean(),
  kinds: z.array(kindSchema),
  classes: z.array(z.object({ id: z.number().int().min(0), name: z.string().min(1).max(80), sightings: z.number().int().min(0) })),
  history: z
    .array(
      z.object({
        sightings: z.number().int().min(0),
        by: z.partialRecord(kindSchema, z.number().int().min(0)).optional(),
        correct: z.partialRecord(z.enum(['memory', ...COMPARE_KINDS]), z.boolean()),
      }),
    )
    .max(MAX_HISTORY),
  learners: z.array(learnerSnapshotSchema),
  /** per learner added after classes were seen: each class's sightings when it joined */
  joined: z.partialRecord(kindSchema, z.record(z.string(), z.number().int().min(0))).optional(),
});
export type CompareFile = z.infer<typeof compareFileSchema>;

interface SessionState {
  tag: number;
  learners: LearnerSnapshot[];
  classes: Map<string, { id: number; sightings: number }>;
  joined: Map<CompareKind, Map<string, number>>;
  nextId: number;
  history: CompareEvent[];
}

const copyJoined = (j: Map<CompareKind, Map<string, number>>) => new Map([...j].map(([k, m]) => [k, new Map(m)]));

export class CompareSession {
  readonly keySize: number;
  /** the encoder whose keys the learners learn (null: not known); another encoder's keys mean nothing to them */
  encoder: string | null = null;
  enabled = false;
  private learners = new Map<CompareKind, Learner>();
  /** name -> class id used by the learners, and sightings so far */
  private classes = new Map<string, { id: number; sightings: number }>();
  private nextId = 0;
  /**
   * a learner added once classes had been seen starts empty: each class's sightings when it joined,
   * so that its answers are scored by the times it saw the class, not the session's
   */
  private joined = new Map<CompareKind, Map<string, number>>();
  history: CompareEvent[] = [];
  /**
   * the session as it was before the last change that came with a tag (the app's memory version
   * right after its own change: a Remember, a deleted name), to take it back exactly (the app's
   * Undo); any other change to the session ends it
   */
  private beforeLast: SessionState | null = null;

  constructor(keySize: number, kinds: readonly CompareKind[] = ['hebbian']) {
    this.keySize = keySize;
    this.setKinds(kinds);
  }

  get kinds(): CompareKind[] {
    return COMPARE_KINDS.filter((k) => this.learners.has(k));
  }

  /** whether the session knows nothing yet (no class, no scored drawing) */
  get isEmpty(): boolean {
    return this.classes.size === 0 && this.history.length === 0;
  }

  /**
   * Learners to compare; a new one starts empty: the caller teaches it the memory's stored drawings
   * (`teachJoined`), and it is scored by the times it has seen a class itself. A learner left out is
   * dropped with what it learned.
   * @returns the learners added
   */
  setKinds(kinds: readonly CompareKind[]): CompareKind[] {
    for (const k of kinds) if (!COMPARE_KINDS.includes(k)) throw new Error(`expected learners among ${COMPARE_KINDS.join(', ')}, got ${String(k)}`);
    this.beforeLast = null;
    for (const [k, l] of this.learners) {
      if (!kinds.includes(k)) {
        l.dispose();
        this.learners.delete(k);
        this.joined.delete(k);
      }
    }
    const added: CompareKind[] = [];
    for (const k of kinds) {
      if (this.learners.has(k)) continue;
      this.learners.set(k, createLearner({ kind: k, keySize: this.keySize }));
      if (this.classes.size > 0) this.joined.set(k, new Map([...this.classes].map(([name, c]) => [name, c.sightings])));
      added.push(k);
    }
    return added;
  }

  /**
   * Teach a learner added by `setKinds` stored drawings (the memory's, oldest first; in chunks if
   * need be), without scoring: it starts from what the memory knows, like the learners that were
   * there. Each drawing counts as one of its sightings of the class. A drawing of a class the
   * session does not know is skipped: the other learners do not know it either. Returns how many it
   * learned. Every key is checked before the learner changes.
   */
  teachJoined(kind: CompareKind, items: readonly { key: Float32Array; name: string }[]): number {
    const l = this.learners.get(kind);
    if (!l) throw new Error(`the ${kind} learner is not in the comparison`);
    const names = items.map(({ key, name }) => this.checked(key, name));
    this.beforeLast = null;
    const since = this.joined.get(kind);
    let taught = 0;
    items.forEach(({ key }, i) => {
      const c = this.classes.get(names[i]);
      if (!c) return;
      l.observe(key, c.id);
      taught++;
      // its own count of the class: the session's minus what it did not see
      const s = since?.get(names[i]);
      if (s !== undefined) since!.set(names[i], Math.max(0, s - 1));
    });
    return taught;
  }

  private nameOf(id: number): string | null {
    for (const [name, c] of this.classes) if (c.id === id) return name;
    return null;
  }

  /** Each learner's answer for a key (the memory's comes from the app's own prediction). */
  predict(key: Float32Array): CompareAnswer[] {
    return this.kinds.map((k) => {
      const p = this.learners.get(k)!.predict(key);
      return { column: k, name: p.label < 0 ? null : this.nameOf(p.label), confidence: p.confidence };
    });
  }

  /**
   * A remembered drawing: each learner predicts it, is scored, then observes it.
   * @param memoryCorrect whether the memory's V[n1] was the label before its write (case 'update')
   * @param tag the app's memory version right after its write: takeBack(tag) undoes this drawing
   */
  observe(key: Float32Array, name: string, memoryCorrect: boolean, tag?: number): CompareEvent {
    const clean = this.checked(key, name);
    const before = tag === undefined ? null : this.stateNow(tag);
    this.beforeLast = null;
    const correct: CompareEvent['correct'] = { memory: memoryCorrect };
    const answers = [...this.learners].map(([k, l]) => [k, l.predict(key).label] as const);
    // observe only after every learner predicted: a failed observe leaves no half-learned drawing behind
    const c = this.learn(key, clean);
    const by: NonNullable<CompareEvent['by']> = {};
    for (const [k, label] of answers) {
      correct[k] = label === c.id;
      const since = this.joined.get(k)?.get(clean);
      if (since) by[k] = c.sightings - since;
    }
    const event: CompareEvent = Object.keys(by).length ? { sightings: c.sightings, by, correct } : { sightings: c.sightings, correct };
    // a new array: the one before stays whole for takeBack
    this.history = [...this.history, event].slice(-MAX_HISTORY);
    this.beforeLast = before;
    return event;
  }

  /**
   * Learn stored drawings without scoring them (no curve point): a memory that replaced the one the
   * learners followed (an imported file, a link), its drawings oldest first, so that they know what
   * the memory knows. Every key is checked before any learner changes.
   */
  study(items: readonly { key: Float32Array; name: string }[]): void {
    const names = items.map(({ key, name }) => this.checked(key, name));
    this.beforeLast = null;
    items.forEach(({ key }, i) => this.learn(key, names[i]));
  }

  /** A drawing's class name, trimmed, once the name and the key are checked (throws otherwise). */
  private checked(key: Float32Array, name: string): string {
    const clean = name.trim();
    if (!clean) throw new Error('expected a class name, got an empty one');
    if (key.length !== this.keySize) throw new Error(`expected a key of size ${this.keySize}, got ${key.length}`);
    return clean;
  }

  /** Every learner observes the key under its class (known, or a new id); returns the class and its sightings before this one. */
  private learn(key: Float32Array, name: string): { id: number; sightings: number } {
    const known = this.classes.get(name);
    const id = known?.id ?? this.nextId;
    for (const l of this.learners.values()) l.observe(key, id);
    if (!known) this.nextId++;
    const sightings = known?.sightings ?? 0;
    this.classes.set(name, { id, sightings: sightings + 1 });
    return { id, sightings };
  }

  /** The session now, to take a change back (O(classes x keySize) per learner; never the app's memory). */
  private stateNow(tag: number): SessionState {
    return {
      tag,
      learners: this.kinds.map((k) => this.learners.get(k)!.snapshot()),
      classes: new Map(this.classes),
      joined: copyJoined(this.joined),
      nextId: this.nextId,
      history: this.history,
    };
  }

  /**
   * Take back the last change that came with this tag (the app took that Remember or delete back):
   * every learner, class and the curve are as before it. False (nothing changes) when the session
   * changed since, or the change never reached it (Compare was off, the class was unknown).
   */
  takeBack(tag: number): boolean {
    const b = this.beforeLast;
    if (!b || b.tag !== tag) return false;
    this.beforeLast = null;
    const kinds = this.kinds;
    // every snapshot checked before any learner changes: all of them are restored, or none
    kinds.forEach((k, i) => parseLearnerSnapshot(b.learners[i], k, this.keySize));
    kinds.forEach((k, i) => this.learners.get(k)!.restore(b.learners[i]));
    this.classes = b.classes;
    this.joined = b.joined;
    this.nextId = b.nextId;
    this.history = b.history;
    return true;
  }

  renameClass(from: string, to: string): void {
    const c = this.classes.get(from);
    if (!c || from === to) return;
    if (this.classes.has(to)) throw new Error(`a class named "${to}" exists already`);
    this.beforeLast = null;
    this.classes.delete(from);
    this.classes.set(to, c);
    for (const m of this.joined.values()) {
      const since = m.get(from);
      m.delete(from);
      if (since !== undefined) m.set(to, since);
    }
  }

  /**
   * Forget a class in every learner (the user deleted its label). With a tag (the app's memory
   * version after the delete), takeBack(tag) puts it back; classes deleted by one change share it.
   */
  deleteClass(name: string, tag?: number): void {
    const c = this.classes.get(name);
    if (!c) return;
    const before = tag === undefined ? null : this.beforeLast?.tag === tag ? this.beforeLast : this.stateNow(tag);
    this.beforeLast = before;
    for (const l of this.learners.values()) if (l.labels().includes(c.id)) l.deleteLabel(c.id);
    this.classes.delete(name);
    for (const m of this.joined.values()) m.delete(name);
  }

  /** Forget everything (learners empty, history cleared). */
  reset(): void {
    const kinds = this.kinds;
    for (const l of this.learners.values()) l.dispose();
    this.learners.clear();
    this.classes.clear();
    this.joined.clear();
    this.nextId = 0;
    this.history = [];
    this.setKinds(kinds);
  }

  /**
   * Accuracy by sightings over the session, per column (SIGHTING_BINS, as `npm run eval`): each
   * column by the times it had seen the class (a learner added later: its own count).
   */
  curve(): CurvePoint[] {
    const seen = (e: CompareEvent, col: CompareColumn) => (col === 'memory' ? e.sightings : (e.by?.[col] ?? e.sightings));
    return SIGHTING_BINS.map((b) => {
      const inBin = (e: CompareEvent, col: CompareColumn) => seen(e, col) >= b.lo && seen(e, col) <= b.hi;
      const values: CurvePoint['values'] = {};
      for (const col of ['memory', ...COMPARE_KINDS] as CompareColumn[]) {
        const scored = this.history.filter((e) => e.correct[col] !== undefined && inBin(e, col));
        if (scored.length > 0) values[col] = (100 * scored.filter((e) => e.correct[col]).length) / scored.length;
      }
      return { bin: b.label, values, n: this.history.filter((e) => inBin(e, 'memory')).length };
    });
  }

  /**
   * The Hebbian softmax's rows with c_i, lambda_i and |theta_i| (O(classes x keySize)); with
   * `stored`, also the `k` stored keys closest to each row of `only` (every row when absent), a scan
   * of O(rows x stored x keySize): the view asks it for the rows it shows.
   */
  hebbianRows(stored?: { slots: number[]; keys: Float32Array }, k = 3, only?: ReadonlySet<string>): HebbianRowView[] {
    const h = this.learners.get('hebbian');
    if (!(h instanceof HebbianSoftmax)) return [];
    const d = this.keySize;
    return [...this.classes]
      .filter(([name, c]) => h.count(c.id) > 0 && (!only || only.has(name)))
      .map(([name, c]) => {
        const theta = h.row(c.id)!;
        let nn = 0;
        for (const x of theta) nn += x * x;
        const norm = Math.sqrt(nn);
        // the k best in one pass (no sort of every stored key)
        const nearest: { slot: number; similarity: number }[] = [];
        if (stored) {
          stored.slots.forEach((slot, j) => {
            let s = 0;
            for (let i = 0; i < d; i++) s += theta[i] * stored.keys[j * d + i];
            const similarity = norm > 0 ? s / norm : 0;
            if (nearest.length === k && similarity <= nearest[k - 1].similarity) return;
            let at = nearest.length;
            while (at > 0 && nearest[at - 1].similarity < similarity) at--;
            nearest.splice(at, 0, { slot, similarity });
            if (nearest.length > k) nearest.pop();
          });
        }
        return { name, count: h.count(c.id), lambda: h.nextLambda(c.id), norm, nearest };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  snapshot(): CompareFile {
    return {
      format: COMPARE_FORMAT,
      version: COMPARE_VERSION,
      keySize: this.keySize,
      ...(this.encoder ? { encoder: this.encoder } : {}),
      enabled: this.enabled,
      kinds: this.kinds,
      classes: [...this.classes].map(([name, c]) => ({ id: c.id, name, sightings: c.sightings })),
      history: this.history.map((e) => ({ sightings: e.sightings, ...(e.by ? { by: { ...e.by } } : {}), correct: { ...e.correct } })),
      learners: this.kinds.map((k) => this.learners.get(k)!.snapshot()),
      ...(this.joined.size ? { joined: Object.fromEntries([...this.joined].map(([k, m]) => [k, Object.fromEntries(m)])) } : {}),
    };
  }

  /**
   * A session from a saved file; validates everything first (schema, key size, one snapshot per
   * kind, class ids) and throws an Error saying what is wrong.
   */
  static fromFile(data: unknown, keySize: number, encoder?: string): CompareSession {
    const r = compareFileSchema.safeParse(data);
    if (!r.success) {
      const detail = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ');
      throw new Error(`invalid compare file: ${detail}`);
    }
    const f = r.data;
    if (f.keySize !== keySize) throw new Error(`the compare file holds keys of size ${f.keySize}, but this encoder makes keys of size ${keySize}`);
    if (encoder !== undefined && f.encoder !== undefined && f.encoder !== encoder) {
      throw new Error(`its learners learned the keys of the encoder ${f.encoder}, and ${encoder} is in use`);
    }
    const kinds = f.learners.map((l) => l.kind as LearnerKind);
    if (kinds.length !== f.kinds.length || f.kinds.some((k, i) => kinds[i] !== k)) {
      throw new Error(`invalid compare file: learners ${kinds.join(', ')} do not match kinds ${f.kinds.join(', ')}`);
    }
    const ids = new Set<number>();
    for (const c of f.classes) {
      if (ids.has(c.id)) throw new Error(`invalid compare file: class id ${c.id} appears twice`);
      ids.add(c.id);
    }
    if (new Set(f.classes.map((c) => c.name)).size !== f.classes.length) throw new Error('invalid compare file: a class name appears twice');
    const s = new CompareSession(keySize, []);
    try {
      s.setKinds(f.kinds);
      f.learners.forEach((snap, i) => {
        const l = s.learners.get(f.kinds[i])!;
        l.restore(snap);
        const unknown = l.labels().find((id) => !ids.has(id));
        if (unknown !== undefined) throw new Error(`invalid compare file: the ${f.kinds[i]} learner knows class id ${unknown}, which is not in classes`);
      });
    } catch (e) {
      s.dispose();
      throw e;
    }
    s.enabled = f.enabled;
    s.encoder = f.encoder ?? encoder ?? null;
    s.classes = new Map(f.classes.map((c) => [c.name, { id: c.id, sightings: c.sightings }]));
    s.nextId = f.classes.reduce((m, c) => Math.max(m, c.id + 1), 0);
    s.history = f.history.map((e) => ({ sightings: e.sightings, ...(e.by ? { by: { ...e.by } } : {}), correct: { ...e.correct } }));
    // a learner's own counts never exceed the session's (a file that says otherwise is cleaned, not trusted)
    s.joined = new Map(
      Object.entries(f.joined ?? {}).flatMap(([k, m]) =>
        f.kinds.includes(k as CompareKind) && m
          ? [[k as CompareKind, new Map(Object.entries(m).filter(([name, since]) => since <= (s.classes.get(name)?.sightings ?? -1)))]]
          : [],
      ),
    );
    for (const e of s.history) {
      if (!e.by) continue;
      for (const k of Object.keys(e.by) as CompareKind[]) if (e.by[k]! > e.sightings) delete e.by[k];
      if (Object.keys(e.by).length === 0) delete e.by;
    }
    return s;
  }

  dispose(): void {
    for (const l of this.learners.values()) l.dispose();
    this.learners.clear();
  }
}
