/** One VM: current (or last) state, lifecycle, charts of its trace, and what changed when. */
import { markup } from '../markup.ts';
import { vmCostSection } from './costs.ts';
import { type ChartPoint, timeChart } from '../charts/time_chart.ts';
import { badge, empty, pageHead, powerBadge, segmented, table, time } from '../components.ts';
import { fmtGb, fmtInt, fmtNum } from '../format.ts';
import { page, type Viewer } from '../layout.ts';
import type { VmListItem } from '../partials/vm_table.ts';
import { type VmConfiguration, vmConfigurationSection } from '../partials/vm_configuration.ts';
import { changeKind, type ChangeRow, changeWhat } from './changes.ts';

/** One VM: its live state (null once deleted), its last captured state, lifecycle and events. */
export type Vm = {
  key: string;
  sourceId: number;
  sourceName: string;
  sourceKind: string;
  live: boolean;
  current: VmListItem | null;
  /** Disks, NICs, snapshots, hardware… as last captured; null from v1 agents. */
  configuration: VmConfiguration | null;
  /** For a deleted VM: its last captured state. */
  lastState: {
    name: string;
    powerState: string;
    isTemplate: boolean;
    vcpu: number;
    memoryMib: number;
    provisionedDiskGib: number;
    cluster: string | null;
    host: string | null;
    resourcePool: string | null;
    at: string | null;
  } | null;
  lifecycle: {
    name: string;
    sourceVmId: string;
    firstSeenAt: string | null;
    lastSeenAt: string | null;
    createdAt: string | null;
    createdFrom: string | null;
    deletedAt: string | null;
    deletedFrom: string | null;
    reappearedCount: number;
    lastReappearedAt: string | null;
  };
  events: { type: string; at: string | null; detail: string | null; vmName: string | null }[];
};

/** A VM's CPU and memory use over a range (server/queries/vm_usage.ts). */
export type VmUsageView = {
  from: string;
  to: string;
  tier: 'capture' | 'hourly' | 'daily';
  cpuCapacityMhz: number | null;
  memoryMib: number | null;
  points: {
    at: string;
    tier: 'capture' | 'hourly' | 'daily';
    cpuAvgMhz: number | null;
    cpuMaxMhz: number | null;
    guestMemoryAvgMib: number | null;
  }[];
  guestFileSystems: {
    at: string | null;
    items: {
      path: string;
      freeMib: number | null;
      capacityMib: number | null;
      fileSystem: string | null;
    }[];
  };
};

export const USAGE_DAYS = [1, 7, 30, 90];

/** What the points are: a tier's averages (with the CPU peak), then per capture. */
function tierNote(u: VmUsageView) {
  const tiered = u.points.filter((p) => p.tier !== 'capture');
  if (!tiered.length) return 'per capture';
  const what = `${tiered[0].tier} averages with the ${
    tiered[0].tier === 'hourly' ? 'hourly' : 'daily'
  } peak of CPU`;
  const after = u.points.find((p) => p.tier === 'capture');
  return after ? `${what}; per capture from ${after.at.slice(0, 16).replace('T', ' ')} UTC` : what;
}

/** CPU and memory use as % of the VM (the host page's chart), and its guest's free space. */
function usageSection(u: VmUsageView | null, days: number, link: (days: number) => string) {
  if (!u) return '';
  const pct = (
    label: string,
    value: (p: VmUsageView['points'][number]) => number | null,
    whole: number | null,
  ) => ({
    label,
    points: whole
      ? u.points.flatMap((p) => {
        const x = value(p);
        return x === null
          ? []
          : [{ at: Date.parse(p.at), value: Math.round(x / whole * 1000) / 10 }];
      })
      : [],
  });
  const series = [
    pct('CPU %', (p) => p.cpuAvgMhz, u.cpuCapacityMhz),
    // Per capture the peak is the value: only the tiers' points have a peak of their own.
    pct('CPU % (peak)', (p) => p.tier === 'capture' ? null : p.cpuMaxMhz, u.cpuCapacityMhz),
    pct('Memory %', (p) => p.guestMemoryAvgMib, u.memoryMib),
  ].filter((x) => x.points.length);
  const fs = u.guestFileSystems;
  const gib = (mib: number | null) => (mib === null ? null : fmtNum(mib / 1024));
  return markup`<section aria-labelledby="usage-h">
  <h2 id="usage-h">CPU and memory use</h2>
  <p class="small">${
    USAGE_DAYS.map((d, i) =>
      markup`${i ? ' · ' : ''}${
        d === days
          ? markup`<strong aria-current="true">${d === 1 ? '1 day' : `${d} days`}</strong>`
          : markup`<a href="${link(d)}">${d === 1 ? '1 day' : `${d} days`}</a>`
      }`
    )
  } <span class="muted">· ${tierNote(u)}${
    u.cpuCapacityMhz ? '' : ' · CPU % not shown: the core speed of its host is unknown'
  }</span></p>
  ${
    timeChart({
      id: 'vm-usage',
      width: 960,
      height: 240,
      title: 'CPU and memory use, % of the VM',
      kind: 'line',
      series,
      from: Date.parse(u.from),
      to: Date.parse(u.to),
      yDomain: [0, 100],
      unit: '%',
    })
  }
  ${
    fs.items.length
      ? markup`<h3>Guest file systems <span class="muted small">at ${time(fs.at)}</span></h3>${
        table(
          'Guest file systems',
          markup`<th scope="col">Path</th><th scope="col">File system</th><th scope="col" class="num">Capacity (GiB)</th><th scope="col" class="num">Free (GiB)</th><th scope="col" class="num">Free</th>`,
          markup`${
            fs.items.map((g) =>
              markup`<tr><td class="mono">${g.path}</td><td>${
                g.fileSystem ?? markup`<span class="muted">–</span>`
              }</td><td class="num">${gib(g.capacityMib) ?? '–'}</td><td class="num">${
                gib(g.freeMib) ?? '–'
              }</td><td class="num">${
                g.freeMib !== null && g.capacityMib
                  ? `${fmtNum((g.freeMib / g.capacityMib) * 100)}%`
                  : '–'
              }</td></tr>`
            )
          }`,
          { short: true, id: 'vm-guest-fs' },
        )
      }`
      : ''
  }
</section>`;
}

