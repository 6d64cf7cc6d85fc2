-- Drops the month partitions of vm_hourly_stats that end on or before `cutoff` (fact
-- retention). Rollups, lifecycle and totals are separate tables and are kept. Only
-- partitions named by vm_hourly_stats_ensure_partition (vm_hourly_stats_YYYY_MM) are
-- considered, so nothing attached by hand is ever dropped. Returns the dropped names.
create or replace function vm_hourly_stats_drop_partitions_before(cutoff timestamptz)
returns setof text
language plpgsql
as $$
declare
  part record;
begin
  for part in select partition_name from vm_hourly_stats_by_month() where month_end <= cutoff
  loop
    execute format('drop table %I', part.partition_name);
    return next part.partition_name;
  end loop;
end;
$$;
