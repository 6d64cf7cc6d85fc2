-- A benchmark started from the Benchmarks page or POST /api/v1/benchmarks: what was asked
-- (source, period, engines, repetitions), its pg-boss job, and its progress while the job
-- runs (`done` of `total` steps: each timed run and each engine's plan), then the run group
-- it stored in benchmark_runs or the error it failed with. Each engine's plan (EXPLAIN
-- ANALYZE of its statements) is stored on its first run's row in benchmark_runs.explain.
create table benchmark_requests (
  id            uuid          primary key default gen_random_uuid(),
  job_id        uuid,
  kind          text          not null check (kind in ('daily', 'monthly')),
  source_id     integer       not null,
  period        date          not null,
  reps          integer       not null check (reps between 1 and 20),
  engines       text[]        not null,
  state         text          not null default 'queued'
                              check (state in ('queued', 'running', 'completed', 'failed')),
  done          integer       not null default 0,
  total         integer       not null,
  run_group     uuid,
  error         text,
  requested_by  integer,
  created_at    timestamptz   not null default now(),
  started_at    timestamptz,
  finished_at   timestamptz
);
create index benchmark_requests_created on benchmark_requests (created_at desc);
