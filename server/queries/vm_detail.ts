/**
 * One VM: its current state (if live), lifecycle and events; and its trace through time
 * at capture, daily or monthly granularity, with the list of what changed when.
 * Data access only.
 */
import { z } from 'zod';
import { iso, type Sql } from '../db/connect.ts';
import { toItem } from '../inventory/list_vms.ts';
import { VmListItem } from '../inventory/list_query.ts';
import { VmDetails, VmDisk, VmNic } from '../../agent/capture/details.ts';

/**
 * A VM's configuration (capture contract v2: disks, NICs, snapshots, Tools, hardware…) as
 * last captured, and since when; the stored document leaves empty parts out, parsing fills
 * them back in. Disks and NICs carry the names of their datastores and networks as the
 * source's site tables hold them now (null when the source has no such object).
 */
export const VmConfiguration = z.object({
  since: z.string(),
  ...VmDetails,
  disks: z.array(VmDisk.extend({
    /** The name of the datastore `datastore` (a key) names. */
    datastoreName: z.string().nullable().default(null),
  })).default([]),
  nics: z.array(VmNic.extend({
    /** The network's name: by `networkKey` when the collector resolved it, else by `network`. */
    networkName: z.string().nullable().default(null),
    /** The key of the network's page (`networkKey`, or the one network named `network`). */
    networkPageKey: z.string().nullable().default(null),
  })).default([]),
});
export type VmConfiguration = z.infer<typeof VmConfiguration>;

/** Names the datastores and networks of a configuration's disks and NICs (one query each). */
async function nameSiteObjects(sql: Sql, sourceId: number, c: VmConfiguration) {
  const dsKeys = [...new Set(c.disks.flatMap((d) => (d.datastore ? [d.datastore] : [])))];
  const netKeys = [...new Set(c.nics.flatMap((n) => (n.networkKey ? [n.networkKey] : [])))];
  const netNames = [
    ...new Set(c.nics.flatMap((n) => (!n.networkKey && n.network ? [n.network] : []))),
  ];
  const [ds, nets] = await Promise.all([
    dsKeys.length
      ? sql`select datastore_key as key, name from datastore_inventory
          where source_id = ${sourceId} and datastore_key = any(${dsKeys})`
      : [],
    netKeys.length || netNames.length
      ? sql`select object_key as key, coalesce(doc->>'name', object_key) as name
          from site_object_history
          where source_id = ${sourceId} and kind = 'network' and valid_to is null
            and (object_key = any(${netKeys}) or doc->>'name' = any(${netNames}))`
      : [],
  ]);
  const dsName = new Map(ds.map((r) => [r.key as string, r.name as string]));
  const netByKey = new Map(nets.map((r) => [r.key as string, r.name as string]));
  const keysByName = new Map<string, string[]>();
  for (const r of nets) keysByName.set(r.name, [...(keysByName.get(r.name) ?? []), r.key]);
  for (const d of c.disks) d.datastoreName = (d.datastore && dsName.get(d.datastore)) || null;
  for (const n of c.nics) {
    if (n.networkKey) {
      const name = netByKey.get(n.networkKey);
      n.networkName = name ?? n.network;
      n.networkPageKey = name === undefined ? null : n.networkKey;
    } else if (n.network) {
      const keys = keysByName.get(n.network) ?? [];
      n.networkName = n.network;
      // A name alone links only when exactly one network bears it.
      n.networkPageKey = keys.length === 1 ? keys[0] : null;
    }
  }
  return c;
}

/** The newest configuration document of a VM (for a deleted VM: its last); null if none. */
async function lastConfiguration(
  sql: Sql,
  sourceId: number,
  key: string,
): Promise<VmConfiguration | null> {
  const [row] = await sql`
    select config, valid_from from vm_config_history
    where source_id = ${sourceId} and vm_key = ${key}
    order by valid_from desc limit 1`;
  return row
    ? nameSiteObjects(
      sql,
      sourceId,
      VmConfiguration.parse({ ...row.config, since: iso(row.valid_from) }),
    )
    : null;
}

