/**
 * A Proxmox VE API fake: node:http on 127.0.0.1, port 0, answering the documented
 * `/api2/json` shapes (`{"data": …}`) from a mutable in-memory model (model.ts).
 *
 * What it imitates on purpose, because collectors get these wrong:
 * - API-token auth (`PVEAPIToken=USER@REALM!TOKENID=SECRET`); a bad token is a 401.
 * - A privilege-separated token without PVEAuditor gets *empty lists* (200), not 403;
 *   only endpoints with a hard permission check (`/cluster/status`, guest config) say 403.
 *   Lists are filtered per object by the token's ACLs: a token with PVEAuditor on one pool
 *   sees that pool's guests only. `/access/permissions` answers the token's effective
 *   privileges (path → privilege → propagate).
 * - `/cluster/resources` reports `disk = 0` for QEMU and `maxdisk` = boot disk only;
 *   `template` 0/1, `tags` `;`-separated, `cpu` a fraction.
 * - An offline node: its guests show `status: "unknown"` (name/tags only, from the
 *   cluster filesystem) and its proxied endpoints answer 595 or never.
 * - A slow node: its proxied endpoints (`/nodes/{node}/…`) answer after `delayMs`;
 *   cluster-wide endpoints are served locally and stay fast, as in PVE.
 * - `/cluster/tasks` takes no parameters and holds only recent tasks per node;
 *   `/nodes/{node}/tasks` filters by `since`, `until`, `typefilter`, `vmid`, `start`, `limit`.
 * - Guest agent endpoints answer 500 "QEMU guest agent is not running" unless it is.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  configDigest,
  type FakeCluster,
  type FakeGuest,
  type FakeNode,
  type FakeToken,
} from './model.ts';

export type RecordedRequest = { method: string; path: string; query: string; status: number };

export type ProxmoxFake = {
  /** Base URL, e.g. `http://127.0.0.1:41234` (clients append `/api2/json/…`). */
  url: string;
  model: FakeCluster;
  /** Every request answered (or dropped) since start or the last `resetRequests()`. */
  requests: RecordedRequest[];
  resetRequests(): void;
  close(): Promise<void>;
};

class HttpError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const MiB = 1024 * 1024;
const SIZE_UNIT: Record<string, number> = {
  '': 1,
  K: 1024,
  M: MiB,
  G: 1024 * MiB,
  T: 1024 * 1024 * MiB,
};

function sizeOf(propertyString: string): number {
  const m = /(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)/.exec(propertyString);
  return m ? Math.round(Number(m[1]) * SIZE_UNIT[m[2]]) : 0;
}

/** PVE's `maxdisk` for QEMU: the boot disk only (first in `boot: order=`, else the first disk). */
function bootDiskBytes(guest: FakeGuest): number {
  const c = guest.config;
  if (guest.type === 'lxc') return typeof c.rootfs === 'string' ? sizeOf(c.rootfs) : 0;
  const order = typeof c.boot === 'string'
    ? /order=([^,]+)/.exec(c.boot)?.[1]?.split(';') ?? []
    : [];
  const candidates = [...order, 'scsi0', 'virtio0', 'sata0', 'ide0'];
  for (const key of candidates) {
    const v = c[key];
    if (typeof v === 'string' && !v.includes('media=cdrom')) return sizeOf(v);
  }
  return 0;
}

function vcpusOf(guest: FakeGuest, node: FakeNode | undefined): number {
  const c = guest.config;
  if (guest.type === 'qemu') return Number(c.cores ?? 1) * Number(c.sockets ?? 1);
  return c.cores != null ? Number(c.cores) : node?.maxcpu ?? 1;
}

function memMbOf(guest: FakeGuest): number {
  const m = guest.config.memory;
  if (m == null) return 512;
  const s = String(m);
  return Number(/(\d+)/.exec(s)?.[1] ?? 512);
}

