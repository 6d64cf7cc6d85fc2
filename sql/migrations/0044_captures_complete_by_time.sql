-- The VM list as of a moment reads each source's newest complete capture by then
-- (server/inventory/list_vms.ts, capturesAsOf): one probe of this index per source, however
-- long the history and however many incomplete captures lie in between.
create index captures_complete_source_time on captures (source_id, captured_at) where complete;
