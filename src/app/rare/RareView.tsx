/**
 * The "Rare events" view: the paper's synthetic task (section 4) with the sequence model whose
 * memory is the project's memory module. Type or generate an input, watch the output token by
 * token with the memory's neighbours at each digit step, then teach an unseen number once.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { focusLater } from '../components/keys';
import { Question } from '../components/Question';
import { useApp } from '../store';
import { accuracyBySightings, useRare, type NeighbourView, type StepView } from './rareStore';
import './rare.css';

function OriginText({ o }: { o: NeighbourView['origin'] }) {
  if (o.kind === 'training') {
    return (
      <span>
        training example #{o.example} <code>{o.input}</code> (number {o.number}, seen {o.seenInTraining}× in training
        {o.taughtInSession ? `, taught ${o.taughtInSession}× here` : ''})
      </span>
    );
  }
  if (o.kind === 'session') {
    return (
      <span>
        taught in this session: <code>{o.input}</code> (number {o.number}, seen {o.seenInTraining}× in training)
      </span>
    );
  }
  return <span className="muted">no record</span>;
}

function StepDetail({ s }: { s: StepView }) {
  if (!s.memoryStep) {
    return (
      <p data-testid="rare-step-detail" data-memory="false">
        Step {s.t + 1}: input <b>{s.input}</b> is not a digit, so the memory is not consulted here; the decoder copies it: <b>{s.output}</b> (p = {s.probability.toFixed(3)}).
      </p>
    );
  }
  return (
    <div data-testid="rare-step-detail" data-memory="true">
      <p>
        Step {s.t + 1}: input digit <b>{s.input}</b> → output <b data-testid="rare-step-output">{s.output}</b> (p = {s.probability.toFixed(3)}; correct: {s.expected}).
        The memory's nearest neighbour n1 = slot <b data-testid="rare-step-n1">{s.n1}</b> holds{' '}
        <b data-testid="rare-step-value" className={s.memoryCorrect ? 'ok' : 'bad'}>{s.memoryValue || '—'}</b> with softmax confidence{' '}
        <b data-testid="rare-step-confidence">{s.confidence.toFixed(3)}</b>. Without the memory the decoder would say <b data-testid="rare-step-without">{s.withoutMemoryHere}</b> here.
      </p>
      <table className="rare-neighbours" data-testid="rare-neighbours">
        <caption>Nearest keys in the memory (cosine similarity to this step's attention vector)</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">slot</th>
            <th scope="col">similarity</th>
            <th scope="col">weight</th>
            <th scope="col">value</th>
            <th scope="col">written by</th>
          </tr>
        </thead>
        <tbody>
          {s.neighbours.map((n, i) => (
            <tr key={n.slot} data-testid="rare-neighbour" data-origin={n.origin.kind}>
              <td>{i === 0 ? 'n1' : i + 1}</td>
              <td>{n.slot}</td>
              <td className="num">{n.similarity.toFixed(3)}</td>
              <td className="num">{n.weight.toFixed(3)}</td>
              <td>{n.value}</td>
              <td>
                <OriginText o={n.origin} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Steps() {
  const run = useRare((s) => s.run)!;
  const selected = useRare((s) => s.selectedStep);
  const select = useRare((s) => s.selectStep);
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const onKey = (e: KeyboardEvent, t: number) => {
    const to = e.key === 'ArrowRight' ? t + 1 : e.key === 'ArrowLeft' ? t - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? run.steps.length - 1 : null;
    if (to === null || to < 0 || to >= run.steps.length) return;
    e.preventDefault();
    select(to);
    refs.current[to]?.focus();
  };
  return (
    <div className="rare-steps" role="group" aria-label="output token by token (arrow keys move between steps)" data-testid="rare-steps">
      <div className="rare-row-labels" aria-hidden="true">
        <span>input</span>
        <span>output</span>
        <span>memory</span>
        <span>correct</span>
      </div>
      {run.steps.map((s) => (
        <button
          key={s.t}
          ref={(el) => {
            refs.current[s.t] = el;
          }}
          type="button"
          className={`rare-step${s.memoryStep ? ' mem' : ''}${s.correct ? '' : ' wrong'}`}
          aria-pressed={selected === s.t}
          tabIndex={selected === s.t || (selected === null && s.t === 0) ? 0 : -1}
          aria-label={`step ${s.t + 1}: input ${s.input}, output ${s.output}${s.memoryStep ? `, memory says ${s.memoryValue} with confidence ${s.confidence.toFixed(2)}` : ''}, ${s.correct ? 'correct' : `should be ${s.expected}`}`}
          data-testid="rare-step"
          onClick={() => select(s.t)}
          onKeyDown={(e) => onKey(e, s.t)}
        >
          <span>{s.input}</span>
          <span className="out">{s.output}</span>
          <span className="memv">{s.memoryValue || ' '}</span>
          <span className="exp">{s.expected}</span>
        </button>
      ))}
    </div>
  );
}

function SessionChart() {
  const attempts = useRare((s) => s.attempts);
  const data = accuracyBySightings(attempts);
  if (data.length === 0) return <p className="muted">Run some inputs: their accuracy by how often the number was seen appears here.</p>;
  return (
    <div data-testid="rare-chart" style={{ width: '100%', height: 220 }}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 8, right: 12, bottom: 18, left: 0 }} title="bar chart: % of inputs fully correct by times the number was seen; arrow keys step through the bars">
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="sightings" label={{ value: 'times seen (training + taught here)', position: 'insideBottom', offset: -8 }} />
          <YAxis domain={[0, 100]} unit="%" />
          <Tooltip formatter={(v, _n, p) => [`${v}% of ${(p.payload as { n: number }).n} inputs`, 'fully correct']} />
          <Bar dataKey="accuracy" fill="#2f5fc4" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
      <table className="sr-only" data-testid="rare-chart-table">
        <caption>Session accuracy by sightings</caption>
        <tbody>
          {data.map((d) => (
            <tr key={d.sightings} data-testid="rare-chart-row" data-sightings={d.sightings} data-n={d.n} data-accuracy={d.accuracy}>
              <td>{d.sightings}</td>
              <td>{d.accuracy}%</td>
              <td>{d.n}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TeachReport() {
  const t = useRare((s) => s.lastTeach);
  if (!t) return null;
  const updates = t.writes.filter((w) => w.case === 'update').length;
  return (
    <div className="write-report" data-testid="rare-teach-report" aria-live="polite">
      <p>
        Shown once: <code>{t.input}</code> → <code>{t.output}</code>. One labelled pass through the memory (no gradient step): each of
        the {t.writes.length} digit steps wrote its attention vector with the correct digit — {updates} averaged into an existing slot
        (update), {t.writes.length - updates} to a new slot. Memory loss before the write: <b data-testid="rare-teach-loss">{t.meanLoss.toFixed(3)}</b>.
      </p>
      <table className="rare-neighbours">
        <thead>
          <tr>
            <th scope="col">step</th>
            <th scope="col">digit</th>
            <th scope="col">case</th>
            <th scope="col">slot</th>
            <th scope="col">loss</th>
          </tr>
        </thead>
        <tbody>
          {t.writes.map((w) => (
            <tr key={w.t} data-testid="rare-write" data-case={w.case}>
              <td>{w.t + 1}</td>
              <td>{w.digit}</td>
              <td>
                {w.case === 'update'
                  ? 'update: n1 already held this digit, K[n1] = normalize(q + K[n1])'
                  : `new: slot n′${w.previous.empty ? ' (was empty)' : `, evicting “${w.previous.value}” (age ${w.previous.age})`}`}
              </td>
              <td>{w.slot}</td>
              <td className="num">{w.loss.toFixed(3)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function whatGoes(taught: number, attempts: number): string {
  const parts = [
    ...(taught ? [`the ${taught === 1 ? 'answer' : `${taught} answers`} shown to the memory`] : []),
    ...(attempts ? [`the chart of ${attempts} ${attempts === 1 ? 'try' : 'tries'}`] : []),
  ];
  if (!parts.length) return 'Nothing was taught or tried yet.'; // (the button is off then; a session can empty while asking)
  const text = parts.join(' and ');
  return `${text[0].toUpperCase()}${text.slice(1)} ${parts.length > 1 ? 'go' : 'goes'}.`;
}

/** "Clear this session", asked first: what was taught and the chart go for good. */
function ResetSession() {
  const busy = useRare((s) => s.busy);
  const taught = useRare((s) => s.taught.length);
  const attempts = useRare((s) => s.attempts.length);
  const [confirming, setConfirming] = useState(false);
  if (!confirming) {
    return (
      <p>
        <button type="button" onClick={() => setConfirming(true)} disabled={busy || (!taught && !attempts)} data-testid="rare-reset">
          Clear this session (memory back to the trained one)…
        </button>
      </p>
    );
  }
  return (
    <Question
      id="rare-reset-q"
      testId="rare-reset-dialog"
      text={`Forget this session? ${whatGoes(taught, attempts)} The memory is back to the trained one. This cannot be undone.`}
      onCancel={() => {
        setConfirming(false);
        focusLater('rare-reset');
      }}
    >
      <button
        type="button"
        data-testid="rare-reset-confirm"
        disabled={busy}
        onClick={() => {
          setConfirming(false);
          void useRare.getState().resetSession();
        }}
      >
        Yes, clear the session
      </button>{' '}
    </Question>
  );
}

