/**
 * The capture's records beside the VMs: hosts (nodes), datastores (storages), the
 * cluster, resource pools (PVE pools) and networks (bridges, VLANs, SDN vnets). Pure:
 * the collector hands in what the API said.
 *
 * Keys are stable across captures and unique in the source:
 *   host `${cluster}:node:${node}`; datastore `${cluster}:storage:${storage}` when shared,
 *   `${cluster}:storage:${node}/${storage}` when local; cluster `${cluster}:cluster`;
 *   pool `${cluster}:pool:${poolid}`; network `${cluster}:net:bridge:${bridge}`,
 *   `${cluster}:net:vlan:${bridge}.${tag}`, `${cluster}:net:sdn:${vnet}`.
 */
import type {
  CaptureCluster,
  CaptureNetwork,
  CaptureResourcePool,
  VmDisk,
} from '../../capture/details.ts';
import type { CaptureDatastoreInput, CaptureHostInput } from '../../capture/schema.ts';
import type {
  NodeNetworkEntry,
  NodeResource,
  SdnVnet,
  StorageConfig,
  StorageResource,
} from './api_shapes.ts';
import type { NodeFacts } from './guest_facts.ts';
import { gib, type ProxmoxVm } from './records.ts';

const MiB = 1024 ** 2;

/** PVE node status → vSphere's words, so both sources read alike in reports. */
export function hostConnectionState(status: string): string {
  if (status === 'online') return 'connected';
  if (status === 'offline') return 'notResponding';
  return status;
}

/** One host record per node; `details` come from `/nodes/{node}/status` and `…/network`. */
export function toHost(
  clusterId: string,
  clusterName: string | null,
  n: NodeResource,
  details: NodeFacts | undefined,
  extra: { maintenance: boolean | null; bootTimeSec: number | null },
): CaptureHostInput {
  const online = n.status === 'online';
  const mhz = details?.mhz ?? null;
  const cores = details?.cores ?? null;
  const net = details?.network ?? [];
  // Which bridge each port belongs to; a bond's members belong to the bond's bridge.
  const bridgeOf = new Map<string, string>();
  const bridges = net.filter((e) => e.type === 'bridge' || e.type === 'OVSBridge');
  for (const b of bridges) for (const p of portsOf(b)) bridgeOf.set(p, b.iface);
  for (const e of net.filter((e) => e.type === 'bond' || e.type === 'OVSBond')) {
    const bridge = bridgeOf.get(e.iface);
    if (bridge) { for (const m of words(e.slaves)) if (!bridgeOf.has(m)) bridgeOf.set(m, bridge); }
  }
  return {
    key: `${clusterId}:node:${n.node}`,
    name: n.node,
    datacenter: null,
    cluster: clusterName,
    connectionState: hostConnectionState(n.status),
    powerState: online ? 'poweredOn' : null,
    cpuCores: cores,
    cpuMhz: mhz,
    memoryMib: n.maxmem ? Math.round(n.maxmem / MiB) : null,
    version: details?.version ?? null,
    vendor: null,
    model: null,
    cpuModel: details?.cpuModel ?? null,
    cpuSockets: details?.sockets ?? null,
    cpuThreads: details?.threads ?? n.maxcpu ?? null,
    build: details?.kernel ?? null,
    maintenanceMode: extra.maintenance,
    bootTime: online && extra.bootTimeSec != null
      ? new Date(extra.bootTimeSec * 1000).toISOString()
      : null,
    // `cpu` is a fraction of all logical CPUs; counted against cores × MHz like vSphere.
    cpuUsageMhz: online && n.cpu != null && mhz != null
      ? Math.round(n.cpu * (cores ?? n.maxcpu ?? 0) * mhz)
      : null,
    memoryUsageMib: online && n.mem != null ? Math.round(n.mem / MiB) : null,
    serialNumber: null,
    nics: net.filter((e) => ['eth', 'bond', 'OVSBond'].includes(e.type)).slice(0, 64).map((e) => ({
      device: e.iface.slice(0, 64),
      driver: null,
      macAddress: null,
      speedMbps: null,
      linkUp: e.active == null ? null : e.active === 1,
      switchName: bridgeOf.get(e.iface) ?? null,
    })),
    switches: bridges.slice(0, 64).map((b) => ({
      name: b.iface,
      ports: null,
      mtu: toInt(b.mtu),
      uplinks: portsOf(b).slice(0, 64),
    })),
  };
}

function words(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter(Boolean);
}

function portsOf(e: NodeNetworkEntry): string[] {
  return words(e.bridge_ports ?? e.ovs_ports);
}

function toInt(v: unknown): number | null {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : null;
}

