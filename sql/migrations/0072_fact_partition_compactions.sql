-- Fact partitions whose month is over, rebuilt once by the maintenance job (REINDEX
-- CONCURRENTLY, server/maintenance/compact_partitions.ts). A partition is written in capture
-- order, each capture's keys inside its source's range: its primary key's pages split and
-- stay part full (69 % through the ingest; rebuilt, 90 %), and every read of history probes
-- it. A month that is over is (almost) never written again.
create table fact_partition_compactions (
  partition_name text primary key,
  compacted_at timestamptz not null default now(),
  index_bytes_before bigint not null,
  index_bytes_after bigint not null
);
