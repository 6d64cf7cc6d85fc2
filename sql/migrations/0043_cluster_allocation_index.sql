-- A cluster's capacity and overcommit over time (server/sites/clusters.ts, getCluster): per
-- day, the vCPUs and memory of the cluster's powered-on VMs (templates apart) in that day's
-- last capture. The primary key finds a capture's facts by (source, time) but not by cluster,
-- so each point read every VM of the source in that capture and kept one cluster's: at
-- 100,000 VMs in 4 sources, 31 × 25,000 rows, ~1.1 s a cluster. With the cluster and the two
-- sums' inputs in the key, each point is an index-only range of the cluster's VMs (~40 ms
-- for 31 points of a 6,000-VM cluster). Partial: powered-off VMs and templates are never
-- summed. vCPU and memory are key columns, not INCLUDEd: VMs come in a few sizes, so
-- B-tree deduplication stores the VMs of one size in a cluster and capture as one entry
-- (19 MB for 2.9 M facts on the sites bench, 154 MB with INCLUDE). Like the primary key it
-- leads with (source, time), so a capture's rows are appended together at its right edge.
create index vm_hourly_stats_cluster_allocation on vm_hourly_stats
  (source_id, snapshot_time, cluster, vcpu, ram_mb)
  where power_state = 'poweredOn' and not is_template;
