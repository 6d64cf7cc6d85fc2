/**
 * The per-VM tabs of the RVTools workbook (vInfo, vCPU, vMemory, vDisk, vPartition,
 * vNetwork, vCD, vSnapshot, vTools), each streamed with a cursor, as of the scope's
 * captures:
 *   - which VMs, and their sizes, power and placement: the facts of each source's capture
 *     (vm_hourly_stats at the capture's time), so a VM deleted since is there and one made
 *     since is not;
 *   - their configuration (disks, NICs, snapshots, Tools, guest, hardware…): the version of
 *     vm_config_history valid at that time (valid_from <= t < valid_to), so a disk added
 *     later is not there;
 *   - usage (CPU MHz, guest and host memory): the facts' usage columns of that capture;
 *   - annotation, UUIDs and IP addresses (kept only in the live inventory): from the live
 *     row when its state was captured at or before t (then it is the state at t), else empty.
 * Rows come in source-name, VM-name order, children in capture order. Data access only.
 */
import type { Sql } from '../db/connect.ts';
import type { Row } from '../reports/columns.ts';
import { type Scope, scopeRows } from './scope.ts';

const BATCH = 1000;

/**
 * The VMs of the scope's captures with their configuration at that time, as `v`. The
 * document is taken apart once per VM (jsonb_to_record): PostgreSQL decompresses a stored
 * jsonb again for every `->` on it, which made a 25-field vInfo row cost 25 decompressions.
 */
function vmsAt(sql: Sql, scope: Scope) {
  return sql`
    with scope as ${scopeRows(sql, scope)},
    v as (
      select sc.source, sc.source_uuid, sc.source_kind, sc.source_version, sc.t,
             f.source_id, f.vm_key, f.source_vm_id, f.name, f.power_state, f.is_template, f.vcpu, f.ram_mb,
             f.provisioned_disk_gb, f.used_disk_gb, f.datacenter, f.cluster, f.host, f.resource_pool,
             f.folder, f.guest_os, f.cpu_usage_mhz, f.guest_memory_mib, f.host_memory_mib, f.guest_disk_free,
             h.vm_key is not null as has_config, c.*,
             i.annotation, i.instance_uuid, i.bios_uuid, i.ip_addresses
      from scope sc
      join vm_hourly_stats f on f.source_id = sc.source_id and f.snapshot_time = sc.t
      left join vm_config_history h on h.source_id = f.source_id and h.vm_key = f.vm_key
        and h.valid_from <= sc.t and (h.valid_to is null or h.valid_to > sc.t)
      left join lateral jsonb_to_record(h.config) as c (
        disks jsonb, nics jsonb, cdroms jsonb, snapshots jsonb, tools jsonb, guest jsonb, hardware jsonb,
        settings jsonb, "haRestartPriority" text, "vApp" text, "configFile" text, "connectionState" text,
        "bootTime" timestamptz, "consolidationNeeded" boolean
      ) on true
      left join vm_inventory i on i.source_id = f.source_id and i.vm_key = f.vm_key and i.state_at <= sc.t
    )`;
}

/** Annotation … VI SDK UUID, VM key: the columns every per-VM tab ends with. */
function tail(sql: Sql) {
  return sql`
    v.annotation, v.datacenter, v.cluster, v.host, v.folder, v.guest_os,
    v.guest->>'os' as tools_os, v.source_vm_id as vm_id, v.instance_uuid as vm_uuid,
    v.source, v.source_uuid, v.vm_key`;
}

/** Source-name, then VM-name order (the key breaks ties). */
const vmOrder = (sql: Sql) => sql`v.source, v.source_id, v.name, v.vm_key`;

