import { useRef, useState } from 'react';
import { useApp } from '../store';
import { scriptStrokes, TOUR_SYMBOLS } from './scripts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Guided mode for classrooms: the app draws three symbols by itself (animated stroke scripts),
 * labels each once, then asks the visitor to draw one of them and watches for the prediction.
 */
export function Tour() {
  const [step, setStep] = useState<string | null>(null);
  const running = useRef(false);
  const ready = useApp((s) => s.ready);

  const run = async () => {
    if (running.current) return;
    running.current = true;
    const st = useApp.getState();
    st.setTab('draw');
    try {
      for (const sym of TOUR_SYMBOLS) {
        setStep(`I draw a “${sym.name}”…`);
        useApp.getState().clearDrawing();
        const full = scriptStrokes(sym);
        const done: typeof full = [];
        for (const stroke of full) {
          for (let i = 1; i <= stroke.length; i += 3) {
            useApp.getState().setStrokes([...done, stroke.slice(0, i)], false);
            await sleep(16);
          }
          done.push(stroke);
          useApp.getState().setStrokes([...done], true);
          await sleep(120);
        }
        setStep(`…and label it “${sym.name}” once: one write into the memory.`);
        await sleep(500);
        const ok = await useApp.getState().remember(sym.name);
        if (!ok) throw new Error(useApp.getState().message?.text ?? 'remember failed');
        await sleep(900);
      }
      useApp.getState().clearDrawing();
      const target = TOUR_SYMBOLS[0].name;
      setStep(`Your turn: draw a “${target}” (a circle with four rays) and watch the prediction.`);
      const unsub = useApp.subscribe((s) => {
        if (s.prediction?.name === target && s.strokes.length > 0) {
          setStep(`Recognised as “${target}” after seeing it once. Try the others, or a symbol of your own!`);
          unsub();
        }
      });
    } catch (e) {
      setStep(`The tour stopped: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      running.current = false;
    }
  };

  return (
    <div className="tour" data-testid="tour">
      <button type="button" data-testid="start-tour" onClick={() => void run()} disabled={!ready || running.current}>
        Guided tour
      </button>
      {step && (
        <p className="tour-step" data-testid="tour-step" aria-live="polite">
          {step}
        </p>
      )}
    </div>
  );
}

/** Keyboard users (and demos) can put a scripted symbol on the canvas. */
export function ExampleSymbol() {
  const setStrokes = useApp((s) => s.setStrokes);
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
