-- Foundation: tokens and sessions, sources, captures, the canonical fact table and the
-- live inventory. Designed as the final shape; later migrations only add.

create extension if not exists pg_trgm;

-- API tokens: only a SHA-256 hash is stored; the value is shown once at creation.
create table api_tokens (
  id            integer generated always as identity primary key,
  name          text        not null,
  role          text        not null check (role in ('admin', 'viewer', 'agent', 'metrics')),
  token_hash    bytea       not null unique,
  prefix        text        not null,          -- first characters, to recognise a token in lists
  created_at    timestamptz not null default now(),
  expires_at    timestamptz,
  revoked_at    timestamptz,
  last_used_at  timestamptz
);

-- Page logins: a server-side session per login, keyed by the hash of the cookie value.
create table sessions (
  id_hash     bytea       primary key,
  token_id    integer     not null references api_tokens (id) on delete cascade,
  csrf_token  text        not null,
  created_at  timestamptz not null default now(),
  expires_at  timestamptz not null
);
create index sessions_expires_at on sessions (expires_at);

-- A site system (vCenter, Proxmox cluster, demo generator). `external_id` is the source's
-- own stable id; `owner_token_id` is the agent token allowed to post for it.
create table sources (
  id               integer generated always as identity primary key,
  kind             text        not null check (kind in ('vcenter', 'proxmox', 'demo')),
  external_id      text        not null,
  name             text        not null,
  endpoint         text,
  version          text,
  owner_token_id   integer     references api_tokens (id) on delete set null,
  created_at       timestamptz not null default now(),
  last_capture_at  timestamptz,
  unique (kind, external_id)
);

-- One row per received capture, keyed by the agent's capture id (idempotency).
create table captures (
  capture_id       uuid        primary key,
  source_id        integer     not null references sources (id),
  captured_at      timestamptz not null,
  received_at      timestamptz not null default now(),
  complete         boolean     not null,
  errors           jsonb       not null default '[]',
  vm_count         integer     not null,
  host_count       integer     not null default 0,
  datastore_count  integer     not null default 0,
  event_count      integer     not null default 0,
  token_id         integer     references api_tokens (id) on delete set null,
  schema_version   integer     not null,
  ingest_ms        integer,
  unique (source_id, captured_at)
);

-- The canonical facts: one row per VM per capture, partitioned by month.
-- Sizes are exact: integers, and disk GB as numeric(16,3), so both aggregation paths
-- (SQL and TypeScript) can reproduce each other to the last digit.
create table vm_hourly_stats (
  source_id            integer     not null,
  vm_key               text        not null,
  snapshot_time        timestamptz not null,
  capture_id           uuid        not null,
  source_vm_id         text        not null,
  name                 text        not null,
  power_state          text        not null,
  is_template          boolean     not null,
  vcpu                 integer     not null,
  ram_mb               integer     not null,
  provisioned_disk_gb  numeric(16, 3) not null,
  used_disk_gb         numeric(16, 3),
  datacenter           text,
  cluster              text,
  host                 text,
  resource_pool        text,
  folder               text,
  guest_os             text,
  primary key (source_id, vm_key, snapshot_time)
) partition by range (snapshot_time);

-- Latest state per live VM: what list pages and /api/v1/vms read.
create table vm_inventory (
  source_id            integer     not null references sources (id),
  vm_key               text        not null,
  source_vm_id         text        not null,
  bios_uuid            text,
  instance_uuid        text,
  name                 text        not null,
  power_state          text        not null,
  is_template          boolean     not null,
  vcpu                 integer     not null,
  ram_mb               integer     not null,
  provisioned_disk_gb  numeric(16, 3) not null,
  used_disk_gb         numeric(16, 3),
  datacenter           text,
  cluster              text,
  host                 text,
  resource_pool        text,
  folder               text,
  guest_os             text,
  ip_addresses         text[]      not null default '{}',
  tags                 text[]      not null default '{}',
  annotation           text,
  created_at           timestamptz,
  first_seen_at        timestamptz not null,
  last_seen_at         timestamptz not null,
  last_capture_id      uuid        not null,
  primary key (source_id, vm_key)
);
create index vm_inventory_name on vm_inventory (lower(name), source_id, vm_key);
