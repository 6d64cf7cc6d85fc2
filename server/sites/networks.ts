/**
 * Networks (standard and distributed port groups, Proxmox bridges and VLANs) with their VLAN
 * and the live VMs attached. Data access only.
 *
 * A NIC names its network by key when the collector resolved it (`networkKey`), else by
 * name (`network`): a VM is attached to a network when one of its NICs names the network's
 * key, or has no key and names the network's name.
 */
import type { Row } from 'postgres';
import { z } from 'zod';
import { iso, type Sql } from '../db/connect.ts';
import { PlacedVm, toPlacedVm } from './hosts.ts';
import { cachedRows } from './site_list.ts';

export const NetworkItem = z.object({
  sourceId: z.number().int(),
  sourceName: z.string(),
  key: z.string(),
  name: z.string(),
  kind: z.string().nullable(),
  switchName: z.string().nullable(),
  vlanId: z.number().int().nullable(),
  hostNames: z.array(z.string()),
  /** Live VMs with a NIC on it. */
  vms: z.number().int(),
  nics: z.number().int(),
  since: z.string(),
});
export type NetworkItem = z.infer<typeof NetworkItem>;

function toNetwork(r: Row): NetworkItem {
  const d = r.doc ?? {};
  return {
    sourceId: r.source_id,
    sourceName: r.source_name,
    key: r.object_key,
    name: d.name ?? r.object_key,
    kind: d.kind ?? null,
    switchName: d.switchName ?? null,
    vlanId: d.vlanId ?? null,
    hostNames: d.hostNames ?? [],
    vms: r.vms ?? 0,
    nics: r.nics ?? 0,
    since: iso(r.valid_from)!,
  };
}

/** Every network the sources hold now, with the live VMs attached. */
export function allNetworks(sql: Sql): Promise<NetworkItem[]> {
  return cachedRows(sql, 'networks', async (sourceId) => {
    // Two equality joins (by key, by name for NICs without one), hashed, then counted.
    const rows = await sql`
      with nets as (
        select source_id, object_key, doc, valid_from from site_object_history
        where source_id = ${sourceId} and kind = 'network' and valid_to is null
      ),
      nics as materialized (
        select c.vm_key, n->>'networkKey' as network_key, n->>'network' as network
        from vm_config_history c
        join vm_inventory i on i.source_id = c.source_id and i.vm_key = c.vm_key
        cross join jsonb_array_elements(c.config->'nics') n
        where c.source_id = ${sourceId} and c.valid_to is null
      ),
      attached as (
        select o.object_key, n.vm_key from nets o join nics n on n.network_key = o.object_key
        union all
        select o.object_key, n.vm_key from nets o
        join nics n on n.network_key is null and n.network = o.doc->>'name'
      ),
      counts as (
        select object_key, count(distinct vm_key)::int as vms, count(*)::int as nics
        from attached group by 1
      )
      select o.*, s.name as source_name, a.vms, a.nics
      from nets o
      join sources s on s.id = o.source_id
      left join counts a on a.object_key = o.object_key`;
    return rows.map(toNetwork);
  });
}

export const NetworkVm = PlacedVm.extend({
  nics: z.array(z.object({
    label: z.string(),
    macAddress: z.string(),
    connected: z.boolean().nullable(),
    ipAddresses: z.array(z.string()),
  })),
});
export type NetworkVm = z.infer<typeof NetworkVm>;

export const NetworkDetail = z.object({ network: NetworkItem, vms: z.array(NetworkVm) });
export type NetworkDetail = z.infer<typeof NetworkDetail>;

/** One network with the live VMs attached and their NICs on it; null when unknown. */
export async function getNetwork(
  sql: Sql,
  sourceId: number,
  key: string,
): Promise<NetworkDetail | null> {
  const network = (await allNetworks(sql)).find((n) => n.sourceId === sourceId && n.key === key);
  if (!network) return null;
  const rows = await sql`
    select i.*, c.config->'nics' as nics
    from vm_config_history c
    join vm_inventory i on i.source_id = c.source_id and i.vm_key = c.vm_key
    where c.valid_to is null and c.source_id = ${sourceId}
      and (jsonb_path_query_array(c.config, '$.nics[*].networkKey') @> ${sql.json([key])}
        or c.config->'nics' @> ${sql.json([{ network: network.name }])})
    order by lower(i.name), i.vm_key`;
  const on = (n: Record<string, unknown>) =>
    n.networkKey === key || ((n.networkKey ?? null) === null && n.network === network.name);
  return {
    network,
    vms: rows.map((r) => ({
      ...toPlacedVm(r),
      nics: (r.nics as Record<string, unknown>[]).filter(on).map((n) => ({
        label: String(n.label),
        macAddress: String(n.macAddress),
        connected: (n.connected as boolean | undefined) ?? null,
        ipAddresses: (n.ipAddresses as string[] | undefined) ?? [],
      })),
    })).filter((v) => v.nics.length > 0),
  };
}
