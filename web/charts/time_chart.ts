/**
 * Server-rendered SVG charts over time: line, step or bar series with axes, grid lines, a
 * title and description for screen readers, and hover titles per time bucket. No client JS.
 */
import { markup, raw } from '../markup.ts';
import { fmtCompact } from '../format.ts';
import { niceTicks, timeTicks } from './scale.ts';

export type ChartPoint = { at: number; value: number };
export type ChartSeries = { label: string; points: ChartPoint[] };

export type TimeChartOptions = {
  /** Heading shown above the chart and the SVG's <title>. */
  title: string;
  kind: 'line' | 'step' | 'bar';
  series: ChartSeries[];
  /** The chart's time range (defaults to the data's). */
  from?: number;
  to?: number;
  /** Formats a value for labels and hover titles. */
  format?: (v: number) => string;
  /** Unit appended in hover titles ("GB"). */
  unit?: string;
  /** Fixed y range, e.g. [0, 1] for a ratio. */
  yDomain?: [number, number];
  /** y tick labels override, e.g. 0 → "off", 1 → "on". */
  yLabel?: (v: number) => string;
  /** How a time is written in hover titles. */
  timeLabel?: (at: number) => string;
  width?: number;
  height?: number;
  id: string;
};

const M = { top: 10, right: 14, bottom: 26, left: 52 };
const MAX_HITS = 240;

