/**
 * A VM's configuration as last captured (capture contract v2): its snapshots first (what a
 * vSphere admin looks for: how old, how big), then disks, NICs, hardware, Tools and guest.
 * Every text here comes from the site and is escaped by `markup`.
 */
import { markup } from '../markup.ts';
import { badge, table, time } from '../components.ts';
import { fmtInt, fmtNum } from '../format.ts';

/** The view of the server's VM configuration (server/queries/vm_detail.ts). */
export type VmConfiguration = {
  /** When this configuration was first captured. */
  since: string;
  disks: {
    label: string;
    capacityMib: number | null;
    provisioning: string | null;
    /** The datastore's key (links to its page). */
    datastore: string | null;
    /** The datastore's name as the source's datastores hold it; null when unknown. */
    datastoreName?: string | null;
    controller: string | null;
    unitNumber: number | null;
    file: string | null;
  }[];
  nics: {
    label: string;
    macAddress: string;
    network: string | null;
    /** The network's key when the collector resolved it (links to its page). */
    networkKey?: string | null;
    /** The network's name as the source's networks hold it (else `network`). */
    networkName?: string | null;
    /** The key of the network's page, when the source has that network. */
    networkPageKey?: string | null;
    adapterType: string | null;
    connected: boolean | null;
    vlanId: number | null;
    ipAddresses: string[];
  }[];
  snapshots: {
    id: string;
    name: string;
    description: string | null;
    createdAt: string | null;
    parentId: string | null;
    quiesced: boolean | null;
    sizeMib: number | null;
    current: boolean | null;
  }[];
  tools: { status: string | null; runningStatus: string | null; version: string | null } | null;
  guest: { hostName: string | null; state: string | null; os: string | null } | null;
  hardware: {
    version: string | null;
    firmware: string | null;
    coresPerSocket: number | null;
    cpuHotAdd: boolean | null;
    memoryHotAdd: boolean | null;
    cpuReservationMhz: number | null;
    cpuLimitMhz: number | null;
    memoryReservationMib: number | null;
    memoryLimitMib: number | null;
  } | null;
  labels: { category: string | null; name: string }[];
  haRestartPriority: string | null;
  configFile: string | null;
  connectionState: string | null;
  bootTime: string | null;
  consolidationNeeded: boolean | null;
};

/** Snapshots older than this are flagged, as RVTools' vHealth does. */
export const OLD_SNAPSHOT_DAYS = 7;
const DAY_MS = 86_400_000;

const dash = markup`<span class="muted">–</span>`;
const orDash = (v: unknown) => (v === null || v === undefined || v === '' ? dash : v);
const yesNo = (v: boolean | null) => (v === null ? dash : v ? 'yes' : 'no');
const limit = (v: number | null, unit: string) =>
  v === null ? dash : v < 0 ? 'unlimited' : `${fmtInt(v)} ${unit}`;

function row(label: string, value: unknown) {
  return markup`<dt>${label}</dt><dd>${orDash(value)}</dd>`;
}

/** Snapshots in creation order, each with its age; old ones flagged. */
function snapshots(c: VmConfiguration, now: number) {
  if (!c.snapshots.length) return markup`<p class="muted small">No snapshots.</p>`;
  const names = new Map(c.snapshots.map((s) => [s.id, s.name]));
  const ordered = [...c.snapshots].sort((a, b) =>
    (a.createdAt ?? '').localeCompare(b.createdAt ?? '')
  );
  return table(
    'Snapshots',
    markup`<th scope="col">Name</th><th scope="col">Created</th><th scope="col" class="num">Age (days)</th><th scope="col" class="num">Size (MiB)</th><th scope="col">Parent</th><th scope="col">Quiesced</th><th scope="col">Description</th>`,
    markup`${
      ordered.map((s) => {
        const days = s.createdAt ? Math.floor((now - Date.parse(s.createdAt)) / DAY_MS) : null;
        return markup`<tr data-snapshot="${s.id}"><td>${s.name}${
          s.current ? markup` ${badge('info', 'current')}` : ''
        }</td><td>${time(s.createdAt)}</td><td class="num">${
          days === null
            ? dash
            : days > OLD_SNAPSHOT_DAYS
            ? badge('warn', fmtInt(days), `older than ${OLD_SNAPSHOT_DAYS} days`)
            : fmtInt(days)
        }</td><td class="num">${s.sizeMib === null ? dash : fmtNum(s.sizeMib)}</td><td>${
          orDash(s.parentId === null ? null : names.get(s.parentId) ?? s.parentId)
        }</td><td>${yesNo(s.quiesced)}</td><td class="small">${orDash(s.description)}</td></tr>`;
      })
    }`,
    { short: true, id: 'vm-snapshots' },
  );
}

/** A link to a site object's page, or the text alone when the source is not known. */
function objectLink(
  kind: string,
  sourceId: number | undefined,
  key: string | null | undefined,
  text: string | null,
) {
  if (!text) return dash;
  if (sourceId === undefined || !key) return text;
  return markup`<a href="/${kind}/${sourceId}/${encodeURIComponent(key)}">${text}</a>`;
}

/**
 * A NIC's network: its page when the source has it, else the networks list searched for its
 * name (in the VM's source), else its name alone.
 */
