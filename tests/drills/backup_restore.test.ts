/**
 * Backup and restore as an operator runs them, `scripts/backup.ts FILE` (npm run backup) then
 * `scripts/restore.ts FILE` (npm run restore) into a fresh data folder, from both kinds of
 * database:
 * - a vmledger database on Debian's PostgreSQL 15 (an external DATABASE_URL): pg_dump, restored
 *   into the embedded PostgreSQL the restore initialises;
 * - the embedded PostgreSQL (18, no pg_dump of its version here): a physical backup taken while
 *   the server runs and agents keep posting, restored as a new data folder.
 * A server started on the restored data answers the VM list, the daily and monthly rollups and
 * the reports (records and file bytes) exactly as the original did. A second restore onto the
 * filled database is refused without --replace; a cut-off backup file is refused and leaves
 * the data folder as it was.
 *
 * The physical backup is taken of the embedded PostgreSQL the first test restored into, with
 * its server still running: filled through the API and proven to answer as the original, it is
 * the same data a freshly filled embedded server holds, without a second cluster, server and
 * fill (once ~a fifth of this drill's time).
 */
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createToken, newTokenValue } from '../../server/auth/tokens.ts';
import { createPool, ensureDatabase, type Sql } from '../../server/db/connect.ts';
import { startEmbeddedPostgres } from '../../server/db/embedded.ts';
import { freePort } from '../../scripts/free_port.ts';
import { startSystemPostgres } from '../../scripts/provision.ts';
import { makeCapture } from '../support/captures.ts';
import { suiteNeeding } from '../support/parts.ts';
import { type ServerProcess, startServerProcess } from '../support/server_process.ts';

const test = suiteNeeding('backup and restore', ['postgres']);
const adminToken = newTokenValue();
const auth = { authorization: `Bearer ${adminToken}` };

type DataFolder = { VMLEDGER_DATA_DIR: string; VMLEDGER_PG_PORT: string };
type Embedded = Awaited<ReturnType<typeof startEmbeddedPostgres>>;
/** What the first test hands the second: its restored data folder, running, and the answers. */
type Restored = {
  dir: string;
  folder: DataFolder;
  pg: Embedded;
  url: string;
  server: ServerProcess;
  before: Awaited<ReturnType<typeof answers>>;
};
let restored: Restored | null = null;

async function discard(r: { dir: string; pg: Embedded | null; server: ServerProcess | null }) {
  await r.server?.kill('SIGTERM');
  await r.pg?.stop();
  rmSync(r.dir, { recursive: true, force: true });
}

// The second test owns the restored folder once it starts; if it never does, it goes here.
test.after(async () => {
  if (restored) await discard(restored);
  restored = null;
});

function scriptEnv(env: Record<string, string | undefined>) {
  const { DATABASE_URL: _, ...base } = process.env;
  return { ...base, VMLEDGER_LOG_LEVEL: 'warn', ...env } as NodeJS.ProcessEnv;
}

function script(name: string, args: string[], env: Record<string, string | undefined>) {
  return spawnSync(process.execPath, [`scripts/${name}.ts`, ...args], {
    env: scriptEnv(env),
    encoding: 'utf8',
  });
}

/** As `script`, without blocking this process (the server under test keeps answering). */
function scriptAsync(name: string, args: string[], env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, [`scripts/${name}.ts`, ...args], { env: scriptEnv(env) });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (status) => resolve({ status, stdout, stderr }))
  );
}

async function postCapture(server: ServerProcess, token: string, capture: unknown) {
  return await fetch(`${server.url}/api/v1/captures`, {
    method: 'POST',
    body: gzipSync(JSON.stringify(capture)),
    headers: {
      authorization: `Bearer ${token}`,
      'content-encoding': 'gzip',
      'content-type': 'application/json',
    },
  });
}

