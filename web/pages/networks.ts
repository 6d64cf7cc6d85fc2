/** Networks: port groups and bridges with their VLAN, and one network with the VMs attached. */
import { markup } from '../markup.ts';
import { pageHead, time } from '../components.ts';
import { fmtInt } from '../format.ts';
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
import { type PlacedVm, row, vmTable } from '../partials/site_bits.ts';

export type NetworkRow = {
  sourceId: number;
  sourceName: string;
  key: string;
  name: string;
  kind: string | null;
  switchName: string | null;
  vlanId: number | null;
  hostNames: string[];
  vms: number;
  nics: number;
  since: string;
};

export type NetworkView = {
  network: NetworkRow;
  vms: (PlacedVm & {
    nics: { label: string; macAddress: string; connected: boolean | null; ipAddresses: string[] }[];
  })[];
};

const KINDS: Record<string, string> = {
  standard: 'standard port group',
  distributed: 'distributed port group',
  opaque: 'opaque network',
  bridge: 'bridge',
  vlan: 'VLAN',
  sdn: 'SDN',
};

const COLUMNS: SiteColumn<NetworkRow>[] = [
  {
    label: 'Name',
    sort: 'name',
    cell: (n) => markup`<a href="${objectHref('networks', n.sourceId, n.key)}">${n.name}</a>`,
  },
  { label: 'Source', sort: 'source', cell: (n) => n.sourceName },
  { label: 'Kind', cell: (n) => (n.kind ? KINDS[n.kind] ?? n.kind : '') },
  { label: 'Switch', sort: 'switch', cell: (n) => n.switchName ?? '' },
  {
    label: 'VLAN',
    sort: 'vlan',
    num: true,
    cell: (n) => (n.vlanId === null ? '–' : String(n.vlanId)),
  },
  { label: 'VMs', sort: 'vms', num: true, cell: (n) => fmtInt(n.vms) },
];

export function networksPage(viewer: Viewer, o: {
  state: SiteListState;
  sources: { id: number; name: string }[];
  result: SitePage<NetworkRow>;
}) {
  const f = o.state.params;
  return page({
    title: 'Networks',
    current: '/networks',
    viewer,
    body: markup`${
      pageHead('Networks', {
        sub:
          'Port groups, bridges and VLANs as last captured, with the live VMs that have a NIC on each.',
      })
    }
${
      filterForm({
        path: '/networks',
        label: 'Filter networks',
        state: o.state,
        placeholder: 'name or switch',
        fields: markup`${
          filterSelect('f-source', 'source', 'Source', f.source, [
            ['', 'All sources'],
            ...o.sources.map((s): [string, string] => [String(s.id), s.name]),
          ])
        }${
          filterSelect('f-kind', 'kind', 'Kind', f.kind, [
            ['', 'Any kind'],
            ...Object.entries(KINDS),
          ])
        }<label for="f-vlan">VLAN <input id="f-vlan" name="vlan" type="number" min="0" max="4095" inputmode="numeric" value="${
          f.vlan ?? ''
        }"></label>`,
      })
    }
${siteTable('networks', o.result, o.state, COLUMNS)}`,
  });
}

export function networkDetailPage(viewer: Viewer, v: NetworkView) {
  const n = v.network;
  return page({
    title: n.name,
    current: '/networks',
    viewer,
    body: markup`${
      pageHead(n.name, {
        crumbs: markup`<a href="/networks">Networks</a> › ${n.name}`,
        sub: markup`${n.kind ? KINDS[n.kind] ?? n.kind : 'network'} · ${n.sourceName}`,
      })
    }
<section class="card" aria-labelledby="net-h"><h2 id="net-h">Network</h2><dl>
  ${row('VLAN', n.vlanId)}${row('Switch', n.switchName)}${row('Key', n.key)}
  ${row('Hosts', n.hostNames.length ? n.hostNames.join(', ') : null)}
  ${row('NICs on it', fmtInt(n.nics))}${row('Configuration since', time(n.since))}
</dl></section>
<section aria-labelledby="vms-h">
  <h2 id="vms-h">VMs attached <span class="muted small">(${fmtInt(v.vms.length)})</span></h2>
  ${
      vmTable('VMs attached', n.sourceId, v.vms, {
        label: 'NICs on this network',
        cell: (vm) =>
          markup`${
            vm.nics.map((c, i) =>
              markup`${i ? markup`<br>` : ''}${c.label} <span class="mono">${c.macAddress}</span>${
                c.ipAddresses.length ? ` ${c.ipAddresses.join(', ')}` : ''
              }${c.connected === false ? ' (disconnected)' : ''}`
            )
          }`,
      })
    }
</section>`,
  });
}
