-- Changes between two dates without reading the facts (issue 20). The summary's net growth
-- and the list's created and deleted rows size a VM by its facts at its first sighting
-- (created) and at its last (deleted): two lookups into the partitioned facts per VM created
-- or deleted in the range, most of a request's cost. vm_lifecycle_base now keeps those
-- sizes itself, written by ingest (sql/routines/ingest_apply_capture.sql, step 3) with the
-- row it already writes for every staged VM:
--
--  * first_*: the VM's size at first_seen_at (set when the row is made; a late capture
--    before the first sighting replaces it, as it replaces first_seen_at);
--  * last_*: its size at its newest observation, which is the fact at last_seen_at once the
--    VM has left the newest capture (the only VMs that can be deleted). Follows the same
--    rule as `name`: a staged observation at or after the VM's last sighting replaces it.
--
-- Null only where the facts were missing (as the join gave before).
alter table vm_lifecycle_base
  add column first_vcpu integer,
  add column first_ram_mb integer,
  add column first_disk_gb numeric(16, 3),
  add column last_vcpu integer,
  add column last_ram_mb integer,
  add column last_disk_gb numeric(16, 3);

-- Recomputes a source's sizes from the facts (this migration's backfill, and the changes
-- benchmark after it seeds vm_lifecycle_base directly). The last sighting is the effective
-- one: the source's newest capture for a VM still in it.
create function vm_lifecycle_sizes_rebuild(p_source_id integer) returns integer
language plpgsql as $$
declare
  v_rows integer;
begin
  update vm_lifecycle_base l set
    first_vcpu = ff.vcpu, first_ram_mb = ff.ram_mb, first_disk_gb = ff.provisioned_disk_gb,
    last_vcpu = lf.vcpu, last_ram_mb = lf.ram_mb, last_disk_gb = lf.provisioned_disk_gb
  from vm_lifecycle_base x
  join sources s on s.id = x.source_id
  left join vm_hourly_stats ff on ff.source_id = x.source_id and ff.snapshot_time = x.first_seen_at
    and ff.vm_key = x.vm_key
  left join vm_hourly_stats lf on lf.source_id = x.source_id and lf.vm_key = x.vm_key
    and lf.snapshot_time = case when x.in_newest_capture then s.last_capture_at else x.last_seen_at end
  where l.source_id = p_source_id and x.source_id = p_source_id and x.vm_key = l.vm_key;
  get diagnostics v_rows = row_count;
  return v_rows;
end;
$$;

select vm_lifecycle_sizes_rebuild(id) from sources;
