/** Choices for the VM list's filters (clusters and pools present in the live inventory). Data access only. */
import type { Sql } from '../db/connect.ts';

let cached: { at: number; key: Sql; value: { clusters: string[]; pools: string[] } } | null = null;

/**
 * Distinct clusters and pools, at most 500 each. A recursive "loose index scan" would need
 * an index per column; at 100,000 rows a hashed distinct is ~20 ms, and the result is kept
 * for 30 seconds per database handle so typing in the search box never pays it.
 */
export async function vmFilterChoices(sql: Sql) {
  if (cached && cached.key === sql && Date.now() - cached.at < 30_000) return cached.value;
  const [r] = await sql`
    select array(select distinct cluster from vm_inventory where cluster is not null order by 1 limit 500) as clusters,
           array(select distinct resource_pool from vm_inventory where resource_pool is not null order by 1 limit 500) as pools`;
  const value = { clusters: r.clusters as string[], pools: r.pools as string[] };
  cached = { at: Date.now(), key: sql, value };
  return value;
}
