-- Chargeback (issue 22, part A): tiers, tier mapping rules, rate cards with effective-dated
-- versions, and monthly cost lines per VM computed by both engines from vm_daily_rollup.
-- Rules, rounding and policy: docs/chargeback.md.
--
-- Money is exact: prices are numeric(18,6); quantities carry the rollups' 6 decimals (or 12
-- after a product); a cost line's components are rounded once, half up, to 2 decimals
-- (the currency's minor unit), and a line's total is the sum of its rounded components.

-- Service tiers. "unassigned" is built in: VMs whose pool matches no rule land there and
-- are priced at the version's base prices (unless the version prices "unassigned" itself).
create table cost_tiers (
  name        text        primary key check (name ~ '^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$'),
  position    integer     not null default 0,
  created_at  timestamptz not null default now()
);
insert into cost_tiers (name, position) values ('unassigned', 1000000);

-- Ordered tier mapping rules on a VM's resource pool (vCenter resource pool, Proxmox pool):
-- the first rule (lowest position) that matches wins. `regex` patterns are checked by both
-- PostgreSQL and JavaScript when saved (both engines evaluate them).
create table tier_rules (
  id          bigint      generated always as identity primary key,
  position    integer     not null unique,
  match       text        not null check (match in ('exact', 'prefix', 'regex')),
  pattern     text        not null check (length(pattern) between 1 and 200),
  tier        text        not null references cost_tiers (name) on update cascade,
  created_at  timestamptz not null default now()
);

-- Rate cards; the default card is the one costing uses.
create table rate_cards (
  id          bigint      generated always as identity primary key,
  name        text        not null unique check (length(name) between 1 and 80),
  currency    text        not null check (currency ~ '^[A-Z]{3}$'),
  is_default  boolean     not null default false,
  created_at  timestamptz not null default now()
);
create unique index rate_cards_one_default on rate_cards (is_default) where is_default;

-- A version applies from effective_from to the next version's effective_from (exclusive);
-- two versions of a card never start on the same day, so they never overlap.
create table rate_card_versions (
  id                  bigint        generated always as identity primary key,
  card_id             bigint        not null references rate_cards (id) on delete cascade,
  effective_from      date          not null,
  vcpu_hour           numeric(18,6) not null check (vcpu_hour >= 0),
  ram_gb_hour         numeric(18,6) not null check (ram_gb_hour >= 0),
  disk_gb_month       numeric(18,6) not null check (disk_gb_month >= 0),
  used_disk_gb_month  numeric(18,6) check (used_disk_gb_month >= 0),  -- stored, not yet applied (rollups carry no used disk)
  vm_month            numeric(18,6) not null check (vm_month >= 0),
  created_at          timestamptz   not null default now(),
  constraint rate_card_versions_no_overlap unique (card_id, effective_from)
);

-- Per-tier prices of a version: a multiplier of the base prices, or a price of its own per
-- component (a component's own price wins over the multiplier). A tier without a row pays
-- the base prices.
create table rate_card_tier_prices (
  version_id     bigint        not null references rate_card_versions (id) on delete cascade,
  tier           text          not null references cost_tiers (name) on update cascade,
  multiplier     numeric(12,6) not null default 1 check (multiplier >= 0),
  vcpu_hour      numeric(18,6) check (vcpu_hour >= 0),
  ram_gb_hour    numeric(18,6) check (ram_gb_hour >= 0),
  disk_gb_month  numeric(18,6) check (disk_gb_month >= 0),
  vm_month       numeric(18,6) check (vm_month >= 0),
  primary key (version_id, tier)
);

-- One costing of one source and month by one engine. Rerunning a month supersedes the
-- current run (superseded_at) and keeps its lines as history.
create table cost_runs (
  id             bigint        generated always as identity primary key,
  source_id      integer       not null,
  month          date          not null,
  engine         text          not null check (engine in ('sql', 'ts')),
  card_id        bigint        not null references rate_cards (id),
  currency       text          not null,
  line_count     integer       not null default 0,
  total          numeric(20,2) not null default 0,
  created_at     timestamptz   not null default now(),
  superseded_at  timestamptz
);
create unique index cost_runs_current on cost_runs (source_id, month) where superseded_at is null;
create index cost_runs_month on cost_runs (month, source_id, created_at desc);

-- A VM's cost in one run, one line per (tier, rate-card version) it was priced at that
-- month (a VM moved between tiers, or a month with a rate change, has several lines).
create table vm_cost_lines (
  run_id        bigint        not null references cost_runs (id) on delete cascade,
  vm_key        text          not null,
  tier          text          not null,   -- as mapped when the run was made (no FK: history)
  version_id    bigint        not null references rate_card_versions (id),
  days          integer       not null,   -- daily rollups priced in this line
  present_days  numeric(12,6) not null,   -- Σ presence (a day present 11 of 23 samples counts 11/23)
  vcpu_hours    numeric(24,12) not null,  -- Σ vcpu_hours × powered_on_ratio (powered-on vCPU-hours)
  ram_gb_hours  numeric(26,12) not null,  -- Σ ram_gb_hours × powered_on_ratio
  disk_gb_days  numeric(24,6) not null,   -- Σ avg_disk_gb (GB-days of provisioned disk)
  vcpu_cost     numeric(16,2) not null,
  ram_cost      numeric(16,2) not null,
  disk_cost     numeric(16,2) not null,
  vm_cost       numeric(16,2) not null,   -- the flat VM-month fee, prorated by presence
  total         numeric(16,2) not null,
  primary key (run_id, vm_key, tier, version_id)
);

-- The benchmark times costing too (SQL vs TypeScript vs a bare GROUP BY floor).
alter table benchmark_runs drop constraint benchmark_runs_kind_check;
alter table benchmark_runs add constraint benchmark_runs_kind_check
  check (kind in ('daily', 'monthly', 'usage', 'costs'));
alter table benchmark_requests drop constraint benchmark_requests_kind_check;
alter table benchmark_requests add constraint benchmark_requests_kind_check
  check (kind in ('daily', 'monthly', 'usage', 'costs'));
