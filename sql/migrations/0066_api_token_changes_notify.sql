-- Token checks are cached per server node for a few seconds (server/auth/tokens.ts
-- TokenCache, issue 20). A change that can take a token away or change what it may do
-- (revoked, expired, role, scope, bound sources, name, value) or its deletion notifies
-- `vmledger_api_tokens` with the token's id at commit; every node listens and forgets it.
-- last_used_at (touched once a minute per token in use) does not notify.
create function api_tokens_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('vmledger_api_tokens', old.id::text);
  return null;
end
$$;

create trigger api_tokens_changed after update on api_tokens for each row
  when ((old.token_hash, old.kind, old.role, old.name, old.scope, old.allowed_sources,
         old.break_glass, old.revoked_at, old.expires_at)
        is distinct from
        (new.token_hash, new.kind, new.role, new.name, new.scope, new.allowed_sources,
         new.break_glass, new.revoked_at, new.expires_at))
  execute function api_tokens_notify();

create trigger api_tokens_deleted after delete on api_tokens for each row
  execute function api_tokens_notify();
