-- The fact partitions whose month ended at or before `p_before` and that were not compacted
-- yet (fact_partition_compactions), oldest first, with the bytes of their indexes.
create or replace function vm_hourly_stats_finished_partitions(p_before timestamptz)
returns table (partition_name text, index_bytes bigint)
language sql stable
as $$
  select m.partition_name, pg_indexes_size(m.partition_name::regclass)
  from vm_hourly_stats_by_month() m
  where m.month_end <= p_before
    and not exists (
      select from fact_partition_compactions k where k.partition_name = m.partition_name)
  order by m.partition_name
$$;
