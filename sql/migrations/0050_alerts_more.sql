-- Alerts (server/alerts/rules.ts): what the rules read fast.
--
-- snapshot_old reads the current configuration of the VMs that have snapshots only: without
-- this index it unpacks every VM's document (10,000 VMs: about half a second per evaluation),
-- with it the few that hold any.
create index vm_config_history_current_snapshots on vm_config_history (source_id, vm_key)
  where valid_to is null and config ? 'snapshots';
