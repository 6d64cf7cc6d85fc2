/** The dashboard's live region: KPIs, source cards, recent captures and failed jobs. Re-rendered on each capture. */
import { markup } from '../markup.ts';
import { badge, empty, kpi, table, time } from '../components.ts';
import { fmtAge, fmtInt, fmtMs } from '../format.ts';
import { sourceCard, type SourceRow } from './source_card.ts';
import { type CapacityData, capacityPanel } from './capacity_panel.ts';

/** Fleet totals from the sources' latest captures (`sources`: how many have one). */
export type FleetTotals = {
  vms: number;
  poweredOn: number;
  vcpu: number;
  ramGb: number;
  diskGb: number;
  sources: number;
  at: string | null;
};
/** The totals now and a day before, for the KPIs' deltas. */
export type FleetChange = {
  now: FleetTotals;
  dayBefore: FleetTotals | null;
  /** As of a moment: the sources with no capture by then (their VMs are not in the cards). */
  sourcesWithoutCapture?: string[];
};

/** The live inventory's totals (used until any capture has totals). */
export type FleetSummary = {
  sources: number;
  vms: number;
  poweredOn: number;
  vcpu: number;
  ramGb: number;
  diskGb: number;
};

/** A failed background job. */
export type FailedJob = {
  id: string;
  queue: string;
  error: string | null;
  data: unknown;
  createdOn: string;
  completedOn: string | null;
  retryCount: number;
};

export type RecentCapture = {
  captureId: string;
  sourceId: number;
  sourceName: string;
  capturedAt: string | null;
  receivedAt: string | null;
  complete: boolean;
  vmCount: number;
  ingestMs: number | null;
  late: boolean;
};

export type DashboardData = {
  change: FleetChange;
  inventory: FleetSummary;
  sources: SourceRow[];
  recent: RecentCapture[];
  failed: { installed: boolean; total: number; items: FailedJob[] };
  /** Fullest datastores, most overcommitted clusters, hosts down (absent: no panel). */
  capacity?: CapacityData;
  /** The cards are as of this time (ISO), not the latest captures; null or absent: now. */
  asOf?: string | null;
};

function delta(now: number, before: number | undefined, unit = '') {
  if (before === undefined) return null;
  const d = Math.round((now - before) * 10) / 10;
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  return {
    value: d,
    text: `${sign}${fmtInt(Math.abs(d))}${unit} vs yesterday`,
    title: 'change since the latest capture at least 24 h before each source’s latest',
  };
}

