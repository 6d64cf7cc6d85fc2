-- The RVTools workbook as a report kind: every tab RVTools has, as of any past capture
-- (period: the as-of instant, ISO 8601 UTC), for all sources or one (source_id; null: all).
alter table reports drop constraint reports_kind_check;
alter table reports add constraint reports_kind_check
  check (kind in ('daily', 'monthly', 'inventory', 'rvtools'));
alter table reports add column source_id integer references sources (id) on delete cascade;
