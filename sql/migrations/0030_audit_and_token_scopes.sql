-- Audit log of admin actions and authentication failures, and source scopes for agent
-- tokens (an agent token may be created for named sources before they ever post).

create table audit_log (
  id          bigint      generated always as identity primary key,
  at          timestamptz not null default now(),
  actor_id    integer     references api_tokens (id) on delete set null,
  actor_name  text,
  action      text        not null,   -- e.g. token.create, token.revoke, auth.failure, capture.request
  target      text,
  ip          text,
  detail      jsonb       not null default '{}'
);
create index audit_log_at on audit_log (at desc);

-- Source ids ("kind:external id") an agent token may post for; null: any source it registers first.
alter table api_tokens add column allowed_sources text[];
alter table api_tokens add column created_by integer references api_tokens (id) on delete set null;
