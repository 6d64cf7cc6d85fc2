/**
 * The server and the agent bundle under Deno, as the README claims they run: the server
 * program (`deno run -A server/main.ts`) on its own database takes a capture over HTTP,
 * lists it, renders pages, runs an aggregation job; the single-file agent bundle
 * (`deno run -A vmledger-agent.mjs run`), from a folder without node_modules, captures a
 * demo source and delivers it to that server; the server stops on SIGTERM with a
 * dashboard event stream open.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import { AGENT_VERSION } from '../../agent/version.ts';
import { newTokenValue } from '../../server/auth/tokens.ts';
import { freePort } from '../../scripts/free_port.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { type ServerProcess, startServerProcess } from '../support/server_process.ts';

const test = suite('deno runtime: server and agent bundle under Deno');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const deno = path.join(root, 'node_modules/.bin/deno');
const adminToken = newTokenValue();

type Page<T> = { items: T[]; total: number; next: string | null };
type Vm = {
  key: string;
  sourceId: number;
  sourceName: string;
  name: string;
  powerState: string;
  vcpu: number;
  memoryMib: number;
};
type Rollup = {
  key: string;
  name: string;
  totalSamples: number;
  samplesPresent: number;
  presence: number;
  avgVcpu: number;
  avgRamGb: number;
  poweredOnRatio: number;
  vcpuHours: number;
};
type Job = { state: string; queue: string; output: { rows?: number; engine?: string } | null };
type Aggregation = { id: string; state: string; engine: string; jobs: Job[] };
type Source = {
  id: number;
  name: string;
  vms: number;
  agent: { name: string; version: string | null; hostname: string | null } | null;
};
type EventStream = { text(): string; ended: Promise<'end' | 'error'>; cancel(): void };

let db: TestDatabase | undefined;
let dir = '';
let server: ServerProcess | undefined;
let agentChild: ChildProcess | undefined;
let events: EventStream | undefined;
const tokens = { agent: '', viewer: '' };
// What the ingest test stored: the API's source id and the capture it sent.
let source = 0;
let sent: ReturnType<typeof demoCapture> | undefined;

// A runner stopped early still takes its children with it.
const killChildren = () => {
  for (const c of [server?.child, agentChild]) if (c && c.exitCode === null) c.kill('SIGKILL');
};
process.once('exit', killChildren);

test.before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vml-deno-runtime-'));
  db = await createTestDatabase('deno_runtime');
});

test.after(async () => {
  events?.cancel();
  killChildren();
  await server?.kill().catch(() => {});
  await db?.drop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

function url(pathname: string): string {
  if (!server) throw new Error('the server under Deno did not start (see the first test)');
  return server.url + pathname;
}

async function api<T>(
  pathname: string,
  token: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(url(pathname), {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function waitFor(
  check: () => Promise<boolean> | boolean,
  ms: number,
  what: string | (() => string),
) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) {
      throw new Error(
        `timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits up to `ms` for `done`; false when it has not settled by then. */
async function within(done: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([done.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Logs in through the login form; returns the session cookie. */
async function login(token: string): Promise<string> {
  const res = await fetch(url('/login'), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, next: '/vms' }).toString(),
  });
  assert.is(res.status, 303);
  assert.is(res.headers.get('location'), '/vms');
  return (res.headers.get('set-cookie') ?? '').split(';')[0];
}

async function page(pathname: string, cookie: string): Promise<string> {
  const res = await fetch(url(pathname), { headers: { cookie } });
  const html = await res.text();
  assert.is(res.status, 200, `${pathname}: ${html.slice(0, 200)}`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  return html;
}

/** Reads a server-sent event stream in the background. */
async function openEvents(pathname: string, cookie: string): Promise<EventStream> {
  const res = await fetch(url(pathname), { headers: { cookie, accept: 'text/event-stream' } });
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const ended = (async (): Promise<'end' | 'error'> => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'end';
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      return 'error';
    }
  })();
  return { text: () => text, ended, cancel: () => void reader.cancel().catch(() => {}) };
}

test('the server starts under Deno on its own database and migrates it', async () => {
  server = await startServerProcess({
    runtime: 'deno',
    databaseUrl: db!.url,
    port: await freePort(),
    dataDir: path.join(dir, 'server'),
    adminToken,
  });
  const [{ n }] = await db!.sql`select count(*)::int as n from schema_migrations`;
  assert.ok(n > 0, 'migrations recorded');
  for (const role of ['agent', 'viewer'] as const) {
    const created = await api<{ token: string; role: string }>('/api/v1/tokens', adminToken, {
      method: 'POST',
      body: { name: `deno ${role}`, role },
    });
    assert.is(created.status, 201);
    assert.is(created.body.role, role);
    tokens[role] = created.body.token;
  }
});

