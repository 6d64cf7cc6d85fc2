/**
 * Clusters (vSphere clusters, Proxmox clusters): the list with capacity and overcommit, and
 * one cluster with its hosts, VMs and capacity over time. Data access only.
 *
 * A cluster is known by its source and name (VMs and hosts name their cluster). Its physical
 * capacity is the sum of its hosts' now; its allocation the powered-on VMs (templates apart)
 * whose cluster it is. Over time: the last capture of each day, the VMs' facts of that capture
 * against the cluster's current hosts' facts of that capture.
 */
import type { Row } from 'postgres';
import { z } from 'zod';
import { iso, type Sql } from '../db/connect.ts';
import { allHosts, HostItem } from './hosts.ts';
import { cachedRows, round } from './site_list.ts';

export const ClusterItem = z.object({
  sourceId: z.number().int(),
  sourceName: z.string(),
  /** The cluster's name (its key in this list and in URLs). */
  key: z.string(),
  name: z.string(),
  objectKey: z.string().nullable(),
  datacenter: z.string().nullable(),
  haEnabled: z.boolean().nullable(),
  drsEnabled: z.boolean().nullable(),
  drsBehavior: z.string().nullable(),
  hosts: z.number().int(),
  hostsAvailable: z.number().int(),
  cpuCores: z.number().int(),
  memoryMib: z.number(),
  vms: z.number().int(),
  poweredOnVms: z.number().int(),
  allocatedVcpu: z.number().int(),
  allocatedMemoryMib: z.number(),
  /** vCPUs of powered-on VMs per physical core. */
  vcpuPerCore: z.number().nullable(),
  /** Memory of powered-on VMs as a percentage of the hosts'. */
  allocatedMemoryPct: z.number().nullable(),
});
export type ClusterItem = z.infer<typeof ClusterItem>;

/** Every cluster named by a host, a VM or a captured cluster object, with its figures. */
export function allClusters(sql: Sql): Promise<ClusterItem[]> {
  return cachedRows(sql, 'clusters', async (sourceId) => {
    const on = sql`power_state = 'poweredOn' and not is_template`;
    const [rows, hosts] = await Promise.all([
      sql`
        with names as (
          select cluster as name from host_inventory where source_id = ${sourceId} and cluster is not null
          union
          select doc->>'name' from site_object_history
          where source_id = ${sourceId} and kind = 'cluster' and valid_to is null
          union
          select distinct cluster from vm_inventory where source_id = ${sourceId} and cluster is not null
        ),
        vms as (
          select cluster, count(*)::int as vms, count(*) filter (where ${on})::int as vms_on,
            coalesce(sum(vcpu) filter (where ${on}), 0)::int as vcpu_on,
            coalesce(sum(ram_mb) filter (where ${on}), 0)::float8 as ram_on
          from vm_inventory where source_id = ${sourceId} and cluster is not null group by 1
        )
        select s.id as source_id, n.name, s.name as source_name, o.object_key, o.doc,
          v.vms, v.vms_on, v.vcpu_on, v.ram_on
        from names n
        join sources s on s.id = ${sourceId}
        left join lateral (
          select object_key, doc from site_object_history o
          where o.source_id = ${sourceId} and o.kind = 'cluster' and o.valid_to is null
            and o.doc->>'name' = n.name
          order by object_key limit 1
        ) o on true
        left join vms v on v.cluster = n.name`,
      allHosts(sql),
    ]);
    const own = hosts.filter((h) => h.sourceId === sourceId);
    return rows.map((r) => toCluster(r, own));
  });
}

