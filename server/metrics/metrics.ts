/**
 * Prometheus metrics: in-process counters and histograms updated on the hot paths, and
 * gauges read from the database at scrape time. Rendered in the text exposition format.
 */
import type { Sql } from '../db/connect.ts';
import { vmListCacheStats } from '../inventory/list_vms.ts';

const BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type Labels = Record<string, string>;
const key = (labels: Labels) => JSON.stringify(Object.entries(labels).sort());
const fmtLabels = (labels: Labels) => {
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${v.replace(/["\\\n]/g, (m) => (m === '\n' ? '\\n' : `\\${m}`))}"`
  );
  return parts.length ? `{${parts.join(',')}}` : '';
};

class Counter {
  readonly values = new Map<string, { labels: Labels; value: number }>();
  readonly name: string;
  readonly help: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  inc(labels: Labels = {}, by = 1) {
    const k = key(labels);
    const cur = this.values.get(k) ?? { labels, value: 0 };
    cur.value += by;
    this.values.set(k, cur);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) {
      lines.push(`${this.name}${fmtLabels(labels)} ${value}`);
    }
    return lines.join('\n');
  }
}

class Histogram {
  readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  readonly name: string;
  readonly help: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  observe(seconds: number, labels: Labels = {}) {
    const k = key(labels);
    const s = this.series.get(k) ?? { labels, counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) s.counts[i]++;
    });
    s.sum += seconds;
    s.count++;
    this.series.set(k, s);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      BUCKETS.forEach((b, i) =>
        lines.push(`${this.name}_bucket${fmtLabels({ ...s.labels, le: String(b) })} ${s.counts[i]}`)
      );
      lines.push(`${this.name}_bucket${fmtLabels({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${fmtLabels(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${fmtLabels(s.labels)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

/** The metrics of one server process. */
export function createMetrics() {
  return {
    capturesReceived: new Counter(
      'vmledger_captures_received_total',
      'Captures accepted, by outcome (stored, duplicate)',
    ),
    capturesRejected: new Counter(
      'vmledger_captures_rejected_total',
      'Captures refused, by HTTP status',
    ),
    ingestSeconds: new Histogram(
      'vmledger_ingest_duration_seconds',
      'Time to validate and store one capture',
    ),
    authFailures: new Counter(
      'vmledger_auth_failures_total',
      'Failed authentications, by kind (api, login)',
    ),
    jobRuns: new Counter('vmledger_job_runs_total', 'Background job runs, by queue and outcome'),
    jobSeconds: new Histogram(
      'vmledger_job_duration_seconds',
      'Background job durations, by queue',
    ),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** Everything, with database gauges read now. */
export async function renderMetrics(sql: Sql, m: Metrics): Promise<string> {
  const sources = await sql`
    select s.name, s.kind, extract(epoch from now() - s.last_capture_at)::float8 as age,
           (select count(*) from vm_inventory i where i.source_id = s.id)::int as vms
    from sources s order by s.id`;
  const [jobs] = await sql`select to_regclass('pgboss.job') is not null as present`;
  const jobStates = jobs.present
    ? await sql`select name, state::text as state, count(*)::int as n from pgboss.job group by 1, 2 order by 1, 2`
    : [];
  const lines: string[] = [
    m.capturesReceived.render(),
    m.capturesRejected.render(),
    m.ingestSeconds.render(),
    m.authFailures.render(),
    m.jobRuns.render(),
    m.jobSeconds.render(),
  ];
  lines.push(
    '# HELP vmledger_source_seconds_since_last_capture Seconds since the newest capture of each source',
    '# TYPE vmledger_source_seconds_since_last_capture gauge',
  );
  for (const s of sources) {
    if (s.age !== null) {
      lines.push(
        `vmledger_source_seconds_since_last_capture${fmtLabels({ source: s.name, kind: s.kind })} ${
          Math.round(s.age)
        }`,
      );
    }
  }
  lines.push(
    '# HELP vmledger_inventory_vms Live VMs in the inventory, per source',
    '# TYPE vmledger_inventory_vms gauge',
  );
  for (const s of sources) {
    lines.push(`vmledger_inventory_vms${fmtLabels({ source: s.name, kind: s.kind })} ${s.vms}`);
  }
  const cache = vmListCacheStats(sql);
  lines.push(
    '# HELP vmledger_vm_list_answers_total VM list pages and totals, by whether they were reused (same inventory generation) or read',
    '# TYPE vmledger_vm_list_answers_total counter',
    `vmledger_vm_list_answers_total{source="cache"} ${cache.hits}`,
    `vmledger_vm_list_answers_total{source="database"} ${cache.misses}`,
  );
  lines.push(
    '# HELP vmledger_jobs Background jobs by queue and state (pg-boss)',
    '# TYPE vmledger_jobs gauge',
  );
  for (const j of jobStates) {
    lines.push(`vmledger_jobs${fmtLabels({ queue: j.name, state: j.state })} ${j.n}`);
  }
  return lines.join('\n') + '\n';
}
