/**
 * The README's first command, for real: `node scripts/start.ts` (what `npm start` runs
 * after bootstrap) with a fresh data folder: embedded PostgreSQL, server, demo agent.
 * Then Ctrl-C and start again: same VMs, no migration re-applied.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/free_port.ts';

const test = suite('npm start');
let dataDir = '';
let port = 0;
let pgPort = 0;

test.before(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'vml-start-'));
  port = await freePort();
  pgPort = await freePort();
});
// A failed step must not leave its server (and embedded PostgreSQL) holding the data folder.
const running: { child: ChildProcess; output: () => string; exited: Promise<number | null> }[] = [];
test.after(async () => {
  for (const r of running) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill('SIGTERM');
      // A shutdown that hangs must not hold the suite: say so, with what it printed.
      const timer = setTimeout(() => {
        console.error(
          `npm start did not stop within 30 s of SIGTERM; its output:\n${
            r.output().replace(/^ {2}\S+$/gm, '  [admin token]')
          }`,
        );
        r.child.kill('SIGKILL');
      }, 30_000);
      await r.exited;
      clearTimeout(timer);
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

function start(
  env: Record<string, string> = {},
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['scripts/start.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: '',
      VMLEDGER_DATA_DIR: dataDir,
      PORT: String(port),
      VMLEDGER_PG_PORT: String(pgPort),
      VMLEDGER_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function vmCount(token: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/vms?limit=1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return (await res.json()).total;
}

test('a bad setting stops the start with one line naming it, exit code 2', async () => {
  const run = start({ PORT: 'abc' });
  assert.is(await run.exited, 2);
  assert.match(run.output(), /PORT="abc"/);
});

test('first start: URL and admin token printed, demo VMs listed; Ctrl-C stops cleanly', async () => {
  const run = start({ VMLEDGER_DEMO_BACKFILL_DAYS: '0' });
  running.push(run);
  await waitFor(() => run.output().includes('admin token'), 60_000, 'the admin token line');
  assert.match(run.output(), new RegExp(`vmledger listening on http://127\\.0\\.0\\.1:${port}`));
  assert.match(run.output(), /admin token \(shown once/);
  const token = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(await health.json(), { status: 'ok', db: 'ok' });
  await waitFor(async () => (await vmCount(token)) > 400, 30_000, 'demo VMs');
  const login = await fetch(`http://127.0.0.1:${port}/login`);
  assert.is(login.status, 200);
  run.child.kill('SIGINT');
  assert.is(await run.exited, 0);
});

test('second start finds its data; no migration re-applied', async () => {
  const token = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  const run = start({ VMLEDGER_DEMO: '0' });
  running.push(run);
  // The token line is a separate write after the listening line: a read may fall between.
  await waitFor(() => run.output().includes('admin token'), 60_000, 'the admin token line');
  assert.not.match(run.output(), /migrations applied/);
  assert.match(run.output(), /admin token: in /);
  assert.ok((await vmCount(token)) > 400, 'same VMs are there');
  run.child.kill('SIGTERM');
  assert.is(await run.exited, 0);
});

test.run();
