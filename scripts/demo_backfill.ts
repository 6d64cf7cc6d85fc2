/**
 * Fills the demo sources with weeks of hourly history from the same deterministic
 * generator the demo agent uses, through the real ingest API. Runs once: it does nothing
 * when the demo sources already have history older than a day. After a backfill,
 * `startDemoBenchmark` queues one SQL-vs-TypeScript benchmark of yesterday, so the
 * Benchmarks page has a result on a first start.
 */
import { gzipSync } from 'node:zlib';
import { demoCapture } from '../agent/collectors/demo/fleet.ts';
import { startBenchmark } from '../server/aggregate/benchmark_action.ts';
import type { Sql } from '../server/db/connect.ts';
import type { Jobs } from '../server/jobs/boss.ts';
import { log } from '../server/log.ts';
import { todayIn } from '../server/reports/period.ts';

const HOUR = 3600_000;

/** Returns whether it backfilled (false: the history was already there). */
export async function backfillDemoHistory(
  options: { url: string; token: string; sql: Sql; days: number; totalVms?: number },
): Promise<boolean> {
  const [{ old }] = await options.sql`
    select count(*)::int as old from captures c join sources s on s.id = c.source_id
    where s.kind = 'demo' and c.captured_at < now() - interval '1 day'`;
  if (old > 0) return false;
  const end = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
  const start = end - options.days * 24 * HOUR;
  log.info('demo backfill started', { days: options.days });
  let stored = 0;
  for (let t = start; t <= end; t += HOUR) {
    for (
      const [flavor, name] of [['vcenter', 'demo-vcenter'], ['proxmox', 'demo-proxmox']] as const
    ) {
      const capture = demoCapture({
        flavor,
        seed: 1,
        totalVms: options.totalVms ?? 500,
        at: new Date(t),
        since: new Date(t - HOUR),
        sourceName: name,
      });
      const res = await fetch(`${options.url}/api/v1/captures`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        body: gzipSync(JSON.stringify(capture)),
      });
      if (!res.ok && res.status !== 409) {
        throw new Error(`backfill capture refused: ${res.status} ${await res.text()}`);
      }
      stored++;
    }
  }
  log.info('demo backfill done', { captures: stored });
  return true;
}

/**
 * Queues one benchmark (every engine, 3 repetitions) of yesterday in `tz` for the first
 * demo source, through the same action as the page and the API; returns its request id.
 */
export async function startDemoBenchmark(
  options: { sql: Sql; jobs: Jobs; tz: string },
): Promise<string | null> {
  const [source] = await options.sql`
    select id from sources where kind = 'demo' order by name = 'demo-vcenter' desc, id limit 1`;
  if (!source) return null;
  const today = todayIn(options.tz);
  const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86400_000).toISOString()
    .slice(0, 10);
  const started = await startBenchmark(options.sql, options.jobs, {
    kind: 'daily',
    source: source.id,
    period: yesterday,
    reps: 3,
  }, { id: null, name: 'demo' });
  log.info('demo benchmark queued', { day: yesterday, request: started.id });
  return started.id;
}
