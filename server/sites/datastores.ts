/**
 * Datastores (Proxmox storages): the list with capacity, free, provisioned space and the
 * days until full, and one datastore with its VMs, their disks on it and its used-space
 * trend. Data access only: takes `sql`, knows no HTTP.
 *
 * Provisioned space is vSphere's: capacity − free + uncommitted, when the source reports
 * uncommitted space; otherwise the sum of the disks of the live VMs on it (their current
 * configuration documents). Overcommit is provisioned ÷ capacity.
 */
import type { Row } from 'postgres';
import { z } from 'zod';
import { iso, type Sql } from '../db/connect.ts';
import { PlacedVm, toPlacedVm } from './hosts.ts';
import { cachedRows, round } from './site_list.ts';

/** How the days until full are computed, in a few words: in every forecast. */
export const FILL_METHOD_SHORT = 'least squares, one point a day, last 30 days';
/** How the days until full are computed, in full: in a datastore's answer and on its page. */
export const FILL_METHOD =
  'Least-squares line through the used space (capacity − free) at the last capture of each UTC day in the last 30 days; ' +
  'days until full = free space now ÷ the line’s growth per day. Flat (under 0.1 GiB a day) or falling: not filling.';
export const FILL_WINDOW_DAYS = 30;
/** Growth below this many GiB a day is noise, not filling. */
const FLAT_GIB_PER_DAY = 0.1;

export const FillForecast = z.object({
  status: z.enum(['filling', 'notFilling', 'insufficientData']),
  daysUntilFull: z.number().nullable(),
  fullAt: z.string().nullable(),
  growthGibPerDay: z.number().nullable(),
  /** How well the line fits (0–1). */
  r2: z.number().nullable(),
  points: z.number().int(),
  windowDays: z.number().int(),
  method: z.string(),
});
export type FillForecast = z.infer<typeof FillForecast>;

/** A datastore as the list (API, page, CSV) shows it. */
export const DatastoreItem = z.object({
  sourceId: z.number().int(),
  sourceName: z.string(),
  key: z.string(),
  name: z.string(),
  type: z.string().nullable(),
  url: z.string().nullable(),
  shared: z.boolean().nullable(),
  accessible: z.boolean().nullable(),
  capacityGib: z.number().nullable(),
  freeGib: z.number().nullable(),
  usedGib: z.number().nullable(),
  usedPct: z.number().nullable(),
  uncommittedGib: z.number().nullable(),
  provisionedGib: z.number().nullable(),
  /** Provisioned as a percentage of capacity: above 100 is overcommitted. */
  provisionedPct: z.number().nullable(),
  vms: z.number().int(),
  vmDiskGib: z.number(),
  hostNames: z.array(z.string()),
  present: z.boolean(),
  lastSeenAt: z.string(),
  forecast: FillForecast,
});
export type DatastoreItem = z.infer<typeof DatastoreItem>;

/** The forecast from a fit's aggregates (regr_* over GiB and days). */
export function forecastOf(
  f: { n: number; slope: number | null; r2: number | null },
  freeGib: number | null,
  at: string,
): FillForecast {
  const base = {
    points: f.n,
    windowDays: FILL_WINDOW_DAYS,
    method: FILL_METHOD_SHORT,
    r2: round(f.r2, 3),
  };
  if (f.n < 3 || f.slope === null || freeGib === null) {
    return {
      ...base,
      status: 'insufficientData',
      daysUntilFull: null,
      fullAt: null,
      growthGibPerDay: round(f.slope, 3),
    };
  }
  if (f.slope < FLAT_GIB_PER_DAY) {
    return {
      ...base,
      status: 'notFilling',
      daysUntilFull: null,
      fullAt: null,
      growthGibPerDay: round(f.slope, 3),
    };
  }
  const days = freeGib / f.slope;
  return {
    ...base,
    status: 'filling',
    daysUntilFull: round(days, 1),
    fullAt: new Date(Date.parse(at) + days * 86400_000).toISOString(),
    growthGibPerDay: round(f.slope, 3),
  };
}

/**
 * The current configuration documents with a disk on datastore `key`, of any source (the
 * caller keeps its source's): found by the GIN index alone. Materialized, so the source's
 * condition is not also looked up in the primary key: the planner, guessing the GIN finds
 * 1% of the documents, ANDed it with the source's 25,000 keys (~220 pages, 2–25 ms) to
 * keep ~100.
 */
const docsOnDatastore = (sql: Sql, key: string) =>
  sql`(
    with on_it as materialized (
      select source_id, vm_key, config from vm_config_history
      where valid_to is null
        and jsonb_path_query_array(config, '$.disks[*].datastore') @> ${sql.json([key])}
    )
    select * from on_it
  )`;

