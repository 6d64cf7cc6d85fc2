/**
 * Guest and node facts that are worth having but not worth a request every capture:
 * guest IPs, OS, host name, filesystems and agent version (QEMU guest agent), LXC
 * interfaces, and node CPU, PVE version, kernel and interfaces. Each is refreshed on its own period — a guest's also right after a reboot
 * (uptime went down) — and kept across captures in between.
 *
 * These are optional: a missing or hung guest agent (PVE answers 500, or nothing) never
 * fails a node or makes a capture incomplete. After one agent timeout on a node, that
 * node's other agents are not asked this capture (their last facts are kept), so one
 * hung agent costs one timeout.
 */
import type { Logger } from '../../../shared/log.ts';
import { CollectorError } from '../collector.ts';
import type { ProxmoxApi } from './api.ts';
import type { GuestResource, NodeNetworkEntry, NodeStatus } from './api_shapes.ts';
import {
  guestDisksFromFsinfo,
  type GuestFs,
  hostNameFromAgent,
  ipsByMac,
  ipsFromAgent,
  ipsFromLxc,
  osFromAgent,
  usedBytesFromFsinfo,
  versionFromAgent,
} from './guest_agent.ts';
import { isNodeFailure, type NodeGate } from './node_health.ts';

export type GuestFacts = {
  ips: string[];
  usedBytes: number | null;
  fetchedAtMs: number;
  uptime: number;
  /** QEMU: whether the guest agent answered at the last ask; null: LXC, or not allowed to ask. */
  agent: 'ok' | 'notRunning' | null;
  /** lower-case MAC → the IPs the guest reports on that NIC. */
  ipsByMac: Map<string, string[]>;
  /** QEMU agent `get-osinfo`, `get-host-name`, `info`, `get-fsinfo`. */
  os: string | null;
  hostName: string | null;
  agentVersion: string | null;
  disks: GuestFs[];
};
export type NodeFacts = {
  mhz: number | null;
  version: string | null;
  fetchedAtMs: number;
  cpuModel: string | null;
  sockets: number | null;
  /** Physical cores (sockets × cores per socket). */
  cores: number | null;
  threads: number | null;
  /** The running kernel release (`6.8.8-2-pve`). */
  kernel: string | null;
  /** The node's interfaces (null when `/nodes/{node}/network` could not be read). */
  network: NodeNetworkEntry[] | null;
};

/** What one capture hands in. */
export type FactsContext = { api: ProxmoxApi; gate: NodeGate; signal: AbortSignal; nowMs: number };

export type FactsCache = {
  /** IPs and used disk for a guest: cached, refreshed when stale; null when there are none. */
  guest(
    ctx: FactsContext,
    key: string,
    r: GuestResource,
    agentEnabled: boolean,
    slowNodes: Set<string>,
  ): Promise<GuestFacts | null>;
  /** Refreshes a node's details when stale; failures are only logged. */
  refreshNode(ctx: FactsContext, node: string): Promise<void>;
  node(node: string): NodeFacts | undefined;
  /** Drops guests no longer present. */
  retain(liveKeys: ReadonlySet<string>): void;
};

const mustPropagate = (err: unknown, signal: AbortSignal) =>
  signal.aborted || (err instanceof CollectorError && err.code === 'auth');

