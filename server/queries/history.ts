/** Captures, the snapshot registry and totals over time. Data access only. */
import { z } from 'zod';
import { iso, type Sql } from '../db/connect.ts';
import { decodeCursor, IntKey } from '../cursor.ts';
import { keysetPage, type Page } from '../inventory/list_query.ts';

type Range = { sourceId?: number; from?: Date; to?: Date; limit: number; cursor?: string };

/** Where the next page of captures starts: the last row's time and id (times can tie). */
export const CaptureCursor = z.object({ t: z.iso.datetime(), id: z.uuid() });
/** Where the next page of the registry starts: the last entry's period, kind and source. */
export const SnapshotCursor = z.object({
  t: z.iso.datetime(),
  k: z.enum(['capture', 'daily', 'monthly']),
  s: IntKey,
});

/** Captures newest first, keyset-paged by captured-at and id. */
export async function listCaptures(sql: Sql, q: Range): Promise<Page<CaptureItem>> {
  const after = q.cursor ? decodeCursor(CaptureCursor, q.cursor) : null;
  const where = sql`where true
    ${q.sourceId ? sql`and c.source_id = ${q.sourceId}` : sql``}
    ${q.from ? sql`and c.captured_at >= ${q.from}` : sql``}
    ${q.to ? sql`and c.captured_at < ${q.to}` : sql``}`;
  const [rows, [{ total }]] = await Promise.all([
    sql`select /* vmledger:history */ c.*, s.name as source_name from captures c join sources s on s.id = c.source_id ${where}
        ${after ? sql`and (c.captured_at, c.capture_id) < (${after.t}, ${after.id})` : sql``}
        order by c.captured_at desc, c.capture_id desc limit ${q.limit + 1}`,
    sql`select count(*)::int as total from captures c ${where}`,
  ]);
  return keysetPage(rows, total, q.limit, (r) => ({
    captureId: r.capture_id,
    sourceId: r.source_id,
    sourceName: r.source_name,
    capturedAt: iso(r.captured_at)!,
    receivedAt: iso(r.received_at)!,
    complete: r.complete,
    errors: r.errors,
    vmCount: r.vm_count,
    hostCount: r.host_count,
    datastoreCount: r.datastore_count,
    eventCount: r.event_count,
    ingestMs: r.ingest_ms,
    late: new Date(r.received_at).getTime() - new Date(r.captured_at).getTime() > 3600_000,
  }), (r) => ({ t: iso(r.captured_at), id: r.capture_id }));
}

/** The snapshot registry (captures and rollups) newest first. */
export async function listSnapshots(
  sql: Sql,
  q: Range & { kind?: 'capture' | 'daily' | 'monthly' },
): Promise<Page<SnapshotItem>> {
  const after = q.cursor ? decodeCursor(SnapshotCursor, q.cursor) : null;
  const where = sql`where true
    ${q.kind ? sql`and r.kind = ${q.kind}` : sql``}
    ${q.sourceId ? sql`and r.source_id = ${q.sourceId}` : sql``}
    ${q.from ? sql`and r.period_start >= ${q.from}` : sql``}
    ${q.to ? sql`and r.period_start < ${q.to}` : sql``}`;
  const [rows, [{ total }]] = await Promise.all([
    sql`select /* vmledger:history */ r.*, s.name as source_name from snapshot_registry r join sources s on s.id = r.source_id ${where}
        ${
      after
        ? sql`and (r.period_start, r.kind, r.source_id) < (${after.t}, ${after.k}, ${after.s})`
        : sql``
    }
        order by r.period_start desc, r.kind desc, r.source_id desc limit ${q.limit + 1}`,
    sql`select count(*)::int as total from snapshot_registry r ${where}`,
  ]);
  return keysetPage(rows, total, q.limit, (r) => ({
    kind: r.kind,
    sourceId: r.source_id,
    sourceName: r.source_name,
    periodStart: iso(r.period_start)!,
    periodEnd: iso(r.period_end),
    rowCount: r.row_count,
    captureId: r.capture_id,
    complete: r.complete,
    createdAt: iso(r.created_at)!,
  }), (r) => ({ t: iso(r.period_start), k: r.kind, s: r.source_id }));
}

/** One point of totals over time (`at`: a time per capture, a day or month otherwise). */
export const TotalsPoint = z.object({
  at: z.string(),
  sourceId: z.number().int().nullable(),
  vmCount: z.number(),
  poweredOn: z.number(),
  vcpu: z.number(),
  ramGb: z.number(),
  diskGb: z.number(),
  complete: z.boolean(),
});
export type TotalsPoint = z.infer<typeof TotalsPoint>;

