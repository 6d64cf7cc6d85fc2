/**
 * Fills the demo sources with weeks of hourly history from the same deterministic
 * generator the demo agent uses, through the real ingest API. Runs once: it does nothing
 * when the demo sources already have history older than a day.
 */
import { gzipSync } from 'node:zlib';
import { demoCapture } from '../agent/collectors/demo/fleet.ts';
import type { Sql } from '../server/db/connect.ts';
import { log } from '../server/log.ts';

const HOUR = 3600_000;

export async function backfillDemoHistory(
  options: { url: string; token: string; sql: Sql; days: number; totalVms?: number },
) {
  const [{ old }] = await options.sql`
    select count(*)::int as old from captures c join sources s on s.id = c.source_id
    where s.kind = 'demo' and c.captured_at < now() - interval '1 day'`;
  if (old > 0) return;
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
}