/** Creates the cache; periods in ms. */
export function createFactsCache(
  options: { guestMaxAgeMs: number; nodeMaxAgeMs: number; log: Logger; source: string },
): FactsCache {
  const guests = new Map<string, GuestFacts>();
  const nodes = new Map<string, NodeFacts>();

  return {
    async guest(ctx, key, r, agentEnabled, slowNodes) {
      const cached = guests.get(key);
      // A stopped guest has no addresses; its disks still hold what they held.
      if (r.status !== 'running') {
        return cached
          ? { ...cached, ips: [], ipsByMac: new Map(), hostName: null, disks: [], agent: null }
          : null;
      }
      if (r.type === 'qemu' && !agentEnabled) return null;
      const fresh = cached && ctx.nowMs - cached.fetchedAtMs < options.guestMaxAgeMs &&
        (r.uptime ?? 0) >= cached.uptime;
      if (fresh || ctx.gate.failed(r.node) || slowNodes.has(r.node)) return cached ?? null;

      const base = `/nodes/${encodeURIComponent(r.node)}/${r.type}/${r.vmid}`;
      let forbidden = false;
      const ask = async (path: string): Promise<unknown> => {
        try {
          return await ctx.api.get<unknown>(path, { signal: ctx.signal });
        } catch (err) {
          if (mustPropagate(err, ctx.signal)) throw err;
          if (isNodeFailure(err)) slowNodes.add(r.node);
          // 403: the token lacks VM.Monitor; whether the agent runs is then unknown.
          if (err instanceof CollectorError && err.code === 'permission') forbidden = true;
          return null; // agent not running / not installed: PVE answers 500
        }
      };
      let facts: GuestFacts;
      if (r.type === 'qemu') {
        const net = await ask(`${base}/agent/network-get-interfaces`);
        // No agent answering the first call: do not spend more requests on it. The rest
        // one after the other: each is a guest-agent round trip through the node.
        const more = async (cmd: string) => net === null ? null : await ask(`${base}/agent/${cmd}`);
        const fs = await more('get-fsinfo');
        const os = await more('get-osinfo');
        const host = await more('get-host-name');
        const info = await more('info');
        facts = {
          ips: net === null ? [] : ipsFromAgent(net),
          usedBytes: fs === null ? null : usedBytesFromFsinfo(fs),
          fetchedAtMs: ctx.nowMs,
          uptime: r.uptime ?? 0,
          agent: forbidden ? null : net === null ? 'notRunning' : 'ok',
          ipsByMac: net === null ? new Map() : ipsByMac(net, 'agent'),
          os: os === null ? (cached?.os ?? null) : osFromAgent(os),
          hostName: host === null ? null : hostNameFromAgent(host),
          agentVersion: info === null ? (cached?.agentVersion ?? null) : versionFromAgent(info),
          disks: fs === null ? [] : guestDisksFromFsinfo(fs),
        };
      } else {
        const nics = await ask(`${base}/interfaces`);
        facts = {
          ips: nics === null ? [] : ipsFromLxc(nics),
          usedBytes: null,
          fetchedAtMs: ctx.nowMs,
          uptime: r.uptime ?? 0,
          agent: null,
          ipsByMac: nics === null ? new Map() : ipsByMac(nics, 'lxc'),
          os: null,
          hostName: null,
          agentVersion: null,
          disks: [],
        };
      }
      if (slowNodes.has(r.node) && cached) return cached; // timed out: keep what we knew
      guests.set(key, facts);
      return facts;
    },

    async refreshNode(ctx, node) {
      const cached = nodes.get(node);
      if (
        (cached && ctx.nowMs - cached.fetchedAtMs < options.nodeMaxAgeMs) || ctx.gate.failed(node)
      ) return;
      const base = `/nodes/${encodeURIComponent(node)}`;
      try {
        const s = await ctx.api.get<NodeStatus>(`${base}/status`, { signal: ctx.signal });
        // The interfaces are optional (Sys.Audit on the node): a failure leaves them unknown.
        const network = await ctx.api.get<NodeNetworkEntry[]>(`${base}/network`, {
          signal: ctx.signal,
        }).catch((err) => {
          if (mustPropagate(err, ctx.signal)) throw err;
          return null;
        });
        const cpu = s.cpuinfo ?? {};
        const mhz = Number(cpu.mhz);
        const count = (n: unknown) => (typeof n === 'number' && n > 0 ? Math.round(n) : null);
        const sockets = count(cpu.sockets);
        const perSocket = count(cpu.cores);
        nodes.set(node, {
          mhz: Number.isFinite(mhz) && mhz > 0 ? Math.round(mhz) : null,
          version: s.pveversion ?? null,
          fetchedAtMs: ctx.nowMs,
          cpuModel: typeof cpu.model === 'string' && cpu.model ? cpu.model : null,
          sockets,
          cores: sockets != null && perSocket != null ? sockets * perSocket : null,
          threads: count(cpu.cpus),
          kernel: s['current-kernel']?.release ?? /^Linux (\S+)/.exec(s.kversion ?? '')?.[1] ??
            null,
          network: Array.isArray(network) ? network : null,
        });
      } catch (err) {
        if (mustPropagate(err, ctx.signal)) throw err;
        options.log.debug('node details unavailable', {
          source: options.source,
          node,
          error: (err as Error).message,
        });
      }
    },

    node: (node) => nodes.get(node),

    retain(liveKeys) {
      for (const key of guests.keys()) if (!liveKeys.has(key)) guests.delete(key);
    },
  };
}