/** Current state, lifecycle and events of a VM; null when the source has no such VM. */
export async function getVm(sql: Sql, sourceId: number, key: string) {
  const [life] = await sql`
    select l.*, s.name as source_name, s.kind as source_kind
    from vm_lifecycle l join sources s on s.id = l.source_id
    where l.source_id = ${sourceId} and l.vm_key = ${key}`;
  if (!life) return null;
  const [inv] = await sql`
    select i.*, s.name as source_name, s.kind as source_kind, ${life.last_seen_at}::timestamptz as last_seen_at
    from vm_inventory i join sources s on s.id = i.source_id
    where i.source_id = ${sourceId} and i.vm_key = ${key}`;
  const [last] = inv ? [null] : await sql`
    select * from vm_hourly_stats where source_id = ${sourceId} and vm_key = ${key} and snapshot_time = ${life.last_seen_at}`;
  const events = await sql`
    select type, at, detail, vm_name from vm_events
    where source_id = ${sourceId} and (vm_key = ${key} or (vm_key is null and source_vm_id = ${life.source_vm_id}
      and at between ${life.first_seen_at}::timestamptz - interval '1 day' and coalesce(${life.deleted_at}::timestamptz, now())))
    order by at`;
  const configuration = await lastConfiguration(sql, sourceId, key);
  return {
    key,
    sourceId,
    sourceName: life.source_name,
    sourceKind: life.source_kind,
    live: life.deleted_at === null,
    current: inv ? toItem(inv) : null,
    /** For a deleted VM: its last captured state. */
    configuration,
    lastState: last
      ? {
        name: last.name,
        powerState: last.power_state,
        isTemplate: last.is_template,
        vcpu: last.vcpu,
        memoryMib: last.ram_mb,
        provisionedDiskGib: Number(last.provisioned_disk_gb),
        ramMb: last.ram_mb,
        provisionedDiskGb: Number(last.provisioned_disk_gb),
        cluster: last.cluster,
        host: last.host,
        resourcePool: last.resource_pool,
        at: iso(last.snapshot_time),
      }
      : null,
    lifecycle: {
      name: life.name,
      sourceVmId: life.source_vm_id,
      firstSeenAt: iso(life.first_seen_at),
      lastSeenAt: iso(life.last_seen_at),
      createdAt: iso(life.created_at),
      createdFrom: life.created_from,
      deletedAt: iso(life.deleted_at),
      deletedFrom: life.deleted_from,
      reappearedCount: life.reappeared_count,
      lastReappearedAt: iso(life.last_reappeared_at),
    },
    events: events.map((e) => ({
      type: e.type,
      at: iso(e.at),
      detail: e.detail,
      vmName: e.vm_name,
    })),
  };
}

export const TracePoint = z.object({
  at: z.string(),
  vcpu: z.number(),
  ramGb: z.number(),
  diskGb: z.number(),
  /** Share of the period powered on (1 or 0 per capture). */
  poweredOn: z.number(),
  powerState: z.string().optional(),
  host: z.string().nullable().optional(),
  pool: z.string().nullable().optional(),
  name: z.string().optional(),
  presence: z.number().optional(),
});
export type TracePoint = z.infer<typeof TracePoint>;

export const TraceChange = z.object({
  at: z.string(),
  field: z.string(),
  from: z.union([z.string(), z.number()]).nullable(),
  to: z.union([z.string(), z.number()]).nullable(),
});
export type TraceChange = z.infer<typeof TraceChange>;

/** A VM's trace: its points in the range and, per capture, what changed when. */
export const VmTrace = z.object({
  granularity: z.enum(['capture', 'daily', 'monthly']),
  from: z.string(),
  to: z.string(),
  points: z.array(TracePoint),
  changes: z.array(TraceChange),
});

const time = z.string().nullable();
/** One VM: current state if live, its last state if deleted, lifecycle and events. */
export const VmDetail = z.object({
  key: z.string(),
  sourceId: z.number().int(),
  sourceName: z.string(),
  sourceKind: z.string(),
  live: z.boolean(),
  current: VmListItem.nullable(),
  /** Capture contract v2's details as last captured; null for VMs captured by v1 agents. */
  configuration: VmConfiguration.nullable(),
  lastState: z.object({
    name: z.string(),
    powerState: z.string(),
    isTemplate: z.boolean(),
    vcpu: z.number(),
    memoryMib: z.number(),
    provisionedDiskGib: z.number(),
    ramMb: z.number().describe('Deprecated: use memoryMib (same value, MiB).'),
    provisionedDiskGb: z.number().describe('Deprecated: use provisionedDiskGib (same value, GiB).'),
    cluster: z.string().nullable(),
    host: z.string().nullable(),
    resourcePool: z.string().nullable(),
    at: time,
  }).nullable(),
  lifecycle: z.object({
    name: z.string(),
    sourceVmId: z.string(),
    firstSeenAt: time,
    lastSeenAt: time,
    createdAt: time,
    createdFrom: z.string().nullable(),
    deletedAt: time,
    deletedFrom: z.string().nullable(),
    reappearedCount: z.number().int(),
    lastReappearedAt: time,
  }),
  events: z.array(
    z.object({ type: z.string(), at: time, detail: z.unknown(), vmName: z.string().nullable() }),
  ),
});

