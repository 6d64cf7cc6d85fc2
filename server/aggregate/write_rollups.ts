/**
 * Bulk writes of the TypeScript path: each batch of rollup rows is one statement with one
 * JSON parameter expanded by jsonb_to_recordset (numerics travel as decimal text, so
 * nothing passes through a float). Lifecycle columns of daily rows are looked up in the
 * same statement, exactly as the SQL path joins them.
 */
import type { Sql } from '../db/connect.ts';

/** A daily VM row as computed in TypeScript; numerics are decimal text. */
export type DailyRow = {
  vm_key: string;
  source_vm_id: string;
  name: string;
  total_samples: number;
  samples_present: number;
  powered_on_samples: number;
  day_seconds: number;
  sum_vcpu: string;
  sum_ram_mb: string;
  sum_disk_gb: string;
  presence: string;
  avg_vcpu: string;
  avg_ram_gb: string;
  avg_disk_gb: string;
  powered_on_ratio: string;
  powered_on_hours: string;
  vcpu_hours: string;
  ram_gb_hours: string;
  disk_gb_hours: string;
  pool_samples: string; // jsonb text
  pool_pct: string; // jsonb text
  first_sample_at: string;
  last_sample_at: string;
};

/** A monthly VM row; lifecycle columns come from the latest daily row. */
export type MonthlyRow = Omit<DailyRow, 'day_seconds'> & {
  days_present: number;
  days_covered: number;
  first_seen_at: string | null;
  last_seen_at: string | null;
  created_at: string | null;
  deleted_at: string | null;
};

/** Inserts one batch of daily rows for (sourceId, day). */
export async function insertDailyRows(
  tx: Sql,
  sourceId: number,
  day: string,
  rows: DailyRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await tx`
    insert into vm_daily_rollup (
      source_id, day, vm_key, source_vm_id, name, total_samples, samples_present, powered_on_samples,
      day_seconds, sum_vcpu, sum_ram_mb, sum_disk_gb, presence, avg_vcpu, avg_ram_gb, avg_disk_gb,
      powered_on_ratio, powered_on_hours, vcpu_hours, ram_gb_hours, disk_gb_hours, pool_samples, pool_pct,
      first_sample_at, last_sample_at, first_seen_at, last_seen_at, created_at, deleted_at)
    select ${sourceId}, ${day}::date, r.vm_key, r.source_vm_id, r.name, r.total_samples, r.samples_present,
           r.powered_on_samples, r.day_seconds, r.sum_vcpu, r.sum_ram_mb, r.sum_disk_gb, r.presence,
           r.avg_vcpu, r.avg_ram_gb, r.avg_disk_gb, r.powered_on_ratio, r.powered_on_hours, r.vcpu_hours,
           r.ram_gb_hours, r.disk_gb_hours, r.pool_samples::jsonb, r.pool_pct::jsonb,
           r.first_sample_at, r.last_sample_at, l.first_seen_at, l.last_seen_at, l.created_at, l.deleted_at
    from jsonb_to_recordset(${tx.json(rows)}) as r(
      vm_key text, source_vm_id text, name text, total_samples integer, samples_present integer,
      powered_on_samples integer, day_seconds integer, sum_vcpu bigint, sum_ram_mb bigint,
      sum_disk_gb numeric, presence numeric, avg_vcpu numeric, avg_ram_gb numeric, avg_disk_gb numeric,
      powered_on_ratio numeric, powered_on_hours numeric, vcpu_hours numeric, ram_gb_hours numeric,
      disk_gb_hours numeric, pool_samples text, pool_pct text, first_sample_at timestamptz,
      last_sample_at timestamptz)
    left join vm_lifecycle l on l.source_id = ${sourceId} and l.vm_key = r.vm_key`;
}

/** Inserts one batch of monthly rows for (sourceId, month). */
export async function insertMonthlyRows(
  tx: Sql,
  sourceId: number,
  month: string,
  rows: MonthlyRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await tx`
    insert into vm_monthly_rollup (
      source_id, month, vm_key, source_vm_id, name, total_samples, samples_present, powered_on_samples,
      days_present, days_covered, sum_vcpu, sum_ram_mb, sum_disk_gb, presence, avg_vcpu, avg_ram_gb,
      avg_disk_gb, powered_on_ratio, powered_on_hours, vcpu_hours, ram_gb_hours, disk_gb_hours,
      pool_samples, pool_pct, first_sample_at, last_sample_at, first_seen_at, last_seen_at, created_at,
      deleted_at)
    select ${sourceId}, ${month}::date, r.vm_key, r.source_vm_id, r.name, r.total_samples, r.samples_present,
           r.powered_on_samples, r.days_present, r.days_covered, r.sum_vcpu, r.sum_ram_mb, r.sum_disk_gb,
           r.presence, r.avg_vcpu, r.avg_ram_gb, r.avg_disk_gb, r.powered_on_ratio, r.powered_on_hours,
           r.vcpu_hours, r.ram_gb_hours, r.disk_gb_hours, r.pool_samples::jsonb, r.pool_pct::jsonb,
           r.first_sample_at, r.last_sample_at, r.first_seen_at, r.last_seen_at, r.created_at, r.deleted_at
    from jsonb_to_recordset(${tx.json(rows)}) as r(
      vm_key text, source_vm_id text, name text, total_samples integer, samples_present integer,
      powered_on_samples integer, days_present integer, days_covered integer, sum_vcpu bigint,
      sum_ram_mb bigint, sum_disk_gb numeric, presence numeric, avg_vcpu numeric, avg_ram_gb numeric,
      avg_disk_gb numeric, powered_on_ratio numeric, powered_on_hours numeric, vcpu_hours numeric,
      ram_gb_hours numeric, disk_gb_hours numeric, pool_samples text, pool_pct text,
      first_sample_at timestamptz, last_sample_at timestamptz, first_seen_at timestamptz,
      last_seen_at timestamptz, created_at timestamptz, deleted_at timestamptz)`;
}

