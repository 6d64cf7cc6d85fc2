/**
 * Reading rollups for the API: one page of daily or monthly VM rows ordered by source and
 * key (keyset pagination), with the total count. Data access only.
 */
import { z } from 'zod';
import { iso, type Sql } from '../db/connect.ts';
import { ColumnText, decodeCursor, encodeCursor, IntKey } from '../cursor.ts';

const time = z.string().nullable();
/** A VM's rollup of a day or month (monthly rows add daysPresent and daysCovered). */
export const RollupItem = z.object({
  key: z.string(),
  sourceId: z.number().int(),
  period: z.string(),
  sourceVmId: z.string(),
  name: z.string(),
  totalSamples: z.number(),
  samplesPresent: z.number(),
  poweredOnSamples: z.number(),
  presence: z.number(),
  avgVcpu: z.number(),
  avgRamGb: z.number(),
  avgDiskGb: z.number(),
  poweredOnRatio: z.number(),
  poweredOnHours: z.number(),
  vcpuHours: z.number(),
  ramGbHours: z.number(),
  diskGbHours: z.number(),
  poolPct: z.record(z.string(), z.number()),
  firstSampleAt: z.string(),
  lastSampleAt: z.string(),
  firstSeenAt: time,
  lastSeenAt: time,
  createdAt: time,
  deletedAt: time,
  daysPresent: z.number().optional(),
  daysCovered: z.number().optional(),
});
export type RollupItem = z.infer<typeof RollupItem>;

export type RollupPage = { items: RollupItem[]; total: number; next: string | null };
export type RollupQuery = {
  kind: 'daily' | 'monthly';
  period: string;
  sourceId?: number;
  limit: number;
  cursor?: string;
};

/** Where the next page of rollups starts: the last row's source and VM key. */
export const RollupCursor = z.object({ s: IntKey, k: ColumnText });

/** One page of rollup rows for a day (daily) or month (monthly). */
export async function listRollups(sql: Sql, q: RollupQuery): Promise<RollupPage> {
  const cursor = q.cursor ? decodeCursor(RollupCursor, q.cursor) : null;
  const table = q.kind === 'daily' ? sql`vm_daily_rollup` : sql`vm_monthly_rollup`;
  const periodCol = q.kind === 'daily' ? sql`day` : sql`month`;
  const where = sql`where r.${periodCol} = ${q.period}::date ${
    q.sourceId ? sql`and r.source_id = ${q.sourceId}` : sql``
  }`;
  const rows = await sql`
    select r.*, r.${periodCol}::text as period_text from ${table} r
    ${where}
    ${cursor ? sql`and (r.source_id, r.vm_key) > (${cursor.s}, ${cursor.k})` : sql``}
    order by r.source_id, r.vm_key
    limit ${q.limit + 1}`;
  const [{ count }] = await sql`select count(*)::int as count from ${table} r ${where}`;
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({
      key: r.vm_key,
      sourceId: r.source_id,
      period: r.period_text,
      sourceVmId: r.source_vm_id,
      name: r.name,
      totalSamples: r.total_samples,
      samplesPresent: r.samples_present,
      poweredOnSamples: r.powered_on_samples,
      presence: Number(r.presence),
      avgVcpu: Number(r.avg_vcpu),
      avgRamGb: Number(r.avg_ram_gb),
      avgDiskGb: Number(r.avg_disk_gb),
      poweredOnRatio: Number(r.powered_on_ratio),
      poweredOnHours: Number(r.powered_on_hours),
      vcpuHours: Number(r.vcpu_hours),
      ramGbHours: Number(r.ram_gb_hours),
      diskGbHours: Number(r.disk_gb_hours),
      poolPct: r.pool_pct,
      firstSampleAt: iso(r.first_sample_at)!,
      lastSampleAt: iso(r.last_sample_at)!,
      firstSeenAt: iso(r.first_seen_at),
      lastSeenAt: iso(r.last_seen_at),
      createdAt: iso(r.created_at),
      deletedAt: iso(r.deleted_at),
      ...(q.kind === 'monthly' ? { daysPresent: r.days_present, daysCovered: r.days_covered } : {}),
    })),
    total: count,
    next: rows.length > q.limit && last
      ? encodeCursor({ s: last.source_id, k: last.vm_key })
      : null,
  };
}
