import { useMemo } from 'react';
import { canUndoRemember, refusalNow, useApp } from '../store';
import { cleanLabelName, labelNameProblem, nameToUse } from '../persist';
import { MAX_LABEL_LENGTH, type LabelInfo } from '../types';
import { DrawingCanvas } from './DrawingCanvas';
import { keepFocus } from './keys';
import { Thumb } from './Thumb';

const NO_LABELS: LabelInfo[] = [];
/** known labels offered as one-tap chips (the rest: type the name) */
const CHIPS = 24;

/** Drawing, the 28x28 input the encoder sees, and Remember (type a label or tap a known one). */
export function DrawPanel() {
  const strokes = useApp((s) => s.strokes);
  const input = useApp((s) => s.input);
  const addStroke = useApp((s) => s.addStroke);
  const undo = useApp((s) => s.undoStroke);
  const clear = useApp((s) => s.clearDrawing);
  const remember = useApp((s) => s.remember);
  const labels = useApp((s) => s.summary?.labels ?? NO_LABELS);
  const busy = useApp((s) => s.busy || s.readOnly);
  // the guided tour draws and names here: a child's stroke or tap would go into its write
  const touring = useApp((s) => s.tourRunning);
  const ready = useApp((s) => s.ready);
  const label = useApp((s) => s.labelDraft);
  const setLabel = useApp((s) => s.setLabelDraft);
  const clean = cleanLabelName(label);
  const chars = [...clean].length;
  // why the last Remember was refused (nothing drawn, no name): said here, by the field and the button
  const refusal = useApp(refusalNow);
  // the name a Remember would use (as Engine.labelIdFor), looked up once per name typed, not per stroke
  const chosen = useMemo(() => nameToUse(label, labels.map((l) => l.name)), [label, labels]);
  const problem = chosen.held || clean === '' ? null : labelNameProblem(clean);

  // Clear and Undo go disabled once nothing is drawn, Remember while the memory writes: the focus
  // goes where the next step is (keepFocus), not to the page
  const submit = async (from: Element | null) => {
    if (problem) return;
    const ok = await remember(label);
    keepFocus('label-input', from);
    if (ok) {
      clear();
      setLabel('');
    }
  };

  return (
    <section className="panel draw-panel" aria-labelledby="draw-h">
      <h2 id="draw-h">Draw</h2>
      <div className="draw-row">
        <div className="canvas-wrap">
          <DrawingCanvas strokes={strokes} onStroke={addStroke} disabled={!ready || touring} />
          {strokes.length === 0 && ready && (
            <p className="canvas-hint" aria-hidden="true">
              Draw a symbol here
            </p>
          )}
        </div>
        <figure className="input-preview under-the-hood-inline">
          <Thumb image={input} size={84} title="the 28x28 input the encoder sees" testId="input-preview" />
          <figcaption>what the network sees (28×28)</figcaption>
        </figure>
      </div>
      <div className="controls">
        <button
          type="button"
          onClick={(e) => {
            undo();
            if (strokes.length === 1) keepFocus('drawing-canvas', e.currentTarget);
          }}
          disabled={!strokes.length || touring}
          data-testid="undo" aria-keyshortcuts="Control+Z" aria-label="Undo the last stroke" title="Undo the last stroke (Ctrl+Z)">
          Undo
        </button>
        <button
          type="button"
          onClick={(e) => {
            clear();
            keepFocus('drawing-canvas', e.currentTarget);
          }}
          disabled={!strokes.length || touring}
          data-testid="clear"
          aria-keyshortcuts="Escape"
        >
          Clear
        </button>
        <span className="hint" data-testid="stroke-count">
          {strokes.length} stroke{strokes.length === 1 ? '' : 's'}
        </span>
      </div>
      <form
        className="remember"
        onSubmit={(e) => {
          e.preventDefault();
          void submit(document.activeElement);
        }}
      >
        <label htmlFor="label-input">Name</label>
        <input
          id="label-input"
          data-testid="label-input"
          value={label}
          onChange={(e) => setLabel(e.target.value)}
          readOnly={touring}
          placeholder="name, e.g. sun"
          autoComplete="off"
          enterKeyHint="done"
          aria-invalid={problem !== null}
          aria-describedby="label-help"
        />
        <button type="submit" data-testid="remember" disabled={!ready || busy || touring || problem !== null} aria-keyshortcuts="Enter">
          Remember
        </button>
        {refusal && (
          <p className="field-error inline-message" role="alert" data-testid="remember-refusal">
            {refusal}
          </p>
        )}
        <p id="label-help" className={problem ? 'field-error' : 'hint'} data-testid="label-help" role={problem ? 'alert' : undefined}>
          {problem ?? `${chars}/${MAX_LABEL_LENGTH} characters`}
        </p>
        {labels.length > 0 && (
          <div className="chips" role="group" aria-label="Known names: tap one to use it" data-testid="label-chips">
            {labels.slice(0, CHIPS).map((l) => (
              <button
                key={l.id}
                type="button"
                className="chip"
                data-testid="label-chip"
                aria-pressed={chosen.name === l.name}
                disabled={touring}
                onClick={() => setLabel(l.name)}
              >
                {l.name}
              </button>
            ))}
            {labels.length > CHIPS && <span className="hint">and {labels.length - CHIPS} more: type the name</span>}
          </div>
        )}
      </form>
      <WriteReport />
    </section>
  );
}

