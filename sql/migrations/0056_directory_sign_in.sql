-- Sign-in with the directory (issue 25; docs/sign-in.md): LDAP and OpenID Connect people,
-- session timeouts, the session list, and the break-glass admin token.
--
-- A person who signs in through LDAP or OIDC is a principal row in api_tokens (kind 'ldap' or
-- 'oidc', `subject` their DN or issuer + sub). Every actor reference (audit_log.actor_id,
-- reports.requested_by, capture_requests.requested_by, …) already points at api_tokens, so a
-- directory person acts, is audited and is revoked exactly like a token. Their token_hash is the
-- hash of a random value that is never kept: no one can present it. Their role is set again
-- from their groups at each sign-in.
alter table api_tokens add column kind text not null default 'token'
  check (kind in ('token', 'ldap', 'oidc'));
alter table api_tokens add column subject text;
alter table api_tokens add constraint api_tokens_subject check ((kind = 'token') = (subject is null));
create unique index api_tokens_kind_subject on api_tokens (kind, subject) where subject is not null;

-- The local admin token (VMLEDGER_ADMIN_TOKEN or the first start's) is the break-glass
-- account: its page sign-ins are audited as such.
alter table api_tokens add column break_glass boolean not null default false;
update api_tokens set break_glass = true
  where name in ('admin (VMLEDGER_ADMIN_TOKEN)', 'admin (first start)');

-- Sessions: a public number for the session list (never the cookie), how the person signed
-- in, from where, and when it was last used: it ends idle_seconds after that (the idle
-- timeout; last_seen_at is written at most once a minute). expires_at stays the absolute timeout.
alter table sessions add column sid bigint generated always as identity;
create unique index sessions_sid on sessions (sid);
alter table sessions add column method text not null default 'token'
  check (method in ('token', 'ldap', 'oidc'));
alter table sessions add column ip text;
alter table sessions add column last_seen_at timestamptz not null default now();
alter table sessions add column idle_seconds integer check (idle_seconds > 0);  -- null: no idle timeout
create index sessions_token_id on sessions (token_id);

-- OpenID Connect logins under way: the state (hashed), nonce and PKCE verifier of one
-- redirect to the provider. A callback consumes its row, so a replayed callback (same state,
-- same nonce) finds nothing.
create table oidc_logins (
  state_hash     bytea       primary key,
  nonce          text        not null,
  code_verifier  text        not null,
  next_path      text        not null default '/',
  created_at     timestamptz not null default now(),
  expires_at     timestamptz not null
);
