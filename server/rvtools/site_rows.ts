/**
 * The site tabs of the RVTools workbook (vHost, vNIC, vSwitch, vCluster, vRP, vPort,
 * dvSwitch, dvPort, vDatastore), as of the scope's captures:
 *   - which hosts and datastores, and their moving numbers (connection and power state,
 *     capacity, free and uncommitted space, VM count, CPU and memory usage): the per-capture
 *     facts (host_facts, datastore_facts) at the capture's time;
 *   - everything else of a host, datastore, cluster, resource pool or network: the version of
 *     site_object_history valid at that time (the captured object, change-only);
 *   - a host's name and place fall back to the live host row for captures older than the
 *     history (v1 agents sent no details).
 * Data access only; streamed with cursors (sites are small, but a 1,000-host site has
 * 1,000s of NICs).
 */
import type { Sql } from '../db/connect.ts';
import type { Row } from '../reports/columns.ts';
import { type Scope, scopeRows } from './scope.ts';

const BATCH = 1000;

/** `scope`, and `o`: the site objects of `kind` valid at each source's capture time. */
function objectsAt(sql: Sql, scope: Scope, kind: string) {
  return sql`
    with scope as ${scopeRows(sql, scope)},
    o as (
      select sc.source, sc.source_uuid, sc.t, h.source_id, h.object_key, h.doc
      from scope sc
      join site_object_history h on h.source_id = sc.source_id and h.kind = ${kind}
        and h.valid_from <= sc.t and (h.valid_to is null or h.valid_to > sc.t)
    )`;
}

/** The hosts of the captures (facts), their details, and `hs`: name and place of each. */
function hostsAt(sql: Sql, scope: Scope) {
  return sql`
    ${objectsAt(sql, scope, 'host')},
    hs as (
      select sc.source, sc.source_uuid, sc.t, hf.*, o.doc,
             coalesce(o.doc->>'name', hi.name) as name,
             coalesce(o.doc->>'datacenter', hi.datacenter) as datacenter,
             coalesce(o.doc->>'cluster', hi.cluster) as cluster
      from scope sc
      join host_facts hf on hf.source_id = sc.source_id and hf.snapshot_time = sc.t
      left join o on o.source_id = hf.source_id and o.object_key = hf.host_key
      left join host_inventory hi on hi.source_id = hf.source_id and hi.host_key = hf.host_key
    )`;
}

/** One row per host, with the VMs the same capture placed on it (templates apart). */
export function vHostRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${hostsAt(sql, scope)},
    placed as (
      select f.source_id, f.host,
             count(*) filter (where not f.is_template)::integer as vms_total,
             count(*) filter (where not f.is_template and f.power_state = 'poweredOn')::integer as vms_on,
             sum(f.vcpu) filter (where not f.is_template and f.power_state = 'poweredOn') as vcpus,
             sum(f.ram_mb) filter (where not f.is_template and f.power_state = 'poweredOn') as vram_mib
      from scope sc join vm_hourly_stats f on f.source_id = sc.source_id and f.snapshot_time = sc.t
      where f.host is not null
      group by f.source_id, f.host
    )
    select hs.name, hs.datacenter, hs.cluster, (hs.doc->>'maintenanceMode')::boolean as maintenance_mode,
           hs.doc->>'cpuModel' as cpu_model, hs.cpu_mhz, hs.doc->>'cpuSockets' as cpu_sockets,
           round(hs.cpu_cores::numeric / nullif((hs.doc->>'cpuSockets')::numeric, 0), 1) as cores_per_cpu,
           hs.cpu_cores, hs.doc->>'cpuThreads' as cpu_threads,
           round(hs.cpu_usage_mhz::numeric * 100 / nullif(hs.cpu_mhz::numeric * hs.cpu_cores, 0), 1) as cpu_usage_pct,
           hs.memory_mb as memory_mib,
           round(hs.memory_usage_mib::numeric * 100 / nullif(hs.memory_mb::numeric, 0), 1) as memory_usage_pct,
           jsonb_array_length(hs.doc->'nics') as nic_count,
           coalesce(p.vms_total, 0) as vms_total, coalesce(p.vms_on, 0) as vms_on,
           coalesce(p.vcpus, 0) as vcpus, coalesce(p.vram_mib, 0) as vram_mib,
           coalesce(hs.doc->>'version', hi.version) as version, hs.doc->>'build' as build,
           (hs.doc->>'bootTime')::timestamptz as boot_time, hs.doc->>'vendor' as vendor,
           hs.doc->>'model' as model, hs.doc->>'serialNumber' as serial_number,
           hs.connection_state, hs.power_state, hs.host_key as object_key, hs.source, hs.source_uuid
    from hs
    left join placed p on p.source_id = hs.source_id and p.host = hs.name
    left join host_inventory hi on hi.source_id = hs.source_id and hi.host_key = hs.host_key
    order by hs.source, hs.source_id, hs.name, hs.host_key`.cursor(BATCH);
}

/** One row per physical NIC of a host. */
export function vNicRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${hostsAt(sql, scope)}
    select hs.name as host, hs.datacenter, hs.cluster, x->>'device' as device, x->>'driver' as driver,
           x->>'speedMbps' as speed_mbps, x->>'macAddress' as mac_address, x->>'switchName' as switch,
           (x->>'linkUp')::boolean as link_up, hs.host_key as object_key, hs.source, hs.source_uuid
    from hs cross join lateral jsonb_array_elements(hs.doc->'nics') with ordinality as n (x, i)
    order by hs.source, hs.source_id, hs.name, hs.host_key, n.i`.cursor(BATCH);
}

