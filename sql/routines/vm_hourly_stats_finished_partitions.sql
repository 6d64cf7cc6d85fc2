-- The fact partitions whose month ended at or before `p_before` and that were not compacted
-- yet (fact_partition_compactions), oldest first, with the bytes of their indexes.
create or replace function vm_hourly_stats_finished_partitions(p_before timestamptz)
returns table (partition_name text, index_bytes bigint)
language sql stable
as $$
  select c.relname::text, pg_indexes_size(c.oid)
  from pg_inherits i
  join pg_class c on c.oid = i.inhrelid
  join pg_class p on p.oid = i.inhparent
  where p.relname = 'vm_hourly_stats' and c.relname ~ '^vm_hourly_stats_[0-9]{4}_[0-9]{2}$'
    and (to_date(substr(c.relname, 17), 'YYYY_MM') + interval '1 month')::timestamp
      at time zone 'UTC' <= p_before
    and not exists (
      select from fact_partition_compactions k where k.partition_name = c.relname)
  order by c.relname
$$;