test('ingest: a gzip capture is stored once; the same capture again is a duplicate', async () => {
  // Captured a minute ago: today is still open, so no aggregation runs until asked for.
  const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  sent = demoCapture({ flavor: 'vcenter', seed: 21, totalVms: 60, at, since: null });
  const post = () =>
    fetch(url('/api/v1/captures'), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens.agent}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      body: gzipSync(JSON.stringify(sent)),
    });
  const first = await post();
  const stored = await first.json() as {
    captureId: string;
    sourceId: number;
    duplicate: boolean;
    vms: number;
  };
  assert.is(first.status, 201, JSON.stringify(stored));
  assert.equal(
    [stored.captureId, stored.duplicate, stored.vms],
    [sent.captureId, false, sent.vms.length],
  );
  assert.ok(sent.vms.length > 10);
  source = stored.sourceId;
  const again = await post();
  assert.is(again.status, 200);
  assert.equal(await again.json(), { captureId: sent.captureId, duplicate: true });
  const rows = await db!.sql`select vm_count from captures where capture_id = ${sent.captureId}`;
  assert.equal(rows.map((r) => r.vm_count), [sent.vms.length]);
});

test('the VM list answers with exactly the captured VMs', async () => {
  const { status, body } = await api<Page<Vm>>(
    `/api/v1/vms?source=${source}&limit=1000`,
    tokens.viewer,
  );
  assert.is(status, 200);
  assert.is(body.total, sent!.vms.length);
  assert.equal(body.items.map((v) => v.name).sort(), sent!.vms.map((v) => v.name).sort());
  for (const v of sent!.vms) {
    const listed = body.items.find((x) => x.name === v.name)!;
    assert.equal(
      [listed.sourceName, listed.vcpu, listed.memoryMib, listed.powerState],
      [sent!.source.name, v.vcpu, v.memoryMib, v.powerState],
      v.name,
    );
  }
});

test('pages: a viewer logs in; the VM list and a VM page show the captured VM', async () => {
  const cookie = await login(tokens.viewer);
  const vm = sent!.vms.find((v) => v.powerState === 'poweredOn')!;
  const list = await page(`/vms?q=${encodeURIComponent(vm.name)}`, cookie);
  assert.ok(list.includes(`>${vm.name}<`), 'the VM list shows the searched VM');
  const [{ key }] = await db!.sql`select vm_key as key from vm_inventory where name = ${vm.name}`;
  const detail = await page(`/vms/${source}/${encodeURIComponent(key)}`, cookie);
  assert.ok(detail.includes(vm.name), 'the VM page names the VM');
  assert.ok(detail.includes(sent!.source.name), 'and its source');
  // The dashboard subscribes to live capture events; keep one open for the tests below.
  const dashboard = await page('/', cookie);
  const stream = /data-events="([^"]+)"/.exec(dashboard)?.[1];
  assert.ok(stream?.startsWith('/events?since='), 'the dashboard names its event stream');
  events = await openEvents(stream!, cookie);
  await waitFor(() => events!.text().includes('event: hello'), 10_000, 'the hello event');
});

test('aggregation: POST /aggregations queues a pg-boss job that writes the daily rollups', async () => {
  const day = sent!.capturedAt.slice(0, 10);
  const rollups = `/api/v1/rollups/daily?day=${day}&source=${source}&limit=1000`;
  assert.is((await api<Page<Rollup>>(rollups, tokens.viewer)).body.total, 0, 'none before');
  const queued = await api<Aggregation>('/api/v1/aggregations', adminToken, {
    method: 'POST',
    body: { kind: 'daily', source, from: day, to: day, engine: 'ts' },
  });
  assert.is(queued.status, 202, JSON.stringify(queued.body));
  assert.equal(queued.body.jobs.map((j) => j.queue), ['aggregate-daily']);
  let done: Aggregation = queued.body;
  await waitFor(
    async () => {
      done = (await api<Aggregation>(`/api/v1/aggregations/${queued.body.id}`, adminToken)).body;
      return done.state !== 'running';
    },
    20_000,
    'the aggregation job',
  );
  assert.is(done.state, 'completed', JSON.stringify(done.jobs));
  assert.equal([done.jobs[0].output?.engine, done.jobs[0].output?.rows], ['ts', sent!.vms.length]);
  const { body } = await api<Page<Rollup>>(rollups, tokens.viewer);
  assert.is(body.total, sent!.vms.length);
  const vm = sent!.vms.find((v) => v.powerState === 'poweredOn')!;
  const row = body.items.find((r) => r.name === vm.name)!;
  assert.equal(
    [row.totalSamples, row.samplesPresent, row.presence, row.poweredOnRatio],
    [1, 1, 1, 1],
  );
  assert.equal([row.avgVcpu, row.avgRamGb], [vm.vcpu, vm.memoryMib / 1024]);
  assert.is(row.vcpuHours, vm.vcpu * 24);
  const [{ n }] = await db!.sql`
    select count(*)::int as n from vm_daily_rollup where source_id = ${source} and day = ${day}`;
  assert.is(n, sent!.vms.length);
});