/** One row per standard switch of a host (a Proxmox node's bridges). */
export function vSwitchRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${hostsAt(sql, scope)}
    select hs.name as host, hs.datacenter, hs.cluster, x->>'name' as switch, x->>'ports' as ports,
           x->>'mtu' as mtu,
           (select string_agg(u, ', ') from jsonb_array_elements_text(x->'uplinks') u) as uplinks,
           hs.host_key as object_key, hs.source, hs.source_uuid
    from hs cross join lateral jsonb_array_elements(hs.doc->'switches') with ordinality as s (x, i)
    order by hs.source, hs.source_id, hs.name, hs.host_key, s.i`.cursor(BATCH);
}

export function vClusterRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${objectsAt(sql, scope, 'cluster')}
    select o.doc->>'name' as name, o.doc->>'hostCount' as host_count,
           o.doc->>'effectiveHostCount' as effective_host_count, o.doc->>'totalCpuMhz' as total_cpu_mhz,
           o.doc->>'cpuCores' as cpu_cores, o.doc->>'cpuThreads' as cpu_threads,
           o.doc->>'effectiveCpuMhz' as effective_cpu_mhz, o.doc->>'totalMemoryMib' as total_memory_mib,
           o.doc->>'effectiveMemoryMib' as effective_memory_mib, (o.doc->>'haEnabled')::boolean as ha_enabled,
           (o.doc->>'drsEnabled')::boolean as drs_enabled, o.doc->>'drsBehavior' as drs_behavior,
           o.doc->>'datacenter' as datacenter, o.object_key, o.source, o.source_uuid
    from o order by o.source, o.source_id, o.doc->>'name', o.object_key`.cursor(BATCH);
}

