import { memo, useEffect, useState } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { getEngine, predictionPhases, useApp } from '../store';
import type { PredictionView } from '../types';
import { Thumb } from './Thumb';

/** The live answer: a label, "A or B?" on a near tie, or "not sure" with the best guess; neighbours; charts. */
export function PredictionPanel() {
  const p = useApp((s) => s.prediction);
  const seq = useApp((s) => s.predictionSeq);
  const hasInput = useApp((s) => s.input !== null);
  const predicting = useApp((s) => s.predicting);
  const filled = useApp((s) => s.summary?.filled);
  // the label and neighbours paint first; the charts (recharts, the costly part) render after that frame
  const [chartP, setChartP] = useState<PredictionView | null>(null);
  useEffect(() => {
    let t: ReturnType<typeof setTimeout> | undefined;
    const id = requestAnimationFrame(() => {
      t = setTimeout(() => setChartP(p), 0);
    });
    return () => {
      cancelAnimationFrame(id);
      clearTimeout(t);
    };
  }, [p]);

  // stroke end -> prediction on screen: measured after the browser painted this result
  useEffect(() => {
    if (!seq) return;
    const start = useApp.getState().strokeEndAt;
    predictionPhases.committed = performance.now();
    const id = requestAnimationFrame(() => {
      setTimeout(() => {
        predictionPhases.painted = performance.now();
        useApp.setState({ lastPredictionLatencyMs: predictionPhases.painted - start });
      }, 0);
    });
    return () => cancelAnimationFrame(id);
  }, [seq]);

  const shown = hasInput && p ? p : null;
  const memoryHolds = (filled ?? 0) > 0;
  return (
    <section className="panel prediction" aria-labelledby="pred-h" aria-busy={predicting}>
      <h2 id="pred-h">Answer</h2>
      <div data-testid="prediction" data-seq={seq} aria-live="polite" className="answer">
        <Answer p={shown} />
      </div>
      {shown && shown.neighbours.length > 0 && (
        <>
          <h3 className="neighbours-h">Closest stored drawings</h3>
          <ol className="neighbours" data-testid="neighbours">
            {shown.neighbours.map((n) => (
              <li key={n.slot} data-testid="neighbour" data-slot={n.slot} data-label={n.name}>
                <Thumb image={getEngine().thumbnail(n.slot)} size={48} title={`slot ${n.slot}: ${n.name}`} />
                <span className="n-label" title={n.name}>
                  {n.name}
                </span>
                <span className="n-sim">{n.similarity.toFixed(2)}</span>
              </li>
            ))}
          </ol>
          <Charts p={chartP} />
        </>
      )}
      {/* on a phone the closest drawings' row keeps its room while nothing is drawn: the first
          stroke does not push Undo, Clear and Remember down */}
      {!(shown && shown.neighbours.length > 0) && memoryHolds && <div className="neighbours-room" aria-hidden="true" />}
    </section>
  );
}

function Answer({ p }: { p: PredictionView | null }) {
  if (!p) return <FirstSteps />;
  if (p.unknownReason === 'no-candidates') {
    return (
      <div className="unknown" data-testid="prediction-unknown" data-reason="no-candidates">
        <p className="verdict">Not sure — no stored drawing was compared</p>
        <p className="muted long-note">
          The approximate lookup (LSH, Settings) looks only at stored drawings that share a hash bucket with this one, and none does. A new
          symbol? Give it a name below and press Remember. (The exact lookup compares every stored drawing.)
        </p>
        <p className="muted phone-note">No stored drawing shares an LSH bucket with it. New? Name it below.</p>
      </div>
    );
  }
  // the memory is empty (the only answer without a guess once LSH's is said above): the three first
  // steps stay, the first one done (on a phone the name field and Remember do not move as it is drawn)
  if (p.unknownReason === 'empty-memory' || !p.guess) return <FirstSteps drawn />;
  const sim = <span className="muted"> (similarity {p.guess.similarity.toFixed(2)})</span>;
  if (p.label === null) {
    return (
      <div className="unknown" data-testid="prediction-unknown" data-guess={p.guess.name}>
        <p className="verdict">
          <span className="long-note">Not sure — I don’t know this yet</span>
          <span className="phone-note">Not sure — is it new?</span>
        </p>
        <p>
          Best guess: <strong data-testid="prediction-guess">{p.guess.name}</strong>
          {p.rival && <> or <strong data-testid="prediction-rival">{p.rival.name}</strong></>}
          <span className="muted long-note">
            {' '}
            (similarity {p.guess.similarity.toFixed(2)}, below the cut-off {p.cutoff.toFixed(2)} set in Settings)
          </span>
          <span className="muted phone-note">
            {' '}
            ({p.guess.similarity.toFixed(2)}, below the cut-off {p.cutoff.toFixed(2)}). New? Name it below.
          </span>
        </p>
        <p className="muted long-note" data-testid="prediction-teach">
          A new symbol? Give it a name below and press Remember. (The bars’ softmax share only compares the stored drawings,
          so it can be high when none of them is close.)
        </p>
      </div>
    );
  }
  if (p.rival) {
    return (
      <div className="predicted tie" data-testid="prediction-tie">
        <p className="verdict">
          <strong data-testid="prediction-label">{p.name}</strong> or <strong data-testid="prediction-rival">{p.rival.name}</strong>?
        </p>
        <p className="muted long-note">
          Both are about as close ({p.guess.similarity.toFixed(3)} and {p.rival.similarity.toFixed(3)}). If it is a new drawing of one
          of them, remember it under that name: the memory learns the difference.
        </p>
        <p className="muted phone-note">
          About as close ({p.guess.similarity.toFixed(2)}, {p.rival.similarity.toFixed(2)}): name it to teach the difference.
        </p>
      </div>
    );
  }
  return (
    <p className="predicted verdict">
      It looks like <strong data-testid="prediction-label">{p.name}</strong>
      {sim}
    </p>
  );
}

