-- captures_source_time (source_id, captured_at), migration 0002, is redundant (issue 24: the
-- Database page's redundant_index finding on vmledger's own schema): the unique constraint
-- of captures (source_id, captured_at), migration 0001, has an index on the same columns in
-- the same order, a plain btree without predicate, which serves every lookup and range scan
-- this one did. No constraint uses captures_source_time (pg_constraint.conindid), and no
-- statement names it. The partial captures_complete_source_time (0044) stays.
drop index if exists captures_source_time;
