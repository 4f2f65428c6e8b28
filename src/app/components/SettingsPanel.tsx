import { useEffect, useState } from 'react';
import { encoderEntryInUse, useApp } from '../store';
import { focusLater, keepFocus } from './keys';
import { Question } from './Question';
import { shrinkLoss } from '../shrink';
import { backendInWords, lookupInWords, skipInWords } from '../tfjsBackend';
import { cutoffOf, defaultSettingsFor, SETTING_BOUNDS, type BackendChoice, type BoundedSetting, type LookupMode, type Settings } from '../types';

const fmt = (ms: number | null) => (ms === null ? '—' : `${ms.toFixed(1)} ms`);
/** a backend choice in words, while the switch runs */
const BACKEND_WORDS: Record<BackendChoice, string> = { auto: 'the fastest backend that works', webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WebAssembly' };

/** What each number means, for a teacher as much as for a researcher. */
const HELP: Record<BoundedSetting, { label: string; help: string; step: number }> = {
  memorySize: {
    label: 'Memory size (slots)',
    help: 'How many drawings the memory holds. When it is full, a new drawing replaces one of the oldest (see Age noise); a smaller size keeps the youngest.',
    step: 1,
  },
  k: { label: 'Neighbours k', help: 'How many stored drawings each new drawing is compared with (the paper uses 256).', step: 1 },
  t: { label: 'Inverse temperature t', help: 'How sharp the confidence is: higher gives the closest drawing more of the weight (paper: 40).', step: 0.1 },
  alpha: { label: 'Margin α', help: 'How much closer a drawing should be to its own label than to others, in the memory loss shown after each write (paper: 0.1; the Encoder section below says how the encoder was trained).', step: 0.01 },
  ageNoise: { label: 'Age noise', help: 'When the memory is full, the slot replaced is the oldest by age plus a little noise (the paper’s argmax(A + r)): here each age gets a random 0 to this many extra writes (the reference code draws −8 to 8, a spread of 16). In a small memory a young drawing can go; 0 always replaces the oldest.', step: 1 },
  nearCutoff: {
    label: '“Not sure” cut-off',
    help: 'Below this similarity the app says “not sure” and shows its best guess.',
    step: 0.01,
  },
};

/** What is wrong with a setting's value (null: fine), said next to its field. */
export function settingProblem(key: BoundedSetting, v: number): string | null {
  const b = SETTING_BOUNDS[key];
  if (!Number.isFinite(v)) return 'type a number';
  if (b.integer && !Number.isInteger(v)) return 'a whole number';
  if (v < b.min || v > b.max) return `between ${b.min} and ${b.max.toLocaleString('en')}`;
  return null;
}

/** Memory and lookup settings, the backend choice; help per parameter, inline checks, defaults. */
export function SettingsPanel() {
  const settings = useApp((s) => s.settings);
  const apply = useApp((s) => s.applySettings);
  const busy = useApp((s) => s.busy || s.readOnly);
  const [draft, setDraft] = useState<Settings>(settings);
  // defaults follow the encoder in use: each has its own calibrated "not sure" cut-off
  const entry = useApp(encoderEntryInUse);
  const defaults = defaultSettingsFor(entry);
  const ready = useApp((s) => s.ready);
  useEffect(() => setDraft(settings), [settings]);

  const problems = (Object.keys(HELP) as BoundedSetting[]).map((k) => [k, settingProblem(k, draft[k] as number)] as const);
  const invalid = problems.some(([, p]) => p !== null);
  const changed = JSON.stringify(draft) !== JSON.stringify(settings);
  // a smaller memory than its drawings forgets the oldest: said, and asked, before Apply does it
  const summary = useApp((s) => s.summary);
  const loss =
    summary && !invalid && draft.memorySize < summary.filled ? shrinkLoss(summary.values, summary.ages, draft.memorySize) : null;
  const lostNames = loss ? loss.labels.map((id) => summary!.labels.find((l) => l.id === id)?.name ?? `#${id}`) : [];
  const [confirmShrink, setConfirmShrink] = useState(false);
  const asking = confirmShrink && loss !== null;
  useEffect(() => setConfirmShrink(false), [draft.memorySize]);
  const [applying, setApplying] = useState<string | null>(null);

  const num = (key: BoundedSetting) => {
    const b = SETTING_BOUNDS[key];
    const problem = problems.find(([k]) => k === key)![1];
    return (
      <div className="field" key={key}>
        <label htmlFor={`setting-${key}`}>{HELP[key].label}</label>
        <input
          id={`setting-${key}`}
          type="number"
          data-testid={`setting-${key}`}
          min={b.min}
          max={b.max}
          step={b.integer ? 1 : 'any'}
          value={Number.isFinite(draft[key] as number) ? (draft[key] as number) : ''}
          aria-invalid={problem !== null}
          aria-describedby={`help-${key}`}
          onChange={(e) => setDraft({ ...draft, [key]: e.target.valueAsNumber })}
        />
        <small id={`help-${key}`} className={problem ? 'field-error' : 'help'} data-testid={`help-${key}`}>
          {problem
            ? `${HELP[key].label}: ${problem}`
            : key === 'nearCutoff'
              ? `${HELP[key].help} ${
                  entry.nearCutoff !== undefined
                    ? `Recommended for this encoder: ${entry.nearCutoff} (measured on alphabets held out of its training).`
                    : `No value was measured for this encoder; ${cutoffOf(entry)} is the general default.`
                }`
              : HELP[key].help}
        </small>
        {key === 'nearCutoff' && draft.nearCutoff !== cutoffOf(entry) && (
          <button type="button" className="link-button" data-testid="use-encoder-cutoff" onClick={() => setDraft({ ...draft, nearCutoff: cutoffOf(entry) })} disabled={busy}>
            Use the recommended {cutoffOf(entry)}
          </button>
        )}
      </div>
    );
  };

  // before the start the values are placeholders (the saved memory's settings and the encoder's
  // cut-off come with it): nothing is shown that would change a moment later
  if (!ready) {
    return (
      <section className="panel settings" aria-labelledby="settings-h">
        <h2 id="settings-h">Settings</h2>
        <p className="muted" data-testid="settings-waiting">
          The settings appear here once the encoder has loaded.
        </p>
      </section>
    );
  }

  return (
    <section className="panel settings" aria-labelledby="settings-h">
      <h2 id="settings-h">Settings</h2>
      <form
        noValidate // checked by settingProblem, said next to each field (the browser's step check blocked t = 40)
        onSubmit={(e) => {
          e.preventDefault();
          if (invalid || !changed) return;
          if (loss && !confirmShrink) {
            setConfirmShrink(true);
            return;
          }
          setConfirmShrink(false);
          // said while it runs: a backend switch or a large memory takes a few seconds
          setApplying(draft.backend !== settings.backend ? `switching to ${BACKEND_WORDS[draft.backend]}…` : 'applying…');
          const from = document.activeElement;
          void apply(draft).finally(() => {
            setApplying(null);
            // Apply goes disabled (nothing left to apply): the keyboard goes to what was said about it
            keepFocus('message', from);
          });
        }}
        aria-busy={applying !== null}
      >
        {num('nearCutoff')}
        {num('memorySize')}
        {num('k')}
        {num('t')}
        {num('alpha')}
        {num('ageNoise')}
        <div className="field wide">
          <label htmlFor="setting-lookup">Lookup</label>
          <select id="setting-lookup" data-testid="setting-lookup" value={draft.lookup} onChange={(e) => setDraft({ ...draft, lookup: e.target.value as LookupMode })}>
            <option value="exact">exact (compare with every drawing)</option>
            <option value="lsh">LSH (hashed candidates, re-ranked: fast for large memories)</option>
          </select>
          <small className="help">Exact finds the true nearest drawings; LSH looks only in a few hash buckets.</small>
        </div>
        <div className="field wide">
          <label htmlFor="setting-backend">Where the network runs</label>
          <select id="setting-backend" data-testid="setting-backend" value={draft.backend} onChange={(e) => setDraft({ ...draft, backend: e.target.value as BackendChoice })}>
            <option value="auto">automatic (the fastest that works)</option>
            <option value="webgpu">WebGPU (graphics card)</option>
            <option value="webgl">WebGL (graphics card)</option>
            <option value="wasm">WebAssembly (processor)</option>
          </select>
          <small className="help">Changing it keeps the memory.</small>
        </div>
        <div className="settings-actions">
          <button type="submit" data-testid="apply-settings" disabled={busy || invalid || !changed || asking}>
            Apply
          </button>
          <button type="button" data-testid="reset-settings" onClick={() => setDraft({ ...defaults })} disabled={busy}>
            Reset to defaults
          </button>
          {applying !== null ? (
            <span className="hint" role="status" data-testid="settings-applying">
              {applying}
            </span>
          ) : (
            changed && !invalid && <span className="hint">not applied yet</span>
          )}
          {!changed && <span className="hint">nothing to apply: change a value first</span>}
          {invalid && (
            <span className="field-error" role="alert" data-testid="settings-invalid">
              fix the fields marked in red first
            </span>
          )}
        </div>
        {asking && (
          <Question
            id="shrink-h"
            testId="confirm-shrink-dialog"
            cancelTestId="cancel-shrink"
            onCancel={() => {
              setConfirmShrink(false);
              // (Apply is enabled again on the next render)
              focusLater('apply-settings');
            }}
            text={
              <>
              A memory of {draft.memorySize.toLocaleString('en')} slot{draft.memorySize === 1 ? '' : 's'} keeps{' '}
              {draft.memorySize === 1 ? 'only the most recently written drawing' : `the ${draft.memorySize.toLocaleString('en')} most recently written drawings`}:{' '}
              {loss.drawings.toLocaleString('en')} of the {summary!.filled.toLocaleString('en')} stored drawings will be forgotten
              {lostNames.length > 0 && (
                <>
                  , and with {loss.drawings === 1 ? 'it' : 'them'} {lostNames.length === 1 ? 'the name' : `${lostNames.length} names:`} {lostNames.slice(0, 5).map((n) => `“${n}”`).join(', ')}
                  {lostNames.length > 5 ? ` and ${lostNames.length - 5} more` : ''}
                </>
              )}
              . This cannot be undone (export the memory first to keep a copy).
              </>
            }
          >
            <button type="submit" data-testid="confirm-shrink" disabled={busy}>
              {loss.drawings === 1 ? 'Forget it and apply' : 'Forget them and apply'}
            </button>{' '}
          </Question>
        )}
      </form>
    </section>
  );
}

/** Where the network runs, in plain words, with the raw reasons and live latencies in the details. */
export function Status() {
  const backend = useApp((s) => s.backend);
  const latency = useApp((s) => s.latency);
  const e2e = useApp((s) => s.lastPredictionLatencyMs);
  const fallback = useApp((s) => s.lastFallback);
  const lookup = useApp((s) => s.summary?.lookup ?? null);
  return (
    <div className="status" aria-label="engine status">
      <p>
        The network runs on {backend ? backendInWords(backend.name) : '… (starting)'}
        {backend && (
          <>
            {' '}
            [<code data-testid="backend-name">{backend.name}</code>]
          </>
        )}
        .
      </p>
      {lookup && (
        <p data-testid="lookup-status">
          The memory finds the nearest drawings on {lookupInWords(lookup)} [<code data-testid="lookup-name">{lookup}</code>].
        </p>
      )}
      {backend && backend.skipped.length > 0 && (
        <ul className="plain-list" data-testid="backend-skipped-words">
          {backend.skipped.map((s) => (
            <li key={`${s.name}${s.reason}`}>{skipInWords(s.name, s.reason)}</li>
          ))}
        </ul>
      )}
      {backend && backend.skipped.length > 0 && (
        <details>
          <summary>technical details</summary>
          <p data-testid="backend-skipped" className="muted">
            {backend.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}
          </p>
        </details>
      )}
      {fallback && <p data-testid="backend-fallback">{fallback}</p>}
      <dl className="latencies">
        <dt>encode</dt>
        <dd data-testid="latency-encode">{fmt(latency.encodeMs)}</dd>
        <dt>query</dt>
        <dd data-testid="latency-query">{fmt(latency.queryMs)}</dd>
        <dt>write</dt>
        <dd data-testid="latency-write">{fmt(latency.writeMs)}</dd>
        <dt>stroke → answer</dt>
        <dd data-testid="latency-e2e">{fmt(e2e)}</dd>
      </dl>
    </div>
  );
}

const PIN_KEY = 'memory-lab-hood-pinned';

/** Technical details one click away; researchers can pin the area open (kept across reloads). */
export function UnderTheHood() {
  const [pinned, setPinned] = useState(() => {
    try {
      return localStorage.getItem(PIN_KEY) === '1';
    } catch {
      return false;
    }
  });
  const [open, setOpen] = useState(pinned);
  useEffect(() => {
    document.documentElement.dataset.hood = open ? 'open' : 'closed';
  }, [open]);
  return (
    <details className="hood" data-testid="under-the-hood" open={open} onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
      <summary>Under the hood</summary>
      <label className="pin">
        <input
          type="checkbox"
          data-testid="pin-hood"
          checked={pinned}
          onChange={(e) => {
            setPinned(e.target.checked);
            if (e.target.checked) setOpen(true);
            try {
              localStorage.setItem(PIN_KEY, e.target.checked ? '1' : '0');
            } catch {
              /* private mode: pinned for this page only */
            }
          }}
        />{' '}
        keep open (also shows the network’s 28×28 input and the per-neighbour weights)
      </label>
      <Status />
    </details>
  );
}