/** Disks of the source's live VMs per datastore key, from the current configuration documents. */
function disksByDatastore(sql: Sql, sourceId: number, key?: string) {
  // Per VM and datastore first, so a VM with two disks on one datastore counts once.
  return sql`
    select datastore_key, count(*)::int as vms, sum(mib) / 1024 as disk_gib
    from (
      select c.vm_key, d->>'datastore' as datastore_key,
        coalesce(sum((d->>'capacityMib')::float8), 0) as mib
      from ${key ? docsOnDatastore(sql, key) : sql`vm_config_history`} c
      join vm_inventory i on i.source_id = c.source_id and i.vm_key = c.vm_key
      cross join jsonb_array_elements(c.config->'disks') d
      where c.source_id = ${sourceId} ${key ? sql`` : sql`and c.valid_to is null`}
        and d->>'datastore' is not null
      group by 1, 2
    ) v
    group by 1`;
}

function toDatastore(r: Row): DatastoreItem {
  const d = r.doc ?? {};
  const capacity = r.capacity_gb as number | null;
  const free = r.free_gb as number | null;
  const used = capacity !== null && free !== null ? capacity - free : null;
  const provisioned = used !== null && r.uncommitted_gib !== null
    ? used + r.uncommitted_gib
    : r.vms
    ? r.disk_gib
    : null;
  const lastSeenAt = iso(r.last_seen_at)!;
  return {
    sourceId: r.source_id,
    sourceName: r.source_name,
    key: r.datastore_key,
    name: r.name,
    type: r.type,
    url: d.url ?? null,
    shared: d.shared ?? null,
    accessible: r.accessible,
    capacityGib: round(capacity),
    freeGib: round(free),
    usedGib: round(used),
    usedPct: used !== null && capacity ? round((used / capacity) * 100, 1) : null,
    uncommittedGib: round(r.uncommitted_gib),
    provisionedGib: round(provisioned),
    provisionedPct: provisioned !== null && capacity
      ? round((provisioned / capacity) * 100, 1)
      : null,
    vms: r.vms ?? 0,
    vmDiskGib: round(r.disk_gib ?? 0)!,
    hostNames: d.hostNames ?? [],
    present: !r.last_capture_at || new Date(r.last_seen_at) >= new Date(r.last_capture_at),
    lastSeenAt,
    forecast: forecastOf(
      { n: r.fit_n ?? 0, slope: r.fit_slope ?? null, r2: r.fit_r2 ?? null },
      free,
      lastSeenAt,
    ),
  };
}

/**
 * The fit per datastore of the source (slope in GiB a day): one point per UTC day, the day's
 * last capture, over the 30 days before the source's newest capture. A point a day is plenty
 * for a line over a month and reads 30 facts per datastore, not every capture's.
 *
 * The days go in as an array (`= any(array(...))`), not as a join: the planner cannot know
 * that DISTINCT ON leaves 31 of the 720 captures, and joined it hashed every fact of the
 * datastore (90 days: 2,161 heap pages, ~90 ms cold) or of the whole source (540,000 facts,
 * ~350 ms) to keep 31. As an index condition each day is one probe.
 */
function fitQuery(sql: Sql, sourceId: number, key?: string) {
  return sql`
    with days as (
      select distinct on (date_trunc('day', c.captured_at at time zone 'UTC')) c.captured_at
      from captures c join sources s on s.id = c.source_id
      where c.source_id = ${sourceId}
        and c.captured_at > s.last_capture_at - ${FILL_WINDOW_DAYS} * interval '1 day'
      order by date_trunc('day', c.captured_at at time zone 'UTC'), c.captured_at desc
    )
    select f.datastore_key, count(*)::int as fit_n,
      regr_slope(f.capacity_gb - f.free_gb, extract(epoch from f.snapshot_time) / 86400) as fit_slope,
      regr_r2(f.capacity_gb - f.free_gb, extract(epoch from f.snapshot_time) / 86400) as fit_r2
    from datastore_facts f
    where f.source_id = ${sourceId} ${key ? sql`and f.datastore_key = ${key}` : sql``}
      and f.snapshot_time = any(array(select captured_at from days))
      and f.capacity_gb is not null and f.free_gb is not null
    group by 1`;
}

