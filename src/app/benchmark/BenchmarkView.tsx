/**
 * The Benchmark tab: the same Omniglot protocols as `npm run eval`, run in the page on the app's
 * tfjs backend, with a progress bar, the table beside the published figures, and the
 * accuracy-by-shot and life-long curves (recharts). All the work is in src/eval; this view only
 * calls it through the store in benchmarkStore.ts.
 */
import { useCallback, useState, type ChangeEvent, type DragEvent } from 'react';
import { PercentLines } from '../components/PercentLines';
import { MAX_EPISODES, PUBLISHED, TASKS, type BenchmarkResults } from '../../eval/benchmark';
import { OMNIGLOT_EVALUATION_URL } from '../../eval/omniglot';
import { formatPercent } from '../../eval/protocols';
import { encoderEntryInUse, useApp } from '../store';
import { useBenchmark } from './benchmarkStore';
import { LearnersResults } from './LearnersResults';
import './benchmark.css';

const COLORS = ['#2f5fc4', '#d8873b', '#2a9d5b', '#a23bd8', '#c43b5f', '#555'];

const pct = formatPercent;

function ResultsTable({ r }: { r: BenchmarkResults }) {
  const head = TASKS.map((t) => `${t.ways}-way ${t.shots}-shot`);
  const rows: { name: string; set: string; cells: string[]; ours: boolean }[] = PUBLISHED.map((p) => ({
    name: `${p.method} (published)`,
    set: p.source,
    cells: p.accuracy.map((a) => a.toFixed(1)),
    ours: false,
  }));
  for (const ts of r.testSets) {
    for (const m of ['pixels', 'memory'] as const) {
      const cells = TASKS.map((t) =>
        pct(r.fewShot.find((f) => f.method === m && f.testSet === ts.name && f.ways === t.ways && f.shots === t.shots)?.accuracy),
      );
      if (cells.every((c) => c === '–')) continue;
      rows.push({ name: m === 'memory' ? `Memory Lab: ${r.model} + memory` : 'Memory Lab: pixels NN', set: ts.name, cells, ours: m === 'memory' });
    }
  }
  return (
    <table className="bench-table" data-testid="benchmark-table">
      <caption>
        N-way K-shot accuracy (%), ± 95% CI over {r.config.episodes} episodes; published figures from Kaiser et al. 2017 (Table 1) and Snell et al. 2017.
      </caption>
      <thead>
        <tr>
          <th scope="col">Method</th>
          <th scope="col">Test classes</th>
          {head.map((h) => (
            <th scope="col" key={h}>
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.name + row.set} className={row.ours ? 'ours' : undefined} data-testid={row.ours ? 'benchmark-row-ours' : undefined}>
            <th scope="row">{row.name}</th>
            <td>{row.set}</td>
            {row.cells.map((c, i) => (
              <td key={i} className="num">
                {c}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ShotChart({ r }: { r: BenchmarkResults }) {
  const series = r.online.map((o) => ({ key: `${o.method === 'memory' ? 'model' : 'pixels'} ${o.ways}-way`, o }));
  const maxShot = r.config.online.maxShot;
  const data = Array.from({ length: maxShot + 1 }, (_, s) => {
    const row: Record<string, number | string> = { shot: s === maxShot ? `${s}+` : String(s) };
    for (const { key, o } of series) {
      const p = o.byShot.find((b) => b.shot === s);
      if (p) row[key] = Number((100 * p.accuracy.mean).toFixed(2));
    }
    return row;
  });
  return (
    <figure className="line-chart" data-testid="benchmark-shot-chart">
      <PercentLines
        data={data}
        xKey="shot"
        xLabel="times the class was seen before"
        height={280}
        series={series.map(({ key }, i) => ({ key, color: COLORS[i % COLORS.length] }))}
      />
      <figcaption>
        Online protocol ({r.config.online.episodes} episodes; prediction before each write): accuracy by the number of times the class had been
        seen (the reference's correct_by_shot).
      </figcaption>
    </figure>
  );
}

function LifelongChart({ r }: { r: BenchmarkResults }) {
  if (r.lifelong.length === 0) return null;
  const first = r.lifelong[0];
  const data = first.curve.map((p, i) => {
    const row: Record<string, number> = { episode: p.episode };
    for (const l of r.lifelong) row[l.method === 'memory' ? 'model' : 'pixels'] = Number((100 * l.curve[i].accuracy.mean).toFixed(2));
    return row;
  });
  return (
    <figure className="line-chart" data-testid="benchmark-lifelong-chart">
      <PercentLines
        data={data}
        xKey="episode"
        xLabel="episodes"
        height={240}
        dots={false}
        series={r.lifelong.map((l, i) => ({ key: l.method === 'memory' ? 'model' : 'pixels', color: COLORS[i] }))}
      />
      <figcaption>
        Life-long: one memory of {first.memorySize} slots never reset, {first.ways} new classes per episode; accuracy on classes seen before, per
        window of {r.config.lifelong.window} episodes ({first.evictions} evictions of earlier classes).
      </figcaption>
    </figure>
  );
}

function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function BenchmarkView() {
  const s = useBenchmark();
  const [dragging, setDragging] = useState(false);
  const running = s.status === 'running' || s.status === 'loading';

  const takeFiles = useCallback(
    async (files: FileList | null) => {
      if (!files) return;
      for (const f of Array.from(files)) {
        if (f.name.toLowerCase().endsWith('.txt')) s.loadSplit(await f.text(), f.name);
        else s.loadZip(await f.arrayBuffer(), f.name);
      }
    },
    [s],
  );
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void takeFiles(e.dataTransfer.files);
  };
  const onPick = (e: ChangeEvent<HTMLInputElement>) => {
    void takeFiles(e.target.files);
    e.target.value = '';
  };

  // the encoder a run measures (benchmarkStore loads the same one)
  const encoderName = useApp((a) => encoderEntryInUse(a).name);

  return (
    <section className="panel benchmark" aria-labelledby="benchmark-h" data-testid="benchmark-view" data-status={s.status}>
      <h2 id="benchmark-h">Benchmark: Omniglot one-shot, measured here</h2>
      <p className="lead" data-testid="benchmark-lead">
        How good is learning from one drawing, in numbers? Give this page the Omniglot test set (handwritten characters of 20 alphabets
        the encoder never saw): it makes many small quizzes of 5 or 20 characters, one example each, and scores the memory&apos;s
        answers, in this browser, with nothing uploaded.
      </p>
      <p className="muted">
        The protocols of <code>npm run eval</code> (N-way K-shot with the memory, the online protocol, life-long, the pixels baseline, and every
        learner side by side: Hebbian softmax, prototypes, SGD softmax, on the same episodes and on Rae et al.’s curriculum), run in this
        page on the app's backend. Drop the official <code>images_evaluation.zip</code> (or any zip of the same layout), and optionally the Vinyals
        split <code>test.txt</code> to score its rotated test classes. Nothing is uploaded.
      </p>

      <div
        className={`bench-drop${dragging ? ' dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="benchmark-drop"
      >
        <label>
          Omniglot zip or split file:{' '}
          <input type="file" accept=".zip,.txt" multiple onChange={onPick} disabled={running} data-testid="benchmark-file" />
        </label>
        <button type="button" data-testid="benchmark-download" onClick={() => void s.downloadOfficialZip()} disabled={running} title={OMNIGLOT_EVALUATION_URL}>
          Download the official evaluation zip
        </button>
      </div>

      <dl className="status" aria-label="benchmark data">
        <dt>encoder</dt>
        <dd data-testid="benchmark-encoder">
          {encoderName} <span className="muted">(the one in use; Settings → Encoder chooses it)</span>
        </dd>
        <dt>data</dt>
        <dd data-testid="benchmark-dataset">
          {s.dataset ? `${s.dataset.source}: ${s.dataset.characters} characters, ${s.dataset.alphabets} alphabets, ${s.dataset.drawings} drawings` : 'none yet'}
          {s.dataset?.caveat && (
            <p className="field-error" role="alert" data-testid="benchmark-dataset-caveat">
              Note: {s.dataset.caveat}.
            </p>
          )}
        </dd>
        <dt>split</dt>
        <dd>
          {s.split ? (
            <>
              {s.split.source} ({s.split.classes} classes){' '}
              <button type="button" className="link" onClick={s.clearSplit} disabled={running}>
                remove
              </button>
            </>
          ) : (
            'none (unrotated characters only)'
          )}
        </dd>
      </dl>

      <fieldset className="bench-options" disabled={running}>
        <legend>Run</legend>
        <label className="field">
          episodes per task{' '}
          <input
            type="number"
            min={1}
            max={MAX_EPISODES}
            step={1}
            value={s.options.episodes}
            onChange={(e) => s.setOptions({ episodes: Number(e.target.value) })}
            data-testid="benchmark-episodes"
          />
        </label>
        <label className="field">
          drawings per class{' '}
          <input
            type="number"
            min={2}
            max={20}
            value={s.options.drawingsPerClass}
            onChange={(e) => s.setOptions({ drawingsPerClass: Number(e.target.value) })}
          />
        </label>
        <label>
          <input type="checkbox" checked={s.options.pixelsBaseline} onChange={(e) => s.setOptions({ pixelsBaseline: e.target.checked })} /> pixels
          baseline
        </label>
        <label>
          <input type="checkbox" checked={s.options.full} onChange={(e) => s.setOptions({ full: e.target.checked })} /> full online / life-long runs
        </label>
      </fieldset>
      <div className="controls">
        <button type="button" className="primary" onClick={() => void s.run()} disabled={running || !s.dataset} data-testid="benchmark-run">
          Run benchmark
        </button>
        <button type="button" onClick={s.cancel} disabled={s.status !== 'running'} data-testid="benchmark-cancel">
          Cancel
        </button>
      </div>

      {(running || s.status === 'done' || s.status === 'cancelled') && (
        <div className="bench-progress" aria-live="polite">
          <progress max={Math.max(1, s.total)} value={s.done} data-testid="benchmark-progress" />
          <span data-testid="benchmark-stage">
            {s.stage} {s.total > 1 && running ? `${s.done}/${s.total}` : ''} · {s.elapsedS.toFixed(0)} s
          </span>
        </div>
      )}
      {s.error && (
        <p className="error" role="alert" data-testid="benchmark-error">
          {s.error}
        </p>
      )}

      {s.results && (
        <div className="bench-results" data-testid="benchmark-results">
          <ResultsTable r={s.results} />
          {s.results.skipped.length > 0 && (
            <ul className="muted" data-testid="benchmark-skipped">
              {s.results.skipped.map((x) => (
                <li key={x}>skipped: {x}</li>
              ))}
            </ul>
          )}
          <div className="charts">
            {s.results.online.length > 0 && <ShotChart r={s.results} />}
            <LifelongChart r={s.results} />
          </div>
          {s.results.learners && <LearnersResults r={s.results.learners} tasks={s.results.config.tasks ?? TASKS} />}
          <p className="muted">
            {s.results.images} images on {s.results.backend} in {(s.results.timings.total ?? s.elapsedS).toFixed(1)} s.
          </p>
          <div className="controls">
            <button type="button" onClick={() => download('eval-results.md', s.markdown, 'text/markdown')}>
              Download report (.md)
            </button>
            <button type="button" onClick={() => download('eval-results.json', JSON.stringify(s.results, null, 1), 'application/json')}>
              Download results (.json)
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

export default BenchmarkView;
