/**
 * `npm test`: the one gate. Typecheck, then every uvu suite under Node against a real
 * PostgreSQL (embedded unless DATABASE_URL is set), the unit suites again under Deno,
 * and — when VMLEDGER_EXTRA_DATABASE_URL is set (CI sets it to Debian's PostgreSQL) —
 * the integration suites once more against that server. Ends with `N passed, N failed`.
 *
 *   npm test                      everything
 *   npm test -- --group unit      one group (unit | integration | system)
 *   npm test -- tests/unit/x.test.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../server/db/embedded.ts';
import { freePort } from './free_port.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);
const args = process.argv.slice(2);
const only = args.length > 0;

type Step = { name: string; passed: number; failed: number };
const steps: Step[] = [];

// Token values have a recognisable shape; none may appear in anything the suite prints
// (logs of servers, agents and tests). Chunk boundaries could split one: a split token
// is still caught by the in-suite log test, this is the wide net.
const TOKEN_SHAPE = /vml_[A-Za-z0-9_-]{43}/g;
const leakedTokens = new Set<string>();
function scanForTokens(chunk: Buffer) {
  for (const m of chunk.toString().matchAll(TOKEN_SHAPE)) leakedTokens.add(m[0].slice(0, 12) + '…');
}

/** Runs a command, streaming its output; returns its exit code and the last `N passed, N failed`. */
function run(
  cmd: string,
  cmdArgs: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; passed?: number; failed?: number }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d);
      scanForTokens(d);
      tail = (tail + d.toString()).slice(-4000);
    });
    child.stderr.on('data', (d: Buffer) => {
      process.stderr.write(d);
      scanForTokens(d);
    });
    child.on('close', (code) => {
      const lines = tail.trim().split('\n');
      const m = /^(\d+) passed, (\d+) failed/.exec(lines[lines.length - 1] ?? '');
      resolve({
        code: code ?? 1,
        passed: m ? Number(m[1]) : undefined,
        failed: m ? Number(m[2]) : undefined,
      });
    });
  });
}

async function suites(name: string, cmd: string, cmdArgs: string[], env: Record<string, string>) {
  console.log(`\n== ${name}`);
  const r = await run(cmd, cmdArgs, env);
  if (r.passed === undefined) steps.push({ name, passed: 0, failed: 1 });
  else {steps.push({
      name,
      passed: r.passed,
      failed: r.failed! + (r.code !== 0 && r.failed === 0 ? 1 : 0),
    });}
}

let stopPg: (() => Promise<void>) | null = null;
let tmp: string | null = null;
try {
  if (!only) {
    console.log('== typecheck (tsc --noEmit)');
    const tsc = await run(bin('tsc'), ['--noEmit', '-p', '.']);
    steps.push({
      name: 'typecheck',
      passed: tsc.code === 0 ? 1 : 0,
      failed: tsc.code === 0 ? 0 : 1,
    });
  }

  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'vmledger-test-'));
    const pg = await startEmbeddedPostgres({ pgDir: path.join(tmp, 'pg'), port: await freePort() });
    databaseUrl = pg.url;
    stopPg = pg.stop;
  }
  const env = {
    TEST_DATABASE_URL: databaseUrl,
    VMLEDGER_LOG_LEVEL: process.env.VMLEDGER_LOG_LEVEL ?? 'error',
  };

  await suites('node suites', bin('node'), ['tests/run.ts', ...(only ? args : [])], env);
  if (!only) {
    await suites('deno unit suites', bin('deno'), [
      'run',
      '--allow-all',
      '--quiet',
      'tests/run.ts',
      '--group',
      'unit',
    ], env);
    const extra = process.env.VMLEDGER_EXTRA_DATABASE_URL;
    if (extra) {
      await suites('integration suites on VMLEDGER_EXTRA_DATABASE_URL', bin('node'), [
        'tests/run.ts',
        '--group',
        'integration',
      ], {
        ...env,
        TEST_DATABASE_URL: extra,
      });
    }
  }
} finally {
  await stopPg?.().catch(() => {});
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}

if (!only) {
  steps.push({
    name: 'no token values in any output',
    passed: leakedTokens.size === 0 ? 1 : 0,
    failed: leakedTokens.size === 0 ? 0 : 1,
  });
  if (leakedTokens.size) {
    console.log(`token values seen in output: ${[...leakedTokens].join(', ')}`);
  }
}
const passed = steps.reduce((n, s) => n + s.passed, 0);
const failed = steps.reduce((n, s) => n + s.failed, 0);
console.log(
  '\n' + steps.map((s) => `  ${s.name}: ${s.passed} passed, ${s.failed} failed`).join('\n'),
);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
