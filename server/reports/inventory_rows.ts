/**
 * The current inventory for the RVTools-like export: VMs (vInfo), hosts (vHost),
 * datastores (vDatastore) and a line per source (vSource), streamed with cursors.
 * Data access only.
 */
import type { Sql } from '../db/connect.ts';
import type { Row } from './columns.ts';

const BATCH = 1000;

/** Live VMs and templates with lifecycle times, identity and location last. */
export function vInfoRows(sql: Sql): AsyncIterable<Row[]> {
  return sql`
    select i.name, i.power_state, i.is_template, i.vcpu, i.ram_mb, i.provisioned_disk_gb, i.used_disk_gb,
           i.guest_os, array_to_string(i.ip_addresses, ', ') as ip_addresses, array_to_string(i.tags, ', ') as tags,
           i.annotation, i.resource_pool, coalesce(i.created_at, l.created_at) as created_at,
           coalesce(l.first_seen_at, i.first_seen_at) as first_seen_at, l.last_seen_at, i.state_at,
           i.datacenter, i.cluster, i.host, i.folder, i.source_vm_id, i.instance_uuid, i.bios_uuid, i.vm_key,
           s.name as source, s.kind as source_kind
    from vm_inventory i
    join sources s on s.id = i.source_id
    left join vm_lifecycle l on l.source_id = i.source_id and l.vm_key = i.vm_key
    order by s.name, i.source_id, i.name, i.vm_key`.cursor(BATCH);
}

/** Hosts with the VMs (templates excluded) the inventory places on them. */
export function vHostRows(sql: Sql): AsyncIterable<Row[]> {
  return sql`
    with placed as (
      select source_id, host, count(*)::integer as vms, sum(vcpu)::bigint as vcpu
      from vm_inventory where not is_template and host is not null group by source_id, host
    )
    select h.name, h.connection_state, h.power_state, h.cpu_cores, h.cpu_mhz, h.memory_mb,
           coalesce(p.vms, 0) as vms, coalesce(p.vcpu, 0) as vcpu, h.version, h.last_seen_at,
           h.datacenter, h.cluster, h.host_key, s.name as source
    from host_inventory h
    join sources s on s.id = h.source_id
    left join placed p on p.source_id = h.source_id and p.host = h.name
    order by s.name, h.source_id, h.name, h.host_key`.cursor(BATCH);
}

export function vDatastoreRows(sql: Sql): AsyncIterable<Row[]> {
  return sql`
    select d.name, d.type, d.capacity_gb, d.free_gb, d.capacity_gb - d.free_gb as in_use_gb,
           case when d.capacity_gb > 0 then d.free_gb / d.capacity_gb end as free_ratio,
           d.accessible, d.last_seen_at, d.datastore_key, s.name as source
    from datastore_inventory d
    join sources s on s.id = d.source_id
    order by s.name, d.source_id, d.name, d.datastore_key`.cursor(BATCH);
}

/** One row per source: inventory sums (templates counted apart, not sized) and counts. */
export async function vSourceRows(sql: Sql): Promise<Row[]> {
  return await sql`
    with v as (
      select source_id, count(*) filter (where not is_template)::integer as vms,
             count(*) filter (where not is_template and power_state = 'poweredOn')::integer as powered_on,
             count(*) filter (where is_template)::integer as templates,
             coalesce(sum(vcpu) filter (where not is_template), 0)::bigint as vcpu,
             round(coalesce(sum(ram_mb) filter (where not is_template), 0) / 1024.0, 6) as ram_gb,
             coalesce(sum(provisioned_disk_gb) filter (where not is_template), 0) as provisioned_disk_gb
      from vm_inventory group by source_id
    )
    select s.name as source, s.kind, s.external_id, s.endpoint, s.version,
           coalesce(v.vms, 0) as vms, coalesce(v.powered_on, 0) as powered_on, coalesce(v.templates, 0) as templates,
           coalesce(v.vcpu, 0) as vcpu, coalesce(v.ram_gb, 0) as ram_gb, coalesce(v.provisioned_disk_gb, 0) as provisioned_disk_gb,
           (select count(*)::integer from host_inventory h where h.source_id = s.id) as hosts,
           (select count(*)::integer from datastore_inventory d where d.source_id = s.id) as datastores,
           s.last_capture_at,
           (select c.complete from captures c where c.source_id = s.id and c.captured_at = s.last_capture_at) as last_capture_complete
    from sources s
    left join v on v.source_id = s.id
    order by s.name, s.id`;
}