/** Per label (nearest slot's similarity, every label named, the answer first) and per neighbour. */
const Charts = memo(function Charts({ p }: { p: PredictionView | null }) {
  if (!p || p.neighbours.length === 0) return null;
  const rows = p.perLabel.slice(0, 8);
  return (
    <div className="charts">
      <figure data-testid="per-label-chart">
        <figcaption>
          Each label’s closest drawing (similarity; the cut-off {p.cutoff.toFixed(2)} is the line) and its share of the softmax
        </figcaption>
        <ol className="label-bars">
          {rows.map((l, i) => (
            <li key={l.label} data-testid="label-bar" data-label={l.name} className={i === 0 ? 'first' : ''}>
              <span className="lb-name" title={l.name}>
                {l.name}
              </span>
              <span className="lb-track" style={{ ['--cut' as string]: `${(p.cutoff * 100).toFixed(1)}%` }}>
                <span className="lb-bar" style={{ width: `${Math.max(0, Math.min(1, l.similarity)) * 100}%` }} />
              </span>
              <span className="lb-val">
                {l.similarity.toFixed(2)} · {(l.p * 100).toFixed(0)}%
              </span>
            </li>
          ))}
        </ol>
        {p.perLabel.length > rows.length && <p className="muted">and {p.perLabel.length - rows.length} more labels among the neighbours</p>}
      </figure>
      <figure className="under-the-hood-chart">
        <figcaption>softmax(t·similarity) per neighbour</figcaption>
        <ResponsiveContainer width="100%" height={170}>
          <BarChart data={p.neighbours.map((n, i) => ({ name: `${i + 1}:${n.name}`, w: +n.weight.toFixed(4) }))} margin={{ left: 0, right: 8, bottom: 24 }} title="bar chart: softmax weight of each nearest neighbour; arrow keys step through the bars">
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="name" tick={{ fontSize: 10 }} interval={0} angle={-35} textAnchor="end" height={40} />
            <YAxis domain={[0, 1]} ticks={[0, 0.5, 1]} width={38} />
            <Tooltip />
            <Bar dataKey="w" fill="var(--accent-2)" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </figure>
    </div>
  );
});

/** Before any drawing: what to do, in three steps, and the guided tour (its tab-bar button is off-screen on phones). */
function FirstSteps({ drawn = false }: { drawn?: boolean }) {
  const empty = useApp((s) => (s.summary?.filled ?? 0) === 0);
  const requestTour = useApp((s) => s.requestTour);
  const ready = useApp((s) => s.ready);
  const readOnly = useApp((s) => s.readOnly);
  if (!empty) return <p className="muted">Draw a symbol: the memory answers after each stroke.</p>;
  return (
    <div className="first-steps" data-testid="first-steps" data-drawn={drawn}>
      {drawn ? (
        <p className="unknown" data-testid="prediction-unknown">
          I don’t know this yet<span className="muted"> — the memory is empty. Next:</span>
        </p>
      ) : (
        <p>New here? Teach it a symbol in three steps:</p>
      )}
      <ol>
        <li>Draw any symbol in the box.{drawn && <span aria-label="done"> ✓</span>}</li>
        <li>{drawn ? <strong>Give it a name below and press Remember.</strong> : 'Give it a name and press Remember.'}</li>
        <li>Draw it again: the answer appears here after each stroke.</li>
      </ol>
      {!drawn && (
      <p className="muted first-steps-tour">
        Or let the app show you:{' '}
        <button type="button" data-testid="first-steps-tour" onClick={requestTour} disabled={!ready || readOnly}>
          Watch a guided tour
        </button>
      </p>
      )}
    </div>
  );
}
