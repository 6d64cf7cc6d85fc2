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
  month_end timestamptz;
begin
  for part in
    select c.relname
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_class p on p.oid = i.inhparent
    where p.relname = 'vm_hourly_stats' and c.relname ~ '^vm_hourly_stats_[0-9]{4}_[0-9]{2}$'
    order by c.relname
  loop
    month_end := (to_date(substr(part.relname, 17), 'YYYY_MM') + interval '1 month')::timestamp at time zone 'UTC';
    if month_end <= cutoff then
      execute format('drop table %I', part.relname);
      return next part.relname;
    end if;
  end loop;
end;
$$;