/** What the last Remember did: a plain sentence, with the paper's terms and the loss under the hood. */
function WriteReport() {
  const w = useApp((s) => s.lastWrite);
  // only while nothing else changed the memory since (else the engine would refuse it)
  const canUndo = useApp((s) => canUndoRemember(s) && !s.readOnly);
  const busy = useApp((s) => s.busy || s.tourRunning);
  const undo = useApp((s) => s.undoRemember);
  const ageNoise = useApp((s) => s.settings.ageNoise);
  const labels = useApp((s) => s.summary?.labels);
  if (!w) return null;
  // names as they are now (a rename since is followed; a name gone keeps the one it had)
  const nameNow = (id: number, then: string) => labels?.find((l) => l.id === id)?.name ?? then;
  const name = nameNow(w.label, w.name);
  // (a name gone with its last drawing keeps its old name: its id may belong to a new name by now)
  const evicted = w.evicted ? { ...w.evicted, name: w.evicted.lastOfName ? w.evicted.name : nameNow(w.evicted.label, w.evicted.name) } : null;
  // another name with the same letters in another case: two names, said once (a class may mean one)
  const otherCase = labels?.find((l) => l.id !== w.label && l.name.toLowerCase() === name.toLowerCase())?.name;
  return (
    <div className="write-report" data-testid="write-report" data-case={w.case} aria-live="polite">
      <p>
        {w.case === 'update' ? (
          <>
            Remembered “{name}”: the closest stored drawing was also named “{name}”, so the two were merged into one memory.
          </>
        ) : (
          <>
            Remembered “{name}” as a new memory
            {evicted ? (
              <span data-testid="write-evicted">
                , replacing a drawing of “{evicted.name}” (stored {Math.round(evicted.age)} {Math.round(evicted.age) === 1 ? 'write' : 'writes'} ago)
                {evicted.lastOfName ? `. That was the last drawing of “${evicted.name}”: the memory no longer knows that name` : ''}
              </span>
            ) : null}
            .
          </>
        )}
        {otherCase && (
          <span className="muted" data-testid="write-other-case">
            {' '}“{otherCase}” is another name: upper and lower case make different names (to make them one, rename one to the other under Labels).
          </span>
        )}
      </p>
      {canUndo && (
        <p className="undo-write">
          Wrong name, or a stray drawing?{' '}
          <button
            type="button"
            data-testid="undo-remember"
            disabled={busy}
            // the button goes with the Remember: a keyboard's focus goes to the name, ready to name the
            // drawing again (not a tap's: a phone's keyboard would cover the drawing that came back)
            onClick={(e) => {
              const byKeyboard = e.detail === 0;
              void undo().then((ok) => ok && byKeyboard && document.getElementById('label-input')?.focus());
            }}
          >
            Undo this Remember
          </button>
        </p>
      )}
      <details className="hood-details">
        <summary>What happened in the memory</summary>
        {w.case === 'update' ? (
          <p>
            <strong>Case 1 — averaged:</strong> the nearest slot n1 = <b data-testid="write-slot">{w.slot}</b> already held “{name}”, so its
            key became normalize(q + K[n1]) and its age was reset to 0.
          </p>
        ) : (
          <p>
            <strong>Case 2 — new slot:</strong> written to slot n′ = <b data-testid="write-slot">{w.slot}</b>
            {evicted ? `, evicting “${evicted.name}” (age ${Math.round(evicted.age)})` : ', which was empty'}
            {evicted &&
              (ageNoise > 0
                ? `: the oldest by age plus a little random noise (the paper’s argmax(A + r); here r is 0 to ${ageNoise} writes, Settings → Age noise), so not always the very oldest; in a small memory it can be a young one`
                : ': the oldest slot')}
            .
          </p>
        )}
        <p className="loss" data-testid="write-loss">
          Memory loss {w.loss === null ? '— (memory was empty)' : w.loss.toFixed(3)}
          {w.loss !== null && (
            <>
              {' '}
              = [q·K[n<sub>b</sub>] − q·K[n<sub>p</sub>] + α]<sub>+</sub> with positive neighbour n<sub>p</sub> ={' '}
              {w.np >= 0 ? `slot ${w.np} (“${nameNow(w.npLabel, w.npName ?? '')}”)` : 'none (no slot held this label)'} and negative neighbour n<sub>b</sub> ={' '}
              {w.nb >= 0 ? `slot ${w.nb} (“${nameNow(w.nbLabel, w.nbName ?? '')}”)` : 'none'}
            </>
          )}
        </p>
      </details>
    </div>
  );
}
