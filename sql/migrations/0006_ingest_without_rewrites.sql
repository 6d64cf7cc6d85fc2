-- Ingest without rewriting every VM on every capture.
--
-- A VM's last-seen time used to be rewritten for every VM of a source on every capture,
-- and the live inventory was diffed column by column in SQL: together about half of an
-- ingest. Now:
--
--  * vm_lifecycle_base.in_newest_capture says "this VM was in its source's newest
--    capture", so its last-seen time is that capture's time (sources.last_capture_at)
--    and need not be stored again each hour. last_seen_at is exact only when the flag is
--    false; ingest writes it when a VM drops out of the newest capture. The view
--    vm_lifecycle gives every reader the effective value under the old name and shape.
--  * vm_inventory.state_hash is a 53-bit hash of the captured fields a row was written
--    from (computed by server/ingest/vm_lines.ts), so ingest can tell unchanged VMs
--    without staging them.

alter table vm_lifecycle rename to vm_lifecycle_base;
alter table vm_lifecycle_base add column in_newest_capture boolean not null default false;

-- Live VMs whose stored last-seen time is final: the ones a capture left out. Small,
-- and what the reconcile step looks for.
create index vm_lifecycle_base_left_out on vm_lifecycle_base (source_id)
  where deleted_at is null and not in_newest_capture;

-- VMs deleted for their absence, whose time a late deletion event may still refine.
create index vm_lifecycle_base_absent on vm_lifecycle_base (source_id) where deleted_from = 'absence';

create view vm_lifecycle as
select l.source_id, l.vm_key, l.source_vm_id, l.name, l.first_seen_at,
       case when l.in_newest_capture then s.last_capture_at else l.last_seen_at end as last_seen_at,
       l.created_at, l.created_from, l.deleted_at, l.deleted_from, l.deletion_capture_id,
       l.reappeared_count, l.last_reappeared_at
from vm_lifecycle_base l
join sources s on s.id = l.source_id;

alter table vm_inventory add column state_hash bigint;

-- The routine's signature changes (totals and the left-out VMs come from the caller).
drop function if exists ingest_apply_capture(integer, uuid, timestamptz, boolean, jsonb, jsonb, jsonb);
