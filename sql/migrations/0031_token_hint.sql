-- Token lists showed the first 10 characters of every token (for a 16-character
-- VMLEDGER_ADMIN_TOKEN, 6 of them secret). They now show at most the last 4 characters of a
-- long token (server/auth/tokens.ts#tokenHint); the characters already stored cannot be
-- turned into that, so existing tokens keep only the non-secret `vml_` marker.
update api_tokens
set prefix = case when prefix like 'vml\_%' then 'vml_…' else '…' end;
