/**
 * Nothing accepted is ever lost: the agent keeps captures while the server is down and
 * delivers each exactly once; a server killed in the middle of an ingest leaves nothing
 * partial, and the re-sent capture is stored once.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startAgent } from '../../agent/agent.ts';
import { parseAgentConfig } from '../../agent/config.ts';
import { createLogger } from '../../shared/log.ts';
import { createToken, newTokenValue } from '../../server/auth/tokens.ts';
import { freePort } from '../../scripts/free_port.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { makeCapture } from '../support/captures.ts';
import { type ServerProcess, startServerProcess } from '../support/server_process.ts';
import { waitFor } from '../support/wait.ts';

const test = suite('outages');
let db: TestDatabase;
let dir = '';
let port = 0;
const adminToken = newTokenValue();

test.before(async () => {
  db = await createTestDatabase('outages');
  dir = mkdtempSync(path.join(os.tmpdir(), 'vml-outage-'));
  port = await freePort();
});
test.after(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const start = () => startServerProcess({ databaseUrl: db.url, port, dataDir: dir, adminToken });

test('server down for a while: every capture taken meanwhile arrives exactly once', async () => {
  const { token } = await createToken(db.sql, { name: 'site agent', role: 'agent' });
  const tokenFile = path.join(dir, 'agent-token');
  writeFileSync(tokenFile, token);
  let server: ServerProcess = await start();
  const config = parseAgentConfig({
    server: { url: server.url, tokenFile },
    spoolDir: path.join(dir, 'spool'),
    sources: [
      { name: 'demo-a', kind: 'demo', flavor: 'vcenter', vms: 60, seed: 5, intervalSeconds: 3600 },
      { name: 'demo-b', kind: 'demo', flavor: 'proxmox', vms: 60, seed: 5, intervalSeconds: 3600 },
    ],
  });
  const taken: string[] = [];
  const agent = await startAgent(config, createLogger({ level: 'silent' }), {
    scheduled: false,
  });
  // Record every capture id the agent spools, to compare with what the server stored.
  const spoolPut = agent.spool.put;
  agent.spool.put = (c) => {
    taken.push(c.captureId);
    return spoolPut(c);
  };
  try {
    await agent.scheduler.runSource('demo-a');
    await waitFor(async () => (await agent.spool.list()).length === 0, 10_000, 'first delivery');
    await server.kill('SIGKILL');
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 1100)); // captured-at has whole seconds
      await agent.scheduler.runSource('demo-a');
      await agent.scheduler.runSource('demo-b');
    }
    assert.is((await agent.spool.list()).length, 6, 'kept on disk while the server is down');
    server = await start();
    agent.delivery.nudge();
    await waitFor(async () => (await agent.spool.list()).length === 0, 30_000, 'spool drained');
    const rows = await db.sql`select capture_id::text as id from captures`;
    const stored = rows.map((r) => r.id).sort();
    assert.equal(stored, [...taken].sort(), 'every capture exactly once');
    assert.is(taken.length, 7);
  } finally {
    await agent.stop();
    await server.kill('SIGTERM');
  }
});

test('server killed in the middle of an ingest: nothing partial; the re-sent capture is stored once', async () => {
  const { token } = await createToken(db.sql, { name: 'big agent', role: 'agent' });
  const big = makeCapture({
    sourceId: 'big',
    at: '2026-06-01T10:00:00Z',
    vms: Array.from(
      { length: 60_000 },
      (_, i) => ({
        key: `vm-${i}`,
        name: `big-${i}`,
        ipAddresses: [`10.0.${i >> 8 & 255}.${i & 255}`],
      }),
    ),
  });
  const body = gzipSync(JSON.stringify(big));
  let server = await start();
  const send = () =>
    fetch(`${server.url}/api/v1/captures`, {
      method: 'POST',
      body,
      headers: {
        authorization: `Bearer ${token}`,
        'content-encoding': 'gzip',
        'content-type': 'application/json',
      },
    });
  const inFlight = send().catch((err) => err);
  // Kill the server once its ingest transaction is writing (COPY or the apply step).
  await waitFor(
    async () => {
      const rows = await db.sql`
      select 1 from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and state = 'active'
        and (query ilike 'copy capture_stage%' or query ilike '%ingest_apply_capture%')`;
      return rows.length > 0;
    },
    20_000,
    'the ingest to be in progress',
  );
  await server.kill('SIGKILL');
  assert.instance(await inFlight, Error, 'the client saw the connection drop');
  // PostgreSQL rolls the transaction back when its client goes away.
  await waitFor(
    async () => {
      const rows = await db
        .sql`select 1 from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'`;
      return rows.length === 0;
    },
    20_000,
    'the aborted transaction to end',
  );
  const [{ n }] = await db
    .sql`select count(*)::int as n from captures where capture_id = ${big.captureId}`;
  assert.is(n, 0, 'no captures row');
  const [{ f }] = await db
    .sql`select count(*)::int as f from vm_hourly_stats where capture_id = ${big.captureId}`;
  assert.is(f, 0, 'no facts');
  const [{ i }] = await db
    .sql`select count(*)::int as i from vm_inventory where state_capture_id = ${big.captureId}`;
  assert.is(i, 0, 'no inventory');
  server = await start();
  try {
    // The client's pool may still hold the killed server's socket: a real agent retries
    // such a failure, and so does this test, once.
    const first = await send().catch(() => send());
    assert.is(first.status, 201);
    const second = await send();
    assert.is(second.status, 200);
    assert.is((await second.json()).duplicate, true);
    const [{ f2 }] = await db
      .sql`select count(*)::int as f2 from vm_hourly_stats where capture_id = ${big.captureId}`;
    assert.is(f2, 60_000);
  } finally {
    await server.kill('SIGTERM');
  }
});

test.run();
