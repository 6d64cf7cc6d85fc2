/**
 * Alerts wired into the server as `npm start` runs it (server/main.ts, in-process): a capture
 * stored over HTTP sends an evaluation job after its commit and the job fires the alert; a
 * heartbeat sends one for the heartbeat rules; the default rules are installed at start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluationListeners } from '../../server/alerts/alert_jobs.ts';
import { createToken } from '../../server/auth/tokens.ts';
import { loadServerConfig } from '../../server/config.ts';
import { type RunningVmledger, startServer } from '../../server/main.ts';
import { makeCapture } from '../support/captures.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const test = suite('alerts in the running server');
let db: TestDatabase;
let running: RunningVmledger;
let dir: string;
let agent: string;

/** What the server (in this process) evaluated after captures and heartbeats. */
const evaluated: string[] = [];
evaluationListeners.push((after) => evaluated.push(after));

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test.before(async () => {
  db = await createTestDatabase('alerts_server');
  dir = mkdtempSync(path.join(os.tmpdir(), 'vml-alerts-'));
  running = await startServer(loadServerConfig({
    DATABASE_URL: db.url,
    HOST: '127.0.0.1',
    PORT: '0',
    VMLEDGER_DATA_DIR: dir,
    VMLEDGER_ADMIN_TOKEN: 'alerts-server-admin-token-0123456789',
    VMLEDGER_LOG_LEVEL: 'error',
  }));
  agent = (await createToken(db.sql, { name: 'agent', role: 'agent' })).token;
});

test.after(async () => {
  await running?.stop();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('rules installed at start; a stored capture fires its alert through the evaluation after it', async () => {
  const [{ n }] = await db.sql`select count(*)::int as n from alert_rules where enabled`;
  assert.is(n, 13);
  const capture = makeCapture({
    sourceId: 'srv',
    at: new Date(Date.now() - 60_000).toISOString(),
    vms: [{ key: 'a' }],
    datastores: [{
      key: 'd1',
      name: 'full-one',
      type: 'VMFS',
      capacityGib: 100,
      freeGib: 3,
      accessible: true,
    }],
  });
  const res = await fetch(`${running.url}/api/v1/captures`, {
    method: 'POST',
    headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
    body: JSON.stringify(capture),
  });
  assert.is(res.status, 201);
  const alert = await until('the alert', async () => {
    const [a] = await db.sql`
      select state, severity from alerts where rule_id = 'datastore_used' and object_name = 'full-one'`;
    return a;
  });
  assert.is(alert.state, 'firing');
  assert.ok(evaluated.includes('capture'), 'an evaluation of the capture rules');
});

test('a heartbeat starts an evaluation of the heartbeat rules', async () => {
  const res = await fetch(`${running.url}/api/v1/heartbeats`, {
    method: 'POST',
    headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      agentVersion: '1.0.0',
      hostname: 'srv-agent',
      sentAt: new Date().toISOString(),
      sources: [],
      spool: { pending: 0, pendingBytes: 0, rejected: 0, refusedAtCap: 0, maxBytes: 1e9 },
      delivery: {
        delivered: 0,
        rejected: 0,
        lastDeliveredAt: null,
        lastError: null,
        retryAt: null,
      },
    }),
  });
  assert.is(res.status, 200);
  await until(
    'the evaluation after the heartbeat',
    () => Promise.resolve(evaluated.includes('heartbeat')),
  );
});

test.run();
