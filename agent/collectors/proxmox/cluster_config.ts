/**
 * The cluster-wide configuration a capture reads besides the inventory: HA resources and
 * the HA manager's node states, pool comments, the storage configuration and SDN vnets.
 * One small request each, every capture, served by the API node itself.
 *
 * All optional: a failed read (no privilege, no SDN package, an old PVE) is logged and the
 * last answer read is used, so a passing hiccup does not rewrite every VM's HA state; with
 * none read yet the fields it feeds stay null. Only a 401 propagates.
 */
import type { Logger } from '../../../shared/log.ts';
import { CollectorError } from '../collector.ts';
import type { ProxmoxApi } from './api.ts';
import type {
  HaManagerStatus,
  HaResource,
  PoolEntry,
  SdnVnet,
  StorageConfig,
} from './api_shapes.ts';

export type ClusterConfig = {
  /** sid (`vm:100`, `ct:200`) → requested HA state; null when never read. */
  ha: ReadonlyMap<string, string> | null;
  /** node → HA manager node state (`online`, `maintenance`, …); null when never read. */
  haNodes: ReadonlyMap<string, string> | null;
  poolComments: ReadonlyMap<string, string>;
  storages: ReadonlyMap<string, StorageConfig>;
  vnets: readonly SdnVnet[];
};

export type ClusterConfigReader = {
  read(api: ProxmoxApi, signal: AbortSignal): Promise<ClusterConfig>;
};

/** Creates a reader that remembers the last good answer of each request. */
export function createClusterConfigReader(log: Logger, source: string): ClusterConfigReader {
  const last: ClusterConfig = {
    ha: null,
    haNodes: null,
    poolComments: new Map(),
    storages: new Map(),
    vnets: [],
  };

  async function optional<T>(api: ProxmoxApi, path: string, signal: AbortSignal) {
    try {
      return await api.get<T>(path, { signal });
    } catch (err) {
      if (signal.aborted || (err instanceof CollectorError && err.code === 'auth')) throw err;
      log.debug('optional cluster configuration unavailable', {
        source,
        path,
        error: (err as Error).message,
      });
      return null;
    }
  }

  return {
    async read(api, signal) {
      const [ha, manager, pools, storages, vnets] = await Promise.all([
        optional<HaResource[]>(api, '/cluster/ha/resources', signal),
        optional<HaManagerStatus>(api, '/cluster/ha/status/manager_status', signal),
        optional<PoolEntry[]>(api, '/pools', signal),
        optional<StorageConfig[]>(api, '/storage', signal),
        optional<SdnVnet[]>(api, '/cluster/sdn/vnets', signal),
      ]);
      if (Array.isArray(ha)) {
        last.ha = new Map(ha.filter((h) => h?.sid).map((h) => [h.sid, h.state ?? 'started']));
      }
      const nodeStatus = manager?.manager_status?.node_status;
      if (nodeStatus && typeof nodeStatus === 'object') {
        last.haNodes = new Map(Object.entries(nodeStatus));
      } else if (manager && last.haNodes === null) last.haNodes = new Map(); // HA manager idle
      if (Array.isArray(pools)) {
        last.poolComments = new Map(
          pools.filter((p) => p?.poolid).map((p) => [p.poolid, (p.comment ?? '').trim()]),
        );
      }
      if (Array.isArray(storages)) {
        last.storages = new Map(storages.filter((s) => s?.storage).map((s) => [s.storage, s]));
      }
      if (Array.isArray(vnets)) last.vnets = vnets.filter((v) => v?.vnet);
      return { ...last };
    },
  };
}
