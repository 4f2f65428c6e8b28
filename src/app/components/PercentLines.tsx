/**
 * The app's accuracy curves (Compare, Benchmark): lines of percentages 0-100 over bins, as wide as
 * their column allows. Put it in a `<figure className="line-chart">` (at most 560 px wide, and it
 * shrinks on a phone instead of widening the page). Lines that coincide stay visible: the first
 * series is drawn widest, at the bottom, each next one narrower on top of it.
 */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

export interface PercentSeries {
  /** the field of each data row holding this line's value (null: no point in that bin) */
  key: string;
  /** legend name; default the key */
  name?: string;
  color: string;
}

export function PercentLines({
  data,
  xKey,
  xLabel,
  series,
  height,
  dots = true,
  connectNulls = false,
  tickSize,
}: {
  data: Record<string, unknown>[];
  xKey: string;
  xLabel: string;
  series: PercentSeries[];
  height: number;
  dots?: boolean;
  connectNulls?: boolean;
  tickSize?: number;
}) {
  return (
    <ResponsiveContainer width="100%" height={height}>
      {/* its title is the chart's spoken name (a Tab stop: arrow keys step through its points) */}
      <LineChart
        data={data}
        margin={{ top: 8, right: 16, bottom: 16, left: 0 }}
        title={`line chart: % by ${xLabel}, one line each for ${series.map((x) => x.name ?? x.key).join(', ')}; arrow keys step through the points`}
      >
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey={xKey} tick={tickSize ? { fontSize: tickSize } : undefined} label={{ value: xLabel, position: 'insideBottom', offset: -8 }} />
        <YAxis domain={[0, 100]} unit="%" />
        <Tooltip />
        <Legend verticalAlign="top" />
        {series.map((s, i) => {
          // learners that agree draw the same line: each is wider than the ones drawn over it, so a
          // line under another still shows along both its edges
          const under = Math.min(3, series.length - 1 - i);
          return (
            <Line
              key={s.key}
              dataKey={s.key}
              name={s.name ?? s.key}
              stroke={s.color}
              strokeWidth={1.5 + 1.5 * under}
              dot={dots ? { r: 3 + under, strokeWidth: 1.5, fill: s.color } : false}
              connectNulls={connectNulls}
              isAnimationActive={false}
            />
          );
        })}
      </LineChart>
    </ResponsiveContainer>
  );
}
