-- Facts keyed (source, time, VM) instead of (source, VM, time).
--
-- Every capture adds one row per VM at a new time. Keyed by VM first, those rows land all
-- over the key index (one leaf page per VM), which made a 10,000-VM COPY into a month's
-- partition ~40% slower than into an empty table; keyed by time first they are appended at
-- its right edge. The key still finds any (source, VM, time) row, and the (source, time)
-- index it supersedes goes. A VM's facts over a period are read with one probe per
-- capture time (server/queries/vm_detail.ts).
alter table vm_hourly_stats drop constraint vm_hourly_stats_pkey;
alter table vm_hourly_stats add primary key (source_id, snapshot_time, vm_key);
drop index vm_hourly_stats_source_time;

-- Indexes that lead with source_id alone let the planner, when its statistics say a source
-- has a row or two (a new source, before autovacuum's next ANALYZE), "probe" a source's
-- rows by key with a per-source scan: quadratic for a 10,000-VM capture (~2.7 s for one
-- statement, measured). The primary key already serves per-source reads; the live
-- lifecycle index keeps the key so it serves key probes too.
drop index vm_inventory_source;
drop index vm_lifecycle_live;
create index vm_lifecycle_live on vm_lifecycle_base (source_id, vm_key) where deleted_at is null;