function readDatastores(sql: Sql, sourceId: number, key?: string) {
  return sql`
    select d.*, s.name as source_name, s.last_capture_at, o.doc, f.uncommitted_gib,
      v.vms, v.disk_gib, fit.fit_n, fit.fit_slope, fit.fit_r2
    from datastore_inventory d
    join sources s on s.id = d.source_id
    left join site_object_history o on o.source_id = d.source_id and o.kind = 'datastore'
      and o.object_key = d.datastore_key and o.valid_to is null
    left join datastore_facts f on f.source_id = d.source_id and f.datastore_key = d.datastore_key
      and f.snapshot_time = d.last_seen_at
    left join (${disksByDatastore(sql, sourceId, key)}) v on v.datastore_key = d.datastore_key
    left join (${fitQuery(sql, sourceId, key)}) fit on fit.datastore_key = d.datastore_key
    where d.source_id = ${sourceId} ${key ? sql`and d.datastore_key = ${key}` : sql``}`;
}

/** Every datastore ever captured, with its newest state, its VMs and its forecast. */
export function allDatastores(sql: Sql): Promise<DatastoreItem[]> {
  return cachedRows(
    sql,
    'datastores',
    async (sourceId) => (await readDatastores(sql, sourceId)).map(toDatastore),
  );
}

/** A VM with its disks on one datastore. */
export const DatastoreVm = PlacedVm.extend({
  disks: z.array(z.object({
    label: z.string(),
    capacityMib: z.number().nullable(),
    provisioning: z.string().nullable(),
    file: z.string().nullable(),
  })),
});
export type DatastoreVm = z.infer<typeof DatastoreVm>;

export const DatastoreTrendPoint = z.object({
  at: z.string(),
  capacityGib: z.number().nullable(),
  usedGib: z.number().nullable(),
  freeGib: z.number().nullable(),
});

export const DatastoreDetail = z.object({
  datastore: DatastoreItem,
  /** How the forecast is computed, in full. */
  forecastMethod: z.string(),
  vms: z.array(DatastoreVm),
  trend: z.object({
    from: z.string(),
    to: z.string(),
    points: z.array(DatastoreTrendPoint),
  }),
});
export type DatastoreDetail = z.infer<typeof DatastoreDetail>;

/** The most points a trend carries (one per bucket of days × 86,400 s ÷ this). */
const TREND_POINTS = 240;

/** One datastore with its VMs, their disks on it, and its used space over `days`; null when unknown. */
export async function getDatastore(
  sql: Sql,
  sourceId: number,
  key: string,
  o: { days: number } = { days: FILL_WINDOW_DAYS },
): Promise<DatastoreDetail | null> {
  const [row] = await readDatastores(sql, sourceId, key);
  if (!row) return null;
  const datastore = toDatastore(row);
  const to = new Date(Date.parse(datastore.lastSeenAt) + 1000);
  const from = new Date(to.getTime() - o.days * 86400_000);
  const bucketSeconds = Math.max(1, Math.ceil((o.days * 86400) / TREND_POINTS));
  const [vms, trend] = await Promise.all([
    sql`
      select i.*, c.config->'disks' as disks
      from ${docsOnDatastore(sql, key)} c
      join vm_inventory i on i.source_id = c.source_id and i.vm_key = c.vm_key
      where c.source_id = ${sourceId}
      order by lower(i.name), i.vm_key`,
    // The source's last capture in each bucket (from the small captures table), then the
    // datastore's fact of each by its key: a long range stays a couple of hundred points, and
    // only those facts are read (facts of one datastore lie a page apart, written by time).
    // The times go in as an array for the index condition (see fitQuery): joined, the
    // planner read every fact of the datastore and hashed them.
    sql`
      with times as (
        select distinct on (bucket) captured_at
        from (
          select captured_at, floor(extract(epoch from captured_at) / ${bucketSeconds}) as bucket
          from captures
          where source_id = ${sourceId} and captured_at >= ${from} and captured_at < ${to}
        ) c
        order by bucket, captured_at desc
      )
      select f.snapshot_time, f.capacity_gb, f.free_gb
      from datastore_facts f
      where f.source_id = ${sourceId} and f.datastore_key = ${key}
        and f.snapshot_time = any(array(select captured_at from times))
      order by f.snapshot_time`,
  ]);
  return {
    datastore,
    forecastMethod: FILL_METHOD,
    vms: vms.map((r) => ({
      ...toPlacedVm(r),
      disks: (r.disks as Record<string, unknown>[]).filter((d) => d.datastore === key).map((
        d,
      ) => ({
        label: String(d.label),
        capacityMib: (d.capacityMib as number | undefined) ?? null,
        provisioning: (d.provisioning as string | undefined) ?? null,
        file: (d.file as string | undefined) ?? null,
      })),
    })),
    trend: {
      from: from.toISOString(),
      to: to.toISOString(),
      points: trend.map((r) => ({
        at: iso(r.snapshot_time)!,
        capacityGib: round(r.capacity_gb),
        usedGib: r.capacity_gb !== null && r.free_gb !== null
          ? round(r.capacity_gb - r.free_gb)
          : null,
        freeGib: round(r.free_gb),
      })),
    },
  };
}
