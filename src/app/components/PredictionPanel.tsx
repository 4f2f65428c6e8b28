import { memo, useEffect, useState } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { getEngine, predictionPhases, useApp } from '../store';
import type { PredictionView } from '../types';
import { Thumb } from './Thumb';

/** The live prediction: label, neighbours with their stored drawings, softmax confidences. */
export function PredictionPanel() {
  const p = useApp((s) => s.prediction);
  const seq = useApp((s) => s.predictionSeq);
  const hasInput = useApp((s) => s.input !== null);
  const predicting = useApp((s) => s.predicting);
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

  return (
    <section className="panel prediction" aria-labelledby="pred-h" aria-busy={predicting}>
      <h2 id="pred-h">Prediction</h2>
      <div data-testid="prediction" data-seq={seq} aria-live="polite">
        {!hasInput || !p ? (
          <p className="muted">Draw a symbol: the memory answers after each stroke.</p>
        ) : p.label === null ? (
          <p className="unknown" data-testid="prediction-unknown">
            I don’t know this yet
            <span className="muted">
              {p.unknownReason === 'empty-memory'
                ? ' — the memory is empty. Label your drawing and press Remember.'
                : ` — nothing stored is close (best similarity ${p.topSimilarity.toFixed(2)}).`}
            </span>
          </p>
        ) : (
          <p className="predicted">
            It looks like <strong data-testid="prediction-label">{p.name}</strong>
            <span className="muted"> (similarity {p.topSimilarity.toFixed(2)})</span>
          </p>
        )}
      </div>
      {hasInput && p && p.neighbours.length > 0 && (
        <>
          <h3>Nearest neighbours</h3>
          <ol className="neighbours" data-testid="neighbours">
            {p.neighbours.map((n) => (
              <li key={n.slot} data-testid="neighbour" data-slot={n.slot} data-label={n.name}>
                <Thumb image={getEngine().thumbnail(n.slot)} size={48} title={`slot ${n.slot}: ${n.name}`} />
                <span className="n-label">{n.name}</span>
                <span className="n-sim">cos {n.similarity.toFixed(3)}</span>
                <span className="n-slot muted">slot {n.slot}</span>
              </li>
            ))}
          </ol>
          <Charts p={chartP} />
        </>
      )}
    </section>
  );
}

/** softmax confidences per label and per neighbour (recharts) */
const Charts = memo(function Charts({ p }: { p: PredictionView | null }) {
  if (!p || p.neighbours.length === 0) return null;
  return (
    <div className="charts">
      <figure>
        <figcaption>softmax(t·similarity) per label</figcaption>
        <ResponsiveContainer width="100%" height={160}>
          <BarChart data={p.perLabel.slice(0, 8).map((l) => ({ name: l.name, p: +l.p.toFixed(4) }))} layout="vertical" margin={{ left: 8, right: 8 }}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" domain={[0, 1]} />
            <YAxis type="category" dataKey="name" width={70} />
            <Tooltip />
            <Bar dataKey="p" fill="#3b6fd8" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </figure>
      <figure>
        <figcaption>per neighbour</figcaption>
        <ResponsiveContainer width="100%" height={160}>
          <BarChart data={p.neighbours.map((n, i) => ({ name: `${i + 1}:${n.name}`, w: +n.weight.toFixed(4) }))} margin={{ left: 0, right: 8 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="name" tick={{ fontSize: 10 }} />
            <YAxis domain={[0, 1]} ticks={[0, 0.5, 1]} width={38} />
            <Tooltip />
            <Bar dataKey="w" fill="#d8873b" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </figure>
    </div>
  );
});