/** One received capture in the list. */
export const CaptureItem = z.object({
  captureId: z.string(),
  sourceId: z.number().int(),
  sourceName: z.string(),
  capturedAt: z.string(),
  receivedAt: z.string(),
  complete: z.boolean(),
  errors: z.array(z.string()),
  vmCount: z.number().int(),
  hostCount: z.number().int(),
  datastoreCount: z.number().int(),
  eventCount: z.number().int(),
  ingestMs: z.number().nullable(),
  late: z.boolean(),
});
export type CaptureItem = z.infer<typeof CaptureItem>;

/** One entry of the snapshot registry: a capture or a daily/monthly rollup. */
export const SnapshotItem = z.object({
  kind: z.enum(['capture', 'daily', 'monthly']),
  sourceId: z.number().int(),
  sourceName: z.string(),
  periodStart: z.string(),
  periodEnd: z.string().nullable(),
  rowCount: z.number().int(),
  captureId: z.string().nullable(),
  complete: z.boolean(),
  createdAt: z.string(),
});
export type SnapshotItem = z.infer<typeof SnapshotItem>;

/**
 * Totals over time per source (or the fleet when no source is given): per capture from
 * source_totals; daily and monthly from the aggregation's source totals (averages over
 * the period, summed over sources for the fleet).
 *
 * Fleet per-capture totals are per hour: for every hour in which any source captured, the sum
 * over sources of each one's latest capture at or before the end of that hour (within a day),
 * so a source that captures at :05 and another at :50 — or one that is late — do not make
 * the fleet dip. One index probe per source and hour.
 */
export async function totalsOverTime(
  sql: Sql,
  q: { granularity: 'capture' | 'daily' | 'monthly'; sourceId?: number; from: Date; to: Date },
): Promise<TotalsPoint[]> {
  if (q.granularity === 'capture') {
    const rows = q.sourceId
      ? await sql`
      select captured_at as at, source_id, vm_count, powered_on_count as powered_on, vcpu, ram_mb, provisioned_disk_gb as disk_gb, complete
      from source_totals where source_id = ${q.sourceId} and captured_at >= ${q.from} and captured_at < ${q.to}
      order by captured_at limit 10000`
      : await sql`
      with hours as (
        select distinct date_trunc('hour', captured_at) as h from source_totals where captured_at >= ${q.from} and captured_at < ${q.to}
      )
      select h.h as at, null::int as source_id, sum(t.vm_count)::int as vm_count, sum(t.powered_on_count)::int as powered_on,
             sum(t.vcpu)::float8 as vcpu, sum(t.ram_mb)::float8 as ram_mb, sum(t.provisioned_disk_gb)::float8 as disk_gb,
             bool_and(t.complete) as complete
      from hours h cross join sources s
      cross join lateral (
        select vm_count, powered_on_count, vcpu, ram_mb, provisioned_disk_gb, complete from source_totals
        where source_id = s.id and captured_at < h.h + interval '1 hour' and captured_at >= h.h - interval '1 day'
        order by captured_at desc limit 1
      ) t
      group by h.h order by h.h limit 10000`;
    return rows.map((r) => ({
      at: iso(r.at)!,
      sourceId: r.source_id,
      vmCount: r.vm_count,
      poweredOn: r.powered_on,
      vcpu: Number(r.vcpu),
      ramGb: Number(r.ram_mb) / 1024,
      diskGb: Number(r.disk_gb),
      complete: r.complete,
    }));
  }
  const table = sql.unsafe(
    q.granularity === 'daily' ? 'source_daily_totals' : 'source_monthly_totals',
  );
  const period = sql.unsafe(q.granularity === 'daily' ? 'day' : 'month');
  // A source has one row per period, so for one source the sums are its own values.
  const rows = await sql`
    select ${period}::text as at, ${
    q.sourceId ?? null
  }::int as source_id, sum(avg_vm_count) as vm_count,
           sum(avg_powered_on) as powered_on, sum(avg_vcpu) as vcpu, sum(avg_ram_gb) as ram_gb,
           sum(avg_disk_gb) as disk_gb, bool_and(complete) as complete
    from ${table} where ${q.sourceId ? sql`source_id = ${q.sourceId} and` : sql``}
      ${period} >= ${q.from.toISOString().slice(0, 10)}::date and ${period} < ${
    q.to.toISOString().slice(0, 10)
  }::date
    group by ${period} order by ${period}`;
  return rows.map((r) => ({
    at: r.at,
    sourceId: r.source_id,
    vmCount: Number(r.vm_count),
    poweredOn: Number(r.powered_on),
    vcpu: Number(r.vcpu),
    ramGb: Number(r.ram_gb),
    diskGb: Number(r.disk_gb),
    complete: r.complete,
  }));
}
