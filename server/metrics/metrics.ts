/**
 * Prometheus metrics of one server process (a node), kept in a prom-client registry of its
 * own: counters and histograms updated on the hot paths (HTTP middleware `http.ts`, ingest,
 * auth, job workers through `jobs/instrument.ts`), process gauges (`process.ts`) and gauges
 * read from the database at scrape time. Every family and label is listed in
 * docs/metrics.md; a label name means one thing across all families.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Sql } from '../db/connect.ts';
import { vmListCacheStats } from '../inventory/list_vms.ts';
import { lagMeter, processSample } from './process.ts';

/** Seconds; ingest of one capture. */
const INGEST_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds; one HTTP request until its response is ready (a streamed body not included). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; one background job, from a cron tick (ms) to a month's report (minutes). */
const JOB_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/** The metrics of one server process (jobs and HTTP of a node share one). */
export function createMetrics() {
  lagMeter();
  const registry = new Registry();
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    buckets: number[],
  ) => new Histogram<L>({ name, help, labelNames, buckets, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Gauge<L>({ name, help, labelNames, registers });
  return {
    registry,
    httpRequests: counter(
      'vmledger_http_requests_total',
      'HTTP requests answered by this node, by method, route template and status',
      ['method', 'route', 'status'],
    ),
    httpSeconds: histogram(
      'vmledger_http_request_duration_seconds',
      'Time until the response was ready (a streamed body not included), by method and route template',
      ['method', 'route'],
      HTTP_BUCKETS,
    ),
    capturesReceived: counter(
      'vmledger_captures_received_total',
      'Captures accepted by this node, by outcome (stored, duplicate)',
      ['outcome'],
    ),
    capturesRejected: counter(
      'vmledger_captures_rejected_total',
      'Captures refused by this node, by HTTP status',
      ['status'],
    ),
    ingestSeconds: histogram(
      'vmledger_ingest_duration_seconds',
      'Time to validate and store one capture',
      [],
      INGEST_BUCKETS,
    ),
    authFailures: counter(
      'vmledger_auth_failures_total',
      'Failed authentications on this node, by channel (api: Bearer token, login: page login)',
      ['channel'],
    ),
    jobRuns: counter(
      'vmledger_job_runs_total',
      'Background jobs run by this node, by queue and outcome (completed, failed)',
      ['queue', 'outcome'],
    ),
    jobSeconds: histogram(
      'vmledger_job_duration_seconds',
      'Background job durations on this node, by queue and outcome (completed, failed)',
      ['queue', 'outcome'],
      JOB_BUCKETS,
    ),
    // Read at scrape time (renderMetrics).
    rss: gauge('vmledger_process_resident_memory_bytes', 'Resident set size of this process', []),
    heapUsed: gauge(
      'vmledger_process_heap_used_bytes',
      'JavaScript heap in use in this process',
      [],
    ),
    heapTotal: gauge(
      'vmledger_process_heap_total_bytes',
      'JavaScript heap reserved by this process',
      [],
    ),
    lagP99: gauge(
      'vmledger_event_loop_lag_p99_seconds',
      "99th percentile of this process's event-loop delay since the previous scrape",
      [],
    ),
    lagMax: gauge(
      'vmledger_event_loop_lag_max_seconds',
      'Longest event-loop delay of this process since the previous scrape',
      [],
    ),
    vmListAnswers: counter(
      'vmledger_vm_list_answers_total',
      'VM list pages and totals on this node, by whether they were served from the cache (same inventory generation), the in-memory model of the list (same generation) or the database',
      ['served_from'],
    ),
    sourceAge: gauge(
      'vmledger_source_seconds_since_last_capture',
      'Seconds since the newest capture of each source (database: the same on every node)',
      ['source', 'kind'],
    ),
    inventoryVms: gauge(
      'vmledger_inventory_vms',
      'Live VMs in the inventory, per source (database: the same on every node)',
      ['source', 'kind'],
    ),
    alertsFiring: gauge(
      'vmledger_alerts_firing',
      'Alerts firing (acknowledged ones included, silenced ones too) by rule and severity (database: the same on every node)',
      ['rule', 'severity'],
    ),
    jobs: gauge(
      'vmledger_jobs',
      'Background jobs by queue and state (pg-boss; database: the same on every node)',
      ['queue', 'state'],
    ),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** Everything, with process and database gauges read now. */
export async function renderMetrics(sql: Sql, m: Metrics): Promise<string> {
  const sources = await sql`
    select s.name, s.kind, extract(epoch from now() - s.last_capture_at)::float8 as age,
           (select count(*) from vm_inventory i where i.source_id = s.id)::int as vms
    from sources s order by s.id`;
  const [jobs] = await sql`select to_regclass('pgboss.job') is not null as present`;
  const jobStates = jobs.present
    ? await sql`select name, state::text as state, count(*)::int as n from pgboss.job group by 1, 2 order by 1, 2`
    : [];
  const firing = await sql`
    select rule_id, severity, count(*)::int as n from alerts
    where state in ('firing', 'acknowledged') group by 1, 2 order by 1, 2`;
  const p = processSample();
  m.rss.set(p.rssBytes);
  m.heapUsed.set(p.heapUsedBytes);
  m.heapTotal.set(p.heapTotalBytes);
  m.lagP99.set(p.lagP99Seconds);
  m.lagMax.set(p.lagMaxSeconds);
  // The cache keeps its own totals (per database handle); reset and inc sets them as they are.
  const cache = vmListCacheStats(sql);
  m.vmListAnswers.reset();
  m.vmListAnswers.inc({ served_from: 'cache' }, cache.hits);
  m.vmListAnswers.inc({ served_from: 'database' }, cache.misses);
  m.vmListAnswers.inc({ served_from: 'memory' }, cache.memory);
  // Gauges of the database: a source or queue that is gone must vanish, so start over.
  m.sourceAge.reset();
  m.inventoryVms.reset();
  m.jobs.reset();
  m.alertsFiring.reset();
  for (const a of firing) m.alertsFiring.set({ rule: a.rule_id, severity: a.severity }, a.n);
  for (const s of sources) {
    const labels = { source: s.name, kind: s.kind };
    if (s.age !== null) m.sourceAge.set(labels, Math.round(s.age));
    m.inventoryVms.set(labels, s.vms);
  }
  for (const j of jobStates) m.jobs.set({ queue: j.name, state: j.state }, j.n);
  return await m.registry.metrics();
}
