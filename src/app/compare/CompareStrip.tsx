import { LEARNER_TITLES } from '../../learners';
import { useCompare } from './compareStore';
import './compare.css';

/** Compare mode in the draw view: each learner's answer and confidence beside the memory's. */
export function CompareStrip() {
  const enabled = useCompare((s) => s.enabled);
  const answers = useCompare((s) => s.answers);
  if (!enabled) return null;
  return (
    <section className="panel compare-strip" aria-labelledby="compare-strip-h" data-testid="compare-strip">
      <h2 id="compare-strip-h">Compare: every learner’s answer</h2>
      {!answers ? (
        <p className="muted">Draw a symbol: the memory and each learner answer side by side.</p>
      ) : (
        <ul className="compare-answers">
          <li data-testid="compare-answer" data-column="memory" data-name={answers.memory.name ?? ''} data-sure={answers.memory.belowCutoff === null}>
            <span className="c-title">{LEARNER_TITLES.memory}</span>
            <strong className="c-name">
              {answers.memory.name === null ? '—' : answers.memory.belowCutoff === null ? answers.memory.name : `not sure (nearest: ${answers.memory.name})`}
            </strong>
            <span className="c-conf">
              p {answers.memory.confidence.toFixed(2)} · cos {answers.memory.similarity.toFixed(2)}
              {answers.memory.belowCutoff !== null ? `, below the cut-off ${answers.memory.belowCutoff.toFixed(2)}` : ''}
            </span>
            <meter min={0} max={1} value={answers.memory.confidence} aria-label="memory confidence" />
          </li>
          {answers.learners.map((a) => (
            <li key={a.column} data-testid="compare-answer" data-column={a.column} data-name={a.name ?? ''}>
              <span className="c-title">{LEARNER_TITLES[a.column]}</span>
              <strong className="c-name">{a.name ?? '—'}</strong>
              <span className="c-conf">p {a.confidence.toFixed(2)}</span>
              <meter min={0} max={1} value={a.confidence} aria-label={`${LEARNER_TITLES[a.column]} confidence`} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
