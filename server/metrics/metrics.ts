/**
 * Prometheus metrics of one server process (a node): counters and histograms updated on the
 * hot paths (HTTP middleware `http.ts`, ingest, auth, job workers through
 * `jobs/instrument.ts`), process gauges (`process.ts`) and gauges read from the database at
 * scrape time. Rendered in the text exposition format 0.0.4. Every family and label is listed
 * in docs/metrics.md; a label name means one thing across all families.
 */
import type { Sql } from '../db/connect.ts';
import { vmListCacheStats } from '../inventory/list_vms.ts';
import { lagMeter, processSample } from './process.ts';

/** Seconds; ingest of one capture. */
const INGEST_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds; one HTTP request until its response is ready (a streamed body not included). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; one background job, from a cron tick (ms) to a month's report (minutes). */
const JOB_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

type Labels = Record<string, string>;

/** A label value in the exposition format: backslash, double quote and line feed escaped. */
export const escapeLabelValue = (v: string) =>
  v.replace(/[\\"\n]/g, (m) => m === '\n' ? '\\n' : `\\${m}`);

/** `{a="x",b="y"}` for the given names in order ('' without labels). */
function fmtLabels(names: readonly string[], values: readonly string[]): string {
  if (!names.length) return '';
  return `{${names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`).join(',')}}`;
}

/** A sample value: integers as is, +Inf/-Inf/NaN spelled as Prometheus wants. */
function fmtValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function header(name: string, help: string, type: string): string[] {
  return [
    `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
    `# TYPE ${name} ${type}`,
  ];
}

/** A family with fixed label names; a series is keyed by its values in that order. */
abstract class Family<S> {
  readonly series = new Map<string, { values: string[]; state: S }>();
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }
  protected abstract fresh(): S;
  protected seriesFor(labels: Labels): S {
    const values = this.labelNames.map((n) => labels[n] ?? '');
    const k = values.join('\u0000');
    let s = this.series.get(k);
    if (!s) {
      s = { values, state: this.fresh() };
      this.series.set(k, s);
    }
    return s.state;
  }
}

export class Counter extends Family<{ value: number }> {
  protected fresh() {
    return { value: 0 };
  }
  inc(labels: Labels = {}, by = 1) {
    this.seriesFor(labels).value += by;
  }
  render(): string {
    const lines = header(this.name, this.help, 'counter');
    for (const { values, state } of this.series.values()) {
      lines.push(`${this.name}${fmtLabels(this.labelNames, values)} ${fmtValue(state.value)}`);
    }
    return lines.join('\n');
  }
}

export class Histogram extends Family<{ counts: number[]; sum: number; count: number }> {
  readonly buckets: readonly number[];
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    this.buckets = buckets;
  }
  protected fresh() {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }
  observe(seconds: number, labels: Labels = {}) {
    const s = this.seriesFor(labels);
    // Non-cumulative here (one increment per observation); made cumulative when rendered.
    const i = this.buckets.findIndex((b) => seconds <= b);
    if (i >= 0) s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }
  render(): string {
    const lines = header(this.name, this.help, 'histogram');
    const names = [...this.labelNames, 'le'];
    for (const { values, state } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += state.counts[i];
        lines.push(`${this.name}_bucket${fmtLabels(names, [...values, String(b)])} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${fmtLabels(names, [...values, '+Inf'])} ${state.count}`);
      lines.push(`${this.name}_sum${fmtLabels(this.labelNames, values)} ${fmtValue(state.sum)}`);
      lines.push(`${this.name}_count${fmtLabels(this.labelNames, values)} ${state.count}`);
    }
    return lines.join('\n');
  }
}

/** A family whose series are read at render time (`gauge`, or a counter kept elsewhere). */
function sampled(
  type: 'gauge' | 'counter',
  name: string,
  help: string,
  labelNames: readonly string[],
  samples: { values: string[]; value: number }[],
): string {
  const lines = header(name, help, type);
  for (const s of samples) {
    lines.push(`${name}${fmtLabels(labelNames, s.values)} ${fmtValue(s.value)}`);
  }
  return lines.join('\n');
}