/** One row per VM. */
export function vInfoRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${vmsAt(sql, scope)}
    select v.name as vm, v.power_state, v.is_template,
           v.guest->>'hostName' as dns_name, v."connectionState" as connection_state,
           v.guest->>'state' as guest_state,
           v."consolidationNeeded" as consolidation_needed,
           v."bootTime" as boot_time, l.created_at,
           v.vcpu as cpus, v.ram_mb as memory_mib, v.guest_memory_mib as active_memory_mib,
           -- A document leaves empty lists out: no NICs is 0 when the VM has a document.
           case when v.has_config then coalesce(jsonb_array_length(v.nics), 0) end as nics,
           case when v.has_config then coalesce(jsonb_array_length(v.disks), 0) end as disks,
           (select sum((d->>'capacityMib')::numeric) from jsonb_array_elements(v.disks) d) as disk_capacity_mib,
           coalesce(v.guest->>'ipAddress', v.ip_addresses[1]) as primary_ip,
           v.nics->0->>'network' as network_1, v.nics->1->>'network' as network_2,
           v.nics->2->>'network' as network_3, v.nics->3->>'network' as network_4,
           v.nics->4->>'network' as network_5, v.nics->5->>'network' as network_6,
           v.nics->6->>'network' as network_7, v.nics->7->>'network' as network_8,
           v.resource_pool, v.folder, v."vApp" as vapp,
           v.provisioned_disk_gb * 1024 as provisioned_mib, v.used_disk_gb * 1024 as in_use_mib,
           v."haRestartPriority" as ha_restart_priority,
           v.hardware->>'firmware' as firmware, v.hardware->>'version' as hw_version,
           v."configFile" as config_file, v.annotation, v.datacenter, v.cluster, v.host,
           v.guest_os, v.guest->>'os' as tools_os, v.source_vm_id as vm_id,
           -- The settings RVTools shows (VmSettings, vCenter only), one lookup each.
           v.settings->>'configStatus' as config_status, v.settings->>'heartbeat' as heartbeat,
           v.settings->>'changeVersion' as change_version,
           (v.settings->>'changeTracking')::boolean as cbt,
           v.settings->>'latencySensitivity' as latency_sensitivity,
           v.settings->>'minRequiredEvcModeKey' as min_evc_mode,
           v.settings->>'faultToleranceState' as ft_state,
           (v.settings->>'monitors')::int as num_monitors,
           (v.settings->>'videoRamKib')::int as video_ram_kib,
           v.settings->>'folderId' as folder_id,
           (v.settings->>'bootDelayMs')::int as boot_delay,
           (v.settings->>'bootRetryDelayMs')::int as boot_retry_delay,
           (v.settings->>'bootRetryEnabled')::boolean as boot_retry_enabled,
           (v.settings->>'enterBiosSetup')::boolean as boot_bios_setup,
           (v.settings->>'efiSecureBoot')::boolean as efi_secure_boot,
           v.settings->>'hwUpgradeStatus' as hw_upgrade_status,
           v.settings->>'hwUpgradePolicy' as hw_upgrade_policy,
           v.settings->>'hwUpgradeTarget' as hw_target,
           v.settings->>'logDirectory' as log_directory,
           v.settings->>'snapshotDirectory' as snapshot_directory,
           v.settings->>'suspendDirectory' as suspend_directory,
           v.bios_uuid, v.instance_uuid as vm_uuid,
           case v.source_kind when 'vcenter' then 'VirtualCenter' when 'proxmox' then 'Proxmox VE'
                else v.source_kind end as source_type,
           v.source_version, v.source, v.source_uuid, v.vm_key
    from v
    left join vm_lifecycle_base l on l.source_id = v.source_id and l.vm_key = v.vm_key
    order by ${vmOrder(sql)}`.cursor(BATCH);
}

export function vCpuRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${vmsAt(sql, scope)}
    select v.name as vm, v.power_state, v.is_template, v.vcpu as cpus,
           v.hardware->>'sockets' as sockets, v.hardware->>'coresPerSocket' as cores_per_socket,
           v.cpu_usage_mhz, v.hardware->>'cpuSharesLevel' as cpu_shares_level,
           v.hardware->>'cpuShares' as cpu_shares,
           v.hardware->>'cpuReservationMhz' as cpu_reservation_mhz,
           v.hardware->>'cpuLimitMhz' as cpu_limit_mhz,
           (v.hardware->>'cpuHotAdd')::boolean as cpu_hot_add, ${tail(sql)}
    from v order by ${vmOrder(sql)}`.cursor(BATCH);
}

export function vMemoryRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${vmsAt(sql, scope)}
    select v.name as vm, v.power_state, v.is_template, v.ram_mb as memory_mib,
           v.host_memory_mib, v.guest_memory_mib as active_memory_mib,
           v.hardware->>'memorySharesLevel' as memory_shares_level,
           v.hardware->>'memoryShares' as memory_shares,
           v.hardware->>'memoryReservationMib' as memory_reservation_mib,
           v.hardware->>'memoryLimitMib' as memory_limit_mib,
           (v.hardware->>'memoryHotAdd')::boolean as memory_hot_add, ${tail(sql)}
    from v order by ${vmOrder(sql)}`.cursor(BATCH);
}

/** One row per virtual disk; the datastore by its name in the same capture. */
export function vDiskRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${vmsAt(sql, scope)}
    select v.name as vm, v.power_state, v.is_template, x->>'label' as disk, x->>'file' as disk_path,
           x->>'capacityMib' as capacity_mib, x->>'mode' as disk_mode,
           (x->>'provisioning') = 'thin' as thin, (x->>'provisioning') = 'eagerZeroedThick' as eagerly_scrub,
           x->>'controller' as controller, x->>'unitNumber' as unit_number,
           coalesce(ds.name, x->>'datastore') as datastore, (x->>'inBackup')::boolean as in_backup,
           ${tail(sql)}
    from v
    cross join lateral jsonb_array_elements(v.disks) with ordinality as d (x, n)
    left join datastore_inventory ds on ds.source_id = v.source_id and ds.datastore_key = x->>'datastore'
    order by ${vmOrder(sql)}, d.n`.cursor(BATCH);
}

