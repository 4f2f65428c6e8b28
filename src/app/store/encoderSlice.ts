/**
 * The encoder choice (issue 8): which bundled encoder (models/encoders.json) makes the keys. The
 * store holds plain data (the list, the name in use, the progress of a switch); the Engine loads
 * the model and re-encodes the memory. A switch is saved like every change: the autosave records
 * the encoder that made its keys, which is also the choice the next start uses.
 */
import type { StateCreator } from 'zustand';
import { loadEncoderRegistry, LEGACY_ENCODER, type EncoderEntry } from '../../encoder';
import { FALLBACK_ENCODER, REGISTRY_URL, type EncoderSwitchProgress, type Engine, type RestoreReport } from '../engine';
import { putAside, storedOf, type StoredAutosave } from '../autosave';
import type { ReencodeReport } from '../reencode';
import type { AppState, Message } from './index';
import { cutoffOf } from '../types';

export interface EncoderSlice {
  /** the bundled encoders (models/encoders.json), the default first */
  encoders: EncoderEntry[];
  /** the name of the encoder in use (null: starting) */
  encoder: string | null;
  /** a switch in progress: loading the model, then re-encoding the stored drawings */
  encoderSwitch: EncoderSwitchProgress | null;
  /** Use the encoder `name`, re-encoding the memory; false when refused or failed (see the message). */
  switchEncoder: (name: string) => Promise<boolean>;
}