test('/metrics under Deno: the capture, the job and the requests above are counted', async () => {
  const res = await fetch(url('/metrics'), { headers: { authorization: `Bearer ${adminToken}` } });
  assert.is(res.status, 200);
  const text = await res.text();
  const sample = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  assert.is(sample(/^vmledger_captures_received_total\{outcome="stored"\} (\S+)$/m), 1);
  assert.is(
    sample(/^vmledger_job_runs_total\{queue="aggregate-daily",outcome="completed"\} (\S+)$/m),
    1,
  );
  assert.ok(
    sample(
      /^vmledger_http_requests_total\{method="GET",route="\/api\/v1\/vms",status="200"\} (\S+)$/m,
    ) >= 1,
  );
  assert.ok(sample(/^vmledger_process_resident_memory_bytes (\S+)$/m) > 1e6, 'resident memory');
});

test('the agent bundle under Deno, without node_modules, captures and delivers to the server', async () => {
  const built = spawnSync(process.execPath, ['scripts/build-agent.ts'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.is(built.status, 0, built.stderr);
  const home = path.join(dir, 'agent');
  mkdirSync(home);
  copyFileSync(path.join(root, 'dist/vmledger-agent.mjs'), path.join(home, 'vmledger-agent.mjs'));
  writeFileSync(path.join(home, 'token'), tokens.agent, { mode: 0o600 });
  const spool = path.join(home, 'spool');
  const name = 'deno-agent-demo';
  writeFileSync(
    path.join(home, 'agent.json'),
    JSON.stringify({
      server: { url: server!.url, tokenFile: path.join(home, 'token') },
      spoolDir: spool,
      heartbeatSeconds: 5,
      sources: [{ name, kind: 'demo', flavor: 'proxmox', vms: 80, seed: 11 }],
    }),
  );
  let log = '';
  const child = spawn(deno, ['run', '-A', 'vmledger-agent.mjs', 'run', '--config', 'agent.json'], {
    cwd: home,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  agentChild = child;
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code))
  );
  const spooled = () =>
    [...log.matchAll(/"msg":"capture spooled".*?"captureId":"([0-9a-f-]{36})"/g)]
      .map((m) => m[1]);
  const pending = () => readdirSync(path.join(spool, 'pending'));
  let found: Source | undefined;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`the agent exited: ${log}`);
        const sources = (await api<Page<Source>>('/api/v1/sources', tokens.viewer)).body.items;
        found = sources.find((s) => s.name === name);
        return spooled().length > 0 && pending().length === 0 &&
          typeof found?.agent?.version === 'string';
      },
      20_000,
      () => `a delivered capture and a heartbeat from the agent; its log:\n${log}`,
    );
    // Every capture the agent took is stored, once.
    const rows = await db!.sql`
      select c.capture_id::text as id, c.vm_count from captures c
      join sources s on s.id = c.source_id where s.name = ${name} order by c.captured_at`;
    assert.equal(rows.map((r) => r.id).sort(), spooled().sort());
    assert.equal(
      [found!.agent!.name, found!.agent!.version, found!.agent!.hostname],
      ['deno agent', AGENT_VERSION, os.hostname()],
    );
    const vms = await api<Page<Vm>>(`/api/v1/vms?source=${found!.id}&limit=1000`, tokens.viewer);
    assert.ok(vms.body.total > 10);
    assert.is(vms.body.total, rows[rows.length - 1].vm_count);
    assert.ok(vms.body.items.every((v) => v.sourceName === name));
    // The dashboard's event stream tells the open page about the new capture.
    await waitFor(() => events!.text().includes('event: capture'), 10_000, 'a capture event');
  } finally {
    child.kill('SIGTERM');
    if (!(await within(exited, 10_000))) child.kill('SIGKILL');
  }
  assert.is(await exited, 0, log);
  assert.match(log, /"msg":"agent stopped"/);
  assert.equal([pending(), readdirSync(path.join(spool, 'rejected'))], [[], []], 'spool empty');
});

test('SIGTERM stops the Deno server promptly and cleanly, also with an event stream open', async () => {
  assert.ok(events, 'an event stream is open');
  const stopped = await within(server!.kill('SIGTERM'), 10_000);
  if (!stopped) await server!.kill('SIGKILL');
  assert.ok(stopped, 'the server was still running 10 s after SIGTERM');
  assert.is(server!.child.exitCode, 0, server!.output());
  assert.is(await events!.ended, 'end', 'the event stream was ended, not cut off');
});

test.run();
