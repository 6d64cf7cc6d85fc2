/**
 * `vmledger-agent check` against a real vmledger server (the app on a socket) and the
 * Proxmox fake: it verifies the server and the agent's token through `GET /api/v1/whoami`,
 * says plainly what is wrong when it cannot, prints each source's identity for token
 * binding, and fails on a Proxmox token that sees only part of the cluster.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createToken } from '../../server/auth/tokens.ts';
import { listen, type RunningServer } from '../../server/runtime.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';
import {
  loadFixtureCluster,
  type ProxmoxFake,
  startProxmoxFake,
} from '../support/proxmox_fake/index.ts';

const GOOD = { id: 'vmledger@pve!collector', secret: '5b0e3c9e-3f9e-4a55-9d8b-2f6f1a7b9c01' };
const POOL = { id: 'vmledger@pve!prodonly', secret: '0c1d2e3f-0000-4000-8000-000000000004' };

const test = suite('agent check against the server');
let t: TestApp;
let server: RunningServer;
let fake: ProxmoxFake;
let dir = '';
let serverUrl = '';

test.before(async () => {
  t = await createTestApp('agent_check');
  server = await listen(t.app.fetch, '127.0.0.1', 0);
  serverUrl = `http://127.0.0.1:${server.port}`;
  const model = loadFixtureCluster();
  model.tokens.push({ ...POOL, privileges: 'pool-auditor', pool: 'prod' });
  fake = await startProxmoxFake(model);
  dir = mkdtempSync(path.join(os.tmpdir(), 'vml-agent-check-'));
});
test.after(async () => {
  await fake.close();
  await server.close();
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the agent CLI without blocking this process (it serves the requests). */
function agent(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.resolve('agent/cli.ts'), ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let n = 0;
function config(server: Record<string, unknown>, sources: unknown[]): string {
  const file = path.join(dir, `c${++n}.json`);
  writeFileSync(file, JSON.stringify({ server, spoolDir: path.join(dir, 'spool'), sources }));
  return file;
}
const proxmox = (token: { id: string; secret: string }) => ({
  name: 'pve',
  kind: 'proxmox',
  url: fake.url,
  tokenId: token.id,
  tokenSecret: token.secret,
  timeoutSeconds: 10,
});
const demo = { name: 'demo', kind: 'demo', flavor: 'proxmox', seed: 4 };

test('whoami: name, role and the sources the token owns', async () => {
  const res = await t.call('/api/v1/whoami', { token: t.tokens.agent });
  assert.is(res.status, 200);
  const me = await res.json();
  assert.equal(me, {
    id: me.id,
    name: 'test agent',
    role: 'agent',
    allowedSources: null,
    scope: null,
    sources: [],
  });
  assert.type(me.id, 'number');
  const posted = await t.call('/api/v1/captures', {
    ...json(makeCapture({ sourceId: 'who-1', at: '2026-05-02T10:00:00Z', vms: [{ key: 'a' }] })),
    token: t.tokens.agent,
  });
  assert.is(posted.status, 201);
  const after = await (await t.call('/api/v1/whoami', { token: t.tokens.agent })).json();
  assert.equal(after.sources.map((s: { externalId: string }) => s.externalId), ['who-1']);
  assert.is((await t.call('/api/v1/whoami', { token: 'vml_wrong' })).status, 401);
  const viewer = await (await t.call('/api/v1/whoami', { token: t.tokens.viewer })).json();
  assert.is(viewer.role, 'viewer');
});

test('server up, token valid, full Proxmox token: ok, identities printed, exit 0', async () => {
  const r = await agent([
    'check',
    '--config',
    config({ url: serverUrl, token: t.tokens.agent }, [
      proxmox(GOOD),
      demo,
    ]),
  ]);
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^ok {3}server .*: server reachable, token valid \(role agent, name test agent\)$/m,
  );
  assert.match(r.stdout, /^ok {3}pve \(proxmox\): .*cluster pve-lab/m);
  assert.match(r.stdout, /source identity \(for token binding\): proxmox:pve-lab$/m);
  assert.match(r.stdout, /source identity \(for token binding\): demo:demo-pve-4$/m);
  assert.match(r.stdout, /--role agent --name NAME --sources proxmox:pve-lab,demo:demo-pve-4/);
});

test('a pool-scoped Proxmox token: WARN partial view, exit 1', async () => {
  const r = await agent([
    'check',
    '--config',
    config({ url: serverUrl, token: t.tokens.agent }, [
      proxmox(POOL),
    ]),
  ]);
  assert.is(r.status, 1);
  assert.match(r.stdout, /^WARN pve \(proxmox\): .*sees 3 guest\(s\); partial view: .*VM\.Audit/m);
});

test('wrong token: a plain 401 sentence, exit 1', async () => {
  const r = await agent([
    'check',
    '--config',
    config({ url: serverUrl, token: 'vml_wrong' }, [demo]),
  ]);
  assert.is(r.status, 1);
  assert.match(r.stdout, /^FAIL server .*: .*is reachable but rejected the token \(401/m);
});

test('server down, https against its http port: plain sentences, exit 1', async () => {
  const down = await agent([
    'check',
    '--config',
    config({ url: 'http://127.0.0.1:9', token: t.tokens.agent }, [demo]),
  ]);
  assert.is(down.status, 1);
  assert.match(down.stdout, /^FAIL server .*not reachable: 127\.0\.0\.1:9: connection refused/m);
  const https = await agent([
    'check',
    '--config',
    config({ url: `https://127.0.0.1:${server.port}`, token: t.tokens.agent }, [demo]),
  ]);
  assert.is(https.status, 1);
  assert.match(https.stdout, /the URL says https but the server answered without TLS/);
  assert.not.match(https.stdout, /SSL routines|EPROTO/);
});

test('a token bound to other sources: check names the mismatch', async () => {
  const { token } = await createToken(t.db.sql, {
    name: 'bound agent',
    role: 'agent',
    allowedSources: ['proxmox:elsewhere'],
  });
  const r = await agent(['check', '--config', config({ url: serverUrl, token }, [proxmox(GOOD)])]);
  assert.is(r.status, 1);
  assert.match(r.stdout, /the token may post only for: proxmox:elsewhere/);
  assert.match(r.stdout, /^FAIL pve: the token is not bound to proxmox:pve-lab$/m);
});

test.run();
