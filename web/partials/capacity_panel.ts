/** The dashboard's capacity panel: fullest datastores, most overcommitted clusters, hosts down. */
import { markup } from '../markup.ts';
import { empty, table } from '../components.ts';
import { fmtGb } from '../format.ts';
import { type DatastoreRow, forecastText } from '../pages/datastores.ts';
import type { ClusterRow } from '../pages/clusters.ts';
import type { HostRow } from '../pages/hosts.ts';
import { objectHref } from './site_table.ts';
import { hostStateBadge, meter, pct, ratio } from './site_bits.ts';

export type CapacityData = {
  datastores: DatastoreRow[];
  clusters: ClusterRow[];
  hosts: HostRow[];
  hostsDown: number;
  hostsTotal: number;
};

export function capacityPanel(d: CapacityData) {
  return markup`<section aria-labelledby="capacity-h" id="capacity">
<h2 id="capacity-h">Capacity</h2>
<div class="grid-3">
<section aria-labelledby="cap-ds-h">
  <h3 id="cap-ds-h"><a href="/datastores?sort=used&amp;order=desc">Fullest datastores</a></h3>
  ${
    d.datastores.length === 0 ? empty('No datastores captured.') : table(
      'Fullest datastores',
      markup`<th scope="col">Datastore</th><th scope="col">Used</th><th scope="col" class="num">Free</th><th scope="col">Full in</th>`,
      markup`${
        d.datastores.map((x) =>
          markup`<tr><td><a href="${
            objectHref('datastores', x.sourceId, x.key)
          }">${x.name}</a></td><td>${meter(x.usedPct, 'Used')}</td><td class="num">${
            fmtGb(x.freeGib)
          }</td><td>${forecastText(x.forecast)}</td></tr>`
        )
      }`,
      { short: true },
    )
  }
</section>
<section aria-labelledby="cap-cl-h">
  <h3 id="cap-cl-h"><a href="/clusters?sort=vcpuPerCore&amp;order=desc">Most overcommitted clusters</a></h3>
  ${
    d.clusters.length === 0 ? empty('No clusters captured.') : table(
      'Most overcommitted clusters',
      markup`<th scope="col">Cluster</th><th scope="col" class="num">vCPU:pCPU</th><th scope="col" class="num">RAM allocated</th>`,
      markup`${
        d.clusters.map((c) =>
          markup`<tr><td><a href="${
            objectHref('clusters', c.sourceId, c.name)
          }">${c.name}</a> <span class="muted small">${c.sourceName}</span></td><td class="num">${
            ratio(c.vcpuPerCore)
          }</td><td class="num">${pct(c.allocatedMemoryPct)}</td></tr>`
        )
      }`,
      { short: true },
    )
  }
</section>
<section aria-labelledby="cap-h-h">
  <h3 id="cap-h-h"><a href="/hosts?sort=state">Hosts down or in maintenance</a> <span class="muted small">(${d.hostsDown})</span></h3>
  ${
    d.hostsTotal === 0
      ? empty('No hosts captured.')
      : d.hosts.length === 0
      ? empty('Every host is connected.')
      : table(
        'Hosts down or in maintenance',
        markup`<th scope="col">Host</th><th scope="col">State</th>`,
        markup`${
          d.hosts.map((h) =>
            markup`<tr><td><a href="${
              objectHref('hosts', h.sourceId, h.key)
            }">${h.name}</a> <span class="muted small">${h.sourceName}</span></td><td>${
              hostStateBadge(h.state)
            }</td></tr>`
          )
        }`,
        { short: true },
      )
  }
</section>
</div>
</section>`;
}
