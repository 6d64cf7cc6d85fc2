/**
 * A server node SIGKILLed in the middle of a job (issue 23): its report job and its
 * aggregation job are retried by another live node once the dead node's job heartbeat goes
 * stale (pg-boss heartbeatSeconds, failed by a live node's supervisor), and each completes
 * once: one report row with its whole file, rollups equal to the clean run's. A job blocked
 * for longer than the heartbeat on a live node is not retried under it.
 *
 * To kill a node while its job is surely running, the test holds an ACCESS EXCLUSIVE lock on
 * vm_daily_rollup, which both the daily report and the daily aggregation read or write: the
 * job starts, waits on the lock, and the node is killed while it waits. Heartbeat 10 s (the
 * minimum), supervisor every second, retry delay 1 s; production defaults 60 / 60 / per queue.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createToken, newTokenValue } from '../../server/auth/tokens.ts';
import { AGGREGATION_QUEUES } from '../../server/aggregate/aggregation_jobs.ts';
import { REPORT_QUEUES } from '../../server/reports/report_jobs.ts';
import { freePort } from '../../scripts/free_port.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { makeCapture } from '../support/captures.ts';
import { type ServerProcess, startServerProcess } from '../support/server_process.ts';

const test = suite('node_kill');
let db: TestDatabase;
let dir = '';
const nodes: ServerProcess[] = [];
const adminToken = newTokenValue();
let agentToken = '';
const DAY = '2026-01-10';
const JOB_ENV = {
  VMLEDGER_JOB_HEARTBEAT_SECONDS: '10',
  VMLEDGER_JOB_SUPERVISE_SECONDS: '1',
  VMLEDGER_JOB_RETRY_DELAY_SECONDS: '1',
};

async function startNode(name: string): Promise<ServerProcess> {
  const node = await startServerProcess({
    databaseUrl: db.url,
    port: await freePort(),
    dataDir: path.join(dir, name),
    adminToken,
    env: JOB_ENV,
  });
  nodes.push(node);
  return node;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 45_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function call(node: ServerProcess, p: string, token: string, body?: unknown) {
  return fetch(node.url + p, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Holds an ACCESS EXCLUSIVE lock on vm_daily_rollup until `release()`. */
async function lockRollups() {
  const conn = await db.sql.reserve();
  await conn`begin`;
  await conn`lock table vm_daily_rollup in access exclusive mode`;
  return {
    async release() {
      await conn`commit`;
      conn.release();
    },
  };
}

/** Sessions of the test database waiting on a lock (a job blocked behind ours). */
async function lockWaiters(): Promise<number> {
  const [{ n }] = await db.sql`
    select count(*)::int as n from pg_stat_activity
     where datname = current_database() and wait_event_type = 'Lock'`;
  return n;
}

async function jobRow(queue: string, id?: string) {
  const rows = await db.sql<{ id: string; state: string; retry_count: number }[]>`
    select id, state, retry_count from pgboss.job
     where name = ${queue} and (${id ?? null}::uuid is null or id = ${id ?? null}::uuid)
     order by created_on desc limit 1`;
  return rows[0];
}

/** The day's rollups as comparable text (every column). */
async function rollupsOfDay(): Promise<string[]> {
  const rows = await db.sql<{ r: string }[]>`
    select to_jsonb(d)::text as r from vm_daily_rollup d where day = ${DAY} order by 1`;
  return rows.map((x) => x.r);
}

let expected: string[] = [];

test.before(async () => {
  db = await createTestDatabase('node_kill');
  dir = mkdtempSync(path.join(os.tmpdir(), 'vml-kill-'));
  agentToken = (await createToken(db.sql, { name: 'agent', role: 'agent' })).token;
  const a = await startNode('a');
  // Captures of a closed day: each enqueues that day's aggregation (a late capture), which
  // the only node runs; its rollups are the clean run the retried one must equal.
  for (let h = 6; h < 12; h++) {
    const c = makeCapture({
      sourceId: 'vc-k',
      at: `${DAY}T${String(h).padStart(2, '0')}:00:00Z`,
      vms: [{ key: 'k1' }, { key: 'k2', vcpu: 4 }, ...(h > 8 ? [{ key: 'k3' }] : [])],
    });
    const r = await call(a, '/api/v1/captures', agentToken, c);
    assert.ok(r.status < 300, `capture ${r.status}`);
  }
  await until('the clean aggregation', async () => {
    const [{ open }] = await db.sql`
      select count(*)::int as open from pgboss.job
       where name like 'aggregate-%' and state not in ('completed', 'failed', 'cancelled')`;
    const rows = await rollupsOfDay();
    return open === 0 && rows.length === 3 ? rows : undefined;
  });
  expected = await rollupsOfDay();
});

