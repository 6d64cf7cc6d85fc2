-- The hourly usage tier of one source and local day in time zone `p_tz`: replaces the
-- day's rows of vm_usage_hourly (vm_usage_hourly_rows()), host_usage_hourly and
-- datastore_usage_hourly, each one grouped scan of the day's facts. Host usage and datastore
-- space enter as round(x::numeric, 3). Returns the number of VM rows written.
-- Rules: docs/aggregation.md, "Usage tiers"; the TypeScript twin is
-- server/aggregate/usage_ts.ts (usageHourlyTs).
create or replace function aggregate_usage_hourly(p_source_id integer, p_day date, p_tz text default 'UTC')
returns integer
language plpgsql
as $$
declare
  t0 timestamptz := p_day::timestamp at time zone p_tz;
  t1 timestamptz := (p_day + 1)::timestamp at time zone p_tz;
  written integer;
begin
  delete from vm_usage_hourly where source_id = p_source_id and hour >= t0 and hour < t1;
  delete from host_usage_hourly where source_id = p_source_id and hour >= t0 and hour < t1;
  delete from datastore_usage_hourly where source_id = p_source_id and hour >= t0 and hour < t1;

  insert into vm_usage_hourly select * from vm_usage_hourly_rows(p_source_id, t0, t1);
  get diagnostics written = row_count;

  insert into host_usage_hourly
  select p_source_id, date_bin('1 hour', h.snapshot_time, t0), h.host_key, count(*)::integer,
         count(h.cpu)::integer, coalesce(sum(h.cpu), 0), rollup_ratio(sum(h.cpu), nullif(count(h.cpu), 0)), max(h.cpu),
         count(h.mem)::integer, coalesce(sum(h.mem), 0), rollup_ratio(sum(h.mem), nullif(count(h.mem), 0)), max(h.mem)
  from (
    select snapshot_time, host_key,
           round(cpu_usage_mhz::numeric, 3) as cpu, round(memory_usage_mib::numeric, 3) as mem
    from host_facts
    where source_id = p_source_id and snapshot_time >= t0 and snapshot_time < t1
      and (cpu_usage_mhz is not null or memory_usage_mib is not null)
  ) h
  group by 2, h.host_key;

  -- "last" through one numbering of the day's facts (newest first per datastore and hour)
  -- rather than an ordered array_agg per group, which sorts every tiny group on its own.
  insert into datastore_usage_hourly
  select p_source_id, d.hour, d.datastore_key, count(*)::integer,
         sum(d.cap - d.free), rollup_ratio(sum(d.cap - d.free), count(*)), max(d.cap - d.free),
         min(d.cap - d.free) filter (where d.newest = 1),
         sum(d.free), rollup_ratio(sum(d.free), count(*)), min(d.free),
         min(d.free) filter (where d.newest = 1),
         min(d.cap) filter (where d.newest = 1)
  from (
    select date_bin('1 hour', snapshot_time, t0) as hour, datastore_key,
           round(capacity_gb::numeric, 3) as cap, round(free_gb::numeric, 3) as free,
           row_number() over (partition by datastore_key, date_bin('1 hour', snapshot_time, t0)
                              order by snapshot_time desc) as newest
    from datastore_facts
    where source_id = p_source_id and snapshot_time >= t0 and snapshot_time < t1
      and capacity_gb is not null and free_gb is not null
  ) d
  group by d.hour, d.datastore_key;
  return written;
end;
$$;