export function RareView() {
  const ready = useApp((s) => s.ready);
  const st = useRare();
  useEffect(() => {
    if (ready) void useRare.getState().open();
  }, [ready]);
  const run = st.run;
  const selected = run && st.selectedStep !== null ? run.steps[st.selectedStep] : null;
  const disabled = st.status !== 'ready' || st.busy;

  return (
    <section className="panel rare-view" data-testid="rare-view" data-status={st.status} aria-busy={st.busy || st.status === 'loading'}>
      <h2>Rare events</h2>
      <p className="lead" data-testid="rare-lead">
        Can a network remember something it has seen only once? This one must answer each number with digits that follow no rule (a
        random table), and most numbers it never met in training. Press “A number never seen in training”: its digits almost always come out wrong. Press “Show
        the answer once”: the memory stores it. Press Run again: now they are right.
      </p>
      <p className="hint">
        The paper's synthetic task (section 4): a fixed random function f on the numbers 2..16000. An input holds one number as 7 base-4
        digits among random As and Bs; the output copies the As and Bs and writes f(number) in place of the digits. Each number appears
        only a few times in training, so a network can only answer by remembering — here a sequence-to-sequence model whose decoder asks
        the memory at every digit step.
      </p>
      {st.status === 'idle' || st.status === 'loading' ? (
        <p data-testid="rare-loading">{ready ? 'Loading the rare-event model and its memory (about 19 MB)…' : 'Waiting for the app to start…'}</p>
      ) : null}
      {st.status === 'missing' ? (
        <div className="message warning" role="status" data-testid="rare-missing">
          <span>
            The rare-event model is not in this build ({st.error}). Train and export it as its model card says (<code>models/rare-seq2seq-memory/README.md</code>):{' '}
            <code>/usr/bin/python3 training/rare/train.py --query_norm=batchnorm --memory_size=131072 --recon_weight=1 --out=training/runs/rare-bn-recon</code> then{' '}
            <code>/usr/bin/python3 training/rare/export.py --ckpt=training/runs/rare-bn-recon/final.pt --out=models/rare-seq2seq-memory</code>.
          </span>
        </div>
      ) : null}
      {st.status === 'error' ? (
        <div className="message error" role="alert" data-testid="rare-error">
          <span>The rare-event model could not be loaded: {st.error}</span>
        </div>
      ) : null}
      {st.notice ? (
        <p className="hint" role="status" data-testid="rare-notice">
          {st.notice}
        </p>
      ) : null}
      {st.modelInfo ? (
        <p className="hint" data-testid="rare-model-info">
          Memory: {st.modelInfo.filled.toLocaleString()} of {st.modelInfo.size.toLocaleString()} slots filled by training (key size {st.modelInfo.keySize})
          {st.modelInfo.testAccuracy !== null ? `; ${st.modelInfo.testAccuracy}% of test sequences fully correct after training` : ''}; this
          session taught {st.taught.length} pair{st.taught.length === 1 ? '' : 's'}.
          {st.modelInfo.reconstruction
            ? ' Trained with the paper\'s losses plus one it does not have: the memory query must also spell out the number it reads (with the paper\'s losses alone it gets 0.01%; see the model card).'
            : ''}
        </p>
      ) : null}

      <form
        className="rare-input"
        onSubmit={(e) => {
          e.preventDefault();
          void st.runInput();
        }}
      >
        <label className="field">
          <span>Input sequence (A, B and one run of 7 digits 0-3; 7 to 40 symbols)</span>
          <input
            type="text"
            value={st.inputText}
            onChange={(e) => st.setInputText(e.target.value)}
            spellCheck={false}
            autoComplete="off"
            aria-invalid={st.inputError !== null}
            aria-describedby={st.inputError ? 'rare-input-error' : undefined}
            data-testid="rare-input"
            placeholder="e.g. ABBA0123012BAB"
          />
        </label>
        <div className="rare-actions">
          <button type="submit" disabled={disabled} data-testid="rare-run">
            Run
          </button>
          <button type="button" disabled={disabled} onClick={() => void st.generate()} data-testid="rare-generate">
            Random input
          </button>
          <button type="button" disabled={disabled} onClick={() => void st.pickUnseen()} data-testid="rare-unseen">
            A number never seen in training
          </button>
        </div>
        {st.inputError ? (
          <p className="error field-error" id="rare-input-error" role="alert" data-testid="rare-input-error">
            {st.inputError}
          </p>
        ) : null}
      </form>

      {run ? (
        <div className="rare-result" data-testid="rare-result" data-correct={run.correct}>
          <p>
            Number <b data-testid="rare-number">{run.number}</b> → f = <b>{run.fOfNumber}</b>; seen <b data-testid="rare-seen">{run.seenInTraining}</b>× in
            training{run.taughtInSession ? `, taught ${run.taughtInSession}× in this session` : ''}.
          </p>
          <Steps />
          <dl className="rare-lines">
            <dt>output with the memory</dt>
            <dd>
              <code data-testid="rare-output">{run.output}</code> <b className={run.correct ? 'ok' : 'bad'} data-testid="rare-verdict">{run.correct ? 'correct' : 'wrong'}</b>
            </dd>
            <dt>output without the memory</dt>
            <dd>
              <code data-testid="rare-output-without">{run.outputWithoutMemory}</code> {run.correctWithoutMemory ? 'correct' : 'wrong'}
            </dd>
            <dt>correct output</dt>
            <dd>
              <code data-testid="rare-expected">{run.expected}</code>
            </dd>
          </dl>
          {selected ? <StepDetail s={selected} /> : null}
          <div className="rare-actions">
            <button type="button" disabled={disabled || !st.modelInfo?.useMemory} onClick={() => void st.teach()} data-testid="rare-teach">
              Show the answer once (x, f(x))
            </button>
            <button type="button" disabled={disabled} onClick={() => void st.sameNumberNewContext()} data-testid="rare-same-number">
              Same number, new As and Bs
            </button>
          </div>
        </div>
      ) : null}
      <TeachReport />

      <h3>This session: accuracy by how often the number was seen</h3>
      <SessionChart />
      <ResetSession />
    </section>
  );
}

export default RareView;