function guestResource(model: FakeCluster, g: FakeGuest): Record<string, unknown> {
  const node = model.nodes.find((n) => n.name === g.node);
  const base: Record<string, unknown> = {
    id: `${g.type}/${g.vmid}`,
    type: g.type,
    vmid: g.vmid,
    node: g.node,
    name: g.type === 'qemu' ? g.config.name : g.config.hostname,
    template: g.template ? 1 : 0,
  };
  if (g.tags) base.tags = g.tags;
  if (g.pool) base.pool = g.pool;
  if (!node?.online) return { ...base, status: 'unknown' };
  const running = g.status === 'running';
  return {
    ...base,
    status: g.status,
    maxcpu: vcpusOf(g, node),
    maxmem: memMbOf(g) * MiB,
    maxdisk: bootDiskBytes(g),
    // The trap: QEMU never reports disk usage here; LXC reports rootfs usage while running.
    disk: g.type === 'lxc' && running ? g.diskUsedBytes ?? 0 : 0,
    cpu: running ? g.cpu ?? 0 : 0,
    mem: running ? g.memUsedBytes ?? Math.round(memMbOf(g) * MiB * 0.4) : 0,
    uptime: running ? g.uptime ?? 100 : 0,
    netin: running ? 123456 : 0,
    netout: running ? 654321 : 0,
    diskread: 0,
    diskwrite: 0,
  };
}

function nodeResource(n: FakeNode, withStats: boolean): Record<string, unknown> {
  const base = {
    id: `node/${n.name}`,
    type: 'node',
    node: n.name,
    status: n.online ? 'online' : 'offline',
    level: '',
  };
  if (!withStats || !n.online) return base;
  return {
    ...base,
    maxcpu: n.maxcpu,
    maxmem: n.maxmemMb * MiB,
    mem: Math.round(n.maxmemMb * MiB * 0.35),
    cpu: 0.12,
    uptime: n.uptime ?? 1234567,
    disk: 8 * 1024 * MiB,
    maxdisk: 100 * 1024 * MiB,
  };
}

function storageResource(s: FakeCluster['storages'][number]): Record<string, unknown> {
  return {
    id: `storage/${s.node}/${s.storage}`,
    type: 'storage',
    storage: s.storage,
    node: s.node,
    plugintype: s.plugintype,
    shared: s.shared ? 1 : 0,
    content: s.content,
    status: s.active === false ? 'unknown' : 'available',
    disk: s.usedBytes,
    maxdisk: s.totalBytes,
  };
}

function taskEntry(t: FakeCluster['tasks'][number]): Record<string, unknown> {
  const e: Record<string, unknown> = {
    upid: t.upid,
    node: t.node,
    pid: parseInt(t.upid.split(':')[2], 16),
    pstart: parseInt(t.upid.split(':')[3], 16),
    starttime: t.starttime,
    type: t.type,
    id: t.id,
    user: t.user,
  };
  if (t.endtime != null) {
    e.endtime = t.endtime;
    e.status = t.status;
  }
  return e;
}

function authenticate(model: FakeCluster, header: string | undefined): FakeToken {
  const m = /^PVEAPIToken[= ]([^=\s]+)=(\S+)$/.exec(header ?? '');
  const token = m ? model.tokens.find((t) => t.id === m[1] && t.secret === m[2]) : undefined;
  if (!token) throw new HttpError(401, 'authentication failure');
  return token;
}

/** The privileges of PVE's built-in PVEAuditor role. */
const PVE_AUDITOR = [
  'Datastore.Audit',
  'Mapping.Audit',
  'Pool.Audit',
  'SDN.Audit',
  'Sys.Audit',
  'VM.Audit',
];

type Acl = { path: string; privs: string[]; propagate: boolean };

/** The ACL entries given to the token itself (privilege separation: the user's do not count). */
function tokenAcls(token: FakeToken): Acl[] {
  switch (token.privileges) {
    case 'auditor':
      return [{ path: '/', privs: PVE_AUDITOR, propagate: true }];
    case 'auditor-agent':
      return [
        { path: '/', privs: PVE_AUDITOR, propagate: true },
        { path: '/', privs: ['VM.Monitor'], propagate: true },
      ];
    case 'nodes-only':
      return [{ path: '/', privs: ['Sys.Audit'], propagate: true }];
    case 'pool-auditor':
      return [
        { path: '/', privs: ['Sys.Audit'], propagate: true },
        { path: `/pool/${token.pool ?? 'prod'}`, privs: PVE_AUDITOR, propagate: true },
      ];
    case 'none':
      return [];
  }
}

/**
 * Effective privileges on `path`, privilege → propagate (1/0), as PVE computes them: an ACL
 * applies to its own path, and to paths below it when it propagates; an ACL on
 * `/pool/{pool}` also applies to the pool's guests (`/vms/{vmid}`).
 */
