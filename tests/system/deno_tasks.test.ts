/**
 * The tasks in deno.json, run the way the README says (`deno task …` with the project's
 * own Deno from node_modules). A task that names plain `deno` is resolved by Deno's task
 * runner through node_modules/.bin to the npm package's ELF binary, which it then loads as
 * JavaScript; this suite catches that and a runner that ignores an unknown flag.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AGENT_VERSION } from '../../agent/version.ts';

const test = suite('deno.json tasks');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const deno = path.join(root, 'node_modules/.bin/deno');

const denoTask = (args: string[]) =>
  spawnSync(deno, ['task', '--quiet', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 120_000,
  });

test('`deno task agent --version` runs the agent from source under Deno', () => {
  const r = denoTask(['agent', '--version']);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), AGENT_VERSION);
});

test('every task runs the project Deno by path, and test:unit names the unit group', () => {
  const tasks = (JSON.parse(readFileSync(path.join(root, 'deno.json'), 'utf8')) as {
    tasks: Record<string, string>;
  }).tasks;
  for (const [name, command] of Object.entries(tasks)) {
    assert.not.match(command, /(^|[;&|]\s*)deno\s/, `task ${name} starts with a bare deno`);
  }
  assert.match(tasks['test:unit'], /tests\/run\.ts --group unit$/);
});

test('tests/run.ts refuses an option or group it does not know (exit 2), running nothing', () => {
  for (const args of [['--unit'], ['--group', 'units']]) {
    const r = spawnSync(process.execPath, ['tests/run.ts', ...args], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /tests\/run\.ts: unknown (option|group)/);
    assert.not.match(r.stdout, /passed/);
  }
});

test('tests/run.ts takes a folder as every suite in it', () => {
  const r = spawnSync(process.execPath, ['tests/run.ts', 'tests/fixtures/parts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CI: '', VMLEDGER_SKIP_PARTS: 'chromium' },
  });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /tests\/fixtures\/parts\/needs_part\.test\.ts/);
  assert.match(r.stdout, /0 passed, 0 failed, 2 skipped\n$/);
});

test.run();
