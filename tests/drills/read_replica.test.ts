/**
 * Read replica (issue 23): with DATABASE_READ_URL set to a real streaming replica
 * (tests/support/replica.ts: Debian's PostgreSQL, `pg_basebackup -R`), VM list and detail
 * reads go to the replica and writes to the primary. A page read right after a capture is
 * never older than what the person was just shown: behind the `vmledger_lsn` cookie the read
 * waits (bounded) for the replica to replay that far, else reads the primary. Replica down:
 * reads fall back to the primary and /healthz says so.
 */
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createToken, newTokenValue } from '../../server/auth/tokens.ts';
import { createPool, type Sql } from '../../server/db/connect.ts';
import { migrate } from '../../server/db/migrate.ts';
import { freePort } from '../../scripts/free_port.ts';
import { makeCapture } from '../support/captures.ts';
import { suiteNeeding } from '../support/parts.ts';
import { type ReplicaPair, startReplicaPair } from '../support/replica.ts';
import { type ServerProcess, startServerProcess } from '../support/server_process.ts';

const test = suiteNeeding('read replica', ['postgres']);
let pair: ReplicaPair;
let primary: Sql;
let replica: Sql;
let server: ServerProcess;
let dir = '';
const adminToken = newTokenValue();
let agentToken = '';
let cookie = '';

test.before(async () => {
  pair = await startReplicaPair();
  primary = createPool(pair.primaryUrl);
  replica = createPool(pair.replicaUrl, { max: 2 });
  await migrate(primary);
  agentToken = (await createToken(primary, { name: 'agent', role: 'agent' })).token;
  dir = mkdtempSync(path.join(os.tmpdir(), 'vml-readrep-'));
  server = await startServerProcess({
    databaseUrl: pair.primaryUrl,
    port: await freePort(),
    dataDir: dir,
    adminToken,
    env: { DATABASE_READ_URL: pair.replicaUrl, VMLEDGER_JOBS: '0' },
  });
});
test.after(async () => {
  await server?.kill('SIGTERM');
  await replica?.end({ timeout: 1 });
  await primary?.end({ timeout: 1 });
  pair?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let at = Date.UTC(2026, 0, 10, 8);
async function post(vms: string[]) {
  const c = makeCapture({
    sourceId: 'vc-r',
    at: new Date(at += 3_600_000).toISOString(),
    vms: vms.map((key) => ({ key })),
  });
  const r = await fetch(server.url + '/api/v1/captures', {
    method: 'POST',
    headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(c),
  });
  assert.is(r.status, 201, await r.clone().text());
  return r.headers.get('x-vmledger-lsn')!;
}

async function read(p: string, headers: Record<string, string> = {}) {
  const r = await fetch(server.url + p, {
    headers: { authorization: `Bearer ${adminToken}`, ...headers },
  });
  assert.is(r.status, 200);
  return {
    from: r.headers.get('x-vmledger-read'),
    lsn: r.headers.get('x-vmledger-lsn'),
    text: await r.text(),
  };
}

test('lists and details are read on the replica once it has replayed the capture; the lag is measured', async () => {
  const lsn = await post(['one']);
  assert.match(lsn, /^[0-9A-F]+\/[0-9A-F]+$/, 'the ingest answer names its WAL position');
  const t0 = performance.now();
  for (;;) {
    const [r] = await replica`select pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn as ok`;
    if (r.ok) break;
    if (performance.now() - t0 > 10_000) throw new Error('replica did not replay in 10 s');
    await new Promise((res) => setTimeout(res, 2));
  }
  console.log(`  replication lag after a capture: ${(performance.now() - t0).toFixed(1)} ms`);
  const list = await read('/api/v1/vms', { 'x-vmledger-min-lsn': lsn });
  assert.is(list.from, 'replica');
  assert.ok(list.text.includes('vm-one'));
  const [{ id }] = await primary`select id from sources where external_id = 'vc-r'`;
  const detail = await read(`/api/v1/vms/${id}/one`);
  assert.is(detail.from, 'replica');
});

test('a page read right after a capture is never older than the page just shown: replica paused → primary', async () => {
  const login = await fetch(server.url + '/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${encodeURIComponent(adminToken)}`,
    redirect: 'manual',
  });
  cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  await replica`select pg_wal_replay_pause()`;
  try {
    await post(['one', 'two']);
    // The dashboard (read on the primary) shows the capture and remembers where it read.
    const dash = await fetch(server.url + '/', { headers: { cookie } });
    assert.is(dash.status, 200);
    const lsnCookie = dash.headers.getSetCookie().find((c) => c.startsWith('vmledger_lsn='));
    assert.ok(lsnCookie, 'the page remembers its WAL position');
    const cookies = `${cookie}; ${lsnCookie!.split(';')[0]}`;
    // Without a position to keep up with, the replica answers, and it is behind.
    const stale = await read('/api/v1/vms');
    assert.is(stale.from, 'replica');
    assert.not.ok(stale.text.includes('vm-two'), 'the paused replica is behind');
    const t0 = performance.now();
    const page = await fetch(server.url + '/vms', { headers: { cookie: cookies } });
    const waited = performance.now() - t0;
    assert.is(page.headers.get('x-vmledger-read'), 'primary');
    assert.ok((await page.text()).includes('vm-two'), 'the list shows the capture just shown');
    console.log(`  replica behind: the page waited ${waited.toFixed(0)} ms, then read the primary`);
    await replica`select pg_wal_replay_resume()`;
    const caughtUp = await fetch(server.url + '/vms', { headers: { cookie: cookies } });
    assert.is(caughtUp.headers.get('x-vmledger-read'), 'replica');
    assert.ok((await caughtUp.text()).includes('vm-two'));
  } finally {
    await replica`select pg_wal_replay_resume()`.catch(() => {});
  }
});

test('replica down: reads fall back to the primary and health says so; back up: reads return to it', async () => {
  await replica.end({ timeout: 1 });
  pair.stopReplica();
  const list = await read('/api/v1/vms');
  assert.is(list.from, 'primary');
  assert.ok(list.text.includes('vm-two'));
  const health = await (await fetch(server.url + '/healthz')).json() as Record<string, unknown>;
  assert.is(health.status, 'ok');
  assert.is(health.replica, 'unavailable');
  assert.is(health.reads, 'primary');
  pair.startReplica();
  replica = createPool(pair.replicaUrl, { max: 2 });
  const back = await (await fetch(server.url + '/healthz')).json() as Record<string, unknown>;
  assert.is(back.replica, 'ok', JSON.stringify(back));
  assert.is((await read('/api/v1/vms')).from, 'replica');
});

test.run();
