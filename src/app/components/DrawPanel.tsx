import { useId } from 'react';
import { useApp } from '../store';
import type { LabelInfo } from '../types';
import { DrawingCanvas } from './DrawingCanvas';
import { Thumb } from './Thumb';

const NO_LABELS: LabelInfo[] = [];

/** Drawing, the 28x28 input the encoder sees, and Remember (type a label or pick a known one). */
export function DrawPanel() {
  const strokes = useApp((s) => s.strokes);
  const input = useApp((s) => s.input);
  const addStroke = useApp((s) => s.addStroke);
  const undo = useApp((s) => s.undoStroke);
  const clear = useApp((s) => s.clearDrawing);
  const remember = useApp((s) => s.remember);
  const labels = useApp((s) => s.summary?.labels ?? NO_LABELS);
  const busy = useApp((s) => s.busy || s.readOnly);
  const ready = useApp((s) => s.ready);
  const label = useApp((s) => s.labelDraft);
  const setLabel = useApp((s) => s.setLabelDraft);
  const listId = useId();

  const submit = async () => {
    if (await remember(label)) {
      clear();
      setLabel('');
    }
  };

  return (
    <section className="panel draw-panel" aria-labelledby="draw-h">
      <h2 id="draw-h">Draw</h2>
      <div className="draw-row">
        <DrawingCanvas strokes={strokes} onStroke={addStroke} disabled={!ready} />
        <figure className="input-preview">
          <Thumb image={input} size={112} title="the 28x28 input the encoder sees" testId="input-preview" />
          <figcaption>28×28 encoder input</figcaption>
        </figure>
      </div>
      <div className="controls">
        <button type="button" onClick={undo} disabled={!strokes.length} data-testid="undo" aria-keyshortcuts="Control+Z">
          Undo stroke
        </button>
        <button type="button" onClick={clear} disabled={!strokes.length} data-testid="clear" aria-keyshortcuts="Escape">
          Clear
        </button>
        <span className="hint" data-testid="stroke-count">{strokes.length} stroke{strokes.length === 1 ? '' : 's'}</span>
      </div>
      <form
        className="remember"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label htmlFor="label-input">Label</label>
        <input
          id="label-input"
          data-testid="label-input"
          list={listId}
          value={label}
          onChange={(e) => setLabel(e.target.value)}
          placeholder="type a new label or pick one"
          autoComplete="off"
          maxLength={80}
        />
        <datalist id={listId}>
          {labels.map((l) => (
            <option key={l.id} value={l.name} />
          ))}
        </datalist>
        {labels.length > 0 && (
          <select
            aria-label="Pick a known label"
            data-testid="label-pick"
            value=""
            onChange={(e) => e.target.value && setLabel(e.target.value)}
          >
            <option value="">known labels…</option>
            {labels.map((l) => (
              <option key={l.id} value={l.name}>
                {l.name}
              </option>
            ))}
          </select>
        )}
        <button type="submit" data-testid="remember" disabled={!ready || busy} aria-keyshortcuts="Enter">
          Remember
        </button>
      </form>
      <WriteReport />
    </section>
  );
}

function WriteReport() {
  const w = useApp((s) => s.lastWrite);
  if (!w) return null;
  return (
    <div className="write-report" data-testid="write-report" data-case={w.case} aria-live="polite">
      {w.case === 'update' ? (
        <p>
          <strong>Case 1 — averaged:</strong> the nearest slot n1 = <b data-testid="write-slot">{w.slot}</b> already held
          “{w.name}”, so its key became normalize(q + K[n1]) and its age was reset to 0.
        </p>
      ) : (
        <p>
          <strong>Case 2 — new slot:</strong> written to the oldest slot n′ = <b data-testid="write-slot">{w.slot}</b>
          {w.evicted ? (
            <span data-testid="write-evicted">
              , evicting “{w.evicted.name}” (age {Math.round(w.evicted.age)})
            </span>
          ) : (
            ', which was empty'
          )}
          .
        </p>
      )}
      <p className="loss" data-testid="write-loss">
        Memory loss {w.loss === null ? '— (memory was empty)' : w.loss.toFixed(3)}
        {w.loss !== null && (
          <>
            {' '}= [q·K[n<sub>b</sub>] − q·K[n<sub>p</sub>] + α]<sub>+</sub> with positive neighbour n<sub>p</sub> ={' '}
            {w.np >= 0 ? `slot ${w.np} (“${w.npName}”)` : 'none (no slot held this label)'} and negative neighbour n<sub>b</sub> ={' '}
            {w.nb >= 0 ? `slot ${w.nb} (“${w.nbName}”)` : 'none'}
          </>
        )}
      </p>
    </div>
  );
}
