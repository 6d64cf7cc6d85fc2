-- Generated reports (XLSX workbooks and zips of CSV files), stored in PostgreSQL so any
-- server node can serve any report. The bytes live in report_chunks: the generator writes
-- ~1 MiB rows as it streams, and a download reads them back one row per query, so neither
-- side ever holds a whole file in memory.

create table reports (
  id            uuid        primary key default gen_random_uuid(),
  kind          text        not null check (kind in ('daily', 'monthly', 'inventory')),
  -- YYYY-MM-DD (daily), YYYY-MM (monthly), the as-of instant (inventory, ISO 8601 UTC)
  period        text        not null,
  format        text        not null check (format in ('xlsx', 'csv')),
  status        text        not null default 'queued' check (status in ('queued', 'running', 'ready', 'failed')),
  -- 'schedule': made by the report job (one per kind/period/format is kept); 'request': by an admin
  origin        text        not null default 'request' check (origin in ('request', 'schedule')),
  file_name     text        not null,
  content_type  text        not null,
  size_bytes    bigint,
  chunk_count   integer,
  sha256        text,
  -- rows of the main table (per-VM rollups, or vInfo)
  row_count     integer,
  requested_by  integer     references api_tokens (id) on delete set null,
  created_at    timestamptz not null default now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  expires_at    timestamptz not null,
  error         text
);
create index reports_listing on reports (created_at desc, id desc);
create index reports_expires on reports (expires_at);
create index reports_period on reports (kind, period, format, origin);

create table report_chunks (
  report_id  uuid    not null references reports (id) on delete cascade,
  seq        integer not null,
  data       bytea   not null,
  primary key (report_id, seq)
);
-- XLSX and zip are already deflated: TOAST compression would only burn CPU.
alter table report_chunks alter column data set storage external;

-- Retention: deletes reports past expires_at (their chunks go with them) and fails
-- generations that can no longer finish (a node stopped mid-run), dropping their partial
-- chunks. Returns how many of each.
create function reports_cleanup(p_now timestamptz default now(), p_stale interval default interval '6 hours')
returns table (expired integer, abandoned integer)
language plpgsql
as $$
declare
  n_expired integer;
  n_abandoned integer;
begin
  delete from reports where expires_at <= p_now;
  get diagnostics n_expired = row_count;

  with stale as (
    update reports
       set status = 'failed', finished_at = p_now,
           error = 'generation did not finish (the node running it stopped?)'
     where (status = 'running' and started_at < p_now - p_stale)
        or (status = 'queued' and created_at < p_now - 4 * p_stale)
    returning id
  )
  select count(*)::integer into n_abandoned from stale;
  delete from report_chunks c using reports r
   where c.report_id = r.id and r.status = 'failed';
  return query select n_expired, n_abandoned;
end;
$$;