test.after(async () => {
  await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

test('a node killed during a report job: another node retries it, one report, whole file', async () => {
  const [a] = nodes;
  const lock = await lockRollups();
  let released = false;
  try {
    const asked = await call(a, '/api/v1/reports', adminToken, {
      kind: 'daily',
      period: DAY,
      format: 'csv',
    });
    assert.is(asked.status, 202, await asked.clone().text());
    const { id } = await asked.json() as { id: string };
    await until('the report running on node a', async () => {
      const [r] = await db.sql`select status from reports where id = ${id}`;
      return r?.status === 'running' && (await lockWaiters()) > 0 ? true : undefined;
    });
    const job = (await jobRow(REPORT_QUEUES.generate))!;
    const runningSince = Date.now();
    const b = await startNode('b');
    // Longer than the heartbeat (node b's start counts): a job running (blocked) on a live
    // node is not retried.
    await new Promise((r) => setTimeout(r, Math.max(0, 12_000 - (Date.now() - runningSince))));
    const still = (await jobRow(REPORT_QUEUES.generate, job.id))!;
    assert.equal([still.state, still.retry_count], ['active', 0], 'not retried under a live node');

    const killedAt = Date.now();
    process.kill(a.child.pid!, 'SIGKILL');
    await a.kill();
    await lock.release();
    released = true;
    await until('the report job retried and completed', async () => {
      const j = await jobRow(REPORT_QUEUES.generate, job.id);
      return j?.state === 'completed' ? j : undefined;
    });
    const retriedAfter = (Date.now() - killedAt) / 1000;
    console.log(`  report job retried and completed ${retriedAfter.toFixed(1)} s after the kill`);
    assert.is((await jobRow(REPORT_QUEUES.generate, job.id))!.retry_count, 1);
    const [done] = await db.sql`select * from reports where id = ${id}`;
    assert.is(done.status, 'ready');
    const [{ n }] = await db.sql`select count(*)::int as n from reports`;
    assert.is(n, 1, 'one report row');
    const file = await call(b, `/api/v1/reports/${id}/file`, adminToken);
    assert.is(file.status, 200);
    const bytes = Buffer.from(await file.arrayBuffer());
    assert.is(bytes.length, Number(done.size_bytes));
    assert.is(createHash('sha256').update(bytes).digest('hex'), done.sha256);
    assert.is(done.row_count, 3, 'the three VMs of the day');
    const [{ chunks }] = await db.sql`
      select count(*)::int as chunks from report_chunks where report_id = ${id}`;
    assert.is(chunks, done.chunk_count);
  } finally {
    if (!released) await lock.release();
  }
});

test('a node killed during an aggregation job: retried on a restarted node, rollups equal the clean run', async () => {
  const b = nodes[1];
  const lock = await lockRollups();
  let released = false;
  try {
    const asked = await call(b, '/api/v1/aggregations', adminToken, {
      kind: 'daily',
      from: DAY,
      to: DAY,
    });
    assert.is(asked.status, 202, await asked.clone().text());
    await until('the aggregation running on node b', async () => {
      const j = await jobRow(AGGREGATION_QUEUES.daily);
      return j?.state === 'active' && (await lockWaiters()) > 0 ? true : undefined;
    });
    const job = (await jobRow(AGGREGATION_QUEUES.daily))!;
    await startNode('a2');
    const killedAt = Date.now();
    process.kill(b.child.pid!, 'SIGKILL');
    await b.kill();
    await lock.release();
    released = true;
    await until('the aggregation retried and completed', async () => {
      const j = await jobRow(AGGREGATION_QUEUES.daily, job.id);
      return j?.state === 'completed' ? j : undefined;
    });
    console.log(
      `  aggregation retried and completed ${
        ((Date.now() - killedAt) / 1000).toFixed(1)
      } s after the kill`,
    );
    assert.is((await jobRow(AGGREGATION_QUEUES.daily, job.id))!.retry_count, 1);
    assert.equal(await rollupsOfDay(), expected, 'rollups equal the clean run');
    const [{ n }] = await db.sql`
      select count(*)::int as n from snapshot_registry where kind = 'daily' and period_start = ${DAY}`;
    assert.is(n, 1, 'one snapshot of the day');
  } finally {
    if (!released) await lock.release();
  }
});

test.run();