function toCluster(r: Row, allHostRows: HostItem[]): ClusterItem {
  const d = r.doc ?? {};
  const hosts = allHostRows.filter((h) =>
    h.sourceId === r.source_id && h.cluster === r.name && h.state !== 'gone'
  );
  const up = hosts.filter((h) => h.state === 'connected');
  const cores = up.reduce((a, h) => a + (h.cpuCores ?? 0), 0);
  const memory = up.reduce((a, h) => a + (h.memoryMib ?? 0), 0);
  const vcpu = r.vcpu_on ?? 0;
  const ram = r.ram_on ?? 0;
  return {
    sourceId: r.source_id,
    sourceName: r.source_name,
    key: r.name,
    name: r.name,
    objectKey: r.object_key ?? null,
    datacenter: d.datacenter ?? hosts[0]?.datacenter ?? null,
    haEnabled: d.haEnabled ?? null,
    drsEnabled: d.drsEnabled ?? null,
    drsBehavior: d.drsBehavior ?? null,
    hosts: hosts.length,
    hostsAvailable: up.length,
    cpuCores: cores,
    memoryMib: memory,
    vms: r.vms ?? 0,
    poweredOnVms: r.vms_on ?? 0,
    allocatedVcpu: vcpu,
    allocatedMemoryMib: ram,
    vcpuPerCore: cores ? round(vcpu / cores, 2) : null,
    allocatedMemoryPct: memory ? round((ram / memory) * 100, 1) : null,
  };
}

export const ClusterPoint = z.object({
  at: z.string(),
  cpuCores: z.number().nullable(),
  memoryMib: z.number().nullable(),
  allocatedVcpu: z.number(),
  allocatedMemoryMib: z.number(),
  vcpuPerCore: z.number().nullable(),
  allocatedMemoryPct: z.number().nullable(),
});
export type ClusterPoint = z.infer<typeof ClusterPoint>;

export const ClusterDetail = z.object({
  cluster: ClusterItem,
  hosts: z.array(HostItem),
  overTime: z.object({
    from: z.string(),
    to: z.string(),
    method: z.string(),
    points: z.array(ClusterPoint),
  }),
});
export type ClusterDetail = z.infer<typeof ClusterDetail>;

const OVER_TIME_METHOD =
  'The last capture of each UTC day: powered-on VMs of the cluster (templates apart) against ' +
  'the physical cores and memory of the cluster’s current hosts in that capture.';

/** One cluster with its hosts and its allocation against capacity per day; null when unknown. */
export async function getCluster(
  sql: Sql,
  sourceId: number,
  name: string,
  o: { days: number } = { days: 30 },
): Promise<ClusterDetail | null> {
  const [clusters, hosts] = await Promise.all([allClusters(sql), allHosts(sql)]);
  const cluster = clusters.find((c) => c.sourceId === sourceId && c.name === name);
  if (!cluster) return null;
  const members = hosts.filter((h) => h.sourceId === sourceId && h.cluster === name);
  const [source] = await sql`select last_capture_at from sources where id = ${sourceId}`;
  const last = source?.last_capture_at ? new Date(source.last_capture_at).getTime() : Date.now();
  const to = new Date(last + 1000);
  const from = new Date(to.getTime() - o.days * 86400_000);
  const rows = await sql`
    with days as (
      select distinct on (date_trunc('day', captured_at at time zone 'UTC')) captured_at
      from captures where source_id = ${sourceId} and captured_at >= ${from} and captured_at < ${to}
      order by date_trunc('day', captured_at at time zone 'UTC'), captured_at desc
    )
    select t.captured_at, v.vcpu, v.ram, h.cores, h.memory
    from days t
    cross join lateral (
      select coalesce(sum(vcpu), 0)::int as vcpu, coalesce(sum(ram_mb), 0)::float8 as ram
      from cluster_allocation a
      where a.source_id = ${sourceId} and a.cluster = ${name} and a.captured_at = t.captured_at
    ) v
    cross join lateral (
      select sum(cpu_cores)::int as cores, sum(memory_mb)::float8 as memory
      from host_facts f
      where f.source_id = ${sourceId} and f.snapshot_time = t.captured_at
        and f.host_key = any(${members.map((m) => m.key)}::text[])
        and coalesce(f.connection_state, 'connected') = 'connected'
    ) h
    order by t.captured_at`;
  return {
    cluster,
    hosts: members,
    overTime: {
      from: from.toISOString(),
      to: to.toISOString(),
      method: OVER_TIME_METHOD,
      points: rows.map((r) => ({
        at: iso(r.captured_at)!,
        cpuCores: r.cores,
        memoryMib: r.memory,
        allocatedVcpu: r.vcpu,
        allocatedMemoryMib: r.ram,
        vcpuPerCore: r.cores ? round(r.vcpu / r.cores, 2) : null,
        allocatedMemoryPct: r.memory ? round((r.ram / r.memory) * 100, 1) : null,
      })),
    },
  };
}
