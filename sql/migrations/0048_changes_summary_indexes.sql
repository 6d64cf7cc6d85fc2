-- The changes summary from indexes alone (issue 20).
--
-- Net growth from vm_changes without reading its documents:
-- what each row adds to the estate's size, computed once when the row is written (a resize:
-- after − before; a deletion a reappearance ended: − its last size; other kinds: null).
-- Summing these over a 30-day range reads a small partial index instead of extracting
-- numbers from ~500 pairs of jsonb documents per request. Ingest and vm_changes_rebuild()
-- write vm_changes as before: the columns follow from `before` and `after`.
alter table vm_changes
  add column vcpu_delta integer generated always as (
    case kind when 'resized' then (after->>'vcpu')::integer - (before->>'vcpu')::integer
              when 'deleted' then -(before->>'vcpu')::integer end) stored,
  add column ram_mb_delta integer generated always as (
    case kind when 'resized' then (after->>'memoryMib')::integer - (before->>'memoryMib')::integer
              when 'deleted' then -(before->>'memoryMib')::integer end) stored,
  add column disk_gb_delta numeric generated always as (
    case kind when 'resized' then (after->>'provisionedDiskGib')::numeric - (before->>'provisionedDiskGib')::numeric
              when 'deleted' then -(before->>'provisionedDiskGib')::numeric end) stored;

-- The rows that change the size, by time, with what they add (index-only sums).
create index vm_changes_sized on vm_changes (at, source_id) include (vcpu_delta, ram_mb_delta, disk_gb_delta)
  where kind in ('resized', 'deleted');

-- Creations and deletions in a range, counted and sized from the index alone: the list's
-- indexes (migration 0042) again, carrying the sizes at first and last sighting (migration
-- 0047; the creation index also the two times its key is computed from, which an index-only
-- scan needs). The sizes change only when a VM first seen or resized is staged again.
drop index vm_lifecycle_base_created;
create index vm_lifecycle_base_created on vm_lifecycle_base ((coalesce(created_at, first_seen_at)), source_id, vm_key)
  include (created_at, first_seen_at, first_vcpu, first_ram_mb, first_disk_gb);
drop index vm_lifecycle_base_deleted;
create index vm_lifecycle_base_deleted on vm_lifecycle_base (deleted_at, source_id, vm_key)
  include (last_vcpu, last_ram_mb, last_disk_gb) where deleted_at is not null;