/**
 * One row per guest file system the guest's tools report: path and capacity from the
 * configuration, free space from the capture's facts (it moves, so it is no configuration).
 */
export function vPartitionRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${vmsAt(sql, scope)}
    select v.name as vm, v.power_state, v.is_template, x->>'path' as disk,
           (x->>'capacityMib')::numeric as capacity_mib,
           (x->>'capacityMib')::numeric - gf.free_mib as consumed_mib,
           gf.free_mib,
           round(gf.free_mib * 100 / nullif((x->>'capacityMib')::numeric, 0), 1) as free_pct,
           x->>'fileSystem' as file_system, ${tail(sql)}
    from v
    cross join lateral jsonb_array_elements(v.guest->'disks') with ordinality as d (x, n)
    left join lateral (
      select (g->>'freeMib')::numeric as free_mib from jsonb_array_elements(v.guest_disk_free) g
      where g->>'path' = x->>'path' limit 1
    ) gf on true
    order by ${vmOrder(sql)}, d.n`.cursor(BATCH);
}

/** One row per virtual NIC; the switch of its network as captured at the same time. */
export function vNetworkRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${vmsAt(sql, scope)},
    nets as (
      select o.source_id, o.object_key, o.doc->>'switchName' as switch_name
      from site_object_history o join scope sc on sc.source_id = o.source_id
      where o.kind = 'network' and o.valid_from <= sc.t and (o.valid_to is null or o.valid_to > sc.t)
    )
    select v.name as vm, v.power_state, v.is_template, x->>'label' as nic_label,
           x->>'adapterType' as adapter, x->>'network' as network, nets.switch_name as switch,
           (x->>'connected')::boolean as connected, (x->>'startConnected')::boolean as starts_connected,
           x->>'macAddress' as mac_address,
           (select string_agg(ip, ', ') from jsonb_array_elements_text(x->'ipAddresses') ip where ip not like '%:%') as ipv4,
           (select string_agg(ip, ', ') from jsonb_array_elements_text(x->'ipAddresses') ip where ip like '%:%') as ipv6,
           x->>'vlanId' as vlan, (x->>'firewall')::boolean as firewall, ${tail(sql)}
    from v
    cross join lateral jsonb_array_elements(v.nics) with ordinality as d (x, n)
    left join nets on nets.source_id = v.source_id and nets.object_key = x->>'networkKey'
    order by ${vmOrder(sql)}, d.n`.cursor(BATCH);
}

export function vCdRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${vmsAt(sql, scope)}
    select v.name as vm, v.power_state, v.is_template, x->>'label' as device_node,
           (x->>'connected')::boolean as connected, (x->>'startConnected')::boolean as starts_connected,
           concat_ws(' ', x->>'deviceType', x->>'file') as device_type, ${tail(sql)}
    from v
    cross join lateral jsonb_array_elements(v.cdroms) with ordinality as d (x, n)
    order by ${vmOrder(sql)}, d.n`.cursor(BATCH);
}

/** One row per snapshot, oldest first within a VM. */
export function vSnapshotRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${vmsAt(sql, scope)}
    select v.name as vm, v.power_state, x->>'name' as name, x->>'description' as description,
           (x->>'createdAt')::timestamptz as created_at, x->>'sizeMib' as size_mib,
           (x->>'quiesced')::boolean as quiesced, x->>'powerState' as state, x->>'id' as snapshot_id,
           x->>'parentId' as parent_id, (x->>'current')::boolean as current, ${tail(sql)}
    from v
    cross join lateral jsonb_array_elements(v.snapshots) with ordinality as d (x, n)
    order by ${vmOrder(sql)}, (x->>'createdAt')::timestamptz nulls last, d.n`.cursor(BATCH);
}

export function vToolsRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    ${vmsAt(sql, scope)}
    select v.name as vm, v.power_state, v.is_template, v.hardware->>'version' as hw_version,
           v.tools->>'status' as tools_status, v.tools->>'version' as tools_version,
           v.tools->>'versionStatus' as tools_version_status,
           v.tools->>'upgradePolicy' as tools_upgrade_policy,
           v.tools->>'runningStatus' as tools_running, ${tail(sql)}
    from v order by ${vmOrder(sql)}`.cursor(BATCH);
}
