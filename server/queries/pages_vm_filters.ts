/** Choices for the VM list's filters (clusters, pools and hosts of the live and deleted VMs; datastores). Data access only. */
import { requestScope } from '../auth/scope.ts';
import type { Sql } from '../db/connect.ts';

export type VmFilterChoices = {
  clusters: string[];
  pools: string[];
  hosts: string[];
  /** Datastores by key, with their names (the filter takes the key). */
  datastores: { key: string; name: string }[];
};

let cached: { at: number; key: Sql; value: VmFilterChoices } | null = null;

/**
 * Distinct clusters, pools and hosts, at most 500 each, and at most 500 datastores. Those of
 * the deleted VMs (as they last were) are offered too: the deleted list and the estate as of a
 * past moment are filtered by places that may hold no live VM now. A recursive "loose index
 * scan" would need an index per column; at 100,000 rows a hashed distinct is ~20 ms, and the
 * result is kept for 30 seconds per database handle so typing in the search box never pays it.
 */
export async function vmFilterChoices(sql: Sql): Promise<VmFilterChoices> {
  const scoped = requestScope() !== undefined; // a scoped viewer's choices are never kept
  if (!scoped && cached && cached.key === sql && Date.now() - cached.at < 30_000) {
    return cached.value;
  }
  const [r] = await sql`
    with vms as (
      select cluster, resource_pool, host from vm_inventory
      union all
      select cluster, resource_pool, host from vm_inventory_deleted
    )
    select array(select distinct cluster from vms where cluster is not null order by 1 limit 500) as clusters,
           array(select distinct resource_pool from vms where resource_pool is not null order by 1 limit 500) as pools,
           array(select distinct host from vms where host is not null order by 1 limit 500) as hosts,
           coalesce((select jsonb_agg(jsonb_build_object('key', key, 'name', name) order by name, key) from (
             select distinct on (datastore_key) datastore_key as key, name from datastore_inventory
             order by datastore_key, last_seen_at desc limit 500) d), '[]') as datastores`;
  const value = {
    clusters: r.clusters as string[],
    pools: r.pools as string[],
    hosts: r.hosts as string[],
    datastores: r.datastores as { key: string; name: string }[],
  };
  if (!scoped) cached = { at: Date.now(), key: sql, value };
  return value;
}
