/** The agent's command line, from source and as the single-file bundle under Node and Deno. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../../agent/capture/schema.ts';
import { AGENT_VERSION } from '../../agent/version.ts';

const test = suite('agent CLI and bundle');
const root = process.cwd();
let dir = '';

test.before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vml-agent-cli-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const agent = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [path.join(root, 'agent/cli.ts'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });

function config(name: string, body: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(body));
  return file;
}
const base = { server: { url: 'http://127.0.0.1:9', token: 'vml_x' }, spoolDir: '' };

test('the bundle builds and --version runs under node and deno without node_modules', () => {
  const built = spawnSync(process.execPath, ['scripts/build-agent.ts'], { encoding: 'utf8' });
  assert.is(built.status, 0, built.stderr);
  const alone = path.join(dir, 'bundle');
  spawnSync('mkdir', ['-p', alone]);
  copyFileSync(path.join(root, 'dist/vmledger-agent.mjs'), path.join(alone, 'vmledger-agent.mjs'));
  const viaNode = spawnSync(process.execPath, ['vmledger-agent.mjs', '--version'], {
    cwd: alone,
    encoding: 'utf8',
  });
  assert.is(viaNode.stdout.trim(), AGENT_VERSION);
  const deno = path.join(root, 'node_modules/.bin/deno');
  const viaDeno = spawnSync(deno, ['run', '-A', 'vmledger-agent.mjs', '--version'], {
    cwd: alone,
    encoding: 'utf8',
  });
  assert.is(viaDeno.status, 0, viaDeno.stderr);
  assert.is(viaDeno.stdout.trim(), AGENT_VERSION);
  const help = spawnSync(process.execPath, ['vmledger-agent.mjs', '--help'], {
    cwd: alone,
    encoding: 'utf8',
  });
  assert.match(help.stdout, /capture-once --config FILE --source NAME/);
});

test('check: a source that does not connect fails; the server is checked too', () => {
  const mixed = config('mixed.json', {
    ...base,
    spoolDir: path.join(dir, 's2'),
    sources: [
      { name: 'demo', kind: 'demo' },
      {
        name: 'vc',
        kind: 'vcenter',
        url: 'https://127.0.0.1:9/sdk',
        username: 'u',
        password: 'p',
        timeoutSeconds: 5,
      },
    ],
  });
  const bad = agent(['check', '--config', mixed]);
  assert.is(bad.status, 1);
  assert.match(bad.stdout, /^FAIL server http:\/\/127\.0\.0\.1:9: .*connection refused/m);
  assert.match(bad.stdout, /^ok\s+demo \(demo\)/m);
  assert.match(bad.stdout, /^FAIL vc \(vcenter\): .*(refused|unreachable)/m);
  assert.not.match(bad.stdout + bad.stderr, /"p"|password: p/);
});

test('unknown or misspelt flags are refused with the usage line, exit 2', () => {
  const c = config('flags.json', {
    ...base,
    spoolDir: path.join(dir, 's4'),
    sources: [{ name: 'demo', kind: 'demo' }],
  });
  for (
    const args of [
      ['check', '--config', c, '--log-levl', 'debug'],
      ['run', '--confg', c],
      ['check', '--config', c, 'stray'],
      ['check', '--config', c, '--log-level', 'loud'],
      ['check', '--config'],
    ]
  ) {
    const r = agent(args);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, /^Usage: vmledger-agent run\|capture-once\|check --config FILE/m);
  }
  assert.match(
    agent(['check', '--config', c, '--log-levl', 'debug']).stderr,
    /unknown option --log-levl/,
  );
});

test('bad configuration: one line naming the field, exit code 2', () => {
  const tooFast = config('fast.json', {
    ...base,
    spoolDir: dir,
    sources: [{ name: 'demo', kind: 'demo', intervalSeconds: 10 }],
  });
  const r = agent(['check', '--config', tooFast]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /sources\.0\.intervalSeconds/);
  const noSecret = config('nosecret.json', {
    server: { url: 'http://127.0.0.1:9', tokenEnv: 'VMLEDGER_TEST_UNSET_TOKEN' },
    spoolDir: dir,
    sources: [{ name: 'demo', kind: 'demo' }],
  });
  const r2 = agent(['run', '--config', noSecret]);
  assert.is(r2.status, 2);
  assert.match(
    r2.stderr,
    /server\.tokenEnv: environment variable VMLEDGER_TEST_UNSET_TOKEN is not set/,
  );
  assert.is(agent(['check']).status, 2);
  assert.is(agent(['explode']).status, 2);
  const notJson = path.join(dir, 'bad.json');
  writeFileSync(notJson, '{ nope');
  const r3 = agent(['check', '--config', notJson]);
  assert.is(r3.status, 2);
  assert.match(r3.stderr, /not valid JSON/);
});

test('capture-once --out - prints a valid capture', () => {
  const c = config('once.json', {
    ...base,
    spoolDir: path.join(dir, 's3'),
    sources: [{ name: 'pve', kind: 'demo', flavor: 'proxmox', vms: 50, seed: 3 }],
  });
  const r = agent([
    'capture-once',
    '--config',
    c,
    '--source',
    'pve',
    '--out',
    '-',
    '--at',
    '2026-06-01T12:00:00Z',
  ]);
  assert.is(r.status, 0, r.stderr);
  const capture = Capture.parse(JSON.parse(r.stdout));
  assert.is(capture.capturedAt, '2026-06-01T12:00:00.000Z');
  assert.is(capture.source.name, 'pve');
  assert.ok(capture.vms.length > 10);
  const unknown = agent(['capture-once', '--config', c, '--source', 'nope']);
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, /no source named nope/);
});

test.run();