function networkLink(n: VmConfiguration['nics'][number], sourceId?: number) {
  const name = n.networkName ?? n.network;
  if (!name) return dash;
  if (sourceId === undefined) return name;
  if (n.networkPageKey) return objectLink('networks', sourceId, n.networkPageKey, name);
  return markup`<a href="/networks?source=${sourceId}&amp;q=${
    encodeURIComponent(name)
  }" title="Search the networks for this name">${name}</a>`;
}

function disks(c: VmConfiguration, sourceId?: number) {
  if (!c.disks.length) return markup`<p class="muted small">No disks captured.</p>`;
  return table(
    'Disks',
    markup`<th scope="col">Disk</th><th scope="col" class="num">Capacity (GiB)</th><th scope="col">Provisioning</th><th scope="col">Datastore</th><th scope="col">Controller</th><th scope="col">File</th>`,
    markup`${
      c.disks.map((d) =>
        markup`<tr><td>${d.label}</td><td class="num">${
          d.capacityMib === null ? dash : fmtNum(d.capacityMib / 1024)
        }</td><td>${orDash(d.provisioning)}</td><td>${
          objectLink('datastores', sourceId, d.datastore, d.datastoreName ?? d.datastore)
        }</td><td>${
          orDash(d.controller === null ? null : `${d.controller}:${d.unitNumber ?? '?'}`)
        }</td><td class="mono small">${orDash(d.file)}</td></tr>`
      )
    }`,
    { short: true, id: 'vm-disks' },
  );
}

function nics(c: VmConfiguration, sourceId?: number) {
  if (!c.nics.length) return markup`<p class="muted small">No network adapters captured.</p>`;
  return table(
    'Network adapters',
    markup`<th scope="col">Adapter</th><th scope="col">MAC</th><th scope="col">Network</th><th scope="col" class="num">VLAN</th><th scope="col">Type</th><th scope="col">Connected</th><th scope="col">IP addresses</th>`,
    markup`${
      c.nics.map((n) =>
        markup`<tr><td>${n.label}</td><td class="mono">${n.macAddress}</td><td>${
          networkLink(n, sourceId)
        }</td><td class="num">${orDash(n.vlanId)}</td><td>${orDash(n.adapterType)}</td><td>${
          yesNo(n.connected)
        }</td><td class="small">${orDash(n.ipAddresses.join(', '))}</td></tr>`
      )
    }`,
    { short: true, id: 'vm-nics' },
  );
}

/** The configuration section of the VM page; a note when the source sent none (v1 agents). */
export function vmConfigurationSection(
  c: VmConfiguration | null,
  now = Date.now(),
  /** The VM's source: disks and NICs link to their datastores' and networks' pages. */
  sourceId?: number,
) {
  if (!c) {
    return markup`<section class="card" aria-labelledby="config-h"><h2 id="config-h">Configuration</h2>
<p class="muted small">No configuration details captured: the agent sends capture contract v1.</p></section>`;
  }
  const h = c.hardware;
  return markup`<section aria-labelledby="snapshots-h">
  <h2 id="snapshots-h">Snapshots <span class="muted small">(${
    fmtInt(c.snapshots.length)
  })</span></h2>
  ${snapshots(c, now)}
</section>
<section class="card" aria-labelledby="config-h">
  <h2 id="config-h">Configuration <span class="muted small">since ${time(c.since)}</span></h2>
  <div class="grid-2"><dl>
    ${row('Hardware version', h?.version)}${row('Firmware', h?.firmware)}
    ${row('Cores per socket', h?.coresPerSocket)}
    ${
    row('CPU / memory hot add', h ? markup`${yesNo(h.cpuHotAdd)} / ${yesNo(h.memoryHotAdd)}` : null)
  }
    ${
    row(
      'CPU reservation / limit',
      h ? markup`${limit(h.cpuReservationMhz, 'MHz')} / ${limit(h.cpuLimitMhz, 'MHz')}` : null,
    )
  }
    ${
    row(
      'Memory reservation / limit',
      h
        ? markup`${limit(h.memoryReservationMib, 'MiB')} / ${limit(h.memoryLimitMib, 'MiB')}`
        : null,
    )
  }
    ${row('HA restart priority', c.haRestartPriority)}${row('Config file', c.configFile)}
  </dl><dl>
    ${
    row(
      'Tools',
      c.tools ? [c.tools.status, c.tools.runningStatus].filter(Boolean).join(', ') : null,
    )
  }
    ${row('Tools version', c.tools?.version)}
    ${row('DNS name', c.guest?.hostName)}${row('Guest state', c.guest?.state)}
    ${row('OS (from the guest)', c.guest?.os)}${row('Connection', c.connectionState)}
    ${row('Booted', c.bootTime ? time(c.bootTime) : null)}
    ${
    row(
      'Consolidation needed',
      c.consolidationNeeded ? badge('warn', 'yes') : yesNo(c.consolidationNeeded),
    )
  }
    ${
    row(
      'Tags',
      c.labels.length
        ? markup`${
          c.labels.map((l) =>
            markup`${badge('info', l.category ? `${l.category}: ${l.name}` : l.name)} `
          )
        }`
        : null,
    )
  }
  </dl></div>
  <h3>Disks</h3>${disks(c, sourceId)}
  <h3>Network adapters</h3>${nics(c, sourceId)}
</section>`;
}