const TRACKED: [keyof TracePoint, string][] = [
  ['name', 'name'],
  ['vcpu', 'vCPU'],
  ['ramGb', 'RAM GB'],
  ['diskGb', 'disk GB'],
  ['powerState', 'power'],
  ['host', 'host'],
  ['pool', 'pool'],
];

/** What changed between consecutive points (capture granularity). */
function changesOf(points: TracePoint[]): TraceChange[] {
  return points.slice(1).flatMap((b, i) => {
    const a = points[i];
    return TRACKED.filter(([f]) => a[f] !== b[f])
      .map(([f, field]) => ({ at: b.at, field, from: a[f] ?? null, to: b[f] ?? null }));
  });
}

/** The VM's trace in [from, to) at the given granularity (at most 5,000 points). */
export async function vmTrace(
  sql: Sql,
  q: {
    sourceId: number;
    key: string;
    granularity: 'capture' | 'daily' | 'monthly';
    from: Date;
    to: Date;
  },
) {
  let points: TracePoint[];
  if (q.granularity === 'capture') {
    // Facts are keyed (source, time, VM): walk the source's capture times in the period, one
    // index step each, and probe the VM's row at each (a month is ~720 probes, a few ms).
    const rows = await sql`
      with recursive t as (
        (select snapshot_time from vm_hourly_stats
         where source_id = ${q.sourceId} and snapshot_time >= ${q.from} and snapshot_time < ${q.to}
         order by snapshot_time limit 1)
        union all
        select (select f.snapshot_time from vm_hourly_stats f
                where f.source_id = ${q.sourceId} and f.snapshot_time > t.snapshot_time and f.snapshot_time < ${q.to}
                order by f.snapshot_time limit 1)
        from t where t.snapshot_time is not null
      )
      select f.snapshot_time, f.name, f.power_state, f.vcpu, f.ram_mb, f.provisioned_disk_gb, f.host, f.resource_pool
      from t
      join vm_hourly_stats f on f.source_id = ${q.sourceId} and f.snapshot_time = t.snapshot_time and f.vm_key = ${q.key}
      order by f.snapshot_time limit 5000`;
    points = rows.map((r) => ({
      at: iso(r.snapshot_time)!,
      vcpu: r.vcpu,
      ramGb: r.ram_mb / 1024,
      diskGb: Number(r.provisioned_disk_gb),
      poweredOn: r.power_state === 'poweredOn' ? 1 : 0,
      powerState: r.power_state,
      host: r.host,
      pool: r.resource_pool,
      name: r.name,
    }));
  } else {
    const table = sql.unsafe(q.granularity === 'daily' ? 'vm_daily_rollup' : 'vm_monthly_rollup');
    const period = sql.unsafe(q.granularity === 'daily' ? 'day' : 'month');
    const rows = await sql`
      select ${period}::text as period, name, avg_vcpu, avg_ram_gb, avg_disk_gb, powered_on_ratio, presence
      from ${table}
      where source_id = ${q.sourceId} and vm_key = ${q.key}
        and ${period} >= ${q.from.toISOString().slice(0, 10)}::date and ${period} < ${
      q.to.toISOString().slice(0, 10)
    }::date
      order by ${period} limit 5000`;
    points = rows.map((r) => ({
      at: r.period,
      vcpu: Number(r.avg_vcpu),
      ramGb: Number(r.avg_ram_gb),
      diskGb: Number(r.avg_disk_gb),
      poweredOn: Number(r.powered_on_ratio),
      presence: Number(r.presence),
      name: r.name,
    }));
  }
  return {
    granularity: q.granularity,
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    points,
    changes: q.granularity === 'capture' ? changesOf(points) : [],
  };
}
