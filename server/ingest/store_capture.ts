/**
 * Stores one validated capture in one transaction: source registration, the captures
 * row (idempotency by capture id), the facts and the live inventory. Either all of it is
 * committed or none of it.
 */
import type { Capture } from '../../agent/capture/schema.ts';
import type { Sql } from '../db/connect.ts';
import type { TokenInfo } from '../auth/tokens.ts';
import { ApiError } from '../http/errors.ts';

export type StoreResult = { captureId: string; sourceId: number; duplicate: boolean; vmCount: number };

/** Columns of a VM row as the SQL below reads them from the capture's JSON. */
function vmRows(capture: Capture) {
  return capture.vms.map((vm) => ({
    key: vm.key,
    source_vm_id: vm.sourceVmId,
    bios_uuid: vm.biosUuid,
    instance_uuid: vm.instanceUuid,
    name: vm.name,
    power_state: vm.powerState,
    is_template: vm.isTemplate,
    vcpu: vm.vcpu,
    ram_mb: vm.ramMb,
    // Rounded to the column's scale here so both sides agree on the stored value.
    provisioned_disk_gb: Math.round(vm.provisionedDiskGb * 1000) / 1000,
    used_disk_gb: vm.usedDiskGb === null ? null : Math.round(vm.usedDiskGb * 1000) / 1000,
    datacenter: vm.datacenter,
    cluster: vm.cluster,
    host: vm.host,
    resource_pool: vm.resourcePool,
    folder: vm.folder,
    guest_os: vm.guestOs,
    ip_addresses: vm.ipAddresses,
    tags: vm.tags,
    annotation: vm.annotation,
    created_at: vm.createdAt,
  }));
}

/** Registers the source if new and checks that `token` may post for it. */
async function claimSource(tx: Sql, capture: Capture, token: TokenInfo): Promise<number> {
  const s = capture.source;
  const claimant = token.role === 'agent' ? token.id : null;
  const [row] = await tx`
    insert into sources (kind, external_id, name, endpoint, version, owner_token_id)
    values (${s.kind}, ${s.id}, ${s.name}, ${s.endpoint}, ${s.version}, ${claimant})
    on conflict (kind, external_id) do update set
      name = excluded.name, endpoint = excluded.endpoint, version = excluded.version,
      owner_token_id = coalesce(sources.owner_token_id, excluded.owner_token_id)
    returning id, owner_token_id`;
  if (token.role === 'agent' && row.owner_token_id !== token.id) {
    throw new ApiError(403, 'source_not_yours', `source ${s.kind}:${s.id} belongs to another agent token`);
  }
  return row.id as number;
}

/** Stores `capture` once; a capture id seen before is reported as a duplicate and changes nothing. */
export async function storeCapture(sql: Sql, capture: Capture, token: TokenInfo): Promise<StoreResult> {
  const started = performance.now();
  // Partition DDL takes a strong lock on the parent: keep it out of the ingest transaction.
  await sql`select vm_hourly_stats_ensure_partition(${capture.capturedAt})`;
  try {
    return await sql.begin(async (txn) => {
      const tx = txn as unknown as Sql;
      const sourceId = await claimSource(tx, capture, token);
      const inserted = await tx`
        insert into captures (capture_id, source_id, captured_at, complete, errors, vm_count,
                              host_count, datastore_count, event_count, token_id, schema_version)
        values (${capture.captureId}, ${sourceId}, ${capture.capturedAt}, ${capture.complete},
                ${tx.json(capture.errors)}, ${capture.vms.length}, ${capture.hosts.length},
                ${capture.datastores.length}, ${capture.events.length}, ${token.id}, ${capture.schemaVersion})
        on conflict (capture_id) do nothing
        returning capture_id`;
      if (inserted.length === 0) {
        return { captureId: capture.captureId, sourceId, duplicate: true, vmCount: capture.vms.length };
      }
      await writeFactsAndInventory(tx, sourceId, capture);
      await tx`
        update sources set last_capture_at = greatest(last_capture_at, ${capture.capturedAt}::timestamptz)
        where id = ${sourceId}`;
      await tx`
        update captures set ingest_ms = ${Math.round(performance.now() - started)}
        where capture_id = ${capture.captureId}`;
      return { captureId: capture.captureId, sourceId, duplicate: false, vmCount: capture.vms.length };
    });
  } catch (err) {
    const e = err as { code?: string; constraint_name?: string };
    if (e.code === '23505' && e.constraint_name === 'captures_source_id_captured_at_key') {
      throw new ApiError(409, 'capture_conflict',
        `source ${capture.source.kind}:${capture.source.id} already has a different capture at ${capture.capturedAt}`);
    }
    throw err;
  }
}

