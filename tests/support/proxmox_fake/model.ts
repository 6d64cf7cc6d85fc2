/**
 * The in-memory cluster behind the Proxmox fake. Tests load the fixture, start the server,
 * then mutate this model between captures (create/destroy guests, take nodes offline,
 * slow them down) exactly as an admin would change a real cluster. The helpers also write
 * the task-log entries Proxmox writes for those actions (qmcreate, vzdestroy, …).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type TokenPrivileges = 'auditor' | 'auditor-agent' | 'nodes-only' | 'pool-auditor' | 'none';

export type FakeToken = {
  /** USER@REALM!TOKENID */
  id: string;
  secret: string;
  /**
   * `auditor`: PVEAuditor on `/` (no guest agent: that needs VM.Monitor, which PVEAuditor
   * lacks). `auditor-agent`: PVEAuditor plus a role with VM.Monitor on `/`. `nodes-only`: Sys.Audit on `/` but no VM.Audit.
   * `none`: a privilege-separated token with no ACL at all — lists come back empty, not 403.
   * `pool-auditor`: Sys.Audit on `/` and PVEAuditor on `/pool/{pool}` only — it sees the
   * pool's guests and no others (a partial view that looks complete).
   */
  privileges: TokenPrivileges;
  /** The pool of a `pool-auditor` token. */
  pool?: string;
};

export type FakeNode = {
  name: string;
  online: boolean;
  /** How an offline node's proxied endpoints fail: PVE's 595 answer, or never answering. */
  offlineMode?: '595' | 'hang';
  /** Answer this node's proxied endpoints (`/nodes/{node}/…`) after this many ms. */
  delayMs?: number;
  maxcpu: number;
  maxmemMb: number;
  cpuMhz: number;
  ip: string;
  pveversion: string;
  cpuModel?: string;
  sockets?: number;
  /** Physical cores per socket; `maxcpu / sockets` when absent (`maxcpu` is logical CPUs). */
  coresPerSocket?: number;
  /** Seconds since boot (`/cluster/resources` and `/nodes/{node}/status`). */
  uptime?: number;
  /** `/nodes/{node}/network` as PVE answers it. */
  network?: Record<string, string | number>[];
  /** `/nodes/{node}/network` fails (500). */
  networkFails?: boolean;
};

/** A snapshot section of a guest config. */
export type FakeSnapshot = {
  name: string;
  description?: string;
  snaptime: number;
  parent?: string;
  /** QEMU: RAM saved. */
  vmstate?: boolean;
};

export type AgentInterface = {
  name: string;
  'hardware-address'?: string;
  'ip-addresses'?: { 'ip-address': string; 'ip-address-type': 'ipv4' | 'ipv6'; prefix: number }[];
};

export type AgentFilesystem = {
  name: string;
  mountpoint: string;
  type: string;
  'total-bytes': number;
  'used-bytes': number;
};

export type FakeGuest = {
  vmid: number;
  type: 'qemu' | 'lxc';
  node: string;
  status: 'running' | 'stopped';
  template?: boolean;
  pool?: string;
  /** `;`-separated, as `/cluster/resources` reports them. */
  tags?: string;
  cpu?: number;
  uptime?: number;
  /** The guest config as `GET …/config` returns it (minus `digest`, computed). */
  config: Record<string, string | number>;
  /** QEMU guest agent: answers only when `running` and the config enables it. */
  agent?: {
    running: boolean;
    interfaces?: AgentInterface[];
    filesystems?: AgentFilesystem[];
    /** `get-osinfo` result. */
    osinfo?: Record<string, string>;
    hostName?: string;
    version?: string;
  };
  /** Snapshot sections of the config; the config's `parent` names the current one. */
  snapshots?: FakeSnapshot[];
  /** The snapshot API answers 500 for this guest. */
  snapshotFails?: boolean;
  /** Bytes in use, as `/cluster/resources` reports `mem` while running (else 40 % of memory). */
  memUsedBytes?: number;
  /** LXC `…/interfaces` answer. */
  interfaces?: { name: string; hwaddr?: string; inet?: string; inet6?: string }[];
  /** LXC rootfs usage that `/cluster/resources` reports as `disk` while running. */
  diskUsedBytes?: number;
};

