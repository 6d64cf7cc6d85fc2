-- The daily usage tier of one source and local day, computed from that day's hourly rows
-- only (exact: the hourly rows keep counts and sums; max of maxima, min of minima, last of
-- the latest hour). Replaces the day's rows of vm_usage_daily, host_usage_daily and
-- datastore_usage_daily. Returns the number of VM rows written.
-- Rules: docs/aggregation.md, "Usage tiers"; the TypeScript twin is
-- server/aggregate/usage_ts.ts (usageDailyTs).
create or replace function aggregate_usage_daily(p_source_id integer, p_day date, p_tz text default 'UTC')
returns integer
language plpgsql
as $$
declare
  t0 timestamptz := p_day::timestamp at time zone p_tz;
  t1 timestamptz := (p_day + 1)::timestamp at time zone p_tz;
  written integer;
begin
  delete from vm_usage_daily where source_id = p_source_id and day = p_day;
  delete from host_usage_daily where source_id = p_source_id and day = p_day;
  delete from datastore_usage_daily where source_id = p_source_id and day = p_day;

  insert into vm_usage_daily
  select p_source_id, p_day, u.vm_key, sum(u.samples)::integer,
         sum(u.cpu_samples)::integer, sum(u.cpu_sum_mhz)::bigint,
         rollup_ratio(sum(u.cpu_sum_mhz), nullif(sum(u.cpu_samples), 0)), max(u.cpu_max_mhz),
         sum(u.guest_mem_samples)::integer, sum(u.guest_mem_sum_mib)::bigint,
         rollup_ratio(sum(u.guest_mem_sum_mib), nullif(sum(u.guest_mem_samples), 0)), max(u.guest_mem_max_mib),
         sum(u.host_mem_samples)::integer, sum(u.host_mem_sum_mib)::bigint,
         rollup_ratio(sum(u.host_mem_sum_mib), nullif(sum(u.host_mem_samples), 0)), max(u.host_mem_max_mib)
  from vm_usage_hourly u
  where u.source_id = p_source_id and u.hour >= t0 and u.hour < t1
  group by u.vm_key;
  get diagnostics written = row_count;

  insert into host_usage_daily
  select p_source_id, p_day, u.host_key, sum(u.samples)::integer,
         sum(u.cpu_samples)::integer, sum(u.cpu_sum_mhz),
         rollup_ratio(sum(u.cpu_sum_mhz), nullif(sum(u.cpu_samples), 0)), max(u.cpu_max_mhz),
         sum(u.mem_samples)::integer, sum(u.mem_sum_mib),
         rollup_ratio(sum(u.mem_sum_mib), nullif(sum(u.mem_samples), 0)), max(u.mem_max_mib)
  from host_usage_hourly u
  where u.source_id = p_source_id and u.hour >= t0 and u.hour < t1
  group by u.host_key;

  insert into datastore_usage_daily
  select p_source_id, p_day, u.datastore_key, sum(u.samples)::integer,
         sum(u.used_sum_gb), rollup_ratio(sum(u.used_sum_gb), nullif(sum(u.samples), 0)), max(u.used_max_gb),
         (array_agg(u.used_last_gb order by u.hour desc) filter (where u.used_last_gb is not null))[1],
         sum(u.free_sum_gb), rollup_ratio(sum(u.free_sum_gb), nullif(sum(u.samples), 0)), min(u.free_min_gb),
         (array_agg(u.free_last_gb order by u.hour desc) filter (where u.free_last_gb is not null))[1],
         (array_agg(u.capacity_last_gb order by u.hour desc) filter (where u.capacity_last_gb is not null))[1]
  from datastore_usage_hourly u
  where u.source_id = p_source_id and u.hour >= t0 and u.hour < t1
  group by u.datastore_key;
  return written;
end;
$$;