/** The VM at one capture, day or month (`at` is a date for rollups). */
export type TracePoint = {
  at: string;
  vcpu: number;
  ramGb: number;
  diskGb: number;
  /** Share of the period powered on (1 or 0 per capture). */
  poweredOn: number;
  powerState?: string;
  host?: string | null;
  pool?: string | null;
  name?: string;
  presence?: number;
};

/** One field that changed between two captures. */
export type TraceChange = {
  at: string;
  field: string;
  from: string | number | null;
  to: string | number | null;
};
export type Granularity = 'capture' | 'daily' | 'monthly';
export type Trace = {
  granularity: Granularity;
  from: string;
  to: string;
  points: TracePoint[];
  changes: TraceChange[];
};

export const SPANS: Record<Granularity, number[]> = {
  capture: [2, 7, 30],
  daily: [30, 90, 365],
  monthly: [365, 730, 1825],
};

/** A link to the page of the VM's host or cluster (both named by name; the pages find them so). */
function siteLink(kind: 'hosts' | 'clusters', sourceId: number, name: string | null) {
  return name
    ? markup`<a href="/${kind}/${sourceId}/${encodeURIComponent(name)}">${name}</a>`
    : null;
}

function row(label: string, value: unknown) {
  return markup`<dt>${label}</dt><dd>${
    value === null || value === undefined || value === ''
      ? markup`<span class="muted">–</span>`
      : value
  }</dd>`;
}

function charts(trace: Trace) {
  const pts = trace.points;
  const at = (p: TracePoint) => Date.parse(p.at.length === 10 ? `${p.at}T00:00:00Z` : p.at);
  const series = (f: (p: TracePoint) => number): ChartPoint[] =>
    pts.map((p) => ({ at: at(p), value: f(p) }));
  const capture = trace.granularity === 'capture';
  const kind = capture ? 'step' : 'bar';
  const from = Date.parse(trace.from);
  const to = Date.parse(trace.to);
  const range = capture ? { from, to } : {};
  const tl = capture
    ? undefined
    : (t: number) => new Date(t).toISOString().slice(0, trace.granularity === 'daily' ? 10 : 7);
  const suffix = capture ? '' : ' (average)';
  const id = (s: string) => `chart-${s}`;
  return markup`<div class="grid-2">
  <div class="card">${
    timeChart({
      id: id('vcpu'),
      title: `vCPU${suffix}`,
      kind,
      series: [{ label: 'vCPU', points: series((p) => p.vcpu) }],
      ...range,
      timeLabel: tl,
    })
  }</div>
  <div class="card">${
    timeChart({
      id: id('ram'),
      title: `RAM GiB${suffix}`,
      kind,
      unit: 'GiB',
      series: [{ label: 'RAM', points: series((p) => p.ramGb) }],
      ...range,
      timeLabel: tl,
    })
  }</div>
  <div class="card">${
    timeChart({
      id: id('disk'),
      title: `Provisioned disk GiB${suffix}`,
      kind,
      unit: 'GiB',
      series: [{ label: 'Disk', points: series((p) => p.diskGb) }],
      ...range,
      timeLabel: tl,
    })
  }</div>
  <div class="card">${
    timeChart({
      id: id('power'),
      title: capture ? 'Power (on/off)' : 'Powered on (share of period)',
      kind,
      yDomain: [0, 1],
      yLabel: capture
        ? (v) => (v >= 1 ? 'on' : v <= 0 ? 'off' : '')
        : (v) => `${Math.round(v * 100)}%`,
      format: capture ? (v) => (v >= 1 ? 'on' : 'off') : (v) => `${fmtNum(v * 100)}%`,
      series: [{ label: 'Powered on', points: series((p) => p.poweredOn) }],
      ...range,
      timeLabel: tl,
    })
  }</div>
</div>`;
}

