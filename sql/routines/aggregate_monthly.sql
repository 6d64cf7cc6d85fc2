-- Monthly aggregation of one source and one month (p_month = any day of it; days are
-- calendar days of the reporting time zone `tz`). Reads vm_daily_rollup and
-- source_daily_totals only, never the facts. Each day counts with its total_samples:
-- monthly averages are exact sums over the month's total samples, which equals the
-- samples-weighted mean of the daily averages. Hours are the sums of the daily hours.
-- Replaces the month's vm_monthly_rollup rows (vm_monthly_rollup_rows()),
-- source_monthly_totals row and registry entry.
-- Returns the number of VM rows written. The TypeScript twin is server/aggregate/monthly_ts.ts.
create or replace function aggregate_monthly(p_source_id integer, p_month date, p_tz text default 'UTC')
returns integer
language plpgsql
as $$
declare
  m0 date := date_trunc('month', p_month)::date;
  m1 date := (date_trunc('month', p_month) + interval '1 month')::date;
  t0 timestamptz := m0::timestamp at time zone p_tz;
  t1 timestamptz := m1::timestamp at time zone p_tz;
  n integer;
  covered integer;
  all_complete boolean;
  written integer;
begin
  select coalesce(sum(d.total_samples), 0)::integer, count(*)::integer, coalesce(bool_and(d.complete), true)
    into n, covered, all_complete
  from source_daily_totals d
  where d.source_id = p_source_id and d.day >= m0 and d.day < m1;

  delete from vm_monthly_rollup where source_id = p_source_id and month = m0;
  delete from source_monthly_totals where source_id = p_source_id and month = m0;
  if n = 0 then
    delete from snapshot_registry where kind = 'monthly' and source_id = p_source_id and period_start = t0;
    return 0;
  end if;

  insert into vm_monthly_rollup
  select * from vm_monthly_rollup_rows(p_source_id, m0, m1, n, covered);
  get diagnostics written = row_count;

  insert into source_monthly_totals (
    source_id, month, total_samples, days_covered, complete, vm_count, samples_present,
    powered_on_samples, sum_vcpu, sum_ram_mb, sum_disk_gb, avg_vm_count, avg_powered_on, avg_vcpu,
    avg_ram_gb, avg_disk_gb, powered_on_hours, vcpu_hours, ram_gb_hours, disk_gb_hours)
  select p_source_id, m0, n, covered, all_complete and covered = (m1 - m0), written,
         sum(d.samples_present), sum(d.powered_on_samples),
         sum(d.sum_vcpu), sum(d.sum_ram_mb), sum(d.sum_disk_gb),
         rollup_ratio(sum(d.samples_present), n),
         rollup_ratio(sum(d.powered_on_samples), n),
         rollup_ratio(sum(d.sum_vcpu), n),
         rollup_ratio(sum(d.sum_ram_mb), 1024 * n),
         rollup_ratio(sum(d.sum_disk_gb), n),
         sum(d.powered_on_hours), sum(d.vcpu_hours), sum(d.ram_gb_hours), sum(d.disk_gb_hours)
  from source_daily_totals d
  where d.source_id = p_source_id and d.day >= m0 and d.day < m1;

  insert into snapshot_registry (kind, source_id, period_start, period_end, row_count, complete)
  values ('monthly', p_source_id, t0, t1, written, all_complete and covered = (m1 - m0))
  on conflict (kind, source_id, period_start) do update set
    period_end = excluded.period_end, row_count = excluded.row_count,
    complete = excluded.complete, created_at = now();
  return written;
end;
$$;