/** Where a storage lives, from its `/storage` configuration; null when it says nothing. */
export function storageUrl(c: StorageConfig | undefined): string | null {
  if (!c) return null;
  switch (c.type) {
    case 'nfs':
      return c.server && c.export ? `nfs://${c.server}${c.export}` : c.path ?? null;
    case 'cifs':
      return c.server && c.share ? `smb://${c.server}/${c.share}` : c.path ?? null;
    case 'rbd':
      return `rbd:${c.pool ?? 'rbd'}`;
    case 'lvm':
      return c.vgname ? `lvm:${c.vgname}` : null;
    case 'lvmthin':
      return c.vgname ? `lvm:${c.vgname}/${c.thinpool ?? ''}` : null;
    case 'zfspool':
      return c.pool ? `zfs:${c.pool}` : null;
    default:
      return c.path ?? null;
  }
}

/** How a storage provisions a disk: thin or thick when its type says so, else null. */
export function provisioningOf(
  pluginType: string | undefined,
  config: StorageConfig | undefined,
  format: string | null,
): VmDisk['provisioning'] {
  switch (pluginType) {
    case 'lvmthin':
    case 'rbd':
      return 'thin';
    case 'lvm':
      return 'thick';
    case 'zfspool':
      return config ? (config.sparse ? 'thin' : 'thick') : null;
    default:
      return format === 'qcow2' ? 'thin' : null;
  }
}

/** The datastore key a storage has on a node: shared storages are one datastore. */
export function datastoreKeyOf(clusterId: string, storage: string, node: string, shared: boolean) {
  return shared ? `${clusterId}:storage:${storage}` : `${clusterId}:storage:${node}/${storage}`;
}

/**
 * Datastore records. A shared storage (Ceph, NFS) is listed once per node by PVE but is
 * one datastore: keep one record, taken from a node that reports it available; its
 * `hostNames` are the nodes where it is available.
 */
