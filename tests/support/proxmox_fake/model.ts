/**
 * The in-memory cluster behind the Proxmox fake. Tests load the fixture, start the server,
 * then mutate this model between captures (create/destroy guests, take nodes offline,
 * slow them down) exactly as an admin would change a real cluster. The helpers also write
 * the task-log entries Proxmox writes for those actions (qmcreate, vzdestroy, …).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type TokenPrivileges = 'auditor' | 'nodes-only' | 'pool-auditor' | 'none';

export type FakeToken = {
  /** USER@REALM!TOKENID */
  id: string;
  secret: string;
  /**
   * `auditor`: PVEAuditor on `/`. `nodes-only`: Sys.Audit on `/` but no VM.Audit.
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
  agent?: { running: boolean; interfaces?: AgentInterface[]; filesystems?: AgentFilesystem[] };
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
};

const fixtureDir = fileURLToPath(new URL('../../fixtures/proxmox/', import.meta.url));

/** Loads a fixture cluster (a fresh deep copy each call, so tests never share state). */
export function loadFixtureCluster(name = 'cluster.json'): FakeCluster {
  return JSON.parse(readFileSync(fixtureDir + name, 'utf8')) as FakeCluster;
}

/** The config digest: SHA-1 over the config text, as PVE computes it over the file. */
export function configDigest(config: Record<string, string | number>): string {
  const textForm = Object.keys(config).sort().map((k) => `${k}: ${config[k]}`).join('\n');
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
