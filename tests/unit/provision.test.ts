/**
 * Provisioning of system parts (scripts/provision.ts) and what a suite does when its part
 * is missing (tests/support/parts.ts): skipped locally with one line naming the part and
 * the install command, a failure under CI=true, run normally when present.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  installCommand,
  type Installer,
  type PartSpec,
  provisionWith,
} from '../../scripts/provision.ts';

const test = suite('provisioning of system parts');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function fakeInstaller(can: boolean, result: { ok: true } | { ok: false; error: string }) {
  const calls: string[][] = [];
  const installer: Installer = {
    can,
    why: can ? undefined : 'not root',
    install(packages) {
      calls.push(packages);
      return result;
    },
  };
  return { installer, calls };
}

const quiet = () => {};

function spec(presentAfter: number): PartSpec {
  let checks = 0;
  return { label: 'Thing', packages: ['thing-pkg'], present: () => ++checks > presentAfter };
}

test('a present part is ok and nothing is installed', () => {
  const { installer, calls } = fakeInstaller(true, { ok: true });
  const status = provisionWith('chromium', 'a suite', installer, spec(0));
  assert.equal(status, { part: 'chromium', ok: true, installed: false });
  assert.equal(calls, []);
});

test('a missing part is installed when the machine can, saying what and for whom', () => {
  const { installer, calls } = fakeInstaller(true, { ok: true });
  const lines: string[] = [];
  const status = provisionWith(
    'libreoffice',
    'the suite "x"',
    installer,
    spec(1),
    (l) => lines.push(l),
  );
  assert.equal(status, { part: 'libreoffice', ok: true, installed: true });
  assert.equal(calls, [['thing-pkg']]);
  assert.is(lines[0], 'provision: installing Thing (Debian: thing-pkg) for the suite "x"');
  assert.match(lines[1], /^provision: Thing ready in \d+ s$/);
});

test('a missing part that cannot be installed says why and how to install it', () => {
  const { installer, calls } = fakeInstaller(false, { ok: true });
  const status = provisionWith('govmomi', 'a suite', installer, spec(5));
  assert.equal(calls, []);
  assert.not.ok(status.ok);
  if (!status.ok) {
    assert.match(status.reason, /Thing is missing and cannot be installed here \(not root\)/);
    assert.is(status.install, installCommand('govmomi'));
    assert.match(status.install, /scripts\/provision\.ts govmomi$/);
  }
});

test('a failed install, or one after which the part is still missing, is not ok', () => {
  const failing = fakeInstaller(true, {
    ok: false,
    error: 'E: Unable to locate package thing-pkg',
  });
  const a = provisionWith('postgres', 'a suite', failing.installer, spec(5), quiet);
  assert.not.ok(a.ok);
  if (!a.ok) assert.match(a.reason, /install failed: E: Unable to locate package thing-pkg/);
  const b = provisionWith(
    'postgres',
    'a suite',
    fakeInstaller(true, { ok: true }).installer,
    spec(5),
    quiet,
  );
  assert.not.ok(b.ok);
  if (!b.ok) assert.match(b.reason, /still missing/);
});

test('VMLEDGER_SKIP_PARTS reports a part missing without installing it', () => {
  const before = process.env.VMLEDGER_SKIP_PARTS;
  process.env.VMLEDGER_SKIP_PARTS = 'libreoffice,chromium';
  try {
    const { installer, calls } = fakeInstaller(true, { ok: true });
    const status = provisionWith('chromium', 'a suite', installer, spec(0));
    assert.not.ok(status.ok);
    assert.equal(calls, []);
  } finally {
    if (before === undefined) delete process.env.VMLEDGER_SKIP_PARTS;
    else process.env.VMLEDGER_SKIP_PARTS = before;
  }
});

/** Runs the fixture suite through tests/run.ts in a child of the current runtime. */
function runFixture(env: Record<string, string>) {
  const runtime = 'Deno' in globalThis ? ['run', '--allow-all', '--quiet'] : [];
  const r = spawnSync(
    process.execPath,
    [...runtime, 'tests/run.ts', 'tests/fixtures/parts/needs_part.test.ts'],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, CI: '', VMLEDGER_SKIP_PARTS: '', FIXTURE_PART_PRESENT: '', ...env },
    },
  );
  const lines = r.stdout.trim().split('\n');
  return { code: r.status, out: r.stdout + r.stderr, last: lines[lines.length - 1] };
}

test('a suite whose part is missing is skipped locally: one line, nothing runs, exit 0', () => {
  const r = runFixture({ VMLEDGER_SKIP_PARTS: 'chromium' });
  assert.is(r.last, '0 passed, 0 failed, 2 skipped', r.out);
  assert.is(r.code, 0, r.out);
  assert.not.match(r.out, /fixture: (before hook|first test|second test) ran/);
  const notes = r.out.split('\n').filter((l) => l.startsWith('skip: "fixture needing chromium"'));
  // Once when the suite loads, once again beside the closing line.
  assert.is(notes.length, 2, r.out);
  assert.match(
    notes[0],
    /needs chromium: .*VMLEDGER_SKIP_PARTS; install: .*scripts\/provision\.ts chromium$/,
  );
});

test('under CI=true the same missing part is a failure', () => {
  const r = runFixture({ VMLEDGER_SKIP_PARTS: 'chromium', CI: 'true' });
  assert.is(r.last, '0 passed, 1 failed, 2 skipped', r.out);
  assert.is(r.code, 1, r.out);
  assert.match(r.out, /FAIL: "fixture needing chromium" needs chromium/);
  assert.match(r.out, /chromium is available \(CI=true: a missing part fails\)/);
  assert.not.match(r.out, /fixture: first test ran/);
});

test('with the part present the suite runs as usual', () => {
  const r = runFixture({ FIXTURE_PART_PRESENT: '1', CI: 'true' });
  assert.is(r.last, '2 passed, 0 failed', r.out);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /fixture: before hook ran/);
  assert.match(r.out, /fixture: second test ran/);
});

test.run();
