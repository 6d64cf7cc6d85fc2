-- A cluster's allocation at each capture: the vCPUs and memory of its powered-on VMs
-- (templates apart), written by the ingest with the capture's totals (as source_totals), so
-- a cluster's capacity and overcommit over time (server/sites/clusters.ts) reads one row a
-- point. Read from the facts instead, each point read every VM of the source in that capture
-- (the primary key finds a capture's facts, not a cluster's): ~1.1 s a cluster at 100,000
-- VMs. An index on the facts by cluster would have made every ingest pay for each VM.
-- VMs without a cluster (standalone hosts) are summed under cluster ''.
create table cluster_allocation (
  source_id       integer     not null references sources (id),
  captured_at     timestamptz not null,
  cluster         text        not null,
  powered_on_vms  integer     not null,
  vcpu            bigint      not null,
  ram_mb          bigint      not null,
  primary key (source_id, cluster, captured_at)
);

-- Captures stored before this migration.
insert into cluster_allocation (source_id, captured_at, cluster, powered_on_vms, vcpu, ram_mb)
select source_id, snapshot_time, coalesce(cluster, ''), count(*), sum(vcpu), sum(ram_mb)
from vm_hourly_stats
where power_state = 'poweredOn' and not is_template
group by source_id, snapshot_time, coalesce(cluster, '');
