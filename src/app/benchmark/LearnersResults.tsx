/**
 * The learners part of a benchmark run (src/eval/learnersBenchmark.ts): the N-way K-shot table
 * for every learner and the curriculum curves (accuracy by sightings, by steps since last seen).
 */
import { PercentLines } from '../components/PercentLines';
import type { LearnersResults as Results } from '../../eval/learnersBenchmark';
import type { BinPoint, CurriculumLearnerResult } from '../../eval/learners';
import { formatPercent } from '../../eval/protocols';

const COLORS = ['#2f5fc4', '#7f9fe0', '#d8873b', '#2a9d5b', '#a23bd8', '#555'];
const pct = formatPercent;

function CurveChart({ r, pick, xLabel, testId, caption }: { r: Results; pick: (l: CurriculumLearnerResult) => BinPoint[]; xLabel: string; testId: string; caption: string }) {
  const c = r.curriculum!;
  const bins = pick(c.learners[0]);
  const data = bins.map((b, i) => ({
    bin: b.label,
    ...Object.fromEntries(c.learners.map((l) => [l.id, Number.isNaN(pick(l)[i].accuracy.mean) ? null : Number((100 * pick(l)[i].accuracy.mean).toFixed(1))])),
  }));
  return (
    <figure className="line-chart" data-testid={testId}>
      <PercentLines
        data={data}
        xKey="bin"
        xLabel={xLabel}
        height={280}
        series={c.learners.map((l, i) => ({ key: l.id, name: l.title, color: COLORS[i % COLORS.length] }))}
      />
      <figcaption>{caption}</figcaption>
    </figure>
  );
}

export function LearnersResults({ r, tasks }: { r: Results; tasks: readonly { ways: number; shots: number }[] }) {
  const ids = [...new Set(r.fewShot.map((x) => x.learner))];
  const c = r.curriculum;
  return (
    <section className="bench-learners" aria-labelledby="bench-learners-h" data-testid="benchmark-learners">
      <h3 id="bench-learners-h">Learners side by side: memory, Hebbian softmax, prototypes, SGD softmax</h3>
      {r.fewShot.length > 0 && (
        <table className="bench-table" data-testid="benchmark-learners-table">
          <caption>
            N-way K-shot accuracy (%) ± 95% CI on {r.fewShot[0].testSet}, the first {r.fewShot[0].episodes} of the main table’s seeded episodes.
          </caption>
          <thead>
            <tr>
              <th scope="col">Learner</th>
              {tasks.map((t) => (
                <th scope="col" key={`${t.ways}/${t.shots}`}>
                  {t.ways}-way {t.shots}-shot
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {ids.map((id) => {
              const rows = tasks.map((t) => r.fewShot.find((x) => x.learner === id && x.ways === t.ways && x.shots === t.shots));
              return (
                <tr key={id} data-testid="benchmark-learner-row" data-learner={id}>
                  <th scope="row">{rows.find((x) => x)?.title ?? id}</th>
                  {rows.map((x, i) => (
                    <td key={i} className="num">
                      {pct(x?.accuracy)}
                    </td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {c && (
        <div className="charts">
          <CurveChart
            r={r}
            pick={(l) => l.bySightings}
            xLabel="times the class was seen before"
            testId="benchmark-curriculum-sightings"
            caption={`Curriculum (Rae et al. 2018) on ${c.testSet}: ${c.streams} stream(s) of ${c.length} drawings, a new class every ${c.introduceEvery} steps; each learner predicts a drawing before learning it.`}
          />
          <CurveChart
            r={r}
            pick={(l) => l.byGap}
            xLabel="steps since the class was last seen"
            testId="benchmark-curriculum-gap"
            caption="The same predictions (classes seen before) by time since last seen: forgetting. A small memory evicts old classes."
          />
        </div>
      )}
    </section>
  );
}
