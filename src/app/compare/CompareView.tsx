/**
 * The Compare tab: turn Compare mode on, choose the learners, see each learner's accuracy by the
 * number of times a class had been seen over this session, and the Hebbian softmax's rows
 * (c_i, lambda_i, the stored drawings closest to theta_i).
 */
import { useMemo } from 'react';
import { PercentLines } from '../components/PercentLines';
import { HEBBIAN_DEFAULTS, LEARNER_TITLES } from '../../learners';
import { Thumb } from '../components/Thumb';
import { getEngine, useApp } from '../store';
import { COMPARE_KINDS, hebbianNearest, useCompare } from './compareStore';
import type { CompareColumn } from './compareSession';
import './compare.css';

const COLORS: Record<CompareColumn, string> = { memory: '#2f5fc4', hebbian: '#d8873b', prototypes: '#2a9d5b', 'sgd-softmax': '#a23bd8' };

function SightingsChart() {
  const curve = useCompare((s) => s.curve);
  const kinds = useCompare((s) => s.kinds);
  const events = useCompare((s) => s.events);
  const enabled = useCompare((s) => s.enabled);
  const columns: CompareColumn[] = ['memory', ...kinds];
  // the x label carries the number of drawings in the bin: a point over 1 drawing is 0% or 100%
  const data = curve.map((p) => ({ bin: `${p.bin} (${p.n})`, n: p.n, ...Object.fromEntries(columns.map((c) => [c, p.values[c] === undefined ? null : Number(p.values[c]!.toFixed(1))])) }));
  return (
    <figure className="line-chart" data-testid="compare-chart" data-events={events}>
      {events === 0 ? (
        <p className="chart-empty" data-testid="compare-chart-empty">
          No drawings compared yet. {enabled ? 'Compare mode is on: name' : 'Turn Compare mode on, then name'} and remember drawings in Draw &amp;
          predict: each one adds a point here.
        </p>
      ) : (
        <PercentLines
          data={data}
          xKey="bin"
          xLabel="times seen before (drawings)"
          height={260}
          tickSize={11}
          connectNulls
          series={columns.map((c) => ({ key: c, name: LEARNER_TITLES[c], color: COLORS[c] }))}
        />
      )}
      <figcaption>
        This session ({events} remembered drawing{events === 1 ? '' : 's'}): was each learner’s answer right <em>before</em> it learned the drawing,
        by how many times the class had been seen. The memory’s answer is V[n1] (right exactly when its write was case 1). Same bins as{' '}
        <code>npm run eval</code>’s curriculum.
      </figcaption>
    </figure>
  );
}

/** rows shown (each is scanned against every stored key for its closest drawings) */
const HEBBIAN_ROWS_SHOWN = 60;

