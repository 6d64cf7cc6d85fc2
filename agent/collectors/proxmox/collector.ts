/**
 * The Proxmox VE collector. One capture:
 *   1. `/version`, `/cluster/status`, `/cluster/resources` (guests, nodes, storage, pools in
 *      one call), `/cluster/tasks`, the token's `/access/permissions`, and the cluster
 *      configuration (cluster_config.ts: HA resources and node states, pools, storage
 *      config, SDN vnets), concurrently — ten requests served by the API node itself. A
 *      token that cannot audit every guest (access.ts) makes the capture incomplete: its
 *      lists silently leave the other guests out.
 *   2. The task window since the last capture: events, and which configs may have changed
 *      (a node's own log is read when `/cluster/tasks` does not reach back far enough).
 *   3. Guest configs, only where config_cache.ts says they may have changed; their details
 *      (disks, NICs, CD-ROMs, hardware: config_details.ts) are parsed once per digest.
 *   4. Generations: QEMU `meta` ctime; LXC `vzcreate` task time (else 0).
 *   5. Guest-agent facts and node details, each on its own refresh period; snapshot lists
 *      only for guests whose config names a parent, when the digest moved (snapshots.ts).
 *   6. Records (records.ts, inventory.ts), usage apart from them, events; what failed goes
 *      to `errors` and makes the capture incomplete.
 *
 * Nodes are the unit of failure (node_health.ts): a node that is offline or too slow is
 * named in `errors`; its guests are kept with their last known data (never reported
 * deleted), and guests this agent has never seen cannot be keyed, so they are left out —
 * harmless, because an incomplete capture never implies deletions.
 *
 * State across captures (configs, last known VMs, generations, guest facts) lives in this
 * collector instance, in memory: an agent restart costs one full read of every config.
 */
import type { CaptureEvent, CaptureInput } from '../../capture/schema.ts';
import { type ProxmoxSourceConfig, resolveSecret } from '../../config.ts';
import type { Logger } from '../../../shared/log.ts';
import {
  type CaptureOptions,
  type CheckResult,
  type Collector,
  CollectorError,
} from '../collector.ts';
import { canAuditVms, heldPrivileges, partialViewProblem, privilegeTrapMessage } from './access.ts';
import { createProxmoxApi, type ProxmoxApi, ProxmoxApiError } from './api.ts';
import {
  type AnyResource,
  type ClusterStatusEntry,
  type GuestResource,
  isGuest,
  isNode,
  isPool,
  isStorage,
  type Permissions,
  type TaskEntry,
  type VersionInfo,
} from './api_shapes.ts';
import { type CachedConfig, createConfigCache } from './config_cache.ts';
import { parseGuestConfig } from './config_parse.ts';
import { createFactsCache, type FactsContext } from './guest_facts.ts';
import { createLxcGenerations } from './lxc_generations.ts';
import { createNodeGate, mapLimit, SKIPPED } from './node_health.ts';
import {
  powerStateOf,
  type ProxmoxVm,
  toProxmoxVm,
  toUsage,
  type VmContext,
  vmKey,
} from './records.ts';
import {
  countDatastoreVms,
  createNetworks,
  datastoreKeyOf,
  provisioningOf,
  toCluster,
  toDatastores,
  toHost,
  toResourcePools,
} from './inventory.ts';
import { createClusterConfigReader } from './cluster_config.ts';
import { createBootClock } from './boot_clock.ts';
import { createSnapshotCache, readSnapshots } from './snapshots.ts';
import { checkProxmox } from './check.ts';
import {
  destroyedVmids,
  finishedSince,
  type KnownVm,
  lifecycleVmids,
  mergeTasks,
  nodesNeedingBackfill,
  type PresentVm,
  toCaptureEvents,
  touchedVmids,
} from './tasks.ts';

export type ProxmoxCollectorOptions = {
  /** Per-request limit; default a third of the source timeout, between 1 s and 30 s. */
  requestTimeoutMs?: number;
  /** Longest a cached guest config is trusted without a refetch (default 6 h). */
  configMaxAgeSeconds?: number;
  /** Refresh period of guest-agent IPs and used disk (default 4 h; sooner after a reboot). */
  guestInfoMaxAgeSeconds?: number;
  /** Refresh period of node CPU MHz and PVE version (default 24 h). */
  hostInfoMaxAgeSeconds?: number;
  /** Requests in flight at once (default 6). */
  concurrency?: number;
};