export function dashboardLive(d: DashboardData) {
  const now = d.change.now.sources > 0 ? d.change.now : null;
  const b = d.change.dayBefore;
  const missing = d.change.sourcesWithoutCapture ?? [];
  // From the latest captures (source_totals); the live inventory when no totals exist yet.
  const v = now || d.asOf
    ? {
      vms: now?.vms ?? 0,
      on: now?.poweredOn ?? 0,
      vcpu: now?.vcpu ?? 0,
      ram: now?.ramGb ?? 0,
      disk: now?.diskGb ?? 0,
    }
    : {
      vms: d.inventory.vms,
      on: d.inventory.poweredOn,
      vcpu: d.inventory.vcpu,
      ram: d.inventory.ramGb,
      disk: d.inventory.diskGb,
    };
  const asOf = d.asOf ? d.asOf.slice(0, 16) : null;
  return markup`<div id="live" hx-get="/?part=live${
    asOf ? `&at=${asOf}` : ''
  }" hx-trigger="vml-capture from:body" hx-swap="outerHTML">
<form class="toolbar" method="get" action="/" aria-label="Fleet totals as of">
  <label for="d-at">Totals as of (UTC)
    <input id="d-at" name="at" type="datetime-local" value="${asOf ?? ''}">
  </label>
  <button type="submit">Show</button>
  ${asOf ? markup`<a class="button quiet" href="/">Now</a>` : ''}
</form>
<section class="cards" aria-label="Fleet totals">
  ${kpi('VMs', fmtInt(v.vms), delta(v.vms, b?.vms))}
  ${kpi('Powered on', fmtInt(v.on), delta(v.on, b?.poweredOn))}
  ${kpi('vCPU', fmtInt(v.vcpu), delta(v.vcpu, b?.vcpu))}
  ${kpi('RAM', `${fmtInt(v.ram)} GiB`, delta(v.ram, b?.ramGb, ' GiB'))}
  ${
    kpi(
      'Disk',
      `${fmtInt(v.disk / 1024)} TiB`,
      b ? delta(v.disk / 1024, b.diskGb / 1024, ' TiB') : null,
    )
  }
</section>
<p class="muted small">${
    asOf
      ? (now?.at
        ? markup`As of ${
          asOf.replace('T', ' ')
        } UTC: each source's newest complete capture by then (the latest ${
          now.at.slice(0, 16).replace('T', ' ')
        }). Templates excluded. The rest of the page is current.${
          missing.length ? markup` Not counted, no capture by then: ${missing.join(', ')}.` : ''
        }`
        : markup`No capture by ${asOf.replace('T', ' ')} UTC.`)
      : now?.at
      ? markup`As of the latest captures (${fmtAge(now.at)}). Templates excluded.`
      : 'No captures yet.'
  }</p>

${d.capacity ? capacityPanel(d.capacity) : ''}

<h2>Sources</h2>
${
    d.sources.length === 0
      ? empty(
        'No source has sent a capture yet.',
        markup`Start an agent (see <code>docs/agent.md</code>) or run <code>npm start</code> with the demo fleet.`,
      )
      : markup`<section class="cards wide" aria-label="Sources">${
        d.sources.map((s) => sourceCard(s))
      }</section>`
  }

<div class="grid-2">
<section aria-labelledby="recent-h">
  <h2 id="recent-h">Recent captures</h2>
  ${
    d.recent.length === 0 ? empty('No captures yet.') : table(
      'Recent captures',
      markup`<th scope="col">Source</th><th scope="col">Captured</th><th scope="col" class="num">VMs</th><th scope="col" class="num">Ingest</th><th scope="col">State</th>`,
      markup`${
        d.recent.map((c) =>
          markup`<tr>
        <td><a href="/sources/${c.sourceId}">${c.sourceName}</a></td><td>${time(c.capturedAt)}</td>
        <td class="num">${fmtInt(c.vmCount)}</td><td class="num">${fmtMs(c.ingestMs)}</td>
        <td>${c.complete ? badge('ok', 'complete') : badge('warn', 'partial')}${
            c.late
              ? markup` ${badge('info', 'late', 'received more than an hour after capture')}`
              : ''
          }</td></tr>`
        )
      }`,
      { short: true },
    )
  }
</section>
<section aria-labelledby="jobs-h">
  <h2 id="jobs-h">Failed jobs <span class="muted small">(7 days)</span></h2>
  ${
    !d.failed.installed
      ? empty(
        'Background jobs are not running on this database.',
        'They start with the server (pg-boss).',
      )
      : d.failed.total === 0
      ? empty('No failed jobs.', 'Aggregation, reports and benchmarks all succeeded.')
      : table(
        'Failed jobs',
        markup`<th scope="col">Queue</th><th scope="col">When</th><th scope="col">Error</th>`,
        markup`${
          d.failed.items.map((j) =>
            markup`<tr><td>${j.queue}</td><td>${time(j.createdOn)}</td><td class="wrap error">${
              j.error ?? ''
            }</td></tr>`
          )
        }`,
        { short: true },
      )
  }
  ${
    d.failed.total > d.failed.items.length
      ? markup`<p class="small"><a href="/admin/jobs?state=failed">All ${
        fmtInt(d.failed.total)
      } failed jobs</a></p>`
      : ''
  }
</section>
</div>
</div>`;
}
