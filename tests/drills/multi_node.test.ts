/**
 * Three server nodes on one PostgreSQL (issue 23): whichever node an agent, a script or a
 * browser reaches, the answer is the one a single node would give. Captures are stored once
 * even when re-sent to another node; per-node caches never answer from before a capture
 * stored elsewhere; "capture now" asked on one node reaches the agent through another; the
 * dashboard's live events reach a page served by a node that did not take the capture; a
 * session made on one node works on the others; failed-authentication limits count across
 * nodes; the every-minute schedule runs once per minute, not once per node.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createToken, newTokenValue } from '../../server/auth/tokens.ts';
import { SWEEP_QUEUE } from '../../server/notifications/notify_jobs.ts';
import { freePort } from '../../scripts/free_port.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { makeCapture, makeHeartbeat } from '../support/captures.ts';
import { type ServerProcess, startServerProcess } from '../support/server_process.ts';

const test = suite('multi_node');
let db: TestDatabase;
let dir = '';
let nodes: ServerProcess[] = [];
const adminToken = newTokenValue();
let agentToken = '';
let viewerToken = '';
let startedAt = new Date();

test.before(async () => {
  db = await createTestDatabase('multi_node');
  dir = mkdtempSync(path.join(os.tmpdir(), 'vml-nodes-'));
  agentToken = (await createToken(db.sql, { name: 'agent', role: 'agent' })).token;
  viewerToken = (await createToken(db.sql, { name: 'viewer', role: 'viewer' })).token;
  startedAt = new Date();
  // One at a time: the first migrates and creates the job queues; the others find them.
  for (let i = 0; i < 3; i++) {
    nodes.push(
      await startServerProcess({
        databaseUrl: db.url,
        port: await freePort(),
        dataDir: path.join(dir, `node${i}`),
        adminToken,
      }),
    );
  }
});
test.after(async () => {
  await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
  nodes = [];
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

function call(node: number, p: string, token: string, init: RequestInit = {}) {
  return fetch(nodes[node].url + p, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(init.headers as Record<string, string>),
    },
  });
}

let at = Date.UTC(2026, 0, 10, 8);
const nextAt = () => new Date(at += 3_600_000).toISOString();

function post(node: number, capture: unknown) {
  return call(node, '/api/v1/captures', agentToken, {
    method: 'POST',
    body: JSON.stringify(capture),
  });
}

async function vmNames(node: number): Promise<string[]> {
  const r = await call(node, '/api/v1/vms?limit=500', viewerToken);
  assert.is(r.status, 200);
  const body = await r.json() as { items: { name: string }[] };
  return body.items.map((v) => v.name).sort();
}

test('a capture sent to all three nodes at once is stored once; captures spread over nodes all arrive', async () => {
  const c = makeCapture({ sourceId: 'vc-a', at: nextAt(), vms: [{ key: 'a1' }, { key: 'a2' }] });
  const answers = await Promise.all([0, 1, 2].map((n) => post(n, c)));
  for (const a of answers) assert.ok(a.status < 300, `status ${a.status}`);
  const spread = [];
  for (let i = 0; i < 6; i++) {
    spread.push(
      makeCapture({ sourceId: `vc-s${i % 2}`, at: nextAt(), vms: [{ key: `s${i}` }] }),
    );
  }
  // Each sent twice, to two different nodes, concurrently.
  const sent = await Promise.all(
    spread.flatMap((s, i) => [post(i % 3, s), post((i + 1) % 3, s)]),
  );
  for (const a of sent) assert.ok(a.status < 300, `status ${a.status}`);
  const [{ n, distinct }] = await db.sql`
    select count(*)::int as n, count(distinct capture_id)::int as distinct from captures`;
  assert.is(n, 7);
  assert.is(distinct, 7);
});

test('no node answers a list from before a capture another node stored', async () => {
  // Warm every node's list cache, then store a capture through node 2 only.
  for (const n of [0, 1, 2]) assert.not.ok((await vmNames(n)).includes('vm-fresh'));
  const r = await post(
    2,
    makeCapture({ sourceId: 'vc-a', at: nextAt(), vms: [{ key: 'a1' }, { key: 'fresh' }] }),
  );
  assert.is(r.status, 201);
  for (const n of [0, 1, 2]) {
    const names = await vmNames(n);
    assert.ok(names.includes('vm-fresh'), `node ${n} sees the new VM`);
  }
});

test('"capture now" asked on one node reaches the agent through another, once', async () => {
  const [{ id }] = await db.sql`select id from sources where external_id = 'vc-a'`;
  const asked = await call(1, `/api/v1/sources/${id}/capture`, adminToken, { method: 'POST' });
  assert.is(asked.status, 202);
  const beat = makeHeartbeat();
  const heartbeat = async (node: number) => {
    const r = await call(node, '/api/v1/heartbeats', agentToken, {
      method: 'POST',
      body: JSON.stringify(beat),
    });
    assert.is(r.status, 200, await r.clone().text());
    return ((await r.json()) as { captureNow: { sourceId: string }[] }).captureNow;
  };
  assert.equal(await heartbeat(2), [{ sourceId: 'vc-a' }]);
  assert.equal(await heartbeat(0), [], 'picked up once');
});

test('a session made on one node works on the others, and live events reach a page served by a node that did not take the capture', async () => {
  const login = await fetch(nodes[0].url + '/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${encodeURIComponent(adminToken)}`,
    redirect: 'manual',
  });
  assert.is(login.status, 303);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  assert.match(cookie, /^vmledger_session=/);
  const page = await fetch(nodes[2].url + '/', { headers: { cookie }, redirect: 'manual' });
  assert.is(page.status, 200, 'signed in on node 0, served by node 2');
  const since = /\/events\?since=([^"&]+)/.exec(await page.text())?.[1];
  assert.ok(since, 'the page names its event stream');
  const abort = new AbortController();
  const events = await fetch(`${nodes[1].url}/events?since=${since}`, {
    headers: { cookie },
    signal: abort.signal,
  });
  assert.is(events.status, 200);
  const reader = events.body!.getReader();
  const seen = (async () => {
    let text = '';
    while (!text.includes('event: capture')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    return text;
  })();
  const stored = await post(
    0,
    makeCapture({ sourceId: 'vc-b', at: nextAt(), vms: [{ key: 'b1' }] }),
  );
  assert.is(stored.status, 201);
  const timeout = new Promise<string>((r) => setTimeout(() => r('timed out'), 10_000));
  const got = await Promise.race([seen, timeout]);
  abort.abort();
  assert.ok(got.includes('event: capture'), got);
});

test('failed-authentication limits count across nodes', async () => {
  // 20 failures per address in 5 minutes (server/app.ts), spread over the three nodes: each
  // node alone saw 6 or 7, yet the next failure on any of them is refused.
  for (let i = 0; i < 20; i++) {
    const r = await call(i % 3, '/api/v1/vms', `vml_guess_${i}_${'x'.repeat(30)}`);
    assert.is(r.status, 401, `failure ${i}`);
  }
  for (const n of [0, 1, 2]) {
    const r = await call(n, '/api/v1/vms', `vml_guess_next_${'x'.repeat(30)}`);
    assert.is(r.status, 429, `node ${n}`);
  }
  assert.is((await call(1, '/api/v1/vms', viewerToken)).status, 200, 'a valid token passes');
});

test('the every-minute schedule runs once per minute, not once per node', async () => {
  // pg-boss claims each cron occurrence in the database; wait for one after all three started.
  const end = Date.now() + 75_000;
  let jobs: Date[] = [];
  while (Date.now() < end) {
    jobs = (await db.sql<{ created_on: Date }[]>`
      select created_on from pgboss.job where name = ${SWEEP_QUEUE} and created_on >= ${startedAt}
       order by 1`).map((r) => r.created_on);
    if (jobs.length > 0) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.ok(jobs.length > 0, 'the schedule ran');
  // At most one job per minute that began since the nodes started (and one for the minute
  // they started in): three nodes each sending would make about three. Counted, not grouped by
  // the minute each job was created in: on a loaded machine one occurrence's job is created
  // late, in the next occurrence's minute (two jobs created at 16:22 for 16:21 and 16:22).
  const minutes = Math.floor(Date.now() / 60_000) - Math.floor(startedAt.getTime() / 60_000) + 1;
  assert.ok(
    jobs.length <= minutes,
    `${jobs.length} jobs in ${minutes} minutes: ${jobs.map((t) => t.toISOString()).join(', ')}`,
  );
});

test.run();
