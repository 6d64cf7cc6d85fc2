-- Aggregation outputs (daily and monthly, per VM and per source), benchmark runs and
-- admin aggregation requests. Every rollup table leads with source_id in its primary key
-- so it can be distributed by source (Citus) like the facts.
--
-- Exactness: counts and sums are integers (or numeric with the facts' scale 3); every
-- derived value is numeric with scale 6, computed once from exact sums by
-- rollup_ratio(p, q) = p/q rounded half up to 6 decimals. The TypeScript path reproduces
-- the same integer arithmetic with BigInt, so both paths agree to the last digit.

create table vm_daily_rollup (
  source_id           integer       not null,
  day                 date          not null,   -- a calendar day in the reporting time zone
  vm_key              text          not null,
  source_vm_id        text          not null,   -- as in the VM's last sample of the day
  name                text          not null,   -- as in the VM's last sample of the day
  total_samples       integer       not null,   -- captures of the source that day
  samples_present     integer       not null,   -- captures in which the VM appears
  powered_on_samples  integer       not null,
  day_seconds         integer       not null,   -- length of the local day (82,800 on a spring-forward day)
  sum_vcpu            bigint        not null,
  sum_ram_mb          bigint        not null,
  sum_disk_gb         numeric(20,3) not null,
  presence            numeric(9,6)  not null,
  avg_vcpu            numeric(14,6) not null,
  avg_ram_gb          numeric(16,6) not null,
  avg_disk_gb         numeric(20,6) not null,
  powered_on_ratio    numeric(9,6)  not null,
  powered_on_hours    numeric(12,6) not null,
  vcpu_hours          numeric(16,6) not null,
  ram_gb_hours        numeric(18,6) not null,
  disk_gb_hours       numeric(22,6) not null,
  pool_samples        jsonb         not null,   -- pool → samples in that pool
  pool_pct            jsonb         not null,   -- pool → percent of samples_present
  first_sample_at     timestamptz   not null,
  last_sample_at      timestamptz   not null,
  first_seen_at       timestamptz,              -- carried from vm_lifecycle
  last_seen_at        timestamptz,
  created_at          timestamptz,
  deleted_at          timestamptz,
  primary key (source_id, day, vm_key)
);

create table vm_monthly_rollup (
  source_id           integer       not null,
  month               date          not null,   -- first day of the month (reporting time zone)
  vm_key              text          not null,
  source_vm_id        text          not null,
  name                text          not null,
  total_samples       integer       not null,   -- captures of the source in the month's aggregated days
  samples_present     integer       not null,
  powered_on_samples  integer       not null,
  days_present        integer       not null,
  days_covered        integer       not null,   -- days of the month with a daily aggregation
  sum_vcpu            bigint        not null,
  sum_ram_mb          bigint        not null,
  sum_disk_gb         numeric(22,3) not null,
  presence            numeric(9,6)  not null,
  avg_vcpu            numeric(14,6) not null,
  avg_ram_gb          numeric(16,6) not null,
  avg_disk_gb         numeric(20,6) not null,
  powered_on_ratio    numeric(9,6)  not null,
  powered_on_hours    numeric(14,6) not null,
  vcpu_hours          numeric(18,6) not null,
  ram_gb_hours        numeric(20,6) not null,
  disk_gb_hours       numeric(24,6) not null,
  pool_samples        jsonb         not null,
  pool_pct            jsonb         not null,
  first_sample_at     timestamptz   not null,
  last_sample_at      timestamptz   not null,
  first_seen_at       timestamptz,
  last_seen_at        timestamptz,
  created_at          timestamptz,
  deleted_at          timestamptz,
  primary key (source_id, month, vm_key)
);

-- Per source and day: exact sums and the values derived from them.
create table source_daily_totals (
  source_id           integer       not null,
  day                 date          not null,
  total_samples       integer       not null,
  day_seconds         integer       not null,
  complete            boolean       not null,   -- every capture of the day was complete
  vm_count            integer       not null,   -- VMs seen that day
  samples_present     bigint        not null,
  powered_on_samples  bigint        not null,
  sum_vcpu            numeric(24,0) not null,
  sum_ram_mb          numeric(24,0) not null,
  sum_disk_gb         numeric(26,3) not null,
  avg_vm_count        numeric(16,6) not null,
  avg_powered_on      numeric(16,6) not null,
  avg_vcpu            numeric(18,6) not null,
  avg_ram_gb          numeric(20,6) not null,
  avg_disk_gb         numeric(24,6) not null,
  powered_on_hours    numeric(20,6) not null,
  vcpu_hours          numeric(22,6) not null,
  ram_gb_hours        numeric(24,6) not null,
  disk_gb_hours       numeric(28,6) not null,
  primary key (source_id, day)
);

create table source_monthly_totals (
  source_id           integer       not null,
  month               date          not null,
  total_samples       integer       not null,
  days_covered        integer       not null,
  complete            boolean       not null,   -- every day of the month covered, all complete
  vm_count            integer       not null,   -- distinct VMs seen in the month
  samples_present     bigint        not null,
  powered_on_samples  bigint        not null,
  sum_vcpu            numeric(26,0) not null,
  sum_ram_mb          numeric(26,0) not null,
  sum_disk_gb         numeric(28,3) not null,
  avg_vm_count        numeric(16,6) not null,
  avg_powered_on      numeric(16,6) not null,
  avg_vcpu            numeric(18,6) not null,
  avg_ram_gb          numeric(20,6) not null,
  avg_disk_gb         numeric(24,6) not null,
  powered_on_hours    numeric(22,6) not null,
  vcpu_hours          numeric(24,6) not null,
  ram_gb_hours        numeric(26,6) not null,
  disk_gb_hours       numeric(30,6) not null,
  primary key (source_id, month)
);

-- One row per timed run of one aggregation path; a benchmark is a group of runs.
create table benchmark_runs (
  id             bigint        generated always as identity primary key,
  run_group      uuid          not null,
  path           text          not null check (path in ('sql', 'ts', 'floor')),
  kind           text          not null check (kind in ('daily', 'monthly')),
  period         date          not null,
  source_id      integer       not null,
  rep            integer       not null,
  rows_in        bigint        not null,
  rows_out       integer       not null,
  duration_ms    numeric(12,3) not null,
  checksum       text          not null,       -- md5 of the period's output rows in key order
  parity         text          not null check (parity in ('match', 'mismatch')),  -- vs the sql path's checksum
  explain        text,                          -- EXPLAIN (ANALYZE, BUFFERS) of the sql path, first rep
  notes          jsonb         not null default '{}',
  created_at     timestamptz   not null default now()
);
create index benchmark_runs_group on benchmark_runs (run_group, path, rep);
create index benchmark_runs_created on benchmark_runs (created_at desc);

-- An admin's rerun/backfill request and the pg-boss jobs it enqueued.
create table aggregation_requests (
  id            uuid          primary key default gen_random_uuid(),
  kind          text          not null check (kind in ('daily', 'monthly')),
  engine        text          not null check (engine in ('sql', 'ts')),
  params        jsonb         not null,
  jobs          jsonb         not null,        -- [{id, queue, sourceId, period}]
  requested_by  integer,
  created_at    timestamptz   not null default now()
);
