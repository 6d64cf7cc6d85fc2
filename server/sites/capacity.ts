/**
 * The dashboard's capacity panel: the fullest datastores, the most overcommitted clusters and
 * the hosts that are disconnected, not responding or in maintenance. Data access only; read
 * from the site lists, so it costs nothing between captures.
 */
import type { Sql } from '../db/connect.ts';
import { allClusters, type ClusterItem } from './clusters.ts';
import { allDatastores, type DatastoreItem } from './datastores.ts';
import { allHosts, type HostItem } from './hosts.ts';

export type CapacityPanel = {
  datastores: DatastoreItem[];
  clusters: ClusterItem[];
  hosts: HostItem[];
  /** How many hosts are down or in maintenance (the panel lists the first few). */
  hostsDown: number;
  /** How many hosts the sources hold (none: the panel says so instead of "all connected"). */
  hostsTotal: number;
};

const byDesc = <T>(value: (r: T) => number | null) => (a: T, b: T) =>
  (value(b) ?? -Infinity) - (value(a) ?? -Infinity);

/** The panel's rows: `top` of each. */
export async function capacityPanel(sql: Sql, top = 5): Promise<CapacityPanel> {
  const [datastores, clusters, hosts] = await Promise.all([
    allDatastores(sql),
    allClusters(sql),
    allHosts(sql),
  ]);
  const down = hosts.filter((h) => h.state !== 'connected' && h.state !== 'gone')
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    datastores: datastores.filter((d) => d.present && d.usedPct !== null)
      .sort(byDesc((d) => d.usedPct)).slice(0, top),
    clusters: clusters.filter((c) => c.vcpuPerCore !== null)
      .sort(byDesc((c) => c.vcpuPerCore)).slice(0, top),
    hosts: down.slice(0, 10),
    hostsDown: down.length,
    hostsTotal: hosts.filter((h) => h.state !== 'gone').length,
  };
}
