-- Usage history in tiers (docs/aggregation.md, "Usage tiers"). The per-capture tier is the
-- facts themselves (vm_hourly_stats usage columns, host_facts, datastore_facts); these
-- tables hold the hourly and daily tiers, computed by two engines that agree to the last
-- digit (sql/routines/usage_*.sql and server/aggregate/usage_ts.ts).
--
-- Every metric keeps its exact count and sum next to the derived average, so a daily row
-- is computed from the day's hourly rows without loss, as the monthly rollup is from the
-- daily one. Inputs: VM usage in whole MHz / MiB (integers); host usage and datastore
-- space are double precision in the facts and enter as numeric rounded to 3 decimals
-- (round(x::numeric, 3)), the quantum both engines read. Averages are rollup_ratio(sum,
-- count) (scale 6); a metric without samples in the period has count 0 and null
-- average/max/min/last.
--
-- An hour is [h, h + 1 h) with h on the hour grid of the local day (date_bin('1 hour', t,
-- day start)): UTC hours for zones with whole-hour offsets, local hours in every zone.

create table vm_usage_hourly (
  source_id            integer       not null,
  hour                 timestamptz   not null,
  vm_key               text          not null,
  samples              integer       not null,   -- facts of the VM in the hour carrying any usage
  cpu_samples          integer       not null,
  cpu_sum_mhz          bigint        not null,
  cpu_avg_mhz          numeric(16,6),
  cpu_max_mhz          integer,
  guest_mem_samples    integer       not null,
  guest_mem_sum_mib    bigint        not null,
  guest_mem_avg_mib    numeric(16,6),
  guest_mem_max_mib    integer,
  host_mem_samples     integer       not null,
  host_mem_sum_mib     bigint        not null,
  host_mem_avg_mib     numeric(16,6),
  host_mem_max_mib     integer,
  primary key (source_id, hour, vm_key)
);

create table vm_usage_daily (
  source_id            integer       not null,
  day                  date          not null,   -- a calendar day in the reporting time zone
  vm_key               text          not null,
  samples              integer       not null,
  cpu_samples          integer       not null,
  cpu_sum_mhz          bigint        not null,
  cpu_avg_mhz          numeric(16,6),
  cpu_max_mhz          integer,
  guest_mem_samples    integer       not null,
  guest_mem_sum_mib    bigint        not null,
  guest_mem_avg_mib    numeric(16,6),
  guest_mem_max_mib    integer,
  host_mem_samples     integer       not null,
  host_mem_sum_mib     bigint        not null,
  host_mem_avg_mib     numeric(16,6),
  host_mem_max_mib     integer,
  primary key (source_id, day, vm_key)
);
-- A VM's history across days (the VM page's usage chart).
create index vm_usage_daily_vm on vm_usage_daily (source_id, vm_key, day);

create table host_usage_hourly (
  source_id            integer       not null,
  hour                 timestamptz   not null,
  host_key             text          not null,
  samples              integer       not null,
  cpu_samples          integer       not null,
  cpu_sum_mhz          numeric(22,3) not null,
  cpu_avg_mhz          numeric(18,6),
  cpu_max_mhz          numeric(16,3),
  mem_samples          integer       not null,
  mem_sum_mib          numeric(22,3) not null,
  mem_avg_mib          numeric(18,6),
  mem_max_mib          numeric(16,3),
  primary key (source_id, hour, host_key)
);

create table host_usage_daily (
  source_id            integer       not null,
  day                  date          not null,
  host_key             text          not null,
  samples              integer       not null,
  cpu_samples          integer       not null,
  cpu_sum_mhz          numeric(22,3) not null,
  cpu_avg_mhz          numeric(18,6),
  cpu_max_mhz          numeric(16,3),
  mem_samples          integer       not null,
  mem_sum_mib          numeric(22,3) not null,
  mem_avg_mib          numeric(18,6),
  mem_max_mib          numeric(16,3),
  primary key (source_id, day, host_key)
);
create index host_usage_daily_host on host_usage_daily (source_id, host_key, day);

-- Datastore space in GB as the facts hold it; used = capacity - free, both rounded first.
-- Samples are the facts with both capacity and free known.
create table datastore_usage_hourly (
  source_id            integer       not null,
  hour                 timestamptz   not null,
  datastore_key        text          not null,
  samples              integer       not null,
  used_sum_gb          numeric(24,3) not null,
  used_avg_gb          numeric(20,6),
  used_max_gb          numeric(18,3),
  used_last_gb         numeric(18,3),
  free_sum_gb          numeric(24,3) not null,
  free_avg_gb          numeric(20,6),
  free_min_gb          numeric(18,3),
  free_last_gb         numeric(18,3),
  capacity_last_gb     numeric(18,3),
  primary key (source_id, hour, datastore_key)
);

create table datastore_usage_daily (
  source_id            integer       not null,
  day                  date          not null,
  datastore_key        text          not null,
  samples              integer       not null,
  used_sum_gb          numeric(24,3) not null,
  used_avg_gb          numeric(20,6),
  used_max_gb          numeric(18,3),
  used_last_gb         numeric(18,3),
  free_sum_gb          numeric(24,3) not null,
  free_avg_gb          numeric(20,6),
  free_min_gb          numeric(18,3),
  free_last_gb         numeric(18,3),
  capacity_last_gb     numeric(18,3),
  primary key (source_id, day, datastore_key)
);
create index datastore_usage_daily_ds on datastore_usage_daily (source_id, datastore_key, day);

-- The days whose tiers were computed, and whether their per-capture usage has been pruned
-- since (maintenance clears the usage columns of facts older than the raw retention, only
-- for days listed here, so no usage is dropped before its hourly and daily rows exist; a
-- day whose raw usage is gone is not recomputed, which would empty its tiers).
create table usage_tier_days (
  source_id       integer      not null,
  day             date         not null,
  period_start    timestamptz  not null,
  period_end      timestamptz  not null,
  engine          text         not null check (engine in ('sql', 'ts')),
  computed_at     timestamptz  not null default now(),
  raw_pruned_at   timestamptz,
  primary key (source_id, day)
);
create index usage_tier_days_unpruned on usage_tier_days (period_end) where raw_pruned_at is null;

-- The benchmark job and page time the usage tiers too (kind 'usage': one day's hourly tier).
alter table benchmark_runs drop constraint benchmark_runs_kind_check;
alter table benchmark_runs add constraint benchmark_runs_kind_check check (kind in ('daily', 'monthly', 'usage'));
alter table benchmark_requests drop constraint benchmark_requests_kind_check;
alter table benchmark_requests add constraint benchmark_requests_kind_check check (kind in ('daily', 'monthly', 'usage'));