function privilegesAt(model: FakeCluster, token: FakeToken, path: string): Record<string, number> {
  const out: Record<string, number> = {};
  const acls = tokenAcls(token);
  const vmid = /^\/vms\/(\d+)$/.exec(path)?.[1];
  // Only a pool ACL needs the guest's pool (a lookup that would make big fakes quadratic).
  const pool = vmid && acls.some((a) => a.path.startsWith('/pool/'))
    ? model.guests.find((g) => g.vmid === Number(vmid))?.pool
    : undefined;
  for (const acl of acls) {
    const applies = acl.path === path ||
      (acl.propagate && (acl.path === '/' || path.startsWith(acl.path + '/'))) ||
      (pool !== undefined && acl.path === `/pool/${pool}`);
    if (!applies) continue;
    for (const p of acl.privs) out[p] = Math.max(out[p] ?? 0, acl.propagate ? 1 : 0);
  }
  return out;
}

const can = (model: FakeCluster, token: FakeToken, path: string, priv: string) =>
  priv in privilegesAt(model, token, path);

/**
 * `GET /access/permissions` for the caller: PVE's documented shape, a map of path → (map of
 * privilege → propagate 0/1), over the top-level paths, every ACL path and every pool
 * member, leaving out paths without any privilege.
 */
function effectivePermissions(
  model: FakeCluster,
  token: FakeToken,
): Record<string, Record<string, number>> {
  const paths = new Set(
    ['/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms'],
  );
  for (const acl of tokenAcls(token)) paths.add(acl.path);
  for (const g of model.guests) if (g.pool) paths.add(`/vms/${g.vmid}`);
  const out: Record<string, Record<string, number>> = {};
  for (const path of paths) {
    const privs = privilegesAt(model, token, path);
    if (Object.keys(privs).length) out[path] = privs;
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Answers one GET; returns `data`, or throws HttpError. `hang` is set for requests never answered. */
async function route(
  model: FakeCluster,
  token: FakeToken,
  path: string,
  q: URLSearchParams,
): Promise<unknown> {
  const sysAudit = can(model, token, '/', 'Sys.Audit');
  const seesGuest = (g: FakeGuest) => can(model, token, `/vms/${g.vmid}`, 'VM.Audit');
  const seesStorage = (id: string) => can(model, token, `/storage/${id}`, 'Datastore.Audit');
  const seesPool = (id: string) => can(model, token, `/pool/${id}`, 'Pool.Audit');
  const parts = path.split('/').filter(Boolean);

  if (model.failing?.includes(path)) throw new HttpError(500, `${path}: internal error`);
  if (path === '/version') return { ...model.version };
  if (path === '/access/permissions') return effectivePermissions(model, token);
  if (path === '/cluster/status') {
    if (!sysAudit) throw new HttpError(403, 'Permission check failed (/, Sys.Audit)');
    const nodes = model.nodes.map((n, i) => ({
      id: `node/${n.name}`,
      type: 'node',
      name: n.name,
      nodeid: i + 1,
      ip: n.ip,
      online: n.online ? 1 : 0,
      local: i === 0 ? 1 : 0,
      level: '',
    }));
    if (!model.clusterName) return nodes.map((n) => ({ ...n, nodeid: 0 }));
    const online = model.nodes.filter((n) => n.online).length;
    return [
      {
        id: 'cluster',
        type: 'cluster',
        name: model.clusterName,
        nodes: model.nodes.length,
        quorate: online * 2 > model.nodes.length ? 1 : 0,
        version: 7,
      },
      ...nodes,
    ];
  }
  if (path === '/cluster/resources') {
    const type = q.get('type');
    const out: unknown[] = [];
    // Nodes are always listed; their statistics only with Sys.Audit (as PVE does).
    if (!type || type === 'node') {
      for (const n of model.nodes) out.push(nodeResource(n, sysAudit));
    }
    // Guests, storages and pools only where the token has the audit privilege on them.
    if (!type || type === 'vm') {
      for (const g of model.guests) if (seesGuest(g)) out.push(guestResource(model, g));
    }
    if (!type || type === 'storage') {
      for (const s of model.storages.filter((s) => seesStorage(s.storage))) {
        const node = model.nodes.find((n) => n.name === s.node);
        out.push(
          node?.online ? storageResource(s) : {
            id: `storage/${s.node}/${s.storage}`,
            type: 'storage',
            storage: s.storage,
            node: s.node,
            status: 'unknown',
            shared: s.shared ? 1 : 0,
          },
        );
      }
    }
    if (!type || type === 'pool') {
      for (const p of model.pools.filter((p) => seesPool(p.poolid))) {
        out.push({ id: `/pool/${p.poolid}`, type: 'pool', pool: p.poolid });
      }
    }
    if (type && !['vm', 'node', 'storage', 'pool', 'sdn'].includes(type)) {
      throw new HttpError(
        400,
        `Parameter verification failed. type: value '${type}' does not have a value in the enumeration 'vm, storage, node, sdn, pool'`,
      );
    }
    return out;
  }
  if (path === '/cluster/tasks') {
    if (!sysAudit) return [];
    const out: FakeCluster['tasks'] = [];
    for (const n of model.nodes) {
      const mine = model.tasks.filter((t) => t.node === n.name).sort((a, b) =>
        b.starttime - a.starttime
      );
      out.push(...mine.slice(0, model.clusterTaskLimitPerNode));
    }
    return out.sort((a, b) => b.starttime - a.starttime).map(taskEntry);
  }
  if (path === '/cluster/ha/resources') {
    if (!sysAudit) throw new HttpError(403, 'Permission check failed (/, Sys.Audit)');
    return (model.ha ?? []).map((h) => ({
      sid: h.sid,
      type: h.sid.split(':')[0],
      state: h.state,
      ...(h.group ? { group: h.group } : {}),
      max_restart: 1,
      max_relocate: 1,
      digest: 'd1g35t',
    }));
  }
  if (path === '/cluster/ha/status/manager_status') {
    if (!sysAudit) throw new HttpError(403, 'Permission check failed (/, Sys.Audit)');
    const nodes = model.haNodeStatus ??
      Object.fromEntries(model.nodes.map((n) => [n.name, n.online ? 'online' : 'unknown']));
    return {
      manager_status: { master_node: model.nodes[0].name, node_status: nodes, timestamp: 1 },
      quorum: { node: model.nodes[0].name, quorate: '1' },
    };
  }
  if (path === '/cluster/sdn/vnets') {
    return (model.vnets ?? []).filter((v) => can(model, token, `/sdn/zones/${v.zone}`, 'SDN.Audit'))
      .map((v) => ({ ...v, type: 'vnet', digest: 'd1g35t' }));
  }
  if (path === '/storage') {
    const seen = new Map<string, Record<string, unknown>>();
    for (const st of model.storages) {
      if (seen.has(st.storage) || !seesStorage(st.storage)) continue;
      seen.set(st.storage, {
        storage: st.storage,
        type: st.plugintype,
        content: st.content,
        ...(st.shared ? { shared: 1 } : {}),
        ...st.config,
        digest: 'd1g35t',
      });
    }
    return [...seen.values()];
  }
  if (path === '/pools') {
    return model.pools.filter((p) => seesPool(p.poolid)).map((p) => ({
      poolid: p.poolid,
      comment: p.comment ?? '',
    }));
  }
  if (parts[0] === 'pools' && parts.length === 2) {
    const pool = model.pools.find((p) => p.poolid === parts[1]);
    if (!pool || !seesPool(pool.poolid)) {
      throw new HttpError(403, `Permission check failed (/pool/${parts[1]}, Pool.Audit)`);
    }
    return {
      comment: pool.comment ?? '',
      members: model.guests.filter((g) => g.pool === pool.poolid && seesGuest(g)).map((g) =>
        guestResource(model, g)
      ),
    };
  }
  if (path === '/nodes') {
    return model.nodes.map((n) => {
      const r = nodeResource(n, sysAudit);
      delete r.type;
      return r;
    });
  }
  if (parts[0] === 'nodes' && parts.length >= 3) return await nodeRoute(model, token, parts, q);
  throw new HttpError(501, `Method 'GET ${path}' not implemented`);
}

/** `/nodes/{node}/…`: proxied to the node in PVE, so the node's failure modes apply. */
async function nodeRoute(
  model: FakeCluster,
  token: FakeToken,
  parts: string[],
  q: URLSearchParams,
): Promise<unknown> {
  const node = model.nodes.find((n) => n.name === parts[1]);
  if (!node) {
    throw new HttpError(
      500,
      `hostname lookup '${parts[1]}' failed - failed to get address info for: ${
        parts[1]
      }: Name or service not known`,
    );
  }
  if (!node.online) {
    if (node.offlineMode === 'hang') await new Promise(() => {}); // the caller's timeout ends it
    throw new HttpError(
      595,
      `Errors during connection establishment, proxy handler: ${node.ip}:8006: No route to host`,
    );
  }
  if (node.delayMs) await sleep(node.delayMs);
  const nodeAudit = can(model, token, `/nodes/${node.name}`, 'Sys.Audit');
  const rest = parts.slice(2);

  if (rest[0] === 'status' && rest.length === 1) {
    if (!nodeAudit) {
      throw new HttpError(403, `Permission check failed (/nodes/${node.name}, Sys.Audit)`);
    }
    const sockets = node.sockets ?? 2;
    return {
      cpuinfo: {
        cpus: node.maxcpu,
        cores: node.coresPerSocket ?? node.maxcpu / sockets,
        sockets,
        mhz: node.cpuMhz.toFixed(3),
        model: node.cpuModel ?? 'Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz',
        hvm: '1',
        user_hz: 100,
      },
      'current-kernel': {
        machine: 'x86_64',
        release: '6.8.8-2-pve',
        sysname: 'Linux',
        version: '#1 SMP PREEMPT_DYNAMIC PMX 6.8.8-2 (2024-06-24T09:00Z)',
      },
      memory: {
        total: node.maxmemMb * MiB,
        used: Math.round(node.maxmemMb * MiB * 0.35),
        free: Math.round(node.maxmemMb * MiB * 0.65),
      },
      pveversion: node.pveversion,
      kversion: 'Linux 6.8.8-2-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.8-2',
      uptime: node.uptime ?? 1234567,
    };
  }
  if (rest[0] === 'network' && rest.length === 1) {
    if (!nodeAudit) {
      throw new HttpError(403, `Permission check failed (/nodes/${node.name}, Sys.Audit)`);
    }
    if (node.networkFails) throw new HttpError(500, 'unable to read /etc/network/interfaces');
    return node.network ?? [];
  }
  if (rest[0] === 'storage' && rest.length === 1) {
    return model.storages.filter((s) =>
      s.node === node.name && can(model, token, `/storage/${s.storage}`, 'Datastore.Audit')
    ).map((s) => ({
      storage: s.storage,
      type: s.plugintype,
      shared: s.shared ? 1 : 0,
      content: s.content,
      active: 1,
      enabled: 1,
      total: s.totalBytes,
      used: s.usedBytes,
      avail: s.totalBytes - s.usedBytes,
      used_fraction: s.usedBytes / s.totalBytes,
    }));
  }
  if (rest[0] === 'tasks' && rest.length === 1) {
    if (!nodeAudit) return [];
    const since = q.has('since') ? Number(q.get('since')) : null;
    const until = q.has('until') ? Number(q.get('until')) : null;
    const typefilter = q.get('typefilter');
    const vmid = q.get('vmid');
    const start = Number(q.get('start') ?? 0);
    const limit = Number(q.get('limit') ?? 50);
    const list = model.tasks
      .filter((t) => t.node === node.name && t.endtime != null)
      .filter((t) => since == null || t.starttime >= since)
      .filter((t) => until == null || t.starttime <= until)
      .filter((t) => !typefilter || t.type === typefilter)
      .filter((t) => !vmid || t.id === vmid)
      .sort((a, b) => b.starttime - a.starttime);
    return list.slice(start, start + limit).map(taskEntry);
  }
  if ((rest[0] === 'qemu' || rest[0] === 'lxc') && rest.length === 1) {
    return model.guests.filter((g) =>
      g.node === node.name && g.type === rest[0] && can(model, token, `/vms/${g.vmid}`, 'VM.Audit')
    ).map((g) => {
      const r = guestResource(model, g);
      delete r.id;
      delete r.type;
      return r;
    });
  }
  if ((rest[0] === 'qemu' || rest[0] === 'lxc') && rest.length >= 3) {
    const vmid = Number(rest[1]);
    if (!can(model, token, `/vms/${vmid}`, 'VM.Audit')) {
      throw new HttpError(403, `Permission check failed (/vms/${vmid}, VM.Audit)`);
    }
    const guest = model.guests.find((g) =>
      g.vmid === vmid && g.type === rest[0] && g.node === node.name
    );
    const confDir = rest[0] === 'qemu' ? 'qemu-server' : 'lxc';
    if (!guest) {
      throw new HttpError(
        500,
        `Configuration file 'nodes/${node.name}/${confDir}/${vmid}.conf' does not exist`,
      );
    }
    const sub = rest.slice(2).join('/');
    if (sub === 'config') {
      return { ...guest.config, digest: configDigest(guest.config, guest.snapshots) };
    }
    if (sub === 'snapshot') {
      if (guest.snapshotFails) throw new HttpError(500, `unable to read snapshots of ${vmid}`);
      const snaps = (guest.snapshots ?? []).map((sn) => ({
        name: sn.name,
        ...(sn.description != null ? { description: sn.description } : {}),
        snaptime: sn.snaptime,
        ...(sn.parent ? { parent: sn.parent } : {}),
        ...(rest[0] === 'qemu' && sn.vmstate ? { vmstate: 1 } : {}),
      }));
      const current: Record<string, unknown> = {
        name: 'current',
        description: 'You are here!',
        digest: configDigest(guest.config, guest.snapshots),
      };
      if (typeof guest.config.parent === 'string') current.parent = guest.config.parent;
      if (rest[0] === 'qemu') current.running = guest.status === 'running' ? 1 : 0;
      return [...snaps, current];
    }
    const AGENT_READS = [
      'agent/network-get-interfaces',
      'agent/get-fsinfo',
      'agent/get-osinfo',
      'agent/get-host-name',
      'agent/info',
    ];
    if (rest[0] === 'qemu' && AGENT_READS.includes(sub)) {
      // PVE 8: the guest-agent reads need VM.Monitor, which PVEAuditor does not have.
      if (!can(model, token, `/vms/${vmid}`, 'VM.Monitor')) {
        throw new HttpError(403, `Permission check failed (/vms/${vmid}, VM.Monitor)`);
      }
      if (guest.status !== 'running') throw new HttpError(500, `VM ${vmid} is not running`);
      const enabled = /^(1|enabled=1)/.test(String(guest.config.agent ?? '0'));
      if (!enabled) throw new HttpError(500, 'No QEMU guest agent configured');
      if (!guest.agent?.running) throw new HttpError(500, 'QEMU guest agent is not running');
      const a = guest.agent;
      switch (sub) {
        case 'agent/get-fsinfo':
          return { result: a.filesystems ?? [] };
        case 'agent/get-osinfo':
          return { result: a.osinfo ?? {} };
        case 'agent/get-host-name':
          return { result: { 'host-name': a.hostName ?? String(guest.config.name ?? '') } };
        case 'agent/info':
          return {
            result: {
              version: a.version ?? '7.2.0',
              supported_commands: [{ name: 'guest-ping', enabled: true, 'success-response': true }],
            },
          };
        default:
          return { result: a.interfaces ?? [] };
      }
    }
    if (rest[0] === 'lxc' && sub === 'interfaces') {
      if (guest.status !== 'running') throw new HttpError(500, `CT ${vmid} not running`);
      return guest.interfaces ?? [];
    }
  }
  throw new HttpError(501, `Method 'GET /nodes/${parts.slice(1).join('/')}' not implemented`);
}

/** Starts the fake on 127.0.0.1 with an OS-chosen port. */
export async function startProxmoxFake(model: FakeCluster): Promise<ProxmoxFake> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://fake');
    const apiPath = u.pathname.replace(/^\/api2\/json/, '').replace(/\/+$/, '') || '/';
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: apiPath,
      query: u.search,
      status: 0,
    };
    requests.push(record);
    const send = (status: number, body: unknown, reason?: string) => {
      record.status = status;
      if (res.destroyed) return;
      const text = JSON.stringify(body);
      res.writeHead(status, reason ?? http.STATUS_CODES[status] ?? 'error', {
        'content-type': 'application/json;charset=UTF-8',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    (async () => {
      try {
        if (!u.pathname.startsWith('/api2/json')) throw new HttpError(501, 'Not Implemented');
        if (req.method !== 'GET') {
          throw new HttpError(501, `Method '${req.method} ${apiPath}' not implemented`);
        }
        const token = authenticate(model, req.headers.authorization);
        send(200, { data: await route(model, token, apiPath, u.searchParams) });
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        const message = (err as Error).message;
        // PVE answers errors with `data: null`, the reason in the status line and `message`.
        send(
          status,
          { data: null, message: `${message}\n` },
          message.replace(/[^\x20-\x7e]/g, ' ').slice(0, 200),
        );
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    model,
    requests,
    resetRequests() {
      requests.length = 0;
    },
    close() {
      // Slow and hanging handlers would keep close() waiting: drop their sockets.
      server.closeAllConnections?.();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