/** Captures of 30 VMs (names bk-N), both rollups of June and a CSV report, through the API. */
async function fill(server: ServerProcess, sql: Sql): Promise<string> {
  const { token } = await createToken(sql, { name: 'backup agent', role: 'agent' });
  for (const at of ['2026-06-01T08:00:00Z', '2026-06-01T16:00:00Z', '2026-06-02T08:00:00Z']) {
    const capture = makeCapture({
      sourceId: 'bk',
      at,
      vms: Array.from({ length: 30 }, (_, i) => ({ key: `vm-${i}`, name: `bk-${i}` })),
    });
    assert.is((await postCapture(server, token, capture)).status, 201);
  }
  const post = (p: string, body: unknown) =>
    fetch(`${server.url}/api/v1${p}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  for (const kind of ['daily', 'monthly']) {
    const res = await post('/aggregations', {
      kind,
      from: kind === 'daily' ? '2026-06-01' : '2026-06',
      to: kind === 'daily' ? '2026-06-02' : '2026-06',
      wait: true,
    });
    const body = await res.json();
    assert.is(res.status, 200, JSON.stringify(body));
    assert.is(body.state, 'completed');
  }
  const report = await post('/reports', {
    kind: 'daily',
    period: '2026-06-01',
    format: 'csv',
    wait: true,
  });
  assert.is(report.status, 201, await report.clone().text());
  return token;
}

/** What the API answers for VMs, rollups and reports (the report files included). */
async function answers(server: ServerProcess) {
  const get = async (p: string) => {
    const res = await fetch(`${server.url}/api/v1${p}`, { headers: auth });
    assert.is(res.status, 200, p);
    return await res.json();
  };
  const reports = await get('/reports');
  const files: string[] = [];
  for (const r of reports.items) {
    const res = await fetch(`${server.url}/api/v1/reports/${r.id}/file`, { headers: auth });
    files.push(Buffer.from(await res.arrayBuffer()).toString('base64'));
  }
  return {
    vms: await get('/vms?q=bk-&limit=1000'),
    daily: await get('/rollups/daily?day=2026-06-01&limit=1000'),
    monthly: await get('/rollups/monthly?month=2026-06&limit=1000'),
    reports,
    files,
  };
}

test('a backup restored into a fresh data folder answers as the original did', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-backup-'));
  const system = startSystemPostgres();
  const name = `t_backup_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const sourceUrl = await ensureDatabase(system, name);
  let server: ServerProcess | null = null;
  let pg: Embedded | null = null;
  try {
    server = await startServerProcess({
      databaseUrl: sourceUrl,
      port: await freePort(),
      dataDir: path.join(dir, 'a'),
      adminToken,
    });
    const sql = createPool(sourceUrl, { max: 1 });
    await fill(server, sql);
    await sql.end();
    const before = await answers(server);
    assert.ok(before.vms.items.length === 30 && before.daily.items.length === 30);

    const file = path.join(dir, 'vmledger.dump');
    const backup = script('backup', [file], { DATABASE_URL: sourceUrl });
    assert.is(backup.status, 0, backup.stderr);
    assert.match(backup.stdout, /vmledger backup: .*\(pg_dump, .*PostgreSQL 15/);
    await server.kill('SIGTERM');
    server = null;

    // A fresh data folder: the embedded PostgreSQL is initialised by the restore.
    const fresh = {
      VMLEDGER_DATA_DIR: path.join(dir, 'b'),
      VMLEDGER_PG_PORT: String(await freePort()),
    };
    const restore = script('restore', [file], fresh);
    assert.is(restore.status, 0, restore.stderr + restore.stdout);
    assert.match(restore.stdout, /vmledger restore: /);
    const again = script('restore', [file], fresh);
    assert.is(again.status, 1);
    assert.match(again.stderr, /already holds \d+ tables; add --replace/);

    pg = await startEmbeddedPostgres({
      pgDir: path.join(fresh.VMLEDGER_DATA_DIR, 'pg'),
      port: Number(fresh.VMLEDGER_PG_PORT),
    });
    const url = await ensureDatabase(pg.url, 'vmledger');
    server = await startServerProcess({
      databaseUrl: url,
      port: await freePort(),
      dataDir: fresh.VMLEDGER_DATA_DIR,
      adminToken,
    });
    assert.equal(await answers(server), before);
    restored = { dir, folder: fresh, pg, url, server, before };
    [pg, server] = [null, null];
  } finally {
    const admin = createPool(system, { max: 1 });
    await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end();
    if (!restored) await discard({ dir, pg, server });
  }
});

test('the embedded database, backed up physically while agents post, restores into a fresh data folder', async () => {
  // The first test's restored embedded server (see the top of the file), now this test's.
  const source = restored;
  restored = null;
  assert.ok(source, 'the first test left no restored embedded server: it failed');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-backup-'));
  const { folder: a, url, before } = source;
  const b = { VMLEDGER_DATA_DIR: path.join(dir, 'b'), VMLEDGER_PG_PORT: String(await freePort()) };
  let server: ServerProcess | null = source.server;
  let pg: Embedded | null = source.pg;
  try {
    const sql = createPool(url, { max: 1 });
    const { token } = await createToken(sql, { name: 'burst agent', role: 'agent' });
    await sql.end();

    // The backup runs against the live server while another source's captures keep arriving.
    const file = path.join(dir, 'vmledger.backup');
    const backup = scriptAsync('backup', [file, '--physical'], a);
    let burst = 0, done = false;
    backup.then(() => (done = true));
    while (!done || burst < 3) {
      const capture = makeCapture({
        sourceId: 'burst',
        at: new Date(Date.parse('2026-07-01T00:00:00Z') + burst * 60_000).toISOString(),
        vms: Array.from({ length: 200 }, (_, i) => ({ key: `b-${i}`, name: `burst-${i}` })),
      });
      assert.is((await postCapture(server, token, capture)).status, 201);
      burst++;
    }
    const made = await backup;
    assert.is(made.status, 0, made.stderr + made.stdout);
    assert.match(made.stdout, /vmledger backup: .*\(physical, \d+ bytes, PostgreSQL 18, WAL /);
    assert.not.ok(existsSync(`${file}.partial`));
    await server.kill('SIGTERM');
    server = null;
    await pg.stop();
    pg = null;
    rmSync(source.dir, { recursive: true, force: true });

    // Cut off: refused, and the fresh data folder is left as it was (absent).
    const cut = path.join(dir, 'cut.backup');
    const whole = readFileSync(file);
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const refused = script('restore', [cut], b);
    assert.is(refused.status, 1, refused.stderr + refused.stdout);
    assert.match(
      refused.stderr,
      /vmledger restore: .* is damaged or cut off \(unexpected end of file\): nothing was restored/,
    );
    assert.equal(readdirSync(dir).sort(), ['cut.backup', 'vmledger.backup']);
    // Physical backups go into the embedded server only.
    const external = script('restore', [file], {
      ...b,
      DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
    });
    assert.is(external.status, 1);
    assert.match(
      external.stderr,
      /physical backup of the embedded PostgreSQL: it restores only into the embedded server/,
    );

    const restore = script('restore', [file], b);
    assert.is(restore.status, 0, restore.stderr + restore.stdout);
    assert.match(restore.stdout, /vmledger restore: .*\(physical, PostgreSQL 18/);
    const again = script('restore', [file], b);
    assert.is(again.status, 1);
    assert.match(again.stderr, /already holds a PostgreSQL cluster; add --replace/);

    pg = await startEmbeddedPostgres({
      pgDir: path.join(b.VMLEDGER_DATA_DIR, 'pg'),
      port: Number(b.VMLEDGER_PG_PORT),
    });
    const restoredUrl = await ensureDatabase(pg.url, 'vmledger');
    server = await startServerProcess({
      databaseUrl: restoredUrl,
      port: await freePort(),
      dataDir: b.VMLEDGER_DATA_DIR,
      adminToken,
    });
    assert.equal(await answers(server), before);
    // Every burst capture the backup holds is whole: none half-stored.
    const check = createPool(restoredUrl, { max: 1 });
    const stored = await check`
      select c.capture_id as id, c.vm_count,
             (select count(*)::int from vm_hourly_stats f
              where f.source_id = c.source_id and f.capture_id = c.capture_id) as facts
      from captures c join sources s on s.id = c.source_id where s.external_id = 'burst'`;
    await check.end();
    assert.ok(stored.length >= 1 && stored.length <= burst, `${stored.length} of ${burst}`);
    for (const c of stored) assert.is(c.facts, 200, `capture ${c.id}`);

    // --replace: the restored cluster is moved aside, not deleted, and the backup restored again.
    await server.kill('SIGTERM');
    server = null;
    const running = script('restore', [file, '--replace'], b);
    assert.is(running.status, 1);
    assert.match(running.stderr, /runs on .*stop every vmledger server first/);
    await pg.stop();
    pg = null;
    const replaced = script('restore', [file, '--replace'], b);
    assert.is(replaced.status, 0, replaced.stderr);
    assert.match(replaced.stdout, /the cluster it replaced is in .*pg\.replaced-/);
  } finally {
    await discard({ dir, pg, server });
    rmSync(source.dir, { recursive: true, force: true });
  }
});

test.run();
