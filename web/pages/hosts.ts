/** Hosts: the list (filters, sorts, pages, CSV) and one host with its hardware, states, VMs and usage. */
import { markup } from '../markup.ts';
import { timeChart } from '../charts/time_chart.ts';
import { empty, pageHead, table, time } from '../components.ts';
import { fmtInt, fmtNum } from '../format.ts';
import { page, type Viewer } from '../layout.ts';
import {
  filterForm,
  filterSelect,
  objectHref,
  type SiteColumn,
  type SiteListState,
  type SitePage,
  siteTable,
} from '../partials/site_table.ts';
import {
  hostStateBadge,
  meter,
  pct,
  type PlacedVm,
  ratio,
  row,
  vmTable,
} from '../partials/site_bits.ts';

/** A host as the list shows it. */
export type HostRow = {
  sourceId: number;
  sourceName: string;
  key: string;
  name: string;
  datacenter: string | null;
  cluster: string | null;
  state: string;
  powerState: string | null;
  version: string | null;
  build: string | null;
  vendor: string | null;
  model: string | null;
  cpuModel: string | null;
  cpuCores: number | null;
  cpuMhz: number | null;
  memoryMib: number | null;
  cpuUsagePct: number | null;
  memoryUsagePct: number | null;
  vms: number;
  poweredOnVms: number;
  vcpuPerCore: number | null;
  allocatedMemoryMib: number;
  allocatedMemoryPct: number | null;
  lastSeenAt: string;
};

export type HostView = {
  host: HostRow;
  hardware: {
    cpuSockets: number | null;
    cpuThreads: number | null;
    serialNumber: string | null;
    bootTime: string | null;
  };
  timeline: { from: string; to: string | null; state: string; powerState: string | null }[];
  vms: PlacedVm[];
  usage: {
    from: string;
    to: string;
    points: {
      at: string;
      cpuUsageMhz: number | null;
      cpuCapacityMhz: number | null;
      memoryUsageMib: number | null;
      memoryMib: number | null;
    }[];
  };
};

export const clusterLink = (sourceId: number, cluster: string | null) =>
  cluster ? markup`<a href="${objectHref('clusters', sourceId, cluster)}">${cluster}</a>` : '';

const COLUMNS: SiteColumn<HostRow>[] = [
  {
    label: 'Name',
    sort: 'name',
    cell: (h) => markup`<a href="${objectHref('hosts', h.sourceId, h.key)}">${h.name}</a>`,
  },
  { label: 'Source', sort: 'source', cell: (h) => h.sourceName },
  { label: 'Cluster', sort: 'cluster', cell: (h) => clusterLink(h.sourceId, h.cluster) },
  { label: 'State', sort: 'state', cell: (h) => hostStateBadge(h.state) },
  { label: 'Cores', sort: 'cores', num: true, cell: (h) => fmtInt(h.cpuCores) },
  {
    label: 'RAM GiB',
    sort: 'memory',
    num: true,
    cell: (h) => fmtInt(h.memoryMib === null ? null : h.memoryMib / 1024),
  },
  { label: 'VMs', sort: 'vms', num: true, cell: (h) => fmtInt(h.vms) },
  { label: 'vCPU:pCPU', sort: 'vcpuPerCore', num: true, cell: (h) => ratio(h.vcpuPerCore) },
  {
    label: 'RAM allocated',
    sort: 'allocatedMemory',
    num: true,
    cell: (h) => pct(h.allocatedMemoryPct),
  },
  { label: 'CPU use', sort: 'cpuUsage', cell: (h) => meter(h.cpuUsagePct, 'CPU usage') },
  {
    label: 'Memory use',
    sort: 'memoryUsage',
    cell: (h) => meter(h.memoryUsagePct, 'Memory usage'),
  },
];

const STATES: [string, string][] = [
  ['', 'Any state'],
  ['connected', 'Connected'],
  ['maintenance', 'Maintenance'],
  ['disconnected', 'Disconnected'],
  ['notResponding', 'Not responding'],
  ['gone', 'Gone'],
];

export function hostsPage(viewer: Viewer, o: {
  state: SiteListState;
  sources: { id: number; name: string }[];
  clusters: string[];
  result: SitePage<HostRow>;
}) {
  const f = o.state.params;
  return page({
    title: 'Hosts',
    current: '/hosts',
    viewer,
    body: markup`${
      pageHead('Hosts', {
        sub:
          'ESXi hosts and Proxmox nodes as last captured: state, hardware, the VMs on each and their allocation (powered-on VMs, templates apart) against physical cores and memory.',
      })
    }
${
      filterForm({
        path: '/hosts',
        label: 'Filter hosts',
        state: o.state,
        placeholder: 'name, model or version',
        fields: markup`${
          filterSelect('f-source', 'source', 'Source', f.source, [
            ['', 'All sources'],
            ...o.sources.map((s): [string, string] => [String(s.id), s.name]),
          ])
        }${
          filterSelect('f-cluster', 'cluster', 'Cluster', f.cluster, [
            ['', 'Any cluster'],
            ...o.clusters.map((c): [string, string] => [c, c]),
          ])
        }${filterSelect('f-state', 'state', 'State', f.state, STATES)}`,
      })
    }
${siteTable('hosts', o.result, o.state, COLUMNS)}`,
  });
}