export type FakeTask = {
  upid: string;
  node: string;
  type: string;
  /** The vmid for guest tasks (for clones: the *source* vmid, as PVE does). */
  id: string;
  user: string;
  starttime: number;
  endtime?: number;
  status?: string;
};

export type FakeStorage = {
  storage: string;
  node: string;
  plugintype: string;
  shared: boolean;
  totalBytes: number;
  usedBytes: number;
  content: string;
  active?: boolean;
  /** Storage configuration as `/storage` lists it (path, server, export, pool, vgname…). */
  config?: Record<string, string | number>;
};

export type FakeCluster = {
  /** Null: a single node that never joined a cluster (no `type: cluster` entry). */
  clusterName: string | null;
  version: { version: string; release: string; repoid: string };
  nodes: FakeNode[];
  guests: FakeGuest[];
  tasks: FakeTask[];
  pools: { poolid: string; comment?: string }[];
  storages: FakeStorage[];
  tokens: FakeToken[];
  /** `/cluster/tasks` keeps only the latest tasks per node, like PVE's cluster task list. */
  clusterTaskLimitPerNode: number;
  /** `/cluster/ha/resources`. */
  ha?: { sid: string; state: string; group?: string }[];
  /** HA manager node states (`online`, `maintenance`) in `/cluster/ha/status/manager_status`. */
  haNodeStatus?: Record<string, string>;
  /** API paths (`/cluster/ha/resources`) that answer 500, to test partial failures. */
  failing?: string[];
  /** `/cluster/sdn/vnets`. */
  vnets?: { vnet: string; zone: string; tag?: number; alias?: string }[];
};

const fixtureDir = fileURLToPath(new URL('../../fixtures/proxmox/', import.meta.url));

/** Loads a fixture cluster (a fresh deep copy each call, so tests never share state). */
export function loadFixtureCluster(name = 'cluster.json'): FakeCluster {
  return JSON.parse(readFileSync(fixtureDir + name, 'utf8')) as FakeCluster;
}

/**
 * The config digest: SHA-1 over the config file's text, as PVE computes it — the whole
 * file, so snapshot sections count too.
 */
export function configDigest(
  config: Record<string, string | number>,
  snapshots: readonly FakeSnapshot[] = [],
): string {
  const textForm = Object.keys(config).sort().map((k) => `${k}: ${config[k]}`).join('\n') +
    snapshots.map((s) => `\n[${s.name}]\n${JSON.stringify(s)}`).join('');
  return createHash('sha1').update(textForm).digest('hex');
}

let pidCounter = 0x1000;

/** Appends a finished (or, without `endtime`, running) task in PVE's UPID format. */
export function addTask(
  model: FakeCluster,
  task: {
    node: string;
    type: string;
    id: string | number;
    starttime: number;
    endtime?: number | null;
    status?: string;
    user?: string;
  },
): FakeTask {
  const pid = (pidCounter++).toString(16).toUpperCase().padStart(8, '0');
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  const user = task.user ?? 'root@pam';
  const entry: FakeTask = {
    upid: `UPID:${task.node}:${pid}:${hex(task.starttime % 0xffffffff)}:${
      hex(task.starttime)
    }:${task.type}:${task.id}:${user}:`,
    node: task.node,
    type: task.type,
    id: String(task.id),
    user,
    starttime: task.starttime,
  };
  if (task.endtime !== null) {
    entry.endtime = task.endtime ?? task.starttime + 3;
    entry.status = task.status ?? 'OK';
  }
  model.tasks.push(entry);
  return entry;
}

/**
 * Creates a guest as `qm create` / `pct create` would: QEMU configs get
 * `meta: creation-qemu=…,ctime=<at>`, LXC configs get none; a qmcreate/vzcreate task is logged.
 */
export function createGuest(
  model: FakeCluster,
  guest: FakeGuest,
  at: number,
  options: { task?: boolean } = {},
): FakeGuest {
  if (model.guests.some((g) => g.vmid === guest.vmid)) throw new Error(`vmid ${guest.vmid} exists`);
  const copy: FakeGuest = JSON.parse(JSON.stringify(guest));
  if (copy.type === 'qemu') copy.config.meta = `creation-qemu=8.1.5,ctime=${at}`;
  model.guests.push(copy);
  if (options.task !== false) {
    addTask(model, {
      node: copy.node,
      type: copy.type === 'qemu' ? 'qmcreate' : 'vzcreate',
      id: copy.vmid,
      starttime: at,
      endtime: at + 2,
    });
  }
  return copy;
}