/** Totals of a period, as decimal text (same columns for daily and monthly totals). */
export type TotalsRow = {
  total_samples: number;
  complete: boolean;
  vm_count: number;
  samples_present: string;
  powered_on_samples: string;
  sum_vcpu: string;
  sum_ram_mb: string;
  sum_disk_gb: string;
  avg_vm_count: string;
  avg_powered_on: string;
  avg_vcpu: string;
  avg_ram_gb: string;
  avg_disk_gb: string;
  powered_on_hours: string;
  vcpu_hours: string;
  ram_gb_hours: string;
  disk_gb_hours: string;
};

/** Writes the source_daily_totals row of (sourceId, day). */
export async function insertDailyTotals(
  tx: Sql,
  sourceId: number,
  day: string,
  daySeconds: number,
  t: TotalsRow,
) {
  await tx`
    insert into source_daily_totals (
      source_id, day, total_samples, day_seconds, complete, vm_count, samples_present, powered_on_samples,
      sum_vcpu, sum_ram_mb, sum_disk_gb, avg_vm_count, avg_powered_on, avg_vcpu, avg_ram_gb, avg_disk_gb,
      powered_on_hours, vcpu_hours, ram_gb_hours, disk_gb_hours)
    values (${sourceId}, ${day}::date, ${t.total_samples}, ${daySeconds}, ${t.complete}, ${t.vm_count},
      ${t.samples_present}::bigint, ${t.powered_on_samples}::bigint, ${t.sum_vcpu}::numeric,
      ${t.sum_ram_mb}::numeric, ${t.sum_disk_gb}::numeric, ${t.avg_vm_count}::numeric,
      ${t.avg_powered_on}::numeric, ${t.avg_vcpu}::numeric, ${t.avg_ram_gb}::numeric,
      ${t.avg_disk_gb}::numeric, ${t.powered_on_hours}::numeric, ${t.vcpu_hours}::numeric,
      ${t.ram_gb_hours}::numeric, ${t.disk_gb_hours}::numeric)`;
}

/** Writes the source_monthly_totals row of (sourceId, month). */
export async function insertMonthlyTotals(
  tx: Sql,
  sourceId: number,
  month: string,
  daysCovered: number,
  t: TotalsRow,
) {
  await tx`
    insert into source_monthly_totals (
      source_id, month, total_samples, days_covered, complete, vm_count, samples_present,
      powered_on_samples, sum_vcpu, sum_ram_mb, sum_disk_gb, avg_vm_count, avg_powered_on, avg_vcpu,
      avg_ram_gb, avg_disk_gb, powered_on_hours, vcpu_hours, ram_gb_hours, disk_gb_hours)
    values (${sourceId}, ${month}::date, ${t.total_samples}, ${daysCovered}, ${t.complete}, ${t.vm_count},
      ${t.samples_present}::bigint, ${t.powered_on_samples}::bigint, ${t.sum_vcpu}::numeric,
      ${t.sum_ram_mb}::numeric, ${t.sum_disk_gb}::numeric, ${t.avg_vm_count}::numeric,
      ${t.avg_powered_on}::numeric, ${t.avg_vcpu}::numeric, ${t.avg_ram_gb}::numeric,
      ${t.avg_disk_gb}::numeric, ${t.powered_on_hours}::numeric, ${t.vcpu_hours}::numeric,
      ${t.ram_gb_hours}::numeric, ${t.disk_gb_hours}::numeric)`;
}

/** Records the period in snapshot_registry (same upsert as the SQL path). */
export async function registerSnapshot(
  tx: Sql,
  kind: 'daily' | 'monthly',
  sourceId: number,
  start: string,
  end: string,
  rowCount: number,
  complete: boolean,
) {
  await tx`
    insert into snapshot_registry (kind, source_id, period_start, period_end, row_count, complete)
    values (${kind}, ${sourceId}, ${start}::timestamptz, ${end}::timestamptz, ${rowCount}, ${complete})
    on conflict (kind, source_id, period_start) do update set
      period_end = excluded.period_end, row_count = excluded.row_count,
      complete = excluded.complete, created_at = now()`;
}
