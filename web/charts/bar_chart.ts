/** A server-rendered SVG grouped bar chart over categories (benchmark runs: SQL vs TS). */
import { markup, raw } from '../markup.ts';
import { fmtCompact } from '../format.ts';
import { niceTicks } from './scale.ts';

export type BarChartOptions = {
  id: string;
  title: string;
  categories: string[];
  series: { label: string; values: (number | null)[] }[];
  format?: (v: number) => string;
  unit?: string;
  width?: number;
  height?: number;
};

const M = { top: 10, right: 12, bottom: 36, left: 56 };

export function barChart(o: BarChartOptions) {
  const W = o.width ?? 720;
  const H = o.height ?? 220;
  const fmt = o.format ?? fmtCompact;
  const values = o.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  if (!o.categories.length || !values.length) {
    return markup`<figure class="chart"><figcaption>${o.title}</figcaption><p class="muted small">No data yet.</p></figure>`;
  }
  const ticks = niceTicks(0, Math.max(...values), 4);
  const top = ticks[ticks.length - 1] || 1;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const band = pw / o.categories.length;
  const bw = Math.max(2, (band * 0.75) / o.series.length);
  const sy = (v: number) => M.top + ph - (v / top) * ph;
  const r = (n: number) => Math.round(n * 10) / 10;
  const u = o.unit ? ` ${o.unit}` : '';
  let out = ticks.map((v) =>
    `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${r(sy(v))}" y2="${r(sy(v))}"/>` +
    `<text x="${M.left - 6}" y="${r(sy(v)) + 4}" text-anchor="end">${esc(fmtCompact(v))}</text>`
  ).join('');
  out += `<line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${M.top + ph}" y2="${
    M.top + ph
  }"/>`;
  const labelEvery = Math.ceil(o.categories.length / Math.max(1, Math.floor(pw / 70)));
  o.categories.forEach((cat, c) => {
    const bx = M.left + band * c + band * 0.125;
    o.series.forEach((s, i) => {
      const v = s.values[c];
      if (v === null || v === undefined) return;
      out += `<rect class="bar s${i}" x="${r(bx + bw * i)}" y="${r(sy(v))}" width="${
        r(bw)
      }" height="${r(Math.max(0.5, sy(0) - sy(v)))}"><title>${
        esc(`${cat} · ${s.label}: ${fmt(v)}${u}`)
      }</title></rect>`;
    });
    if (c % labelEvery === 0) {
      out += `<text x="${r(M.left + band * (c + 0.5))}" y="${H - 20}" text-anchor="middle">${
        esc(cat)
      }</text>`;
    }
  });
  const desc = `${o.title}: ${
    o.series.map((s) =>
      `${s.label} ${
        s.values.map((v, i) => `${o.categories[i]} ${v === null ? '–' : fmt(v) + u}`).join(', ')
      }`
    ).join('; ')
  }`;
  return markup`<figure class="chart" id="${o.id}"><figcaption><span>${o.title}</span><span class="legend">${
    o.series.map((s, i) => markup`<span><span class="key s${i}"></span>${s.label}</span>`)
  }</span></figcaption>
<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${o.id}-title ${o.id}-desc"><title id="${o.id}-title">${o.title}</title><desc id="${o.id}-desc">${
    desc.slice(0, 2000)
  }</desc>${raw(out)}</svg></figure>`;
}

function esc(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!,
  );
}