/** Destroys a guest and logs the qmdestroy/vzdestroy task. */
export function destroyGuest(model: FakeCluster, vmid: number, at: number): void {
  const guest = findGuest(model, vmid);
  model.guests = model.guests.filter((g) => g !== guest);
  addTask(model, {
    node: guest.node,
    type: guest.type === 'qemu' ? 'qmdestroy' : 'vzdestroy',
    id: vmid,
    starttime: at,
    endtime: at + 2,
  });
}

/**
 * Changes a guest's config (the digest follows). With `task`, logs it as the async
 * `POST …/config` does (task type qmconfig/vzconfig); a plain `PUT` logs nothing.
 */
export function updateGuestConfig(
  model: FakeCluster,
  vmid: number,
  patch: Record<string, string | number | null>,
  options: { at?: number; task?: boolean } = {},
): void {
  const guest = findGuest(model, vmid);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete guest.config[k];
    else guest.config[k] = v;
  }
  if (options.task) {
    const at = options.at ?? Math.floor(Date.now() / 1000);
    addTask(model, {
      node: guest.node,
      type: guest.type === 'qemu' ? 'qmconfig' : 'vzconfig',
      id: vmid,
      starttime: at,
      endtime: at + 1,
    });
  }
}

/** Sets a node's failure mode (offline, offline-and-hanging, slow). */
export function setNode(
  model: FakeCluster,
  name: string,
  patch: Partial<Pick<FakeNode, 'online' | 'offlineMode' | 'delayMs'>>,
): void {
  const node = model.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no node ${name}`);
  Object.assign(node, patch);
}

/** The guest with this vmid; throws when there is none. */
export function findGuest(model: FakeCluster, vmid: number): FakeGuest {
  const guest = model.guests.find((g) => g.vmid === vmid);
  if (!guest) throw new Error(`no guest ${vmid}`);
  return guest;
}

/**
 * Takes a snapshot as `qm snapshot` / `pct snapshot` does: a new section whose parent is
 * the config's current `parent`, which then names the new snapshot; a task is logged.
 */
export function takeSnapshot(
  model: FakeCluster,
  vmid: number,
  snap: { name: string; at: number; description?: string; vmstate?: boolean },
): void {
  const guest = findGuest(model, vmid);
  const parent = typeof guest.config.parent === 'string' ? guest.config.parent : undefined;
  guest.snapshots = [...(guest.snapshots ?? []), {
    name: snap.name,
    snaptime: snap.at,
    ...(snap.description ? { description: snap.description } : {}),
    ...(parent ? { parent } : {}),
    ...(snap.vmstate ? { vmstate: true } : {}),
  }];
  guest.config.parent = snap.name;
  addTask(model, {
    node: guest.node,
    type: guest.type === 'qemu' ? 'qmsnapshot' : 'vzsnapshot',
    id: vmid,
    starttime: snap.at,
    endtime: snap.at + 2,
  });
}

/** Deletes a snapshot as `qm delsnapshot` does: its children take its parent. */
export function deleteSnapshot(model: FakeCluster, vmid: number, name: string, at: number): void {
  const guest = findGuest(model, vmid);
  const gone = (guest.snapshots ?? []).find((s) => s.name === name);
  if (!gone) throw new Error(`no snapshot ${name} on ${vmid}`);
  guest.snapshots = (guest.snapshots ?? []).filter((s) => s !== gone).map((s) =>
    s.parent === name ? { ...s, parent: gone.parent } : s
  );
  if (guest.config.parent === name) {
    if (gone.parent) guest.config.parent = gone.parent;
    else delete guest.config.parent;
  }
  addTask(model, {
    node: guest.node,
    type: guest.type === 'qemu' ? 'qmdelsnapshot' : 'vzdelsnapshot',
    id: vmid,
    starttime: at,
    endtime: at + 1,
  });
}
