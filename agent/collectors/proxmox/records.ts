/**
 * Builds the capture's records (VMs, hosts, datastores) from `/cluster/resources`, the
 * parsed guest config and guest-agent facts. Pure: everything is handed in.
 *
 * Units: PVE sizes are binary (`32G` = 32 GiB); the capture's "GB" fields carry GiB, the
 * same convention vCenter's KB/MB figures follow, so both sources add up.
 */
import type {
  CaptureDatastoreInput,
  CaptureHostInput,
  CaptureVmInput,
  PowerState,
} from '../../capture/schema.ts';
import type { GuestResource, NodeResource, StorageResource } from './api_shapes.ts';
import { type ParsedGuestConfig, splitTags } from './config_parse.ts';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const gib = (bytes: number) => Math.round((bytes / GiB) * 1000) / 1000;

/** The capture VM shape as the collector builds it (defaults already applied): the contract's own type. */
export type ProxmoxVm = CaptureVmInput;

/** `${clusterId}:${vmid}:${generation}` — a reused vmid with a new generation is a new VM. */
export function vmKey(clusterId: string, vmid: number, generation: number): string {
  return `${clusterId}:${vmid}:${generation}`;
}

/** PVE status → capture power state. A hibernated VM is `stopped` with `lock: suspended`. */
export function powerStateOf(r: GuestResource): PowerState {
  if (r.status === 'running') return 'poweredOn';
  if (r.status === 'paused' || r.status === 'suspended' || r.lock === 'suspended') {
    return 'suspended';
  }
  return 'poweredOff';
}

export type VmFacts = {
  clusterId: string;
  /** Cluster name, null for a lone node. */
  clusterName: string | null;
  generation: number;
  /** Epoch seconds: QEMU `meta` ctime, or the LXC `vzcreate` task time. */
  createdAtSec: number | null;
  config: ParsedGuestConfig;
  ips: string[];
  usedBytes: number | null;
};

/** One VM record. vCPU/RAM come from the config; `/cluster/resources` is the fallback. */
export function toProxmoxVm(r: GuestResource, f: VmFacts): ProxmoxVm {
  const c = f.config;
  const resourceTags = splitTags(r.tags);
  return {
    key: vmKey(f.clusterId, r.vmid, f.generation),
    sourceVmId: String(r.vmid),
    biosUuid: c.biosUuid,
    instanceUuid: null,
    name: (r.name ?? c.name ?? `${r.type === 'qemu' ? 'VM' : 'CT'} ${r.vmid}`).slice(0, 512),
    powerState: powerStateOf(r),
    isTemplate: r.template === 1,
    // LXC without `cores` may use every host core: PVE reports that as maxcpu.
    vcpu: c.vcpu ?? r.maxcpu ?? 0,
    memoryMib: c.memoryMib ?? (r.maxmem ? Math.round(r.maxmem / MiB) : 0),
    provisionedDiskGib: gib(c.provisionedBytes),
    usedDiskGib: f.usedBytes == null ? null : gib(f.usedBytes),
    datacenter: null,
    cluster: f.clusterName,
    host: r.node,
    resourcePool: r.pool ?? null,
    folder: null,
    guestOs: c.ostype,
    ipAddresses: f.ips,
    tags: (resourceTags.length ? resourceTags : c.tags).slice(0, 256),
    annotation: c.description ? c.description.slice(0, 8192) : null,
    createdAt: f.createdAtSec ? new Date(f.createdAtSec * 1000).toISOString() : null,
  };
}

/** One host record per node; `details` come from `/nodes/{node}/status` when fetched. */
export function toHost(
  clusterId: string,
  clusterName: string | null,
  n: NodeResource,
  details: { mhz: number | null; version: string | null } | undefined,
): CaptureHostInput {
  return {
    key: `${clusterId}:node:${n.node}`,
    name: n.node,
    datacenter: null,
    cluster: clusterName,
    connectionState: n.status,
    powerState: null,
    cpuCores: n.maxcpu ?? null,
    cpuMhz: details?.mhz ?? null,
    memoryMib: n.maxmem ? Math.round(n.maxmem / MiB) : null,
    version: details?.version ?? null,
  };
}

/**
 * Datastore records. A shared storage (Ceph, NFS) is listed once per node by PVE but is
 * one datastore: keep one record, taken from a node that reports it available.
 */
export function toDatastores(
  clusterId: string,
  storages: readonly StorageResource[],
): CaptureDatastoreInput[] {
  const byKey = new Map<string, CaptureDatastoreInput>();
  for (const s of storages) {
    const shared = s.shared === 1;
    const key = shared
      ? `${clusterId}:storage:${s.storage}`
      : `${clusterId}:storage:${s.node}/${s.storage}`;
    const available = s.status === 'available';
    const record: CaptureDatastoreInput = {
      key,
      name: shared ? s.storage : `${s.node}/${s.storage}`,
      type: s.plugintype ?? null,
      capacityGib: available && s.maxdisk != null ? gib(s.maxdisk) : null,
      freeGib: available && s.maxdisk != null && s.disk != null
        ? gib(Math.max(0, s.maxdisk - s.disk))
        : null,
      accessible: s.status == null || s.status === 'unknown' ? null : available,
    };
    const prev = byKey.get(key);
    if (!prev || (prev.accessible !== true && record.accessible === true)) byKey.set(key, record);
  }
  return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
}
