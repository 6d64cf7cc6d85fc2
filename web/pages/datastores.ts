/** Datastores: the list and one datastore with its VMs, their disks on it, its trend and forecast. */
import { markup } from '../markup.ts';
import { timeChart } from '../charts/time_chart.ts';
import { badge, pageHead, time } from '../components.ts';
import { fmtGb, fmtInt, fmtNum, fmtTime } from '../format.ts';
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
import { meter, pct, type PlacedVm, row, vmTable } from '../partials/site_bits.ts';

export type Forecast = {
  status: 'filling' | 'notFilling' | 'insufficientData';
  daysUntilFull: number | null;
  fullAt: string | null;
  growthGibPerDay: number | null;
  r2: number | null;
  points: number;
  windowDays: number;
  method: string;
};

export type DatastoreRow = {
  sourceId: number;
  sourceName: string;
  key: string;
  name: string;
  type: string | null;
  url: string | null;
  shared: boolean | null;
  accessible: boolean | null;
  capacityGib: number | null;
  freeGib: number | null;
  usedGib: number | null;
  usedPct: number | null;
  uncommittedGib: number | null;
  provisionedGib: number | null;
  provisionedPct: number | null;
  vms: number;
  vmDiskGib: number;
  hostNames: string[];
  present: boolean;
  lastSeenAt: string;
  forecast: Forecast;
};

export type DatastoreView = {
  datastore: DatastoreRow;
  forecastMethod: string;
  vms: (PlacedVm & {
    disks: {
      label: string;
      capacityMib: number | null;
      provisioning: string | null;
      file: string | null;
    }[];
  })[];
  trend: {
    from: string;
    to: string;
    points: { at: string; capacityGib: number | null; usedGib: number | null }[];
  };
};

/** Days until full as words: "41 days", "not filling", "too few captures". */
export function forecastText(f: Forecast) {
  if (f.status === 'filling') {
    return f.daysUntilFull! < 30
      ? badge('bad', `${fmtNum(f.daysUntilFull)} days`)
      : f.daysUntilFull! < 90
      ? badge('warn', `${fmtNum(f.daysUntilFull)} days`)
      : markup`${fmtNum(f.daysUntilFull)} days`;
  }
  return f.status === 'notFilling'
    ? markup`<span class="muted">not filling</span>`
    : markup`<span class="muted">too few captures</span>`;
}

export const datastoreLink = (d: { sourceId: number; key: string; name: string }) =>
  markup`<a href="${objectHref('datastores', d.sourceId, d.key)}">${d.name}</a>`;

const COLUMNS: SiteColumn<DatastoreRow>[] = [
  { label: 'Name', sort: 'name', cell: datastoreLink },
  { label: 'Source', sort: 'source', cell: (d) => d.sourceName },
  { label: 'Type', sort: 'type', cell: (d) => d.type ?? '' },
  { label: 'Capacity', sort: 'capacity', num: true, cell: (d) => fmtGb(d.capacityGib) },
  { label: 'Free', sort: 'free', num: true, cell: (d) => fmtGb(d.freeGib) },
  { label: 'Used', sort: 'used', cell: (d) => meter(d.usedPct, 'Used') },
  { label: 'Provisioned', sort: 'provisioned', num: true, cell: (d) => pct(d.provisionedPct) },
  { label: 'VMs', sort: 'vms', num: true, cell: (d) => fmtInt(d.vms) },
  { label: 'Full in', sort: 'daysUntilFull', cell: (d) => forecastText(d.forecast) },
];

export function datastoresPage(viewer: Viewer, o: {
  state: SiteListState;
  sources: { id: number; name: string }[];
  types: string[];
  result: SitePage<DatastoreRow>;
}) {
  const f = o.state.params;
  return page({
    title: 'Datastores',
    current: '/datastores',
    viewer,
    body: markup`${
      pageHead('Datastores', {
        sub:
          'Capacity, free and provisioned space (above 100 % is overcommitted), the VMs on each and when each fills up at its last 30 days’ pace.',
      })
    }
${
      filterForm({
        path: '/datastores',
        label: 'Filter datastores',
        state: o.state,
        placeholder: 'name or URL',
        fields: markup`${
          filterSelect('f-source', 'source', 'Source', f.source, [
            ['', 'All sources'],
            ...o.sources.map((s): [string, string] => [String(s.id), s.name]),
          ])
        }${
          filterSelect('f-type', 'type', 'Type', f.type, [
            ['', 'Any type'],
            ...o.types.map((t): [string, string] => [t, t]),
          ])
        }${
          filterSelect('f-forecast', 'forecast', 'Forecast', f.forecast, [
            ['', 'Any'],
            ['filling', 'Filling'],
            ['notFilling', 'Not filling'],
            ['insufficientData', 'Too few captures'],
          ])
        }`,
      })
    }
${siteTable('datastores', o.result, o.state, COLUMNS)}`,
  });
}