function duration(from: string, to: string | null): string {
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  const h = ms / 3600_000;
  return h < 48 ? `${fmtNum(h)} h` : `${fmtNum(h / 24)} d`;
}

export function hostDetailPage(viewer: Viewer, v: HostView, base: string) {
  const h = v.host;
  const pts = v.usage.points;
  const series = (
    label: string,
    value: (p: HostView['usage']['points'][number]) => number | null,
  ) => ({
    label,
    points: pts.flatMap((p) => {
      const x = value(p);
      return x === null ? [] : [{ at: Date.parse(p.at), value: Math.round(x * 10) / 10 }];
    }),
  });
  const cpu = series(
    'CPU %',
    (p) =>
      p.cpuUsageMhz !== null && p.cpuCapacityMhz ? (p.cpuUsageMhz / p.cpuCapacityMhz) * 100 : null,
  );
  const mem = series(
    'Memory %',
    (p) => p.memoryUsageMib !== null && p.memoryMib ? (p.memoryUsageMib / p.memoryMib) * 100 : null,
  );
  return page({
    title: h.name,
    current: '/hosts',
    viewer,
    body: markup`${
      pageHead(h.name, {
        crumbs: markup`<a href="/hosts">Hosts</a> › ${h.name}`,
        sub: markup`${hostStateBadge(h.state)} ${h.sourceName}${
          h.cluster
            ? markup` · cluster <a href="${
              objectHref('clusters', h.sourceId, h.cluster)
            }">${h.cluster}</a>`
            : ''
        } · last captured ${time(h.lastSeenAt)}`,
      })
    }
<div class="grid-2">
  <section class="card" aria-labelledby="hw-h"><h2 id="hw-h">Hardware</h2><dl>
    ${row('Vendor', h.vendor)}${row('Model', h.model)}${row('CPU', h.cpuModel)}
    ${row('Sockets', v.hardware.cpuSockets)}${row('Cores', h.cpuCores)}${
      row('Threads', v.hardware.cpuThreads)
    }
    ${row('Core speed', h.cpuMhz === null ? null : `${fmtInt(h.cpuMhz)} MHz`)}${
      row('Memory', h.memoryMib === null ? null : `${fmtNum(h.memoryMib / 1024)} GiB`)
    }
    ${row('Version', h.version)}${row('Build', h.build)}${row('Serial', v.hardware.serialNumber)}${
      row('Booted', v.hardware.bootTime ? time(v.hardware.bootTime) : null)
    }
  </dl></section>
  <section class="card" aria-labelledby="alloc-h"><h2 id="alloc-h">Allocation</h2><dl>
    ${row('VMs', `${fmtInt(h.vms)} (${fmtInt(h.poweredOnVms)} powered on)`)}
    ${row('vCPU : pCPU', ratio(h.vcpuPerCore))}
    ${
      row(
        'RAM allocated',
        markup`${fmtNum(h.allocatedMemoryMib / 1024)} GiB of ${
          h.memoryMib === null ? '–' : fmtNum(h.memoryMib / 1024)
        } GiB (${pct(h.allocatedMemoryPct)})`,
      )
    }
    ${row('CPU use', meter(h.cpuUsagePct, 'CPU usage'))}${
      row('Memory use', meter(h.memoryUsagePct, 'Memory usage'))
    }
  </dl>
  <p class="muted small">Allocation counts powered-on VMs, templates apart.</p></section>
</div>
<section aria-labelledby="usage-h">
  <h2 id="usage-h">CPU and memory use</h2>
  <p class="small"><a href="${base}?days=1">1 day</a> · <a href="${base}?days=7">7 days</a> · <a href="${base}?days=30">30 days</a> · <a href="${base}?days=90">90 days</a></p>
  ${
      timeChart({
        id: 'host-usage',
        width: 960,
        height: 240,
        title: 'CPU and memory use, % of the host',
        kind: 'line',
        series: [cpu, mem],
        from: Date.parse(v.usage.from),
        to: Date.parse(v.usage.to),
        yDomain: [0, 100],
        unit: '%',
      })
    }
</section>
<section aria-labelledby="states-h">
  <h2 id="states-h">State timeline</h2>
  ${
      v.timeline.length === 0 ? empty('No state history captured.') : table(
        'State timeline',
        markup`<th scope="col">State</th><th scope="col">From</th><th scope="col">Until</th><th scope="col" class="num">For</th>`,
        markup`${
          [...v.timeline].reverse().map((s) =>
            markup`<tr><td>${hostStateBadge(s.state)}</td><td>${time(s.from)}</td><td>${
              s.to ? time(s.to) : markup`<span class="muted">now</span>`
            }</td><td class="num">${duration(s.from, s.to)}</td></tr>`
          )
        }`,
        { short: true },
      )
    }
</section>
<section aria-labelledby="vms-h">
  <h2 id="vms-h">VMs on this host <span class="muted small">(${fmtInt(v.vms.length)})</span></h2>
  ${vmTable('VMs on this host', h.sourceId, v.vms)}
</section>`,
  });
}
