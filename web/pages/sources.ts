/** Sources: every source with its agent, poll health, last error and spool; and one source's capture history. */
import { markup } from '../markup.ts';
import { timeChart } from '../charts/time_chart.ts';
import { badge, empty, pageHead, table, time } from '../components.ts';
import { fmtInt, fmtMs } from '../format.ts';
import { page, type Viewer } from '../layout.ts';
import { sourceCard, type SourceRow } from '../partials/source_card.ts';
import { CAPTURE_HISTORY, type RegistryCount } from './capture_history.ts';

/** One capture of a source, for its history chart and table. */
export type CapturePoint = {
  at: string;
  vmCount: number;
  ingestMs: number | null;
  complete: boolean;
  lateSeconds: number;
};

function flash(message: string | null) {
  return message ? markup`<div class="notice success" role="status">${message}</div>` : '';
}

/** Can this viewer ask for a capture? */
const canCapture = (v: Viewer) => v.role === 'admin';

export function sourcesPage(
  viewer: Viewer,
  o: { sources: SourceRow[]; pending: Map<number, string>; flash: string | null },
) {
  return page({
    title: 'Sources',
    current: '/sources',
    viewer,
    body: markup`${
      pageHead('Sources', {
        sub:
          'Each vCenter, Proxmox cluster or demo fleet, the agent that polls it, and how that is going.',
      })
    }
${flash(o.flash)}
${
      o.sources.length === 0
        ? empty('No sources yet.', 'A source appears with its first capture.')
        : markup`<section class="cards wide" aria-label="Sources">${
          o.sources.map((s) =>
            sourceCard(
              s,
              canCapture(viewer)
                ? { capture: { csrf: viewer.csrf, pending: o.pending.get(s.id) ?? null } }
                : {},
            )
          )
        }</section>`
    }`,
  });
}

export type CaptureListItem = {
  captureId: string;
  capturedAt: string | null;
  receivedAt: string | null;
  complete: boolean;
  errors: unknown;
  vmCount: number;
  hostCount: number;
  datastoreCount: number;
  eventCount: number;
  ingestMs: number | null;
  late: boolean;
};

export function sourceDetailPage(viewer: Viewer, o: {
  source: SourceRow;
  pending: string | null;
  history: CapturePoint[];
  from: string;
  to: string;
  captures: { items: CaptureListItem[]; total: number; next: string | null };
  registry: RegistryCount[];
  flash: string | null;
}) {
  const s = o.source;
  const pts = o.history;
  const from = Date.parse(o.from);
  const to = Date.parse(o.to);
  return page({
    title: s.name,
    current: '/sources',
    viewer,
    body: markup`${
      pageHead(s.name, {
        crumbs: markup`<a href="/sources">Sources</a> › ${s.name}`,
        sub: markup`${s.kind} · <span class="mono">${s.externalId}</span>${
          s.endpoint ? markup` · <span class="mono">${s.endpoint}</span>` : ''
        }`,
      })
    }
${flash(o.flash)}
<div class="grid-2">
  ${sourceCard(s, canCapture(viewer) ? { capture: { csrf: viewer.csrf, pending: o.pending } } : {})}
  <section class="card" aria-labelledby="reg-h"><h2 id="reg-h">Stored captures and rollups</h2>
    ${
      o.registry.length === 0
        ? markup`<p class="muted">None yet.</p>`
        : markup`<dl>${
          o.registry.map((r) =>
            markup`<dt>${r.kind}</dt><dd>${fmtInt(r.snapshots)} (${fmtInt(r.rows)} rows)${
              r.incomplete ? markup` · ${badge('warn', `${r.incomplete} incomplete`)}` : ''
            }</dd>`
          )
        }</dl>`
    }
    <p class="small"><a href="${CAPTURE_HISTORY}?source=${s.id}">Capture history</a> · <a href="/totals?source=${s.id}">Totals over time</a></p>
  </section>
</div>
<h2>Capture history <span class="muted small">(last 7 days of captures)</span></h2>
<div class="grid-2">
  <div class="card">${
      timeChart({
        id: 'chart-vms',
        title: 'VMs per capture',
        kind: 'line',
        from,
        to,
        series: [{
          label: 'VMs',
          points: pts.map((p) => ({ at: Date.parse(p.at), value: p.vmCount })),
        }],
      })
    }</div>
  <div class="card">${
      timeChart({
        id: 'chart-ingest',
        title: 'Ingest time (ms)',
        kind: 'bar',
        from,
        to,
        unit: 'ms',
        series: [{
          label: 'Ingest',
          points: pts.filter((p) => p.ingestMs !== null).map((p) => ({
            at: Date.parse(p.at),
            value: p.ingestMs!,
          })),
        }],
      })
    }</div>
</div>
<h2>Captures <span class="muted small">(${fmtInt(o.captures.total)})</span></h2>
${
      o.captures.items.length === 0 ? empty('No captures yet.') : table(
        'Captures',
        markup`<th scope="col">Captured</th><th scope="col">Received</th><th scope="col" class="num">VMs</th><th scope="col" class="num">Hosts</th><th scope="col" class="num">Datastores</th><th scope="col" class="num">Events</th><th scope="col" class="num">Ingest</th><th scope="col">State</th><th scope="col">Errors</th>`,
        markup`${
          o.captures.items.map((c) => {
            const errs = Array.isArray(c.errors) ? c.errors : [];
            return markup`<tr><td>${time(c.capturedAt)}</td><td>${
              time(c.receivedAt)
            }</td><td class="num">${fmtInt(c.vmCount)}</td><td class="num">${
              fmtInt(c.hostCount)
            }</td>
        <td class="num">${fmtInt(c.datastoreCount)}</td><td class="num">${
              fmtInt(c.eventCount)
            }</td><td class="num">${fmtMs(c.ingestMs)}</td>
        <td>${c.complete ? badge('ok', 'complete') : badge('warn', 'partial')}${
              c.late ? markup` ${badge('info', 'late')}` : ''
            }</td>
        <td class="wrap error">${
              errs.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ')
            }</td></tr>`;
          })
        }`,
      )
    }
${
      o.captures.next
        ? markup`<nav class="pager" aria-label="Pages"><a class="button small" rel="next" href="/sources/${s.id}?before=${
          encodeURIComponent(o.captures.next)
        }">Older captures</a></nav>`
        : ''
    }`,
  });
}
