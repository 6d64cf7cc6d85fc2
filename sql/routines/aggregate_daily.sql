-- Daily aggregation of one source and one calendar day in time zone `tz`: replaces that
-- day's vm_daily_rollup rows, its source_daily_totals row and its snapshot_registry entry.
-- The VM rows are vm_daily_rollup_rows() (one grouped scan of the day's facts); atomic
-- because a function runs inside its caller's statement. Returns the number of VM rows
-- written.
-- Rules: docs/aggregation.md. The TypeScript twin is server/aggregate/daily_ts.ts.
create or replace function aggregate_daily(p_source_id integer, p_day date, p_tz text default 'UTC')
returns integer
language plpgsql
as $$
declare
  t0 timestamptz := p_day::timestamp at time zone p_tz;
  t1 timestamptz := (p_day + 1)::timestamp at time zone p_tz;
  secs integer := extract(epoch from t1 - t0)::integer;
  n integer;
  all_complete boolean;
  written integer;
begin
  select count(*)::integer, coalesce(bool_and(c.complete), true) into n, all_complete
  from captures c
  where c.source_id = p_source_id and c.captured_at >= t0 and c.captured_at < t1;

  delete from vm_daily_rollup where source_id = p_source_id and day = p_day;
  delete from source_daily_totals where source_id = p_source_id and day = p_day;
  if n = 0 then
    delete from snapshot_registry where kind = 'daily' and source_id = p_source_id and period_start = t0;
    return 0;
  end if;

  insert into vm_daily_rollup
  select * from vm_daily_rollup_rows(p_source_id, p_day, t0, t1, secs, n);
  get diagnostics written = row_count;

  insert into source_daily_totals (
    source_id, day, total_samples, day_seconds, complete, vm_count, samples_present, powered_on_samples,
    sum_vcpu, sum_ram_mb, sum_disk_gb, avg_vm_count, avg_powered_on, avg_vcpu, avg_ram_gb, avg_disk_gb,
    powered_on_hours, vcpu_hours, ram_gb_hours, disk_gb_hours)
  select p_source_id, p_day, n, secs, all_complete, count(*)::integer,
         coalesce(sum(r.samples_present), 0), coalesce(sum(r.powered_on_samples), 0),
         coalesce(sum(r.sum_vcpu), 0), coalesce(sum(r.sum_ram_mb), 0), coalesce(sum(r.sum_disk_gb), 0),
         rollup_ratio(coalesce(sum(r.samples_present), 0), n),
         rollup_ratio(coalesce(sum(r.powered_on_samples), 0), n),
         rollup_ratio(coalesce(sum(r.sum_vcpu), 0), n),
         rollup_ratio(coalesce(sum(r.sum_ram_mb), 0), 1024 * n),
         rollup_ratio(coalesce(sum(r.sum_disk_gb), 0), n),
         rollup_ratio(coalesce(sum(r.powered_on_samples), 0) * secs, 3600 * n),
         rollup_ratio(coalesce(sum(r.sum_vcpu), 0) * secs, 3600 * n),
         rollup_ratio(coalesce(sum(r.sum_ram_mb), 0) * secs, 3600 * 1024 * n),
         rollup_ratio(coalesce(sum(r.sum_disk_gb), 0) * secs, 3600 * n)
  from vm_daily_rollup r
  where r.source_id = p_source_id and r.day = p_day;

  insert into snapshot_registry (kind, source_id, period_start, period_end, row_count, complete)
  values ('daily', p_source_id, t0, t1, written, all_complete)
  on conflict (kind, source_id, period_start) do update set
    period_end = excluded.period_end, row_count = excluded.row_count,
    complete = excluded.complete, created_at = now();
  return written;
end;
$$;
