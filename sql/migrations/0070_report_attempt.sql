-- Which attempt owns a running report (issue 23). A report job whose node stopped
-- heartbeating is retried elsewhere and its new attempt takes the report over
-- (server/reports/report_store.ts claimReport with reclaim). The old attempt may still be
-- alive for a moment (it learns it lost its job at its next heartbeat): each claim draws a
-- new `attempt`, and chunks, the finish and the failure of a report are written only by the
-- attempt it names, so a superseded attempt can never add to or finish the new one's file.
alter table reports add column attempt uuid;
