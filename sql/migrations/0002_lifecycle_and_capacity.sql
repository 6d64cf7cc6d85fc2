-- Ingest's full record: VM lifecycle, lifecycle events, per-capture source totals, the
-- snapshot registry, hosts and datastores (latest state + per-capture facts), agents and
-- their heartbeats, and "capture now" requests.

-- Per VM identity: when it was first/last seen, created (from the source or its events,
-- never invented) and deleted (from an event, or from absence in a later complete capture).
create table vm_lifecycle (
  source_id            integer     not null references sources (id),
  vm_key               text        not null,
  source_vm_id         text        not null,
  name                 text        not null,
  first_seen_at        timestamptz not null,
  last_seen_at         timestamptz not null,
  created_at           timestamptz,
  created_from         text        check (created_from in ('source', 'event')),
  deleted_at           timestamptz,
  deleted_from         text        check (deleted_from in ('event', 'absence')),
  -- The complete capture whose absence of the VM marked it deleted.
  deletion_capture_id  uuid,
  reappeared_count     integer     not null default 0,
  last_reappeared_at   timestamptz,
  primary key (source_id, vm_key)
);
create index vm_lifecycle_live on vm_lifecycle (source_id) where deleted_at is null;

-- Lifecycle events as the sources reported them.
create table vm_events (
  source_id     integer     not null references sources (id),
  at            timestamptz not null,
  type          text        not null check (type in ('created', 'deleted', 'reappeared')),
  vm_key        text,
  source_vm_id  text,
  vm_name       text,
  detail        text,
  capture_id    uuid        not null,
  unique nulls not distinct (source_id, type, vm_key, source_vm_id, at)
);
create index vm_events_key on vm_events (source_id, vm_key, at);

-- Totals per source and capture (templates excluded from sizing).
create table source_totals (
  source_id            integer     not null references sources (id),
  captured_at          timestamptz not null,
  capture_id           uuid        not null,
  complete             boolean     not null,
  vm_count             integer     not null,
  powered_on_count     integer     not null,
  template_count       integer     not null,
  vcpu                 bigint      not null,
  ram_mb               bigint      not null,
  provisioned_disk_gb  numeric(18, 3) not null,
  primary key (source_id, captured_at)
);
create index source_totals_time on source_totals (captured_at);

-- Every stored snapshot: captures and (later) rollups, with row counts.
create table snapshot_registry (
  kind          text        not null check (kind in ('capture', 'daily', 'monthly')),
  source_id     integer     not null references sources (id),
  period_start  timestamptz not null,
  period_end    timestamptz not null,
  row_count     integer     not null,
  capture_id    uuid,
  complete      boolean     not null default true,
  created_at    timestamptz not null default now(),
  primary key (kind, source_id, period_start)
);

create table host_inventory (
  source_id         integer     not null references sources (id),
  host_key          text        not null,
  name              text        not null,
  datacenter        text,
  cluster           text,
  connection_state  text,
  power_state       text,
  cpu_cores         integer,
  cpu_mhz           double precision,
  memory_mb         double precision,
  version           text,
  last_seen_at      timestamptz not null,
  primary key (source_id, host_key)
);

create table host_facts (
  source_id         integer     not null,
  host_key          text        not null,
  snapshot_time     timestamptz not null,
  connection_state  text,
  power_state       text,
  cpu_cores         integer,
  cpu_mhz           double precision,
  memory_mb         double precision,
  primary key (source_id, host_key, snapshot_time)
);

create table datastore_inventory (
  source_id      integer     not null references sources (id),
  datastore_key  text        not null,
  name           text        not null,
  type           text,
  capacity_gb    double precision,
  free_gb        double precision,
  accessible     boolean,
  last_seen_at   timestamptz not null,
  primary key (source_id, datastore_key)
);

create table datastore_facts (
  source_id      integer     not null,
  datastore_key  text        not null,
  snapshot_time  timestamptz not null,
  capacity_gb    double precision,
  free_gb        double precision,
  accessible     boolean,
  primary key (source_id, datastore_key, snapshot_time)
);

-- Agents as they report themselves in heartbeats (one per agent token).
create table agents (
  token_id           integer     primary key references api_tokens (id) on delete cascade,
  version            text,
  hostname           text,
  first_seen_at      timestamptz not null default now(),
  last_heartbeat_at  timestamptz not null,
  spool              jsonb       not null default '{}',
  delivery           jsonb       not null default '{}'
);

-- Poll health of each source as its agent last reported it.
create table source_health (
  source_id    integer     primary key references sources (id),
  token_id     integer     references api_tokens (id) on delete set null,
  health       jsonb       not null,
  reported_at  timestamptz not null
);

-- An admin's "capture now": pending until the agent's next heartbeat picks it up.
create table capture_requests (
  id            integer     generated always as identity primary key,
  source_id     integer     not null references sources (id),
  requested_by  integer     references api_tokens (id) on delete set null,
  requested_at  timestamptz not null default now(),
  picked_up_at  timestamptz
);
create index capture_requests_pending on capture_requests (source_id) where picked_up_at is null;

-- Read paths of the fact table and the VM list.
create index vm_hourly_stats_time on vm_hourly_stats (snapshot_time);
create index vm_hourly_stats_source_time on vm_hourly_stats (source_id, snapshot_time);
create index vm_inventory_name_trgm on vm_inventory using gin (name gin_trgm_ops);
create index vm_inventory_source on vm_inventory (source_id, power_state);
create index captures_source_time on captures (source_id, captured_at);
