-- A deleted VM's row carries when it was last seen, when it was deleted and how that was known
-- (issue 20): the deleted list (server/inventory/list_vms.ts, state=deleted) reads them here
-- instead of probing vm_lifecycle for each row of its page (50 lookups a page, whose cost grew
-- with the history). vm_lifecycle_base stays the record; ingest_apply_capture writes these
-- copies wherever it writes a deleted row or changes what they copy (deletion by absence or by
-- event, a late capture, a deletion event's refinement), and a VM seen again leaves the table.
-- A deleted VM is never in its source's newest capture, so its stored last_seen_at is the
-- effective one (vm_lifecycle's).
alter table vm_inventory_deleted
  add column last_seen_at timestamptz,
  add column deleted_at timestamptz,
  add column deleted_from text check (deleted_from in ('event', 'absence'));

-- Rows the list could not show as deleted (no lifecycle, or the lifecycle says the VM is live
-- again: the ingest removes those as it notices them) are not kept.
delete from vm_inventory_deleted d
where not exists (
  select from vm_lifecycle_base l
  where l.source_id = d.source_id and l.vm_key = d.vm_key and l.deleted_at is not null);

update vm_inventory_deleted d set last_seen_at = l.last_seen_at, deleted_at = l.deleted_at,
  deleted_from = l.deleted_from
from vm_lifecycle l
where l.source_id = d.source_id and l.vm_key = d.vm_key;

alter table vm_inventory_deleted
  alter column last_seen_at set not null,
  alter column deleted_at set not null,
  alter column deleted_from set not null;
