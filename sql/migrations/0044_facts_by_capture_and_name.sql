-- The VM list as of a moment, sorted by name (the default), reads each source's capture
-- then in name order and stops after a page (server/inventory/list_vms.ts): without this
-- index every such request read and sorted all of a capture's facts (10,000 VMs: ~30 ms of
-- a core each, 20 requests a second). New facts of a capture share its time, so they are
-- added at the index's right edge, like the primary key's.
create index vm_hourly_stats_capture_name on vm_hourly_stats (source_id, snapshot_time, lower(name), vm_key);