/**
 * Facts and inventory in one statement from one JSON parameter (expanded by
 * jsonb_to_recordset). The inventory only moves forward: a late capture (an agent draining
 * its spool) adds facts but never overwrites newer live state.
 */
async function writeFactsAndInventory(tx: Sql, sourceId: number, capture: Capture) {
  if (capture.vms.length === 0) return;
  await tx`
    with r as (
      select * from jsonb_to_recordset(${tx.json(vmRows(capture) as any)}) as r(
        key text, source_vm_id text, bios_uuid text, instance_uuid text, name text, power_state text,
        is_template boolean, vcpu integer, ram_mb integer, provisioned_disk_gb numeric, used_disk_gb numeric,
        datacenter text, cluster text, host text, resource_pool text, folder text, guest_os text,
        ip_addresses text[], tags text[], annotation text, created_at timestamptz)
    ), facts as (
      insert into vm_hourly_stats (source_id, vm_key, snapshot_time, capture_id, source_vm_id, name,
        power_state, is_template, vcpu, ram_mb, provisioned_disk_gb, used_disk_gb, datacenter, cluster,
        host, resource_pool, folder, guest_os)
      select ${sourceId}, key, ${capture.capturedAt}, ${capture.captureId}, source_vm_id, name,
        power_state, is_template, vcpu, ram_mb, provisioned_disk_gb, used_disk_gb, datacenter, cluster,
        host, resource_pool, folder, guest_os
      from r
    )
    insert into vm_inventory as inv (source_id, vm_key, source_vm_id, bios_uuid, instance_uuid, name,
      power_state, is_template, vcpu, ram_mb, provisioned_disk_gb, used_disk_gb, datacenter, cluster, host,
      resource_pool, folder, guest_os, ip_addresses, tags, annotation, created_at, first_seen_at,
      last_seen_at, last_capture_id)
    select ${sourceId}, key, source_vm_id, bios_uuid, instance_uuid, name, power_state, is_template,
      vcpu, ram_mb, provisioned_disk_gb, used_disk_gb, datacenter, cluster, host, resource_pool, folder,
      guest_os, coalesce(ip_addresses, '{}'), coalesce(tags, '{}'), annotation, created_at,
      ${capture.capturedAt}, ${capture.capturedAt}, ${capture.captureId}
    from r
    on conflict (source_id, vm_key) do update set
      source_vm_id = excluded.source_vm_id, bios_uuid = excluded.bios_uuid,
      instance_uuid = excluded.instance_uuid, name = excluded.name, power_state = excluded.power_state,
      is_template = excluded.is_template, vcpu = excluded.vcpu, ram_mb = excluded.ram_mb,
      provisioned_disk_gb = excluded.provisioned_disk_gb, used_disk_gb = excluded.used_disk_gb,
      datacenter = excluded.datacenter, cluster = excluded.cluster, host = excluded.host,
      resource_pool = excluded.resource_pool, folder = excluded.folder, guest_os = excluded.guest_os,
      ip_addresses = excluded.ip_addresses, tags = excluded.tags, annotation = excluded.annotation,
      created_at = coalesce(excluded.created_at, inv.created_at),
      last_seen_at = excluded.last_seen_at, last_capture_id = excluded.last_capture_id
    where inv.last_seen_at <= excluded.last_seen_at`;
}