export function datastoreDetailPage(viewer: Viewer, v: DatastoreView, base: string) {
  const d = v.datastore;
  const f = d.forecast;
  const line = (
    label: string,
    value: (p: DatastoreView['trend']['points'][number]) => number | null,
  ) => ({
    label,
    points: v.trend.points.flatMap((p) => {
      const x = value(p);
      return x === null ? [] : [{ at: Date.parse(p.at), value: x }];
    }),
  });
  return page({
    title: d.name,
    current: '/datastores',
    viewer,
    body: markup`${
      pageHead(d.name, {
        crumbs: markup`<a href="/datastores">Datastores</a> › ${d.name}`,
        sub: markup`${d.type ?? 'datastore'} · ${d.sourceName} · last captured ${
          time(d.lastSeenAt)
        }${d.accessible === false ? markup` ${badge('bad', 'inaccessible')}` : ''}`,
      })
    }
<div class="grid-2">
  <section class="card" aria-labelledby="cap-h"><h2 id="cap-h">Capacity</h2><dl>
    ${row('Capacity', fmtGb(d.capacityGib))}${row('Free', fmtGb(d.freeGib))}
    ${row('Used', markup`${fmtGb(d.usedGib)} ${meter(d.usedPct, 'Used')}`)}
    ${row('Uncommitted', d.uncommittedGib === null ? null : fmtGb(d.uncommittedGib))}
    ${
      row(
        'Provisioned',
        d.provisionedGib === null
          ? null
          : markup`${fmtGb(d.provisionedGib)} (${pct(d.provisionedPct)} of capacity)${
            (d.provisionedPct ?? 0) > 100 ? markup` ${badge('warn', 'overcommitted')}` : ''
          }`,
      )
    }
    ${row('VM disks on it', `${fmtGb(d.vmDiskGib)} in ${fmtInt(d.vms)} VMs`)}
    ${row('URL', d.url ? markup`<span class="mono">${d.url}</span>` : null)}
    ${row('Hosts', d.hostNames.length ? d.hostNames.join(', ') : null)}
  </dl>
  <p class="muted small">Provisioned: capacity − free + uncommitted where the source reports uncommitted space, else the disks of the VMs on it.</p></section>
  <section class="card" aria-labelledby="fc-h"><h2 id="fc-h">Days until full</h2>
    <p class="value" id="forecast">${forecastText(f)}</p>
    <dl>
      ${row('Full around', f.fullAt ? fmtTime(f.fullAt) : null)}
      ${
      row('Growth', f.growthGibPerDay === null ? null : `${fmtNum(f.growthGibPerDay, 2)} GiB a day`)
    }
      ${row('Fit (R²)', f.r2 === null ? null : fmtNum(f.r2, 2))}
      ${row('Captures used', `${fmtInt(f.points)} in ${f.windowDays} days`)}
    </dl>
    <p class="muted small" id="forecast-method">Method: ${v.forecastMethod}</p>
  </section>
</div>
<section aria-labelledby="trend-h">
  <h2 id="trend-h">Used space</h2>
  <p class="small"><a href="${base}?days=7">7 days</a> · <a href="${base}?days=30">30 days</a> · <a href="${base}?days=90">90 days</a> · <a href="${base}?days=365">1 year</a></p>
  ${
      timeChart({
        id: 'ds-trend',
        width: 960,
        height: 240,
        title: 'Used space and capacity, GiB',
        kind: 'line',
        series: [line('Used', (p) => p.usedGib), line('Capacity', (p) => p.capacityGib)],
        from: Date.parse(v.trend.from),
        to: Date.parse(v.trend.to),
        unit: 'GiB',
      })
    }
</section>
<section aria-labelledby="vms-h">
  <h2 id="vms-h">VMs with disks on it <span class="muted small">(${
      fmtInt(v.vms.length)
    })</span></h2>
  ${
      vmTable('VMs with disks on this datastore', d.sourceId, v.vms, {
        label: 'Disks on this datastore',
        cell: (vm) =>
          markup`${
            vm.disks.map((k, i) =>
              markup`${i ? markup`<br>` : ''}${k.label}: ${
                k.capacityMib === null ? '–' : `${fmtNum(k.capacityMib / 1024)} GiB`
              }${k.provisioning ? ` ${k.provisioning}` : ''}`
            )
          }`,
      })
    }
</section>`,
  });
}