function changeValue(field: string, v: string | number | null) {
  if (v === null) return markup`<span class="muted">–</span>`;
  if (field === 'power') return powerBadge(String(v));
  return typeof v === 'number' ? fmtNum(v, 2) : v;
}

/**
 * Every change of the VM's life, oldest first (created, resized, moved, renamed, powered,
 * deleted, back): `all` links to the Changes page for the rest when there are more.
 */
function lifeSection(life: { items: ChangeRow[]; all: string | null }) {
  return markup`<section aria-labelledby="ledger-h">
  <h2 id="ledger-h">Its whole life</h2>
  ${
    life.items.length === 0
      ? empty('No change recorded.', 'Nothing about it changed between its captures.')
      : table(
        'Every change of this VM',
        markup`<th scope="col">Time</th><th scope="col">Change</th><th scope="col">What</th>`,
        markup`${
          life.items.map((r) =>
            markup`<tr><td>${time(r.at)}</td><td>${changeKind(r)}</td><td>${
              changeWhat(r)
            }</td></tr>`
          )
        }`,
        { id: 'life-table', short: true },
      )
  }
  ${
    life.all
      ? markup`<p class="small">The first ${
        fmtInt(life.items.length)
      } shown. <a href="${life.all}">All its changes</a></p>`
      : ''
  }
</section>`;
}

