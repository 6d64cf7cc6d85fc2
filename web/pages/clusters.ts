/** Clusters: the list and one cluster with HA/DRS, its hosts and its overcommit over time. */
import { markup } from '../markup.ts';
import { timeChart } from '../charts/time_chart.ts';
import { badge, empty, pageHead, table } from '../components.ts';
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
import { hostStateBadge, meter, pct, ratio, row } from '../partials/site_bits.ts';
import type { HostRow } from './hosts.ts';

export type ClusterRow = {
  sourceId: number;
  sourceName: string;
  key: string;
  name: string;
  datacenter: string | null;
  haEnabled: boolean | null;
  drsEnabled: boolean | null;
  drsBehavior: string | null;
  hosts: number;
  hostsAvailable: number;
  cpuCores: number;
  memoryMib: number;
  vms: number;
  poweredOnVms: number;
  allocatedVcpu: number;
  allocatedMemoryMib: number;
  vcpuPerCore: number | null;
  allocatedMemoryPct: number | null;
};

export type ClusterView = {
  cluster: ClusterRow;
  hosts: HostRow[];
  overTime: {
    from: string;
    to: string;
    method: string;
    points: { at: string; vcpuPerCore: number | null; allocatedMemoryPct: number | null }[];
  };
};

const onOff = (v: boolean | null) =>
  v === null
    ? markup`<span class="muted">–</span>`
    : v
    ? badge('ok', 'on')
    : badge('neutral', 'off');

const COLUMNS: SiteColumn<ClusterRow>[] = [
  {
    label: 'Name',
    sort: 'name',
    cell: (c) => markup`<a href="${objectHref('clusters', c.sourceId, c.name)}">${c.name}</a>`,
  },
  { label: 'Source', sort: 'source', cell: (c) => c.sourceName },
  { label: 'HA', cell: (c) => onOff(c.haEnabled) },
  { label: 'DRS', cell: (c) => onOff(c.drsEnabled) },
  {
    label: 'Hosts',
    sort: 'hosts',
    num: true,
    cell: (c) =>
      c.hostsAvailable < c.hosts
        ? markup`${fmtInt(c.hostsAvailable)} of ${fmtInt(c.hosts)}`
        : fmtInt(c.hosts),
  },
  { label: 'VMs', sort: 'vms', num: true, cell: (c) => fmtInt(c.vms) },
  { label: 'vCPU:pCPU', sort: 'vcpuPerCore', num: true, cell: (c) => ratio(c.vcpuPerCore) },
  {
    label: 'RAM allocated',
    sort: 'allocatedMemory',
    num: true,
    cell: (c) => pct(c.allocatedMemoryPct),
  },
];

export function clustersPage(viewer: Viewer, o: {
  state: SiteListState;
  sources: { id: number; name: string }[];
  result: SitePage<ClusterRow>;
}) {
  return page({
    title: 'Clusters',
    current: '/clusters',
    viewer,
    body: markup`${
      pageHead('Clusters', {
        sub:
          'Hosts, VMs and overcommit: vCPUs and memory of powered-on VMs (templates apart) against the physical cores and memory of the connected hosts.',
      })
    }
${
      filterForm({
        path: '/clusters',
        label: 'Filter clusters',
        state: o.state,
        placeholder: 'name or datacenter',
        fields: filterSelect('f-source', 'source', 'Source', o.state.params.source, [
          ['', 'All sources'],
          ...o.sources.map((s): [string, string] => [String(s.id), s.name]),
        ]),
      })
    }
${siteTable('clusters', o.result, o.state, COLUMNS)}`,
  });
}

export function clusterDetailPage(viewer: Viewer, v: ClusterView) {
  const c = v.cluster;
  const series = (
    label: string,
    value: (p: ClusterView['overTime']['points'][number]) => number | null,
  ) => ({
    label,
    points: v.overTime.points.flatMap((p) => {
      const x = value(p);
      return x === null ? [] : [{ at: Date.parse(p.at), value: x }];
    }),
  });
  return page({
    title: c.name,
    current: '/clusters',
    viewer,
    body: markup`${
      pageHead(c.name, {
        crumbs: markup`<a href="/clusters">Clusters</a> › ${c.name}`,
        sub: markup`${c.sourceName}${c.datacenter ? markup` · ${c.datacenter}` : ''}`,
      })
    }
<div class="grid-2">
  <section class="card" aria-labelledby="cfg-h"><h2 id="cfg-h">Configuration</h2><dl>
    ${row('HA', onOff(c.haEnabled))}${row('DRS', onOff(c.drsEnabled))}${
      row('DRS behaviour', c.drsBehavior)
    }
    ${row('Hosts', `${fmtInt(c.hostsAvailable)} connected of ${fmtInt(c.hosts)}`)}
    ${
      row(
        'VMs',
        markup`<a href="/vms?source=${c.sourceId}&amp;cluster=${encodeURIComponent(c.name)}">${
          fmtInt(c.vms)
        } (${fmtInt(c.poweredOnVms)} powered on)</a>`,
      )
    }
  </dl></section>
  <section class="card" aria-labelledby="cap-h"><h2 id="cap-h">Capacity</h2><dl>
    ${row('Cores', fmtInt(c.cpuCores))}${row('vCPU allocated', fmtInt(c.allocatedVcpu))}
    ${row('vCPU : pCPU', ratio(c.vcpuPerCore))}
    ${row('Memory', `${fmtNum(c.memoryMib / 1024)} GiB`)}${
      row(
        'RAM allocated',
        markup`${fmtNum(c.allocatedMemoryMib / 1024)} GiB ${
          meter(c.allocatedMemoryPct, 'RAM allocated')
        }`,
      )
    }
  </dl></section>
</div>
<section aria-labelledby="ot-h">
  <h2 id="ot-h">Overcommit over time</h2>
  <div class="grid-2">
  ${
      timeChart({
        id: 'cluster-vcpu',
        title: 'vCPU per physical core',
        kind: 'step',
        series: [series('vCPU:pCPU', (p) => p.vcpuPerCore)],
        from: Date.parse(v.overTime.from),
        to: Date.parse(v.overTime.to),
        format: (x) => fmtNum(x, 2),
      })
    }
  ${
      timeChart({
        id: 'cluster-ram',
        title: 'RAM allocated, % of physical',
        kind: 'step',
        series: [series('RAM allocated %', (p) => p.allocatedMemoryPct)],
        from: Date.parse(v.overTime.from),
        to: Date.parse(v.overTime.to),
        unit: '%',
      })
    }
  </div>
  <p class="muted small">${v.overTime.method}</p>
</section>
<section aria-labelledby="hosts-h">
  <h2 id="hosts-h">Hosts</h2>
  ${
      v.hosts.length === 0 ? empty('No hosts captured in this cluster.') : table(
        'Hosts of this cluster',
        markup`<th scope="col">Name</th><th scope="col">State</th><th scope="col" class="num">Cores</th><th scope="col" class="num">VMs</th><th scope="col" class="num">vCPU:pCPU</th><th scope="col">CPU use</th>`,
        markup`${
          v.hosts.map((h) =>
            markup`<tr><td><a href="${
              objectHref('hosts', h.sourceId, h.key)
            }">${h.name}</a></td><td>${hostStateBadge(h.state)}</td><td class="num">${
              fmtInt(h.cpuCores)
            }</td><td class="num">${fmtInt(h.vms)}</td><td class="num">${
              ratio(h.vcpuPerCore)
            }</td><td>${meter(h.cpuUsagePct, 'CPU usage')}</td></tr>`
          )
        }`,
      )
    }
</section>`,
  });
}