type KnownRecord = { vm: ProxmoxVm; type: 'qemu' | 'lxc' };
type Plan = {
  r: GuestResource;
  cfg: CachedConfig;
  generation: number;
  createdAtSec: number | null;
  key: string;
};

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const isPermission = (err: unknown) => err instanceof CollectorError && err.code === 'permission';

/** Creates the collector for one configured Proxmox VE source (cluster or lone node). */
export function createProxmoxCollector(
  config: ProxmoxSourceConfig,
  log: Logger,
  options: ProxmoxCollectorOptions = {},
): Collector {
  const where = `sources.${config.name}`;
  const requestTimeoutMs = options.requestTimeoutMs ??
    Math.min(30_000, Math.max(1000, Math.floor((config.timeoutSeconds * 1000) / 3)));
  const concurrency = options.concurrency ?? 6;
  const guestInfoMaxAgeMs = (options.guestInfoMaxAgeSeconds ?? 4 * 3600) * 1000;
  const hostInfoMaxAgeMs = (options.hostInfoMaxAgeSeconds ?? 24 * 3600) * 1000;

  const configs = createConfigCache((options.configMaxAgeSeconds ?? 6 * 3600) * 1000);
  const lxcGenerations = createLxcGenerations();
  const facts = createFactsCache({
    guestMaxAgeMs: guestInfoMaxAgeMs,
    nodeMaxAgeMs: hostInfoMaxAgeMs,
    log,
    source: config.name,
  });
  const clusterConfig = createClusterConfigReader(log, config.name);
  const snapshotLists = createSnapshotCache();
  const bootClock = createBootClock();
  /** What each vmid looked like in the last capture: kept for unreachable nodes, keys for events. */
  const lastKnown = new Map<number, KnownRecord>();
  /** Tasks already turned into events (the windows overlap by a little on purpose). */
  const reportedUpids = new Map<string, number>();

  let api: ProxmoxApi | null = null;
  async function getApi(): Promise<ProxmoxApi> {
    if (api) return api;
    const tokenSecret = await resolveSecret(
      config as unknown as Record<string, unknown>,
      'tokenSecret',
      where,
    );
    api = createProxmoxApi({
      url: config.url,
      tokenId: config.tokenId,
      tokenSecret: tokenSecret!,
      tls: { insecure: config.insecure, caFile: config.caFile, thumbprint: config.thumbprint },
      requestTimeoutMs,
      onWarning: (msg) => log.warn(msg, { source: config.name }),
    });
    return api;
  }

  /** The token's effective permissions; null when they cannot be read (not for a 401). */
  function readPermissions(a: ProxmoxApi, signal: AbortSignal): Promise<Permissions | null> {
    return a.get<Permissions>('/access/permissions', { signal }).catch((err) => {
      if (signal.aborted || (err instanceof CollectorError && err.code === 'auth')) throw err;
      log.warn('cannot read token permissions', { source: config.name, error: reason(err) });
      return null;
    });
  }

  async function privilegeError(a: ProxmoxApi, signal: AbortSignal): Promise<CollectorError> {
    const perms = await a.get<Permissions>('/access/permissions', { signal }).catch(() => null);
    return new CollectorError(
      'permission',
      privilegeTrapMessage(config.tokenId, heldPrivileges(perms)),
    );
  }

  async function capture(opts: CaptureOptions): Promise<CaptureInput> {
    const { signal } = opts;
    const at = opts.at ?? new Date();
    const nowMs = at.getTime();
    const sinceSec = opts.since ? Math.floor(opts.since.getTime() / 1000) : null;
    const a = await getApi();
    const errors: string[] = [];
    const started = Date.now();

    // 1. The cluster-wide view, all served by the API node itself.
    const [version, status, resources, clusterTasks, perms, cc] = await Promise.all([
      a.get<VersionInfo>('/version', { signal }),
      a.get<ClusterStatusEntry[]>('/cluster/status', { signal }).catch((
        err,
      ) => (isPermission(err) ? null : Promise.reject(err))),
      a.get<AnyResource[]>('/cluster/resources', { signal }),
      a.get<TaskEntry[]>('/cluster/tasks', { signal }).catch((err) => {
        if (err instanceof CollectorError && err.code === 'auth') throw err;
        errors.push(
          `cluster task list unavailable (${
            reason(err)
          }): lifecycle events and config-change hints may be missing`,
        );
        return [] as TaskEntry[];
      }),
      readPermissions(a, signal),
      clusterConfig.read(a, signal),
    ]);
    if (status === null) throw await privilegeError(a, signal);

    const clusterEntry = status.find((e) => e.type === 'cluster');
    const statusNodes = status.filter((e) => e.type === 'node');
    if (statusNodes.length === 0) throw await privilegeError(a, signal);
    const clusterName = clusterEntry?.name ?? null;
    // A lone node has no cluster entry: its own name is the source id.
    const clusterId = clusterName ?? [...statusNodes].map((n) => n.name).sort()[0];

    const guests = resources.filter(isGuest);
    const nodeResources = resources.filter(isNode);
    const storages = resources.filter(isStorage);
    if (guests.length === 0 && perms && !canAuditVms(heldPrivileges(perms))) {
      throw new CollectorError(
        'permission',
        privilegeTrapMessage(config.tokenId, heldPrivileges(perms)),
      );
    }
    if (!perms) {
      errors.push(
        `the token's privileges could not be verified (/access/permissions failed): ` +
          'guests it may not see could be missing, so the capture is marked incomplete',
      );
    } else {
      const partial = partialViewProblem(config.tokenId, perms);
      if (partial) errors.push(partial);
    }

    const gate = createNodeGate(signal);
    for (const n of statusNodes) {
      if (n.online !== 1) gate.fail(n.name, 'offline (cluster status reports it unreachable)');
    }
    const onlineNodes = statusNodes.map((n) => n.name).filter((n) => !gate.failed(n));

    // 2. Task window: /cluster/tasks keeps only recent tasks per node; fill gaps per node.
    let tasks = clusterTasks;
    const backfill = nodesNeedingBackfill(clusterTasks, onlineNodes, sinceSec);
    await mapLimit(backfill, concurrency, async (node) => {
      const more = await gate.run(
        node,
        () =>
          a.get<TaskEntry[]>(`/nodes/${encodeURIComponent(node)}/tasks`, {
            query: { since: sinceSec! - 60, limit: 10_000 },
            signal,
          }),
      );
      if (more !== SKIPPED) tasks = mergeTasks(tasks, more);
    });
    // A couple of seconds of overlap: a task ending in the capture's own second is not lost.
    const window = finishedSince(tasks, sinceSec == null ? null : sinceSec - 2);
    const fresh = window.filter((t) => !reportedUpids.has(t.upid));
    const touched = touchedVmids(window);
    for (const vmid of destroyedVmids(fresh)) lxcGenerations.forget(vmid);

    // 3. Configs, only where they may have changed.
    const refreshFailed = new Map<number, string>();
    const toFetch = guests.filter((r) =>
      r.status !== 'unknown' && configs.refetchReason(r, touched, nowMs) !== null
    );
    await mapLimit(toFetch, concurrency, async (r) => {
      try {
        const data = await gate.run(
          r.node,
          () =>
            a.get<Record<string, unknown>>(
              `/nodes/${encodeURIComponent(r.node)}/${r.type}/${r.vmid}/config`,
              { signal },
            ),
        );
        if (data === SKIPPED) refreshFailed.set(r.vmid, `node ${r.node} failed`);
        else configs.store(r, parseGuestConfig(r.type, data), nowMs);
      } catch (err) {
        if (signal.aborted || (err instanceof CollectorError && err.code === 'auth')) throw err;
        // One guest's config (e.g. it migrated a moment ago): that guest only.
        refreshFailed.set(r.vmid, reason(err));
        errors.push(`config of ${r.type} ${r.vmid} on ${r.node} could not be read: ${reason(err)}`);
      }
    });

    // 4. Generations: QEMU from its config's ctime, LXC from the task log (lxc_generations.ts).
    const lxcGeneration = await lxcGenerations.prepare(
      { api: a, gate, signal, onlineNodes, concurrency },
      tasks,
      guests.filter((r) => r.type === 'lxc' && r.status !== 'unknown').map((r) => r.vmid),
    );

    const plans: Plan[] = [];
    const kept: ProxmoxVm[] = [];
    const perNode = new Map<string, { kept: number[]; left: number[] }>();
    const note = (node: string, which: 'kept' | 'left', vmid: number) => {
      const entry = perNode.get(node) ?? { kept: [], left: [] };
      entry[which].push(vmid);
      perNode.set(node, entry);
    };
    // A failed refresh after a create/destroy task may hide a reused vmid: the stale config
    // would give the old generation to a new guest, so such a guest is left out instead.
    const lifecycle = lifecycleVmids(window);
    for (const r of guests) {
      const cfg = configs.get(r.vmid);
      const known = lastKnown.get(r.vmid);
      const staleAfterLifecycle = refreshFailed.has(r.vmid) && lifecycle.has(r.vmid);
      if (staleAfterLifecycle || r.status === 'unknown' || !cfg || cfg.type !== r.type) {
        if (staleAfterLifecycle) {
          note(r.node, 'left', r.vmid);
          continue;
        }
        if (known && known.type === r.type) {
          // Last known data, with the live facts /cluster/resources still gives.
          kept.push({
            ...known.vm,
            host: r.node,
            name: r.name ?? known.vm.name,
            powerState: r.status === 'unknown' ? known.vm.powerState : powerStateOf(r),
            connectionState: r.status === 'unknown' || gate.failed(r.node)
              ? 'disconnected'
              : known.vm.connectionState,
          });
          note(r.node, 'kept', r.vmid);
        } else {
          note(r.node, 'left', r.vmid);
        }
        continue;
      }
      if (refreshFailed.has(r.vmid) && gate.failed(r.node)) note(r.node, 'kept', r.vmid);
      const generation = r.type === 'qemu' ? (cfg.parsed.ctime ?? 0) : lxcGeneration(r.vmid);
      const createdAtSec = r.type === 'qemu' ? cfg.parsed.ctime : generation || null;
      plans.push({ r, cfg, generation, createdAtSec, key: vmKey(clusterId, r.vmid, generation) });
    }

    // 5. Guest-agent facts and node details: optional, on their own refresh periods.
    const ctx: FactsContext = { api: a, gate, signal, nowMs };
    const slowAgentNodes = new Set<string>();
    const [infos, snapshots] = await Promise.all([
      mapLimit(
        plans,
        concurrency,
        (p) => facts.guest(ctx, p.key, p.r, p.cfg.parsed.agentEnabled, slowAgentNodes),
      ),
      mapLimit(plans, concurrency, (p) =>
        readSnapshots(
          snapshotLists,
          {
            api: a,
            gate,
            signal,
            errors,
          },
          p.r,
          p.cfg.parsed,
        )),
      mapLimit(onlineNodes, concurrency, (node) => facts.refreshNode(ctx, node)),
    ]);

    // 6. Records.
    const storageConfigs = cc.storages;
    const storageType = new Map(storages.map((s) => [s.storage, s.plugintype]));
    const sharedStorages = new Set(storages.filter((s) => s.shared === 1).map((s) => s.storage));
    const datastores = toDatastores(clusterId, storages, storageConfigs);
    const datastoreKeys = new Set(datastores.map((d) => d.key));
    const nodeNetworks = new Map(
      nodeResources.map((n) => [n.node, facts.node(n.node)?.network ?? null]),
    );
    const networks = createNetworks(clusterId, nodeNetworks, cc.vnets);
    const nodeMhz = (node: string) => facts.node(node)?.mhz ?? null;
    const vmContext: VmContext = {
      clusterId,
      clusterName,
      datastoreKey(storage, node) {
        const key = datastoreKeyOf(clusterId, storage, node, sharedStorages.has(storage));
        return datastoreKeys.has(key) ? key : null;
      },
      provisioning: (storage, _node, format) =>
        provisioningOf(storageType.get(storage), storageConfigs.get(storage), format),
      networkKey: networks.networkKey,
      haState: cc.ha,
      nodeMhz,
    };
    const nowSec = Math.floor(nowMs / 1000);
    const vms: ProxmoxVm[] = plans.map((p, i) => {
      const info = infos[i];
      // LXC usage is in /cluster/resources while running; QEMU's `disk` there is always 0.
      const usedBytes = p.r.type === 'lxc'
        ? (p.r.status === 'running' && p.r.disk ? p.r.disk : (lastKnownUsed(p) ?? null))
        : (info?.usedBytes ?? null);
      return toProxmoxVm(p.r, {
        generation: p.generation,
        createdAtSec: p.createdAtSec,
        config: p.cfg.parsed,
        guest: info,
        usedBytes,
        snapshots: snapshots[i],
        bootTimeSec: p.r.status === 'running' ? bootClock.at(p.key, nowSec, p.r.uptime) : null,
      }, vmContext);
    });
    const usage = plans.map((p) => toUsage(p.r, p.key, nodeMhz(p.r.node)));
    function lastKnownUsed(p: Plan): number | null {
      const known = lastKnown.get(p.r.vmid);
      return known && known.vm.key === p.key && known.vm.usedDiskGib != null
        ? known.vm.usedDiskGib * 1024 ** 3
        : null;
    }
    vms.push(...kept);

    for (const [node, why] of gate.failures) {
      const counts = perNode.get(node) ?? { kept: [], left: [] };
      errors.push(
        `node ${node}: ${why}; ${counts.kept.length} guests reported with last known data` +
          (counts.left.length
            ? `, ${counts.left.length} never seen before left out (vmid ${
              counts.left.slice(0, 20).join(', ')
            })`
            : ''),
      );
    }
    for (const [node, counts] of perNode) {
      if (gate.failures.has(node)) continue;
      const unknown = guests.filter((r) => r.node === node && r.status === 'unknown').map((r) =>
        r.vmid
      );
      if (unknown.length) {
        errors.push(
          `node ${node}: status unknown for vmid ${
            unknown.slice(0, 20).join(', ')
          }; reported with last known data where known`,
        );
      } else if (counts.left.length) {
        errors.push(
          `node ${node}: vmid ${counts.left.slice(0, 20).join(', ')} left out (config unreadable)`,
        );
      }
    }

    // Events, then state for the next capture.
    const present = new Map<number, PresentVm>();
    plans.forEach((p, i) =>
      present.set(p.r.vmid, { key: p.key, name: vms[i].name, createdAtSec: p.createdAtSec })
    );
    for (const k of kept) {
      present.set(Number(k.sourceVmId), { key: k.key, name: k.name, createdAtSec: null });
    }
    const known = new Map<number, KnownVm>(
      [...lastKnown].map(([vmid, k]) => [vmid, { key: k.vm.key, name: k.vm.name }]),
    );
    const events: CaptureEvent[] = toCaptureEvents(fresh, present, known);

    const guestByVmid = new Map(guests.map((r) => [r.vmid, r]));
    plans.forEach((p, i) => lastKnown.set(p.r.vmid, { vm: vms[i], type: p.r.type }));
    for (const vm of kept) {
      lastKnown.set(Number(vm.sourceVmId), {
        vm,
        type: guestByVmid.get(Number(vm.sourceVmId))!.type,
      });
    }
    for (const vmid of [...lastKnown.keys(), ...configs.vmids(), ...lxcGenerations.vmids()]) {
      if (guestByVmid.has(vmid)) continue;
      lastKnown.delete(vmid);
      configs.forget(vmid);
      lxcGenerations.forget(vmid);
      snapshotLists.forget(vmid);
    }
    facts.retain(new Set(vms.map((v) => v.key)));
    bootClock.retain(
      new Set([...vms.map((v) => v.key), ...nodeResources.map((n) => `node:${n.node}`)]),
    );
    for (const t of fresh) reportedUpids.set(t.upid, t.endtime ?? t.starttime);
    for (const [upid, end] of reportedUpids) {
      if (sinceSec != null && end < sinceSec - 86_400) reportedUpids.delete(upid);
    }

    countDatastoreVms(datastores, vms);
    const haNodes = cc.haNodes;
    const hosts = nodeResources.map((n) =>
      toHost(clusterId, clusterName, n, facts.node(n.node), {
        maintenance: haNodes === null ? null : haNodes.get(n.node) === 'maintenance',
        bootTimeSec: n.status === 'online'
          ? bootClock.at(`node:${n.node}`, nowSec, n.uptime)
          : null,
      })
    );
    const haEnabled = cc.ha === null ? null : cc.ha.size > 0;

    log.info('proxmox capture', {
      source: config.name,
      cluster: clusterId,
      vms: vms.length,
      configsFetched: toFetch.length,
      failedNodes: [...gate.failures.keys()],
      ms: Date.now() - started,
    });

    return {
      captureId: crypto.randomUUID(),
      source: {
        kind: 'proxmox',
        id: clusterId,
        name: config.name,
        endpoint: a.endpoint,
        version: version.version ?? null,
      },
      capturedAt: at.toISOString(),
      complete: errors.length === 0,
      errors: errors.slice(0, 100).map((e) => e.slice(0, 2048)),
      vms,
      hosts,
      datastores,
      events,
      clusters: clusterName ? [toCluster(clusterId, clusterName, hosts, haEnabled)] : [],
      resourcePools: toResourcePools(
        clusterId,
        clusterName,
        resources.filter(isPool).map((p) => p.pool),
        cc.poolComments,
        vms,
      ),
      networks: networks.records(vms),
      usage,
    };
  }

  async function check(signal: AbortSignal): Promise<CheckResult> {
    try {
      return await checkProxmox(await getApi(), config.tokenId, signal);
    } catch (err) {
      return {
        ok: false,
        message: reason(err),
        details: err instanceof ProxmoxApiError
          ? { status: err.status, path: err.path }
          : undefined,
      };
    }
  }

  return { check, capture };
}
