-- The free space of each VM's guest file systems, per capture (capture contract v2 `usage`
-- .guestDisks: [{"path", "freeMib"}], as VMware Tools or the QEMU guest agent report it). It
-- moves at every capture, so it is a fact, not part of the configuration document in
-- vm_config_history (which keeps the file systems' paths and capacities). Nullable: no rewrite.
alter table vm_hourly_stats add column guest_disk_free jsonb;