function HebbianView() {
  const all = useCompare((s) => s.hebbian);
  const labels = useApp((s) => s.summary?.labels);
  const values = useApp((s) => s.summary?.values);
  const version = useApp((s) => s.summary?.version);
  const rows = all.slice(0, HEBBIAN_ROWS_SHOWN);
  // the stored drawings closest to each row shown: once per change of the rows or of the memory
  const nearest = useMemo(() => hebbianNearest(rows.map((r) => r.name)), [all, version]);
  const nameOfSlot = (slot: number) => {
    const v = values?.[slot];
    return labels?.find((l) => l.id === v)?.name ?? `#${v}`;
  };
  return (
    <section aria-labelledby="hebbian-h" data-testid="hebbian-view">
      <h3 id="hebbian-h">Hebbian softmax rows</h3>
      <p className="muted">
        Per class i: θ<sub>i</sub> ← λ<sub>i</sub> h + (1 − λ<sub>i</sub>) θ<sub>i</sub> with λ<sub>i</sub> = max(1/c<sub>i</sub>, γ), c<sub>i</sub> counting this drawing, for
        the first T drawings of the class, then frozen (γ = {HEBBIAN_DEFAULTS.gamma}, T = {HEBBIAN_DEFAULTS.smoothingLimit}); answers softmax({HEBBIAN_DEFAULTS.scale}·θ<sub>i</sub>·h). λ<sub>i</sub> is the
        blend the next drawing of the class would get (0: frozen). A variant without gradient steps: in Rae et al. the blend is with θ<sub>i</sub> after
        an SGD step on the softmax loss, and after T drawings the row goes on learning by SGD (here the encoder is frozen and nothing else is trained).
      </p>
      {rows.length === 0 ? (
        <p className="muted">No class yet: remember a drawing with Compare mode on.</p>
      ) : (
        <table className="hebbian-table">
          <thead>
            <tr>
              <th scope="col">class</th>
              <th scope="col">c<sub>i</sub></th>
              <th scope="col">λ<sub>i</sub> (next)</th>
              <th scope="col">|θ<sub>i</sub>|</th>
              <th scope="col">stored drawings closest to θ<sub>i</sub></th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.name} data-testid="hebbian-row" data-name={r.name} data-count={r.count} data-lambda={r.lambda}>
                <th scope="row">{r.name}</th>
                <td className="num">{r.count}</td>
                <td className="num">{r.lambda.toFixed(3)}</td>
                <td className="num">{r.norm.toFixed(3)}</td>
                <td>
                  <span className="hebbian-nearest">
                    {(nearest.get(r.name) ?? []).map((n) => (
                      <span key={n.slot} className="hn" data-testid="hebbian-nearest" data-slot={n.slot}>
                        <Thumb image={getEngine().thumbnail(n.slot)} size={36} title={`slot ${n.slot}: ${nameOfSlot(n.slot)}, cos ${n.similarity.toFixed(2)}`} />
                        <small>
                          {nameOfSlot(n.slot)} {n.similarity.toFixed(2)}
                        </small>
                      </span>
                    ))}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {all.length > rows.length && (
        <p className="muted" data-testid="hebbian-shown">
          showing the first {rows.length} of {all.length} classes (by name)
        </p>
      )}
    </section>
  );
}

export function CompareView() {
  const c = useCompare();
  const ready = useApp((s) => s.ready);
  return (
    <section className="panel compare-view" aria-labelledby="compare-h" data-testid="compare-view" data-enabled={c.enabled}>
      <h2 id="compare-h">Compare: the memory beside fast parametric learners</h2>
      <p className="lead" data-testid="compare-lead">
        Is a memory needed to learn from one example? Turn Compare mode on, then draw and name symbols as usual: other quick learners get
        the same drawings, and Draw &amp; predict shows which of them answers right, after one example of a symbol, after two, after five.
      </p>
      <p className="muted">
        With Compare mode on, every remembered drawing goes to the key-value memory and to the Hebbian softmax of Rae et al. (ICML 2018), plus the
        class prototypes and the SGD-trained softmax if chosen; the draw view shows their answers side by side. Saved in this browser like the memory.
      </p>
      <fieldset className="compare-options" disabled={!ready || !c.loaded || c.readOnly}>
        <legend>Compare mode</legend>
        <label>
          <input type="checkbox" checked={c.enabled} onChange={(e) => c.setEnabled(e.target.checked)} data-testid="compare-toggle" /> Compare mode on
        </label>
        <p className="hint compare-kinds-h">Beside the memory:</p>
        {COMPARE_KINDS.map((k) => (
          <label key={k}>
            <input
              type="checkbox"
              checked={c.kinds.includes(k)}
              disabled={k === 'hebbian'}
              onChange={(e) => c.setKinds(e.target.checked ? [...c.kinds, k] : c.kinds.filter((x) => x !== k))}
              data-testid={`compare-kind-${k}`}
            />{' '}
            {LEARNER_TITLES[k]}
          </label>
        ))}
        <button type="button" onClick={c.reset} data-testid="compare-reset">
          Reset the comparison
        </button>
      </fieldset>
      {c.readOnly && (
        <p className="hint" data-testid="compare-read-only">
          This memory is open in another tab: the comparison is shown as that tab saves it, and changed there.
        </p>
      )}
      {c.notice && (
        <p className="message info" role="status" data-testid="compare-notice">
          <span>{c.notice}</span>
        </p>
      )}
      {c.error && (
        <p className="error" role="alert" data-testid="compare-error">
          {c.error}
        </p>
      )}
      <SightingsChart />
      <HebbianView />
    </section>
  );
}

export default CompareView;