export function vmDetailPage(
  viewer: Viewer,
  o: {
    vm: Vm;
    trace: Trace;
    /** Every change of its life (the ledger's list); `all`: the rest on the Changes page. */
    life?: { items: ChangeRow[]; all: string | null };
    span: number;
    base: string;
    /** CPU and memory use over `usageDays` (null: not read). */
    usage?: VmUsageView | null;
    usageDays?: number;
    /** Its cost lines of the last 12 costed months (undefined: not read). */
    costs?: Parameters<typeof vmCostSection>[0];
  },
) {
  const { vm, trace } = o;
  const l = vm.lifecycle;
  const cur = vm.current;
  const last = vm.lastState;
  const g = trace.granularity;
  const days = o.usageDays ?? 7;
  const link = (gran: Granularity, span: number) =>
    `${o.base}?granularity=${gran}&span=${span}${days === 7 ? '' : `&days=${days}`}`;
  const usageLink = (d: number) =>
    `${o.base}?granularity=${g}&span=${o.span}${d === 7 ? '' : `&days=${d}`}#usage-h`;
  const state = cur
    ? markup`<dl>
      ${row('Power', powerBadge(cur.powerState))}${row('vCPU', cur.vcpu)}${
      row('RAM', `${fmtNum(cur.memoryMib / 1024)} GiB`)
    }
      ${row('Provisioned disk', fmtGb(cur.provisionedDiskGib))}${
      row('Used disk', cur.usedDiskGib === null ? null : fmtGb(cur.usedDiskGib))
    }
      ${row('Datacenter', cur.datacenter)}${
      row('Cluster', siteLink('clusters', vm.sourceId, cur.cluster))
    }${row('Host', siteLink('hosts', vm.sourceId, cur.host))}${row('Pool', cur.resourcePool)}
      ${row('Folder', cur.folder)}${row('Guest OS', cur.guestOs)}${
      row('IP addresses', cur.ipAddresses.join(', '))
    }
      ${
      row(
        'Tags',
        cur.tags.length ? markup`${cur.tags.map((t) => markup`${badge('info', t)} `)}` : null,
      )
    }
      ${
      row(
        'Instance UUID',
        cur.instanceUuid ? markup`<span class="mono">${cur.instanceUuid}</span>` : null,
      )
    }
      ${row('State captured', time(cur.stateAt))}
    </dl>`
    : last
    ? markup`<p class="muted small">Deleted; its last captured state (${time(last.at)}):</p><dl>
      ${row('Power', powerBadge(last.powerState))}${row('vCPU', last.vcpu)}${
      row('RAM', `${fmtNum(last.memoryMib / 1024)} GiB`)
    }
      ${row('Provisioned disk', fmtGb(last.provisionedDiskGib))}${row('Cluster', last.cluster)}${
      row('Host', last.host)
    }${row('Pool', last.resourcePool)}
    </dl>`
    : markup`<p class="muted">No state captured.</p>`;
  return page({
    title: `${l.name}`,
    current: '/vms',
    viewer,
    body: markup`${
      pageHead(l.name, {
        crumbs:
          markup`<a href="/vms">VMs</a> › <a href="/vms?source=${vm.sourceId}">${vm.sourceName}</a> › ${l.name}`,
        sub:
          markup`${vm.sourceKind} · id <span class="mono">${l.sourceVmId}</span> · key <span class="mono">${vm.key}</span>`,
        actions: vm.live ? badge('ok', 'live') : badge('bad', 'deleted'),
      })
    }
<div class="grid-2">
  <section class="card" aria-labelledby="state-h"><h2 id="state-h">${
      cur ? 'Current state' : 'Last state'
    }</h2>${state}</section>
  <section class="card" aria-labelledby="life-h"><h2 id="life-h">Lifecycle</h2><dl>
    ${
      row(
        'Created',
        l.createdAt
          ? markup`${time(l.createdAt)} <span class="muted">(from ${
            l.createdFrom === 'event' ? 'an event' : 'the source'
          })</span>`
          : markup`<span class="muted">unknown (the source did not say)</span>`,
      )
    }
    ${row('First seen', time(l.firstSeenAt))}
    ${row('Last seen', time(l.lastSeenAt))}
    ${
      row(
        'Deleted',
        l.deletedAt
          ? markup`${time(l.deletedAt)} <span class="muted">(${
            l.deletedFrom === 'event' ? 'deletion event' : 'absent from a complete capture'
          })</span>`
          : null,
      )
    }
    ${
      row(
        'Reappeared',
        l.reappearedCount
          ? markup`${fmtInt(l.reappearedCount)}× (last ${time(l.lastReappearedAt)})`
          : null,
      )
    }
  </dl>
  ${
      vm.events.length
        ? markup`<h3>Events</h3><ul class="small">${
          vm.events.map((e) =>
            markup`<li>${time(e.at)} · ${e.type}${
              e.detail ? markup` · <span class="muted">${e.detail}</span>` : ''
            }</li>`
          )
        }</ul>`
        : ''
    }
  </section>
</div>
${o.life ? lifeSection(o.life) : ''}
${usageSection(o.usage ?? null, days, usageLink)}
${vmConfigurationSection(vm.configuration, Date.now(), vm.sourceId)}
<section aria-labelledby="trace-h">
  <h2 id="trace-h">Over time</h2>
  <div class="toolbar">
    ${
      segmented(
        'Granularity',
        (['capture', 'daily', 'monthly'] as const).map((x) => ({
          href: link(x, SPANS[x][1]),
          label: x === 'capture' ? 'Per capture' : x === 'daily' ? 'Daily' : 'Monthly',
          current: x === g,
        })),
      )
    }
    ${
      segmented(
        'Time span',
        SPANS[g].map((d) => ({
          href: link(g, d),
          label: d >= 365 ? `${Math.round(d / 365)} y` : `${d} d`,
          current: d === o.span,
        })),
      )
    }
    <span class="muted small">${time(trace.from)} – ${time(trace.to)} · ${
      fmtInt(trace.points.length)
    } points</span>
  </div>
  ${
      trace.points.length === 0
        ? empty(
          g === 'capture'
            ? 'No captures of this VM in this span.'
            : `No ${g} rollups of this VM in this span yet.`,
          g === 'capture'
            ? 'Pick a longer span.'
            : 'Rollups appear after the day or month has been aggregated.',
        )
        : charts(trace)
    }
</section>
<section aria-labelledby="changes-h">
  <h2 id="changes-h">What changed when</h2>
  ${
      g !== 'capture'
        ? markup`<p class="muted small">Changes are listed per capture: <a href="${
          link('capture', SPANS.capture[1])
        }">switch to per capture</a>.</p>`
        : trace.changes.length === 0
        ? empty(
          'No changes in this span.',
          'Size, power, host, pool and name stayed the same in every capture.',
        )
        : table(
          'Changes',
          markup`<th scope="col">When</th><th scope="col">What</th><th scope="col">From</th><th scope="col">To</th>`,
          markup`${
            [...trace.changes].reverse().map((c) =>
              markup`<tr><td>${time(c.at)}</td><td>${c.field}</td><td>${
                changeValue(c.field, c.from)
              }</td><td>${changeValue(c.field, c.to)}</td></tr>`
            )
          }`,
          { short: true },
        )
    }
</section>
${o.costs ? vmCostSection(o.costs) : ''}`,
  });
}
