-- The VM list as of a moment by name (server/inventory/list_vms.ts, asOfByName) walks the VMs
-- in the order of their current names and reads by their names then only those renamed
-- since: each source's renames after a time, from this index. Renames are rare, so ingest
-- seldom writes an entry.
create index vm_changes_renamed on vm_changes (source_id, at) where kind = 'renamed';
