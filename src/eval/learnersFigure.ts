/**
 * The curriculum curves as a standalone SVG (no DOM, no dependencies), written by `npm run eval`
 * beside its results so the README shows the measured data: accuracy by sightings and by steps
 * since last seen, one line per learner.
 */
import type { BinPoint, CurriculumResult } from './learners';

const COLORS = ['#2f5fc4', '#7f9fe0', '#d8873b', '#2a9d5b', '#a23bd8', '#555555'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function panel(c: CurriculumResult, pick: (i: number) => BinPoint[], x0: number, title: string, xLabel: string): string {
  const W = 420, H = 250, left = 44, top = 34, pw = W - left - 16, ph = H - top - 46;
  const bins = pick(0);
  const xs = (i: number) => x0 + left + (bins.length === 1 ? pw / 2 : (i * pw) / (bins.length - 1));
  const ys = (v: number) => top + ph - (v / 100) * ph;
  const out: string[] = [];
  out.push(`<text x="${x0 + left + pw / 2}" y="18" text-anchor="middle" font-size="14" font-weight="600">${esc(title)}</text>`);
  for (const v of [0, 25, 50, 75, 100]) {
    out.push(`<line x1="${x0 + left}" x2="${x0 + left + pw}" y1="${ys(v)}" y2="${ys(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${x0 + left - 6}" y="${ys(v) + 4}" text-anchor="end" font-size="11">${v}%</text>`);
  }
  bins.forEach((b, i) => out.push(`<text x="${xs(i)}" y="${top + ph + 16}" text-anchor="middle" font-size="11">${esc(b.label)}</text>`));
  out.push(`<text x="${x0 + left + pw / 2}" y="${top + ph + 34}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`);
  c.learners.forEach((_, li) => {
    const pts = pick(li)
      .map((p, i) => (Number.isNaN(p.accuracy.mean) ? null : [xs(i), ys(100 * p.accuracy.mean)]))
      .filter((p): p is number[] => p !== null);
    const color = COLORS[li % COLORS.length];
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${p[0].toFixed(1)},${p[1].toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${p[0].toFixed(1)}" cy="${p[1].toFixed(1)}" r="3" fill="${color}"/>`);
  });
  return out.join('\n');
}

/** Two panels (by sightings, by gap) and a legend; width 860. */
export function curriculumSvg(c: CurriculumResult & { testSet?: string }, caption: string): string {
  const W = 860;
  const legendTop = 262;
  const rows = Math.ceil(c.learners.length / 2);
  const H = legendTop + rows * 18 + 30;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(panel(c, (i) => c.learners[i].bySightings, 0, 'Accuracy by times the class was seen before', 'sightings before this drawing'));
  parts.push(panel(c, (i) => c.learners[i].byGap, 430, 'Accuracy by steps since last seen (seen classes)', 'steps since the class was last shown'));
  c.learners.forEach((l, i) => {
    const x = 50 + (i % 2) * 420, y = legendTop + Math.floor(i / 2) * 18;
    parts.push(`<line x1="${x}" x2="${x + 22}" y1="${y}" y2="${y}" stroke="${COLORS[i % COLORS.length]}" stroke-width="3"/>`);
    parts.push(`<text x="${x + 28}" y="${y + 4}" font-size="12">${esc(l.title)}</text>`);
  });
  parts.push(`<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="11" fill="#444">${esc(caption)}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