/** What the slice needs from the store's module (kept there: the engine, the autosave chain). */
export interface EncoderSliceDeps {
  engine: () => Engine | null;
  /** why the memory cannot be changed now (null: it can) */
  changeRefused: (s: AppState) => string | null;
  /** write the whole memory to the autosave; resolves to why it is not saved (null: saved) */
  saveWhole: () => Promise<string | null>;
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** A re-encoding report in words, e.g. "2 drawings could not be re-encoded (slot 3 "a": its stored drawing is blank)". */
export function reencodeInWords(report: ReencodeReport, names: Map<number, string>): string {
  const name = (id: number) => names.get(id) ?? `#${id}`;
  let s = `${report.kept} drawing${report.kept === 1 ? '' : 's'} re-encoded`;
  if (report.dropped.length) {
    const shown = report.dropped.slice(0, 5).map((d) => `slot ${d.slot} "${name(d.label)}": ${d.reason}`);
    const more = report.dropped.length > 5 ? `; and ${report.dropped.length - 5} more` : '';
    s += `; ${report.dropped.length} could not be and were left out (${shown.join('; ')}${more})`;
  }
  if (report.droppedLabels.length) s += `; labels left with no drawing: ${report.droppedLabels.map((l) => `"${name(l)}"`).join(', ')}`;
  return s;
}

export const createEncoderSlice =
  (deps: EncoderSliceDeps): StateCreator<AppState, [], [], EncoderSlice> =>
  (set, get) => ({
    encoders: [],
    encoder: null,
    encoderSwitch: null,
    switchEncoder: async (name) => {
      const e = deps.engine();
      const refused = e ? deps.changeRefused(get()) : 'the app is still starting';
      const fail = (text: string): false => {
        set({ message: { kind: 'error', text: `encoder not changed: ${text}` } });
        return false;
      };
      if (refused || !e) return fail(refused ?? 'the app is still starting');
      const entry = get().encoders.find((x) => x.name === name);
      if (!entry) return fail(`no encoder named "${name}" (this app ships ${get().encoders.map((x) => `"${x.name}"`).join(', ')})`);
      if (entry.name === e.encoderEntry.name) return fail(`"${name}" is already in use`);
      const names = new Map(e.labelList().map((l) => [l.id, l.name]));
      const cutoffBefore = e.settings.nearCutoff;
      const from = e.encoderEntry.name;
      set({ busy: true, encoderSwitch: { phase: 'loading' } });
      try {
        const report = await e.switchEncoder(entry, (p) => set({ encoderSwitch: p }));
        const lost = report.dropped.length > 0;
        // drawings left out: the memory as it was is kept aside before the new one is saved over it
        let aside = '';
        if (report.before) {
          const n = report.dropped.length;
          aside = await putAside(storedOf(report.before), `the memory before the switch from "${from}" to "${entry.name}" (${n} drawing${n === 1 ? '' : 's'} could not be re-encoded)`)
            .then(() => {
              void get().refreshAside();
              return '; the memory as it was before the switch is kept aside (Labels → Copies kept aside)';
            })
            .catch((err) => `; the memory before the switch could not be kept aside (${errorText(err)})`);
        }
        const why = await deps.saveWhole();
        const cutoff = e.settings.nearCutoff;
        const cutoffWords =
          cutoff !== cutoffBefore
            ? `; ${cutoffMovedWords(cutoffBefore, cutoff, entry)}`
            : cutoff !== cutoffOf(entry)
              ? `; your “not sure” cut-off ${cutoff} is kept (recommended for this encoder: ${cutoffOf(entry)}; Settings → “Not sure” cut-off → Use the recommended ${cutoffOf(entry)}, then Apply)`
              : '';
        set({
          encoder: e.encoderEntry.name,
          settings: { ...e.settings },
          summary: e.summary(),
          lastWrite: null, lastUndo: null,
          message: {
            kind: lost || why ? 'warning' : 'info',
            text: `now using the encoder "${entry.name}": ${reencodeInWords(report, names)}${aside}${cutoffWords}${why ? ` — but it is not saved: ${why}` : ''}`,
          },
        });
        get().requestPrediction();
        return true;
      } catch (err) {
        return fail(errorText(err));
      } finally {
        set({ busy: false, encoderSwitch: null });
      }
    },
  });

/** The encoder that made a stored autosave's keys (null: nothing stored or unreadable). */
export function savedEncoderOf(stored: StoredAutosave): string | null {
  if (stored.kind === 'none') return null;
  const rec = (stored.kind === 'slots' ? stored.meta : stored.record) as { encoder?: unknown } | null;
  if (rec === null || typeof rec !== 'object') return null;
  return typeof rec.encoder === 'string' ? rec.encoder : LEGACY_ENCODER;
}

/**
 * The encoders and the one to start with: the saved memory's encoder when this app ships it (the
 * choice persists with the memory), else the registry's first. A registry that cannot be read
 * leaves the bundled encoder, with a note saying why.
 */
export async function encodersForStart(stored: StoredAutosave): Promise<{ list: EncoderEntry[]; entry: EncoderEntry; note: string | null }> {
  let list: EncoderEntry[];
  let note: string | null = null;
  try {
    list = (await loadEncoderRegistry(REGISTRY_URL)).encoders;
  } catch (err) {
    list = [FALLBACK_ENCODER];
    note = `the list of encoders could not be read (${errorText(err)}); using the bundled "${FALLBACK_ENCODER.name}"`;
  }
  const saved = savedEncoderOf(stored);
  const entry = list.find((x) => x.name === saved) ?? list[0];
  return { list, entry, note };
}

/** Start with `entry`; when that fails and it is not the default, start with the default and say why. */
export async function startWithEncoder(
  start: (entry: EncoderEntry) => Promise<Engine>,
  entry: EncoderEntry,
  list: EncoderEntry[],
): Promise<{ engine: Engine; note: string | null }> {
  try {
    return { engine: await start(entry), note: null };
  } catch (err) {
    const fallback = list[0];
    if (!fallback || fallback.name === entry.name) throw err;
    const engine = await start(fallback);
    return { engine, note: `the chosen encoder "${entry.name}" could not start (${errorText(err)}); using "${fallback.name}"` };
  }
}

/** The message after restoring a memory that another encoder made (null: nothing was re-encoded). */
export function restoredReencodedMessage(madeBy: string, e: Engine, report: RestoreReport | null, names: Map<number, string>): Message {
  if (!report) return null;
  const moved = report.cutoffMoved;
  return {
    kind: report.dropped.length ? 'warning' : 'info',
    text: `${
      report.earlierVersion
        ? `This memory was made with an earlier version of the encoder "${madeBy}"; it was re-encoded with the current one`
        : `This memory was made with the encoder "${madeBy}"; it was re-encoded for "${e.encoderEntry.name}"`
    }: ${reencodeInWords(report, names)}${moved ? `; ${cutoffMovedWords(moved.from, moved.to, e.encoderEntry)}` : ''}.`,
  };
}

/** A cut-off that followed the encoder (a switch, a restore that re-encoded), and where the new one comes from. */
function cutoffMovedWords(from: number, to: number, entry: { nearCutoff?: number }): string {
  const why = entry.nearCutoff !== undefined ? 'the value recommended for this encoder' : 'the general default (none was measured for this encoder)';
  return `the “not sure” cut-off changed from ${from} to ${to}, ${why}`;
}

/**
 * The calibrated "not sure" cut-off of the encoder that made a saved memory (its name; absent in old
 * files: the legacy encoder), from the registry; one no longer shipped counts as the general default.
 */
export function makerCutoffOf(madeBy: string | null | undefined, list: EncoderEntry[]): number {
  const name = madeBy ?? LEGACY_ENCODER;
  return cutoffOf(list.find((x) => x.name === name) ?? {});
}

/** The encoder in use (before the app has started: the default; without a registry: the bundled one). */
export function encoderEntryInUse(s: Pick<EncoderSlice, 'encoders' | 'encoder'>): EncoderEntry {
  return s.encoders.find((x) => x.name === s.encoder) ?? s.encoders[0] ?? FALLBACK_ENCODER;
}
