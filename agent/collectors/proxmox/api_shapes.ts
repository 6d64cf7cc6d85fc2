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
  /** Bytes in use (QEMU: as the balloon driver reports it, else the process's). */
  mem?: number;
  uptime?: number;
};

export type NodeResource = {
  id: string;
  type: 'node';
  node: string;
  status: string;
  maxcpu?: number;
  maxmem?: number;
  /** Fraction of maxcpu in use. */
  cpu?: number;
  /** Used bytes. */
  mem?: number;
  uptime?: number;
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
  /** `images,rootdir,…` */
  content?: string;
};

/** `/cluster/resources` pool entry (`id: /pool/{poolid}`). */
export type PoolResource = { id: string; type: 'pool'; pool: string };

export type AnyResource = GuestResource | NodeResource | StorageResource | PoolResource | {
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
  cpuinfo?: {
    mhz?: string | number;
    /** Threads (logical CPUs). */
    cpus?: number;
    /** Cores per socket. */
    cores?: number;
    sockets?: number;
    model?: string;
  };
  pveversion?: string;
  /** `Linux 6.8.8-2-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.8-2 (…)` */
  kversion?: string;
  /** PVE 8.1+: the running kernel, parsed. */
  'current-kernel'?: { release?: string };
  /** Seconds. */
  uptime?: number;
};

/** `/nodes/{node}/network` entry: a node's interface configuration (ifupdown2). */
export type NodeNetworkEntry = {
  iface: string;
  /** eth, bond, bridge, vlan, alias, OVSBridge, OVSBond, OVSPort, OVSIntPort, unknown. */
  type: string;
  active?: number;
  /** Space-separated ports of a Linux bridge. */
  bridge_ports?: string;
  ovs_ports?: string;
  /** Space-separated members of a bond. */
  slaves?: string;
  'vlan-id'?: number | string;
  'vlan-raw-device'?: string;
  mtu?: number | string;
};

/** `/storage` entry: the cluster-wide storage configuration. */
export type StorageConfig = {
  storage: string;
  type: string;
  content?: string;
  shared?: number;
  disable?: number;
  /** Comma-separated nodes the storage is restricted to; absent: all. */
  nodes?: string;
  path?: string;
  server?: string;
  export?: string;
  share?: string;
  pool?: string;
  monhost?: string;
  vgname?: string;
  thinpool?: string;
  sparse?: number;
};

/** `/pools` entry. */
export type PoolEntry = { poolid: string; comment?: string };

/** `/cluster/ha/resources` entry (`sid` = `vm:100` / `ct:200`). */
export type HaResource = { sid: string; state?: string; group?: string; type?: string };

/** `/cluster/ha/status/manager_status` (only the parts kept). */
export type HaManagerStatus = {
  manager_status?: { node_status?: Record<string, string> };
};

/** `/cluster/sdn/vnets` entry. */
export type SdnVnet = { vnet: string; zone?: string; tag?: number; alias?: string };

/**
 * `/nodes/{node}/{qemu|lxc}/{vmid}/snapshot` entry. The list ends with the `current`
 * pseudo-entry ("You are here!"), whose `parent` is the snapshot the guest runs from.
 */
export type SnapshotEntry = {
  name: string;
  description?: string;
  snaptime?: number;
  parent?: string;
  /** QEMU: 1 when the RAM state was saved (the VM was running and stays so on rollback). */
  vmstate?: number;
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

/** Narrows a `/cluster/resources` entry to a pool. */
export function isPool(r: AnyResource): r is PoolResource {
  return r.type === 'pool';
}

/** Narrows a `/cluster/resources` entry to a storage. */
export function isStorage(r: AnyResource): r is StorageResource {
  return r.type === 'storage';
}