/** The metrics of one server process (jobs and HTTP of a node share one). */
export function createMetrics() {
  lagMeter();
  return {
    httpRequests: new Counter(
      'vmledger_http_requests_total',
      'HTTP requests answered by this node, by method, route template and status',
      ['method', 'route', 'status'],
    ),
    httpSeconds: new Histogram(
      'vmledger_http_request_duration_seconds',
      'Time until the response was ready (a streamed body not included), by method and route template',
      ['method', 'route'],
      HTTP_BUCKETS,
    ),
    capturesReceived: new Counter(
      'vmledger_captures_received_total',
      'Captures accepted by this node, by outcome (stored, duplicate)',
      ['outcome'],
    ),
    capturesRejected: new Counter(
      'vmledger_captures_rejected_total',
      'Captures refused by this node, by HTTP status',
      ['status'],
    ),
    ingestSeconds: new Histogram(
      'vmledger_ingest_duration_seconds',
      'Time to validate and store one capture',
      [],
      INGEST_BUCKETS,
    ),
    authFailures: new Counter(
      'vmledger_auth_failures_total',
      'Failed authentications on this node, by channel (api: Bearer token, login: page login)',
      ['channel'],
    ),
    jobRuns: new Counter(
      'vmledger_job_runs_total',
      'Background jobs run by this node, by queue and outcome (completed, failed)',
      ['queue', 'outcome'],
    ),
    jobSeconds: new Histogram(
      'vmledger_job_duration_seconds',
      'Background job durations on this node, by queue and outcome (completed, failed)',
      ['queue', 'outcome'],
      JOB_BUCKETS,
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
  const p = processSample();
  const cache = vmListCacheStats(sql);
  const families: string[] = [
    m.httpRequests.render(),
    m.httpSeconds.render(),
    m.capturesReceived.render(),
    m.capturesRejected.render(),
    m.ingestSeconds.render(),
    m.authFailures.render(),
    m.jobRuns.render(),
    m.jobSeconds.render(),
    sampled(
      'gauge',
      'vmledger_process_resident_memory_bytes',
      'Resident set size of this process',
      [],
      [
        { values: [], value: p.rssBytes },
      ],
    ),
    sampled(
      'gauge',
      'vmledger_process_heap_used_bytes',
      'JavaScript heap in use in this process',
      [],
      [
        { values: [], value: p.heapUsedBytes },
      ],
    ),
    sampled(
      'gauge',
      'vmledger_process_heap_total_bytes',
      'JavaScript heap reserved by this process',
      [],
      [
        { values: [], value: p.heapTotalBytes },
      ],
    ),
    sampled(
      'gauge',
      'vmledger_event_loop_lag_p99_seconds',
      "99th percentile of this process's event-loop delay since the previous scrape",
      [],
      [{ values: [], value: p.lagP99Seconds }],
    ),
    sampled(
      'gauge',
      'vmledger_event_loop_lag_max_seconds',
      'Longest event-loop delay of this process since the previous scrape',
      [],
      [{ values: [], value: p.lagMaxSeconds }],
    ),
    sampled(
      'counter',
      'vmledger_vm_list_answers_total',
      'VM list pages and totals on this node, by whether they were served from the cache (same inventory generation) or the database',
      ['served_from'],
      [{ values: ['cache'], value: cache.hits }, { values: ['database'], value: cache.misses }],
    ),
    sampled(
      'gauge',
      'vmledger_source_seconds_since_last_capture',
      'Seconds since the newest capture of each source (database: the same on every node)',
      ['source', 'kind'],
      sources.filter((s) => s.age !== null).map((s) => ({
        values: [s.name, s.kind],
        value: Math.round(s.age),
      })),
    ),
    sampled(
      'gauge',
      'vmledger_inventory_vms',
      'Live VMs in the inventory, per source (database: the same on every node)',
      ['source', 'kind'],
      sources.map((s) => ({ values: [s.name, s.kind], value: s.vms })),
    ),
    sampled(
      'gauge',
      'vmledger_jobs',
      'Background jobs by queue and state (pg-boss; database: the same on every node)',
      ['queue', 'state'],
      jobStates.map((j) => ({ values: [j.name, j.state], value: j.n })),
    ),
  ];
  return families.join('\n') + '\n';
}
