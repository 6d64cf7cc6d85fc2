/**
 * vHealth: what an admin should look at, as of the scope's captures (ages are measured from
 * the capture's time, not from now, so an old workbook says what was wrong then):
 *   Snapshot       a snapshot older than 7 days
 *   VMware Tools   a powered-on VM whose Tools (Proxmox: guest agent) are not running
 *   Consolidation  a VM whose disks need consolidation
 *   Host           a host that is not connected
 *   Datastore      a datastore more than 80 % full
 * Data access only.
 */
import type { Sql } from '../db/connect.ts';
import type { Row } from '../reports/columns.ts';
import { type Scope, scopeRows } from './scope.ts';

/** Snapshots older than this are reported. */
export const OLD_SNAPSHOT_DAYS = 7;
/** Datastores fuller than this share are reported. */
export const FULL_DATASTORE = 0.8;

export function vHealthRows(sql: Sql, scope: Scope): AsyncIterable<Row[]> {
  return sql`
    with scope as ${scopeRows(sql, scope)},
    v as (
      select sc.source, sc.source_uuid, sc.t, f.source_id, f.vm_key, f.name, f.power_state, c.*
      from scope sc
      join vm_hourly_stats f on f.source_id = sc.source_id and f.snapshot_time = sc.t
      join vm_config_history h on h.source_id = f.source_id and h.vm_key = f.vm_key
        and h.valid_from <= sc.t and (h.valid_to is null or h.valid_to > sc.t)
      -- Taken apart once per VM (see vm_rows.ts#vmsAt).
      cross join lateral jsonb_to_record(h.config) as c (snapshots jsonb, tools jsonb, "consolidationNeeded" boolean)
    ),
    findings as (
      select v.name, format('Snapshot "%s" is %s days old (taken %s UTC)', x->>'name',
               floor(extract(epoch from v.t - (x->>'createdAt')::timestamptz) / 86400),
               to_char((x->>'createdAt')::timestamptz at time zone 'UTC', 'YYYY-MM-DD HH24:MI')) as message,
             'Snapshot' as message_type, v.source, v.source_uuid, v.source_id
      from v cross join lateral jsonb_array_elements(v.snapshots) x
      where (x->>'createdAt')::timestamptz < v.t - make_interval(days => ${OLD_SNAPSHOT_DAYS})
      union all
      select v.name, format('VMware Tools not running (%s)',
               coalesce(v.tools->>'runningStatus', v.tools->>'status')),
             'VMware Tools', v.source, v.source_uuid, v.source_id
      from v
      where v.power_state = 'poweredOn'
        and (v.tools->>'runningStatus' = 'guestToolsNotRunning'
             or v.tools->>'status' in ('toolsNotRunning', 'toolsNotInstalled'))
      union all
      select v.name, 'Virtual machine disks consolidation is needed', 'Consolidation',
             v.source, v.source_uuid, v.source_id
      from v where v."consolidationNeeded"
      union all
      select coalesce(hi.name, hf.host_key), format('Host is %s', hf.connection_state), 'Host',
             sc.source, sc.source_uuid, sc.source_id
      from scope sc
      join host_facts hf on hf.source_id = sc.source_id and hf.snapshot_time = sc.t
      left join host_inventory hi on hi.source_id = hf.source_id and hi.host_key = hf.host_key
      where hf.connection_state is not null and hf.connection_state <> 'connected'
      union all
      select coalesce(di.name, df.datastore_key),
             format('Datastore is %s %% full (%s GiB free of %s GiB)',
               round(((df.capacity_gb - df.free_gb) * 100 / df.capacity_gb)::numeric, 1),
               round(df.free_gb::numeric, 1), round(df.capacity_gb::numeric, 1)),
             'Datastore', sc.source, sc.source_uuid, sc.source_id
      from scope sc
      join datastore_facts df on df.source_id = sc.source_id and df.snapshot_time = sc.t
      left join datastore_inventory di on di.source_id = df.source_id and di.datastore_key = df.datastore_key
      where df.capacity_gb > 0 and (df.capacity_gb - df.free_gb) / df.capacity_gb > ${FULL_DATASTORE}
    )
    select name, message, message_type, source, source_uuid from findings
    order by message_type, source, source_id, name, message`.cursor(1000);
}
