-- The vm_usage_hourly rows of one source over [p_t0, p_t1) (a local day): per VM and hour of
-- the day's hour grid, the count, exact sum, average (rollup_ratio) and maximum of each
-- usage column. Facts of templates and facts carrying no usage at all (v1 captures) are left
-- out. Used by aggregate_usage_hourly() and by the usage benchmark's floor
-- (server/aggregate/usage_floor.ts): a single-SELECT stable `language sql` function, so it is
-- inlined and both plan the same grouped scan. Rules: docs/aggregation.md, "Usage tiers";
-- the TypeScript twin is server/aggregate/usage_ts.ts.
create or replace function vm_usage_hourly_rows(p_source_id integer, p_t0 timestamptz, p_t1 timestamptz)
returns setof vm_usage_hourly
language sql
stable
as $$
  select p_source_id, date_bin('1 hour', f.snapshot_time, p_t0), f.vm_key,
         count(*)::integer,
         count(f.cpu_usage_mhz)::integer, coalesce(sum(f.cpu_usage_mhz), 0)::bigint,
         rollup_ratio(sum(f.cpu_usage_mhz), nullif(count(f.cpu_usage_mhz), 0)), max(f.cpu_usage_mhz),
         count(f.guest_memory_mib)::integer, coalesce(sum(f.guest_memory_mib), 0)::bigint,
         rollup_ratio(sum(f.guest_memory_mib), nullif(count(f.guest_memory_mib), 0)), max(f.guest_memory_mib),
         count(f.host_memory_mib)::integer, coalesce(sum(f.host_memory_mib), 0)::bigint,
         rollup_ratio(sum(f.host_memory_mib), nullif(count(f.host_memory_mib), 0)), max(f.host_memory_mib)
  from vm_hourly_stats f
  where f.source_id = p_source_id and f.snapshot_time >= p_t0 and f.snapshot_time < p_t1
    and not f.is_template
    and (f.cpu_usage_mhz is not null or f.guest_memory_mib is not null or f.host_memory_mib is not null)
  group by 2, f.vm_key
$$;
