/**
 * Guest and node facts that are worth having but not worth a request every capture:
 * guest IPs and used disk (QEMU guest agent, LXC interfaces) and node CPU MHz / PVE
 * version. Each is refreshed on its own period — a guest's also right after a reboot
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
import type { GuestResource, NodeStatus } from './api_shapes.ts';
import { ipsFromAgent, ipsFromLxc, usedBytesFromFsinfo } from './guest_agent.ts';
import { isNodeFailure, type NodeGate } from './node_health.ts';

export type GuestFacts = {
  ips: string[];
  usedBytes: number | null;
  fetchedAtMs: number;
  uptime: number;
};
export type NodeFacts = { mhz: number | null; version: string | null; fetchedAtMs: number };

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
      if (r.status !== 'running') return cached ? { ...cached, ips: [] } : null;
      if (r.type === 'qemu' && !agentEnabled) return null;
      const fresh = cached && ctx.nowMs - cached.fetchedAtMs < options.guestMaxAgeMs &&
        (r.uptime ?? 0) >= cached.uptime;
      if (fresh || ctx.gate.failed(r.node) || slowNodes.has(r.node)) return cached ?? null;

      const base = `/nodes/${encodeURIComponent(r.node)}/${r.type}/${r.vmid}`;
      const ask = async (path: string): Promise<unknown> => {
        try {
          return await ctx.api.get<unknown>(path, { signal: ctx.signal });
        } catch (err) {
          if (mustPropagate(err, ctx.signal)) throw err;
          if (isNodeFailure(err)) slowNodes.add(r.node);
          return null; // agent not running / not installed: PVE answers 500
        }
      };
      let facts: GuestFacts;
      if (r.type === 'qemu') {
        const net = await ask(`${base}/agent/network-get-interfaces`);
        // No agent answering the first call: do not spend a second request on it.
        const fs = net === null ? null : await ask(`${base}/agent/get-fsinfo`);
        facts = {
          ips: net === null ? [] : ipsFromAgent(net),
          usedBytes: fs === null ? null : usedBytesFromFsinfo(fs),
          fetchedAtMs: ctx.nowMs,
          uptime: r.uptime ?? 0,
        };
      } else {
        const nics = await ask(`${base}/interfaces`);
        facts = {
          ips: nics === null ? [] : ipsFromLxc(nics),
          usedBytes: null,
          fetchedAtMs: ctx.nowMs,
          uptime: r.uptime ?? 0,
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
      try {
        const s = await ctx.api.get<NodeStatus>(`/nodes/${encodeURIComponent(node)}/status`, {
          signal: ctx.signal,
        });
        const mhz = Number(s.cpuinfo?.mhz);
        nodes.set(node, {
          mhz: Number.isFinite(mhz) && mhz > 0 ? Math.round(mhz) : null,
          version: s.pveversion ?? null,
          fetchedAtMs: ctx.nowMs,
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