export function toDatastores(
  clusterId: string,
  storages: readonly StorageResource[],
  configs: ReadonlyMap<string, StorageConfig>,
): CaptureDatastoreInput[] {
  const byKey = new Map<string, CaptureDatastoreInput>();
  const hostsOf = new Map<string, Set<string>>();
  for (const s of storages) {
    const shared = s.shared === 1;
    const key = datastoreKeyOf(clusterId, s.storage, s.node, shared);
    const available = s.status === 'available';
    if (available) hostsOf.set(key, (hostsOf.get(key) ?? new Set()).add(s.node));
    const config = configs.get(s.storage);
    const record: CaptureDatastoreInput = {
      key,
      name: shared ? s.storage : `${s.node}/${s.storage}`,
      type: s.plugintype ?? config?.type ?? null,
      capacityGib: available && s.maxdisk != null ? gib(s.maxdisk) : null,
      freeGib: available && s.maxdisk != null && s.disk != null
        ? gib(Math.max(0, s.maxdisk - s.disk))
        : null,
      accessible: s.status == null || s.status === 'unknown' ? null : available,
      url: storageUrl(config),
      uncommittedGib: null,
      maintenanceMode: null,
      shared,
      content: s.content ?? config?.content ?? null,
      hostNames: [],
      vmCount: null,
    };
    const prev = byKey.get(key);
    if (!prev || (prev.accessible !== true && record.accessible === true)) byKey.set(key, record);
  }
  for (const [key, record] of byKey) record.hostNames = [...(hostsOf.get(key) ?? [])].sort();
  return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** Counts, per datastore key, the VMs with a disk on it (into `vmCount`). */
export function countDatastoreVms(
  datastores: CaptureDatastoreInput[],
  vms: readonly ProxmoxVm[],
): void {
  const counts = new Map<string, number>();
  for (const vm of vms) {
    const keys = new Set((vm.disks ?? []).map((d) => d.datastore).filter((k) => k != null));
    for (const k of keys) counts.set(k!, (counts.get(k!) ?? 0) + 1);
  }
  for (const d of datastores) d.vmCount = counts.get(d.key) ?? 0;
}

/** The cluster's one record (none for a lone node). */
export function toCluster(
  clusterId: string,
  clusterName: string,
  hosts: readonly CaptureHostInput[],
  haEnabled: boolean | null,
): CaptureCluster {
  const online = hosts.filter((h) => h.connectionState === 'connected');
  const sum = (list: readonly CaptureHostInput[], f: (h: CaptureHostInput) => number | null) =>
    list.reduce((t, h) => t + (f(h) ?? 0), 0);
  const mhzTotal = (h: CaptureHostInput) =>
    h.cpuMhz != null && h.cpuCores != null ? h.cpuMhz * h.cpuCores : null;
  return {
    key: `${clusterId}:cluster`,
    name: clusterName,
    datacenter: null,
    haEnabled,
    drsEnabled: null,
    drsBehavior: null,
    hostCount: hosts.length,
    effectiveHostCount: online.length,
    cpuCores: sum(hosts, (h) => h.cpuCores ?? null),
    cpuThreads: sum(hosts, (h) => h.cpuThreads ?? null),
    totalCpuMhz: sum(hosts, mhzTotal),
    effectiveCpuMhz: sum(online, mhzTotal),
    totalMemoryMib: sum(hosts, (h) => h.memoryMib ?? null),
    effectiveMemoryMib: sum(online, (h) => h.memoryMib ?? null),
  };
}

/** PVE pools as resource pools: no reservations or limits (PVE has none), a comment, VMs. */
export function toResourcePools(
  clusterId: string,
  clusterName: string | null,
  poolIds: readonly string[],
  comments: ReadonlyMap<string, string>,
  vms: readonly ProxmoxVm[],
): CaptureResourcePool[] {
  const counts = new Map<string, number>();
  for (const vm of vms) {
    if (vm.resourcePool) counts.set(vm.resourcePool, (counts.get(vm.resourcePool) ?? 0) + 1);
  }
  return [...new Set([...poolIds, ...counts.keys()])].sort().map((id) => ({
    key: `${clusterId}:pool:${id}`,
    name: id,
    path: id,
    cluster: clusterName,
    cpuReservationMhz: null,
    cpuLimitMhz: null,
    cpuExpandable: null,
    cpuShares: null,
    memoryReservationMib: null,
    memoryLimitMib: null,
    memoryExpandable: null,
    memoryShares: null,
    vmCount: counts.get(id) ?? 0,
    comment: comments.get(id) ? comments.get(id)!.slice(0, 4096) : null,
  }));
}

/**
 * The networks of a capture. A NIC on a bridge without a tag is on the bridge; with a
 * tag, on the VLAN `${bridge}.${tag}` (the same name as a node's VLAN interface on that
 * bridge); on an SDN vnet, on the vnet. `networkKey` gives the key a NIC resolves to.
 */
export function createNetworks(
  clusterId: string,
  nodes: ReadonlyMap<string, NodeNetworkEntry[] | null>,
  vnets: readonly SdnVnet[],
) {
  const vnetNames = new Set(vnets.map((v) => v.vnet));
  const keyOf = (bridge: string, tag: number | null) =>
    vnetNames.has(bridge)
      ? `${clusterId}:net:sdn:${bridge}`
      : tag != null
      ? `${clusterId}:net:vlan:${bridge}.${tag}`
      : `${clusterId}:net:bridge:${bridge}`;
  return {
    networkKey: keyOf,
    /** The network records: every node bridge and VLAN, every vnet, every network a NIC uses. */
    records(vms: readonly ProxmoxVm[]): CaptureNetwork[] {
      const out = new Map<string, CaptureNetwork>();
      const add = (
        key: string,
        base: Omit<CaptureNetwork, 'key' | 'hostNames' | 'vmCount'>,
        host: string | null,
      ) => {
        const rec = out.get(key) ?? { key, ...base, hostNames: [], vmCount: 0 };
        if (host && !rec.hostNames.includes(host)) rec.hostNames.push(host);
        out.set(key, rec);
      };
      const bridgeHosts = new Map<string, string[]>();
      for (const [node, entries] of nodes) {
        for (const e of entries ?? []) {
          if (e.type === 'bridge' || e.type === 'OVSBridge') {
            bridgeHosts.set(e.iface, [...(bridgeHosts.get(e.iface) ?? []), node]);
            add(keyOf(e.iface, null), {
              name: e.iface,
              kind: 'bridge',
              switchName: e.iface,
              vlanId: null,
            }, node);
          } else if (e.type === 'vlan' && e['vlan-raw-device'] && e['vlan-id'] != null) {
            const tag = toInt(e['vlan-id']);
            if (tag == null) continue;
            add(keyOf(e['vlan-raw-device'], tag), {
              name: `${e['vlan-raw-device']}.${tag}`,
              kind: 'vlan',
              switchName: e['vlan-raw-device'],
              vlanId: tag,
            }, node);
          }
        }
      }
      for (const v of vnets) {
        add(keyOf(v.vnet, null), {
          name: v.vnet,
          kind: 'sdn',
          switchName: v.zone ?? null,
          vlanId: toInt(v.tag),
        }, null);
      }
      const vmsOn = new Map<string, Set<string>>();
      for (const vm of vms) {
        for (const nic of vm.nics ?? []) {
          if (!nic.networkKey || !nic.network) continue;
          const key = nic.networkKey;
          const tag = nic.vlanId ?? null;
          const hosts = key.includes(':net:sdn:')
            ? []
            : bridgeHosts.get(nic.network) ?? (vm.host ? [vm.host] : []);
          for (const h of hosts.length ? hosts : [null]) {
            add(key, {
              name: tag != null ? `${nic.network}.${tag}` : nic.network,
              kind: tag != null ? 'vlan' : 'bridge',
              switchName: nic.network,
              vlanId: tag,
            }, h);
          }
          vmsOn.set(key, (vmsOn.get(key) ?? new Set()).add(vm.key));
        }
      }
      const records = [...out.values()].sort((a, b) => a.key.localeCompare(b.key));
      for (const r of records) {
        r.vmCount = vmsOn.get(r.key)?.size ?? 0;
        r.hostNames.sort();
      }
      return records;
    },
  };
}
