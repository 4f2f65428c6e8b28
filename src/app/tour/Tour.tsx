import { useEffect, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import { refusalNow, useApp } from '../store';
import { scriptStrokes, TOUR_SYMBOLS } from './scripts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Stopped extends Error {}

/** Wait until the drawing on the canvas has its answer: false when none came within ~3 s (`pause` throws when the tour is stopped). */
async function answered(pause: (ms: number) => Promise<void>): Promise<boolean> {
  for (let i = 0; i < 60; i++) {
    const s = useApp.getState();
    if (!s.predicting && s.predictionFor === s.strokes.length) return true;
    await pause(50);
  }
  return false;
}

/**
 * On a phone the running tour's step sits fixed at the bottom of the screen, where it can cover the
 * Name field and Remember: the page scrolls them up from under it, so the class sees the name typed.
 */
function showNameField() {
  const field = document.querySelector('form.remember');
  const bar = document.querySelector('[data-testid=tour-step]');
  if (!field || !bar || getComputedStyle(bar).position !== 'fixed') return;
  const covered = field.getBoundingClientRect().bottom - bar.getBoundingClientRect().top;
  if (covered > 0) window.scrollBy({ top: covered + 12, behavior: 'smooth' });
}

/**
 * Guided mode for classrooms, offered, never imposed: the app draws three symbols by itself
 * (animated stroke scripts), explains what happens at each step, names each once, then asks the
 * visitor to draw one of them. It can be stopped at any time, and a symbol the memory already
 * holds (a second run of the tour) is not written again.
 */
export function Tour() {
  const [step, setStep] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const stop = useRef(false);
  /** unsubscribes the "Your turn" listener (null: none) */
  const yourTurn = useRef<(() => void) | null>(null);
  const endYourTurn = () => {
    yourTurn.current?.();
    yourTurn.current = null;
  };
  useEffect(() => endYourTurn, []);
  const ready = useApp((s) => s.ready);
  const readOnly = useApp((s) => s.readOnly);
  const onDraw = useApp((s) => s.tab === 'draw');
  const requests = useApp((s) => s.tourRequests);

  const run = async () => {
    if (running) return;
    // an earlier tour's "Your turn" may still be listening: it must not answer this tour's own drawing
    endYourTurn();
    const nameTaken = (name: string) => useApp.getState().summary?.labels.some((l) => l.name === name) ?? false;
    // every symbol whose name is new takes a free slot: with too few, the tour would make room by
    // forgetting the visitor's oldest drawings. It says so and stores nothing.
    const summary = useApp.getState().summary;
    const toStore = TOUR_SYMBOLS.filter((sym) => !nameTaken(sym.name)).length;
    const free = summary ? summary.size - summary.filled : 0;
    if (toStore > free) {
      useApp.getState().setTab('draw'); // where the tour's text shows
      setStep(
        `The tour stores ${toStore} drawing${toStore === 1 ? '' : 's'}, and the memory has room for ${free} more: it would forget your oldest drawings to make room. ` +
          'Make the memory larger (Settings) or clear it (Labels), then start the tour again.',
      );
      return;
    }
    stop.current = false;
    setRunning(true);
    // what a child draws, types or taps meanwhile would go into the tour's write: the controls wait
    useApp.setState({ tourRunning: true });
    const pause = async (ms: number) => {
      await sleep(ms);
      if (stop.current) throw new Stopped();
    };
    useApp.getState().setTab('draw');
    // the visitor's own drawing and typed name are put back when the tour ends (nothing they made is lost)
    const before = { strokes: useApp.getState().strokes, draft: useApp.getState().labelDraft };
    const putBack = () => {
      const st = useApp.getState();
      if (before.strokes.length) st.setStrokes(before.strokes);
      else st.clearDrawing();
      st.setLabelDraft(before.draft);
    };
    /** the symbols the memory recognises once the tour has run: the visitor's turn is one of them */
    const recognised: string[] = [];
    try {
      setStep('The tour: I draw three symbols and name each one once. Watch the answer change.');
      await pause(1600);
      for (const [i, sym] of TOUR_SYMBOLS.entries()) {
        const known = nameTaken(sym.name);
        setStep(`Step ${i + 1} of ${TOUR_SYMBOLS.length}: I draw a “${sym.name}”. After each stroke the memory looks for the closest stored drawings.`);
        useApp.getState().clearDrawing();
        const full = scriptStrokes(sym);
        const done: typeof full = [];
        for (const stroke of full) {
          for (let j = 1; j <= stroke.length; j += 3) {
            useApp.getState().setStrokes([...done, stroke.slice(0, j)], false);
            await pause(16);
          }
          done.push(stroke);
          useApp.getState().setStrokes([...done], true);
          await pause(120);
        }
        if (known) {
          // the name is taken: by this symbol (an earlier tour), or by a drawing of the visitor's own,
          // which the tour must not change (a write would merge into it or add to it)
          if ((await answered(pause)) && useApp.getState().prediction?.name === sym.name) {
            recognised.push(sym.name);
            setStep(`The memory already knows “${sym.name}” and recognises this drawing, so I do not store it again.`);
          } else {
            setStep(`“${sym.name}” is already a name in the memory, and this drawing is not recognised as it: I leave that name as it is and do not store mine.`);
          }
          await pause(1800);
          continue;
        }
        setStep(`I name it “${sym.name}” and press Remember: one write stores the drawing. One example is enough.`);
        await pause(0);
        showNameField();
        // typed into the Name field, as a visitor would
        for (let j = 1; j <= sym.name.length; j++) {
          useApp.getState().setLabelDraft(sym.name.slice(0, j));
          await pause(60);
        }
        await pause(500);
        // the room is checked again: a Remember or a smaller memory since the start may have taken it
        const now = useApp.getState().summary;
        if (!now || now.filled >= now.size) throw new Error('the memory is full now, and storing this symbol would forget your oldest drawing');
        const ok = await useApp.getState().remember(sym.name);
        if (!ok) throw new Error(refusalNow(useApp.getState()) ?? useApp.getState().message?.text ?? 'remember failed');
        useApp.getState().setLabelDraft('');
        recognised.push(sym.name);
        await pause(900);
      }
      putBack();
      const target = TOUR_SYMBOLS.find((sym) => recognised.includes(sym.name));
      if (!target) {
        setStep('The tour is over. Its names were taken by drawings of your own, so it stored nothing: draw a symbol of your own and name it!');
        return;
      }
      setStep(
        `Your turn: draw a “${target.name}” (${target.hint}) in the box and watch the answer.` +
          (before.strokes.length ? ' Your own drawing is back on the canvas: press Clear first.' : ''),
      );
      const unsub = useApp.subscribe((s) => {
        // the visitor's own drawing (not the one put back on the canvas)
        if (s.prediction?.name === target.name && s.strokes.length > 0 && s.strokes !== before.strokes) {
          setStep(`Recognised as “${target.name}” after seeing it once. Try the others, or a symbol of your own!`);
          unsub();
          yourTurn.current = null;
        }
      });
      yourTurn.current = unsub;
    } catch (e) {
      putBack();
      if (e instanceof Stopped) setStep(null);
      else setStep(`The tour stopped: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      useApp.setState({ tourRunning: false });
      setRunning(false);
    }
  };

  // asked for from the first steps (on a phone the button is at the far end of the tab row)
  const seen = useRef(requests);
  useEffect(() => {
    if (requests === seen.current) return;
    seen.current = requests;
    if (ready && !readOnly) void run();
    // (only a new request starts it: run reads the rest through refs and the store)
  }, [requests]);

  // The step's text is a row of its own below the tab bar (App's #tour-step-slot), so a long sentence
  // never squeezes the tabs or the example picker, and stays in view when the tab bar scrolls.
  const [slot, setSlot] = useState<HTMLElement | null>(null);
  useEffect(() => setSlot(document.getElementById('tour-step-slot')), []);
  const stepText = step && onDraw && (
    <p className="message tour-step" data-testid="tour-step" data-running={running} aria-live="polite">
      <span>{step}</span>
      {running && (
        <button type="button" data-testid="stop-tour-step" onClick={() => (stop.current = true)}>
          Stop
        </button>
      )}
      {!running && (
        <button type="button" className="link" aria-label="close the tour text" onClick={() => {
            endYourTurn();
            setStep(null);
          }}>
          ×
        </button>
      )}
    </p>
  );
  return (
    <>
      <div className="tour" data-testid="tour">
        {running ? (
          <button type="button" data-testid="stop-tour" onClick={() => (stop.current = true)}>
            Stop the tour
          </button>
        ) : (
          <button type="button" data-testid="start-tour" onClick={() => void run()} disabled={!ready || readOnly}>
            Guided tour
          </button>
        )}
      </div>
      {stepText && (slot ? createPortal(stepText, slot) : stepText)}
    </>
  );
}

/** Keyboard users (and demos) can put a scripted symbol on the canvas. */
export function ExampleSymbol() {
  const setStrokes = useApp((s) => s.setStrokes);
  const touring = useApp((s) => s.tourRunning);
  const [which, setWhich] = useState(0);
  const [seed, setSeed] = useState(1);
  return (
    <div className="example-symbol">
      <select aria-label="Example symbol" data-testid="example-pick" value={which} onChange={(e) => setWhich(+e.target.value)}>
        {TOUR_SYMBOLS.map((s, i) => (
          <option key={s.name} value={i}>
            {s.name}
          </option>
        ))}
      </select>
      <button
        type="button"
        data-testid="example-draw"
        disabled={touring}
        onClick={() => {
          setStrokes(scriptStrokes(TOUR_SYMBOLS[which], undefined, { wobble: seed === 1 ? 0 : 0.03, seed }), true);
          setSeed(seed + 1);
        }}
      >
        Draw example
      </button>
    </div>
  );
}
