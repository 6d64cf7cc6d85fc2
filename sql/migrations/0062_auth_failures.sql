-- Failed authentications, shared by every server node (issue 23: rate limits hold across
-- nodes). server/auth/rate_limit.ts counts the rows of a key inside its window; a guesser
-- spreading attempts over several nodes behind a balancer meets the same limit as against one.
-- Keys are the client address or the address and a 16-hex fingerprint of the presented
-- credential, never the credential. Rows older than an hour are deleted as new ones arrive.
create table auth_failures (
  scope text not null check (scope in ('api', 'login')),
  key text not null,
  failed_at timestamptz not null default clock_timestamp()
);
create index auth_failures_key on auth_failures (scope, key, failed_at);
create index auth_failures_at on auth_failures (failed_at);
