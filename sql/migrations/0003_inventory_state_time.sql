-- The live inventory is rewritten only when a VM's state changes, not on every capture
-- (10,000 unchanged rows rewritten per capture dominated ingest time). Its time columns
-- therefore say when the current state was captured; when a VM was last seen is
-- vm_lifecycle.last_seen_at.
alter table vm_inventory rename column last_seen_at to state_at;
alter table vm_inventory rename column last_capture_id to state_capture_id;

-- vm_lifecycle.last_seen_at moves on every capture: leave room on each page so those
-- updates stay HOT (no index writes).
alter table vm_lifecycle set (fillfactor = 70);

-- Time-range reads of the facts go by partition and (source_id, snapshot_time); a BRIN
-- index serves fleet-wide time scans at a fraction of a B-tree's write cost per capture.
drop index vm_hourly_stats_time;
create index vm_hourly_stats_time_brin on vm_hourly_stats using brin (snapshot_time);