/** An SVG time chart inside a <figure> with a caption and legend. */
export function timeChart(o: TimeChartOptions) {
  const W = o.width ?? 520;
  const H = o.height ?? 200;
  const fmt = o.format ?? fmtCompact;
  const tlabel = o.timeLabel ??
    ((t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ') + ' UTC');
  const all = o.series.flatMap((s) => s.points);
  const desc = `${o.title}: ${o.series.map((s) => describe(s, fmt, o.unit)).join('; ')}`;
  if (all.length === 0) {
    return markup`<figure class="chart"><figcaption>${o.title}</figcaption><p class="muted small">No data in this range.</p></figure>`;
  }
  const times = all.map((p) => p.at);
  let x0 = o.from ?? Math.min(...times);
  let x1 = o.to ?? Math.max(...times);
  // Bars need room for the last bucket: extend by one typical gap.
  const gap = typicalGap(o.series[0].points);
  if (o.kind === 'bar') x1 += gap;
  if (x1 <= x0) {
    x0 -= 3600_000;
    x1 += 3600_000;
  }
  const values = all.map((p) => p.value);
  const yTicks = o.yDomain
    ? niceTicks(o.yDomain[0], o.yDomain[1], 2)
    : niceTicks(Math.min(0, ...values), Math.max(...values), 4);
  const y0 = yTicks[0];
  const y1 = yTicks[yTicks.length - 1];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (t: number) => M.left + ((t - x0) / (x1 - x0)) * pw;
  const sy = (v: number) => M.top + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
  const r = (n: number) => Math.round(n * 10) / 10;

  const grid = yTicks.map((v) =>
    `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${r(sy(v))}" y2="${r(sy(v))}"/>` +
    `<text x="${M.left - 6}" y="${r(sy(v)) + 4}" text-anchor="end">${
      esc(o.yLabel ? o.yLabel(v) : fmtCompact(v))
    }</text>`
  ).join('');
  const xt = timeTicks(x0, x1, Math.max(2, Math.floor(pw / 110))).map((t) =>
    `<line class="axis" x1="${r(sx(t.at))}" x2="${r(sx(t.at))}" y1="${M.top + ph}" y2="${
      M.top + ph + 4
    }"/>` +
    // A label at the very left starts there, clear of the y axis' "0".
    `<text x="${r(sx(t.at))}" y="${H - 6}" text-anchor="${
      sx(t.at) - M.left < 24 ? 'start' : 'middle'
    }">${esc(t.label)}</text>`
  ).join('');
  const axis = `<line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${M.top + ph}" y2="${
    M.top + ph
  }"/>`;

  const marks = o.series.map((s, i) => {
    const pts = s.points;
    if (o.kind === 'bar') {
      const n = o.series.length;
      const bw = Math.max(1, ((gap / (x1 - x0)) * pw * 0.8) / n);
      return pts.map((p) => {
        const x = sx(p.at) + bw * i + (gap / (x1 - x0)) * pw * 0.1;
        const y = sy(Math.max(p.value, y0));
        return `<rect class="bar s${i}" x="${r(x)}" y="${r(y)}" width="${r(bw)}" height="${
          r(Math.max(0, sy(y0) - y))
        }"/>`;
      }).join('');
    }
    let d = '';
    pts.forEach((p, j) => {
      const x = r(sx(p.at));
      const y = r(sy(p.value));
      if (j === 0) d += `M${x} ${y}`;
      else if (o.kind === 'step') d += `H${x}V${y}`;
      else d += `L${x} ${y}`;
    });
    // A step series holds its last value to the end of the range.
    if (o.kind === 'step' && pts.length) d += `H${r(sx(x1))}`;
    const area = o.kind === 'step' && o.series.length === 1
      ? `<path class="area s${i}" d="${d}V${r(sy(y0))}H${r(sx(pts[0].at))}Z"/>`
      : '';
    const dot = pts.length === 1
      ? `<circle class="dot s${i}" cx="${r(sx(pts[0].at))}" cy="${r(sy(pts[0].value))}" r="3"/>`
      : '';
    return `${area}<path class="line s${i}" d="${d}"/>${dot}`;
  }).join('');

  // Hover targets: one column per time bucket (at most MAX_HITS), titled with every series' value.
  const buckets = bucketTimes(o.series, MAX_HITS);
  const hits = buckets.map((b, j) => {
    const left = j === 0 ? M.left : (sx(buckets[j - 1].at) + sx(b.at)) / 2;
    const right = j === buckets.length - 1 ? W - M.right : (sx(b.at) + sx(buckets[j + 1].at)) / 2;
    const lines = o.series.map((s, i) =>
      `${s.label}: ${
        b.values[i] === undefined ? '–' : `${fmt(b.values[i]!)}${o.unit ? ` ${o.unit}` : ''}`
      }`
    );
    return `<rect class="hit" x="${r(left)}" y="${M.top}" width="${
      r(Math.max(1, right - left))
    }" height="${ph}"><title>${esc(`${tlabel(b.at)}\n${lines.join('\n')}`)}</title></rect>`;
  }).join('');

  const legend = o.series.length > 1
    ? markup`<span class="legend">${
      o.series.map((s, i) => markup`<span><span class="key s${i}"></span>${s.label}</span>`)
    }</span>`
    : '';
  return markup`<figure class="chart" id="${o.id}"><figcaption><span id="${o.id}-t">${o.title}</span>${legend}</figcaption>
<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${o.id}-title ${o.id}-desc" preserveAspectRatio="xMidYMid meet"><title id="${o.id}-title">${o.title}</title><desc id="${o.id}-desc">${desc}</desc>${
    raw(grid + axis + xt + marks + hits)
  }</svg></figure>`;
}

/** "vCPU: 4 → 8 (min 4, max 8)" for the description. */
function describe(s: ChartSeries, fmt: (v: number) => string, unit?: string): string {
  if (!s.points.length) return `${s.label}: no data`;
  const vs = s.points.map((p) => p.value);
  const u = unit ? ` ${unit}` : '';
  return `${s.label} from ${fmt(vs[0])}${u} to ${fmt(vs[vs.length - 1])}${u}, min ${
    fmt(Math.min(...vs))
  }, max ${fmt(Math.max(...vs))}, ${vs.length} points`;
}

function typicalGap(points: ChartPoint[]): number {
  if (points.length < 2) return 24 * 3600_000;
  const gaps = points.slice(1).map((p, i) => p.at - points[i].at).sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)] || 3600_000;
}

/** Distinct times across series, thinned to at most `max`, with each series' value at or before the time. */
function bucketTimes(
  series: ChartSeries[],
  max: number,
): { at: number; values: (number | undefined)[] }[] {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.at)))].sort((a, b) =>
    a - b
  );
  const stride = Math.ceil(times.length / max);
  const picked = times.filter((_, i) => i % stride === 0);
  const idx = series.map(() => 0);
  return picked.map((at) => ({
    at,
    values: series.map((s, i) => {
      while (idx[i] + 1 < s.points.length && s.points[idx[i] + 1].at <= at) idx[i]++;
      const p = s.points[idx[i]];
      return p && p.at <= at ? p.value : undefined;
    }),
  }));
}

function esc(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!,
  );
}
