/**
 * Alerts and their events as the evaluator (server/alerts/) writes them, for the
 * notification suites: a rule row, alerts opened firing with a `fired` event each (one
 * statement), resolutions with a `resolved` event, and receivers that count what arrives.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Sql } from '../../server/db/connect.ts';

/** An alert rule row (the alerts feature installs the real ones). */
export async function insertRule(
  sql: Sql,
  id: string,
  severity: 'critical' | 'warning' | 'info' = 'critical',
): Promise<void> {
  await sql`insert into alert_rules (id, name, description, severity)
    values (${id}, ${`Rule ${id}`}, 'test rule', ${severity}) on conflict do nothing`;
}

/**
 * Opens `objects` firing alerts of `ruleId` in group `groupKey`, each with its `fired`
 * event; returns the events' ids.
 */
export async function fireAlerts(
  sql: Sql,
  o: {
    ruleId: string;
    groupKey: string;
    objects: number;
    prefix?: string;
    severity?: 'critical' | 'warning' | 'info';
    silenced?: boolean;
  },
): Promise<number[]> {
  const prefix = o.prefix ?? o.groupKey;
  const rows = await sql`
    with a as (
      insert into alerts (rule_id, object_kind, object_key, object_name, group_key, severity,
        state, summary, pending_since, fired_at, silenced, last_evaluated_at)
      select ${o.ruleId}, 'vm', ${prefix} || ':' || g, ${prefix} || '-vm-' || g, ${o.groupKey},
        ${o.severity ?? 'critical'}, 'firing', 'powered off <unexpectedly> & "quoted"',
        now(), now(), ${o.silenced ?? false}, now()
      from generate_series(1, ${o.objects}::int) g
      returning id
    )
    insert into alert_events (alert_id, kind) select id, 'fired' from a returning id`;
  return rows.map((r) => Number(r.id));
}

/** Resolves the open alerts of a group, each with its `resolved` event; returns the events' ids. */
export async function resolveGroup(sql: Sql, groupKey: string): Promise<number[]> {
  const rows = await sql`
    with a as (
      update alerts set state = 'resolved', resolved_at = now()
      where group_key = ${groupKey} and state <> 'resolved' returning id
    )
    insert into alert_events (alert_id, kind) select id, 'resolved' from a returning id`;
  return rows.map((r) => Number(r.id));
}

export type Received = {
  deliveryId: string;
  body: string;
  json: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  verified: boolean;
  at: number;
};

/**
 * A webhook receiver on 127.0.0.1 that verifies each request's signature with `secret` the way
 * docs/alerts-notifications.md tells receivers to, and keeps what arrived. `down` makes it
 * answer 503 (and keep nothing) until set back.
 */
export async function startReceiver(secret: string | null) {
  const received: Received[] = [];
  const state = { down: false, refused: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (state.down) {
        state.refused++;
        res.writeHead(503).end('down for a test');
        return;
      }
      const raw = Buffer.concat(chunks);
      const ts = String(req.headers['x-vmledger-timestamp'] ?? '');
      const sig = String(req.headers['x-vmledger-signature'] ?? '');
      let verified = false;
      if (secret) {
        const mac = createHmac('sha256', secret).update(`${ts}.`).update(raw).digest('hex');
        const want = Buffer.from(`v1=${mac}`);
        const fresh = Math.abs(Date.now() / 1000 - Number(ts)) <= 300;
        verified = fresh && sig.length === want.length && timingSafeEqual(Buffer.from(sig), want);
      }
      received.push({
        deliveryId: String(req.headers['x-vmledger-delivery']),
        body: raw.toString('utf8'),
        json: JSON.parse(raw.toString('utf8')),
        headers: req.headers,
        verified,
        at: performance.now(),
      });
      res.writeHead(secret && !verified ? 401 : 200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    state,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Waits until `check` holds (polling), failing after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 15_000, what = '') {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
