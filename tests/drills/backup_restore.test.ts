/**
 * Backup and restore as an operator runs them: `scripts/backup.ts FILE` (npm run backup)
 * against a vmledger database on Debian's PostgreSQL 15 (an external DATABASE_URL), then
 * `scripts/restore.ts FILE` (npm run restore) into a fresh data folder, whose embedded
 * PostgreSQL is initialised for it. A server started on the restored data answers the VM
 * list, the daily and monthly rollups and the reports (records and file bytes) exactly as the
 * original did. A second restore onto the filled database is refused without --replace.
 */
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createToken, newTokenValue } from '../../server/auth/tokens.ts';
import { createPool, ensureDatabase } from '../../server/db/connect.ts';
import { startEmbeddedPostgres } from '../../server/db/embedded.ts';
import { freePort } from '../../scripts/free_port.ts';
import { startSystemPostgres } from '../../scripts/provision.ts';
import { makeCapture } from '../support/captures.ts';
import { suiteNeeding } from '../support/parts.ts';
import { type ServerProcess, startServerProcess } from '../support/server_process.ts';

const test = suiteNeeding('backup and restore', ['postgres']);
const adminToken = newTokenValue();
const auth = { authorization: `Bearer ${adminToken}` };

function script(name: string, args: string[], env: Record<string, string | undefined>) {
  const { DATABASE_URL: _, ...base } = process.env;
  return spawnSync(process.execPath, [`scripts/${name}.ts`, ...args], {
    env: { ...base, VMLEDGER_LOG_LEVEL: 'warn', ...env } as NodeJS.ProcessEnv,
    encoding: 'utf8',
  });
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
    vms: await get('/vms?limit=1000'),
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
  let pg: Awaited<ReturnType<typeof startEmbeddedPostgres>> | null = null;
  try {
    server = await startServerProcess({
      databaseUrl: sourceUrl,
      port: await freePort(),
      dataDir: path.join(dir, 'a'),
      adminToken,
    });
    const sql = createPool(sourceUrl, { max: 1 });
    const { token } = await createToken(sql, { name: 'backup agent', role: 'agent' });
    await sql.end();
    for (const at of ['2026-06-01T08:00:00Z', '2026-06-01T16:00:00Z', '2026-06-02T08:00:00Z']) {
      const capture = makeCapture({
        sourceId: 'bk',
        at,
        vms: Array.from({ length: 30 }, (_, i) => ({ key: `vm-${i}`, name: `bk-${i}` })),
      });
      const res = await fetch(`${server.url}/api/v1/captures`, {
        method: 'POST',
        body: gzipSync(JSON.stringify(capture)),
        headers: {
          authorization: `Bearer ${token}`,
          'content-encoding': 'gzip',
          'content-type': 'application/json',
        },
      });
      assert.is(res.status, 201);
    }
    const post = (p: string, body: unknown) =>
      fetch(`${server!.url}/api/v1${p}`, {
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
    const before = await answers(server);
    assert.ok(before.vms.items.length === 30 && before.daily.items.length === 30);

    const file = path.join(dir, 'vmledger.dump');
    const backup = script('backup', [file], { DATABASE_URL: sourceUrl });
    assert.is(backup.status, 0, backup.stderr);
    assert.match(backup.stdout, /vmledger backup: .*PostgreSQL 15/);
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
    server = await startServerProcess({
      databaseUrl: await ensureDatabase(pg.url, 'vmledger'),
      port: await freePort(),
      dataDir: fresh.VMLEDGER_DATA_DIR,
      adminToken,
    });
    assert.equal(await answers(server), before);
  } finally {
    await server?.kill('SIGTERM');
    await pg?.stop();
    const admin = createPool(system, { max: 1 });
    await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
