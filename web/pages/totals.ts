/** Totals over time, per source or for the fleet: per capture, daily, monthly. */
import { markup } from '../markup.ts';
import { timeChart } from '../charts/time_chart.ts';
import { badge, empty, pageHead, segmented, table } from '../components.ts';
import { fmtInt, fmtNum, fmtTime } from '../format.ts';
import { page, type Viewer } from '../layout.ts';

/** Fleet or source totals at one capture, day or month (`at` is a date for rollups). */
export type TotalsPoint = {
  at: string;
  sourceId: number | null;
  vmCount: number;
  poweredOn: number;
  vcpu: number;
  ramGb: number;
  diskGb: number;
  complete: boolean;
};

export type TotalsGranularity = 'capture' | 'daily' | 'monthly';
export const TOTALS_SPANS: Record<TotalsGranularity, number> = {
  capture: 14,
  daily: 120,
  monthly: 730,
};

export function totalsPage(viewer: Viewer, o: {
  granularity: TotalsGranularity;
  sourceId: number | null;
  sources: { id: number; name: string }[];
  points: TotalsPoint[];
  perSource: { name: string; points: TotalsPoint[] }[];
  from: string;
  to: string;
  /** The window ends at this time (ISO) rather than at the newest capture; null: now. */
  asOf: string | null;
}) {
  const asOf = o.asOf ? o.asOf.slice(0, 16) : null;
  const g = o.granularity;
  const at = (p: TotalsPoint) => Date.parse(p.at.length === 10 ? `${p.at}T00:00:00Z` : p.at);
  const pts = o.points;
  const url = (gran: TotalsGranularity, source: number | null) =>
    `/totals?granularity=${gran}${source ? `&source=${source}` : ''}${asOf ? `&at=${asOf}` : ''}`;
  const kind = g === 'capture' ? 'line' : 'bar';
  const tl = g === 'capture'
    ? undefined
    : (t: number) => new Date(t).toISOString().slice(0, g === 'daily' ? 10 : 7);
  // Per capture: the requested window. Rollups: the periods present (bars need no empty tail).
  const range = g === 'capture' ? { from: Date.parse(o.from), to: Date.parse(o.to) } : {};
  const avg = g === 'capture' ? '' : ' (average)';
  const scope = o.sourceId
    ? o.sources.find((s) => s.id === o.sourceId)?.name ?? `source ${o.sourceId}`
    : 'Fleet';
  const vmSeries = o.perSource.length > 1 && o.perSource.length <= 4 && g === 'capture'
    ? o.perSource.map((s) => ({
      label: s.name,
      points: s.points.map((p) => ({ at: at(p), value: p.vmCount })),
    }))
    : [{ label: 'VMs', points: pts.map((p) => ({ at: at(p), value: p.vmCount })) }, {
      label: 'Powered on',
      points: pts.map((p) => ({ at: at(p), value: p.poweredOn })),
    }];
  return page({
    title: 'Totals',
    current: '/totals',
    viewer,
    body: markup`${
      pageHead('Totals over time', {
        sub: `${scope}: VM count, powered on, vCPU, RAM and provisioned disk (templates excluded).`,
      })
    }
<div class="toolbar">
  ${
      segmented(
        'Granularity',
        (['capture', 'daily', 'monthly'] as const).map((x) => ({
          href: url(x, o.sourceId),
          label: x === 'capture' ? 'Per capture' : x === 'daily' ? 'Daily' : 'Monthly',
          current: x === g,
        })),
      )
    }
  ${
      segmented('Scope', [
        { href: url(g, null), label: 'Fleet', current: o.sourceId === null },
        ...o.sources.map((s) => ({
          href: url(g, s.id),
          label: s.name,
          current: s.id === o.sourceId,
        })),
      ])
    }
  <form class="inline" method="get" action="/totals" aria-label="Totals as of">
    <input type="hidden" name="granularity" value="${g}">
    ${o.sourceId ? markup`<input type="hidden" name="source" value="${o.sourceId}">` : ''}
    <label for="t-at">As of (UTC)
      <input id="t-at" name="at" type="datetime-local" value="${asOf ?? ''}">
    </label>
    <button type="submit">Show</button>
    ${
      asOf
        ? markup`<a class="button quiet" href="${
          url(g, o.sourceId).replace(/&at=[^&]*/, '')
        }">Now</a>`
        : ''
    }
  </form>
</div>
${
      pts.length === 0
        ? empty(
          g === 'capture' ? 'No captures in this span.' : `No ${g} totals yet.`,
          g === 'capture'
            ? ''
            : 'They appear once the aggregation job has run for a closed day or month.',
        )
        : markup`<div class="grid-2">
  <div class="card">${
          timeChart({
            id: 'chart-vms',
            title: `VMs${avg}`,
            kind,
            series: vmSeries,
            ...range,
            timeLabel: tl,
          })
        }</div>
  <div class="card">${
          timeChart({
            id: 'chart-vcpu',
            title: `vCPU${avg}`,
            kind,
            series: [{ label: 'vCPU', points: pts.map((p) => ({ at: at(p), value: p.vcpu })) }],
            ...range,
            timeLabel: tl,
          })
        }</div>
  <div class="card">${
          timeChart({
            id: 'chart-ram',
            title: `RAM GiB${avg}`,
            kind,
            unit: 'GiB',
            series: [{ label: 'RAM', points: pts.map((p) => ({ at: at(p), value: p.ramGb })) }],
            ...range,
            timeLabel: tl,
          })
        }</div>
  <div class="card">${
          timeChart({
            id: 'chart-disk',
            title: `Provisioned disk GiB${avg}`,
            kind,
            unit: 'GiB',
            series: [{ label: 'Disk', points: pts.map((p) => ({ at: at(p), value: p.diskGb })) }],
            ...range,
            timeLabel: tl,
          })
        }</div>
</div>
<h2>Values</h2>
${
          table(
            `${scope} totals`,
            markup`<th scope="col">${
              g === 'capture' ? (o.sourceId ? 'Captured' : 'Hour') : g === 'daily' ? 'Day' : 'Month'
            }</th><th scope="col" class="num">VMs</th><th scope="col" class="num">Powered on</th><th scope="col" class="num">vCPU</th><th scope="col" class="num">RAM GiB</th><th scope="col" class="num">Disk GiB</th><th scope="col">Complete</th>`,
            markup`${
              [...pts].reverse().slice(0, 500).map((p) =>
                markup`<tr><td>${g === 'monthly' ? p.at.slice(0, 7) : fmtTime(p.at)}</td>
        <td class="num">${fmtNum(p.vmCount)}</td><td class="num">${
                  fmtNum(p.poweredOn)
                }</td><td class="num">${fmtNum(p.vcpu)}</td>
        <td class="num">${fmtNum(p.ramGb)}</td><td class="num">${fmtInt(p.diskGb)}</td><td>${
                  p.complete ? badge('ok', 'yes') : badge('warn', 'partial')
                }</td></tr>`
              )
            }`,
          )
        }`
    }`,
  });
}
