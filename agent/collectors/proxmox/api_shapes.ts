/**
 * The `/api2/json` answers the collector reads, as documented by the PVE API viewer.
 * Only the fields used are typed; everything is optional where PVE omits it (a guest on
 * an offline node comes back with little more than `status: "unknown"`).
 */
export type VersionInfo = { version: string; release?: string; repoid?: string };

/** `/cluster/status`: one `cluster` entry (absent on a lone node) plus one per node. */
export type ClusterStatusEntry = {
  type: 'cluster' | 'node';
  id: string;
  name: string;
  online?: number;
  ip?: string;
  nodes?: number;
  quorate?: number;
};

/** `/cluster/resources` guest entry (`type: qemu | lxc`). */
export type GuestResource = {
  id: string;
  type: 'qemu' | 'lxc';
  vmid: number;
  node: string;
  name?: string;
  /** running | stopped | paused | unknown (node unreachable). */
  status: string;
  template?: number;
  tags?: string;
  pool?: string;
  lock?: string;
  maxcpu?: number;
  /** Bytes. */
  maxmem?: number;
  /** Boot disk only (QEMU) — never the provisioned total. */
  maxdisk?: number;
  /** Always 0 for QEMU; rootfs usage for running LXC. */
  disk?: number;
  /** Fraction of maxcpu. */
  cpu?: number;
  uptime?: number;
};

export type NodeResource = {
  id: string;
  type: 'node';
  node: string;
  status: string;
  maxcpu?: number;
  maxmem?: number;
};

export type StorageResource = {
  id: string;
  type: 'storage';
  storage: string;
  node: string;
  plugintype?: string;
  shared?: number;
  status?: string;
  /** Used bytes. */
  disk?: number;
  /** Total bytes. */
  maxdisk?: number;
};

export type AnyResource = GuestResource | NodeResource | StorageResource | {
  type: string;
  id: string;
};

/** `/cluster/tasks` and `/nodes/{node}/tasks` entries. `id` is the vmid for guest tasks. */
export type TaskEntry = {
  upid: string;
  node: string;
  type: string;
  id?: string;
  user?: string;
  starttime: number;
  /** Absent while the task runs. */
  endtime?: number;
  /** `OK` or the error text; absent while running. */
  status?: string;
};

/** `/nodes/{node}/status` (only the parts kept). */
export type NodeStatus = {
  cpuinfo?: { mhz?: string | number; cpus?: number };
  pveversion?: string;
};

/** `/access/permissions`: path → privilege → propagate (1: also below the path, 0: only on it). */
export type Permissions = Record<string, Record<string, number>>;

/** Narrows a `/cluster/resources` entry to a guest. */
export function isGuest(r: AnyResource): r is GuestResource {
  return r.type === 'qemu' || r.type === 'lxc';
}

/** Narrows a `/cluster/resources` entry to a node. */
export function isNode(r: AnyResource): r is NodeResource {
  return r.type === 'node';
}

/** Narrows a `/cluster/resources` entry to a storage. */
export function isStorage(r: AnyResource): r is StorageResource {
  return r.type === 'storage';
}