export function vRpRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${objectsAt(sql, scope, 'resourcePool')}
    select o.doc->>'name' as name, o.doc->>'path' as path, o.doc->>'vmCount' as vm_count,
           o.doc->>'cpuLimitMhz' as cpu_limit_mhz, o.doc->>'cpuReservationMhz' as cpu_reservation_mhz,
           o.doc->>'cpuShares' as cpu_shares, (o.doc->>'cpuExpandable')::boolean as cpu_expandable,
           o.doc->>'memoryLimitMib' as memory_limit_mib, o.doc->>'memoryReservationMib' as memory_reservation_mib,
           o.doc->>'memoryShares' as memory_shares, (o.doc->>'memoryExpandable')::boolean as memory_expandable,
           o.doc->>'cluster' as cluster, o.doc->>'comment' as comment, o.object_key, o.source, o.source_uuid
    from o order by o.source, o.source_id, coalesce(o.doc->>'path', o.doc->>'name'), o.object_key`
    .cursor(BATCH);
}

/** Standard port groups and Proxmox networks: one row per host that has one (or one row). */
export function vPortRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${objectsAt(sql, scope, 'network')}
    select h.host, o.doc->>'name' as port_group, o.doc->>'switchName' as switch, o.doc->>'vlanId' as vlan,
           o.doc->>'vmCount' as vm_count, o.doc->>'kind' as kind, o.object_key, o.source, o.source_uuid
    from o
    left join lateral jsonb_array_elements_text(o.doc->'hostNames') as h (host) on true
    where o.doc->>'kind' is distinct from 'distributed'
    order by o.source, o.source_id, h.host nulls first, o.doc->>'name', o.object_key`.cursor(BATCH);
}

/** Distributed switches: their port groups grouped by switch, hosts and VMs summed up. */
export function dvSwitchRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${objectsAt(sql, scope, 'network')},
    dv as (
      select o.source, o.source_uuid, o.source_id, o.doc->>'switchName' as switch,
             o.doc->'hostNames' as host_names, (o.doc->>'vmCount')::integer as vm_count
      from o where o.doc->>'kind' = 'distributed'
    )
    select dv.switch,
           (select string_agg(distinct h, ', ') from dv d2, jsonb_array_elements_text(d2.host_names) h
             where d2.source_id = dv.source_id and d2.switch is not distinct from dv.switch) as host_members,
           count(*)::integer as port_groups, sum(dv.vm_count)::integer as vm_count, dv.source, dv.source_uuid
    from dv
    group by dv.source, dv.source_uuid, dv.source_id, dv.switch
    order by dv.source, dv.source_id, dv.switch`.cursor(BATCH);
}

export function dvPortRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${objectsAt(sql, scope, 'network')}
    select o.doc->>'name' as port, o.doc->>'switchName' as switch, o.doc->>'vlanId' as vlan,
           o.doc->>'vmCount' as vm_count, o.object_key, o.source, o.source_uuid
    from o where o.doc->>'kind' = 'distributed'
    order by o.source, o.source_id, o.doc->>'switchName', o.doc->>'name', o.object_key`.cursor(
    BATCH,
  );
}

/**
 * One row per datastore: capacity and free space from the capture's facts, the rest from its
 * details; provisioned = in use + uncommitted, as RVTools reports it.
 */
export function vDatastoreRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${objectsAt(sql, scope, 'datastore')}
    select coalesce(o.doc->>'name', di.name) as name, df.accessible, coalesce(o.doc->>'type', di.type) as type,
           df.vm_count, round((df.capacity_gb * 1024)::numeric, 3) as capacity_mib,
           round(((df.capacity_gb - df.free_gb) * 1024)::numeric + (df.uncommitted_gib * 1024)::numeric, 3) as provisioned_mib,
           round(((df.capacity_gb - df.free_gb) * 1024)::numeric, 3) as in_use_mib,
           round((df.free_gb * 1024)::numeric, 3) as free_mib,
           round((df.free_gb * 100 / nullif(df.capacity_gb, 0))::numeric, 1) as free_pct,
           jsonb_array_length(o.doc->'hostNames') as host_count,
           (select string_agg(h, ', ') from jsonb_array_elements_text(o.doc->'hostNames') h) as hosts,
           o.doc->>'url' as url, o.doc->>'maintenanceMode' as maintenance_mode,
           (o.doc->>'shared')::boolean as shared, o.doc->>'content' as content,
           df.datastore_key as object_key, sc.source, sc.source_uuid
    from scope sc
    join datastore_facts df on df.source_id = sc.source_id and df.snapshot_time = sc.t
    left join o on o.source_id = df.source_id and o.object_key = df.datastore_key
    left join datastore_inventory di on di.source_id = df.source_id and di.datastore_key = df.datastore_key
    order by sc.source, sc.source_id, 1, df.datastore_key`.cursor(BATCH);
}
