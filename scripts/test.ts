/**
 * `npm test`: the one gate. The typecheck, Deno's linter and formatter check, the layer
 * rules (dependency-cruiser, .dependency-cruiser.cjs), every uvu group under Node against a
 * real PostgreSQL (embedded unless DATABASE_URL is set), the unit group again under Deno,
 * and — when VMLEDGER_EXTRA_DATABASE_URL is set (CI sets it to Debian's PostgreSQL) — the
 * integration group once more against that server, but for ONE_SERVER_SUITES. Suites that
 * need a system part (Chromium, LibreOffice, Go + govmomi) install it on first use
 * (scripts/provision.ts) or are skipped, saying why. Prints each step's duration and ends
 * with `N passed, N failed` (`, N skipped` when some were).
 *
 *   npm test                      everything
 *   npm test -- --group unit      one group (unit | integration | system | drills)
 *   npm test -- tests/unit/x.test.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../server/db/embedded.ts';
import { freePort } from './free_port.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);
const args = process.argv.slice(2);
const only = args.length > 0;

type Step = { name: string; passed: number; failed: number; skipped: number; seconds: number };
const steps: Step[] = [];
const started = performance.now();

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
  output: { stdout(d: Buffer): void; stderr(d: Buffer): void } = {
    stdout: (d) => process.stdout.write(d),
    stderr: (d) => process.stderr.write(d),
  },
): Promise<{ code: number; passed?: number; failed?: number; skipped?: number }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    child.stdout.on('data', (d: Buffer) => {
      output.stdout(d);
      scanForTokens(d);
      tail = (tail + d.toString()).slice(-4000);
    });
    child.stderr.on('data', (d: Buffer) => {
      output.stderr(d);
      scanForTokens(d);
    });
    child.on('close', (code) => {
      const lines = tail.trim().split('\n');
      const m = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/.exec(
        lines[lines.length - 1] ?? '',
      );
      resolve({
        code: code ?? 1,
        passed: m ? Number(m[1]) : undefined,
        failed: m ? Number(m[2]) : undefined,
        skipped: m ? Number(m[3] ?? 0) : undefined,
      });
    });
  });
}

/** `run`, its output kept and printed under `== name` when it ends (it runs beside others). */
async function runHeld(name: string, cmd: string, cmdArgs: string[], env: Record<string, string>) {
  const out: Buffer[] = [];
  const r = await run(cmd, cmdArgs, env, {
    stdout: (d) => out.push(d),
    stderr: (d) => out.push(d),
  });
  console.log(`\n== ${name}`);
  process.stdout.write(Buffer.concat(out));
  return r;
}

/**
 * A step that is one check (typecheck, lint, format): passed or failed by its exit code. Its
 * output is held and printed when it ends (the checks run beside the suites).
 */
async function check(name: string, cmd: string, cmdArgs: string[]) {
  const t0 = performance.now();
  const r = await runHeld(name, cmd, cmdArgs, {});
  const ok = r.code === 0;
  steps.push({
    name,
    passed: ok ? 1 : 0,
    failed: ok ? 0 : 1,
    skipped: 0,
    seconds: secondsSince(t0),
  });
}

/**
 * A step that runs uvu suites through tests/run.ts and reports their counts. `held`: the
 * step runs beside another one, so its output is kept and printed when it ends.
 */
async function suites(
  name: string,
  cmd: string,
  cmdArgs: string[],
  env: Record<string, string>,
  options: { held?: boolean } = {},
) {
  const t0 = performance.now();
  let r;
  if (options.held) r = await runHeld(name, cmd, cmdArgs, env);
  else {
    console.log(`\n== ${name}`);
    r = await run(cmd, cmdArgs, env);
  }
  const seconds = secondsSince(t0);
  if (r.passed === undefined) steps.push({ name, passed: 0, failed: 1, skipped: 0, seconds });
  else {
    // A runner that exits non-zero while reporting no failure still fails the step.
    const failed = r.failed! + (r.code !== 0 && r.failed === 0 ? 1 : 0);
    steps.push({ name, passed: r.passed, failed, skipped: r.skipped ?? 0, seconds });
  }
}

function secondsSince(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/**
 * Integration suites run on the embedded server only (not again on
 * VMLEDGER_EXTRA_DATABASE_URL): their subject is not what PostgreSQL computes. Each runs
 * statements that other suites also run on the extra server: the ingest routine (every
 * ingest suite), pg-boss queues (jobs_*, usage_tiers_jobs), the auth tables (failed_auth,
 * token_cache), alert evaluation (alerts), the lists and pages (query_api, vm_list, rvtools,
 * reports, site_pages, pages_channels, pages_rates), and what the every-page and costs-page
 * suites read through the same data modules as the API (query_api, vm_usage,
 * vm_configuration, costs_showback).
 */
const ONE_SERVER_SUITES = new Set([
  // HTTP: every route's 401/403; body limits, redirects, CSV neutralisation; bad input.
  'auth_matrix',
  'hardening_http',
  'hardening_input',
  // Page forms and the API share one action module (tokens and capture now too: their rows
  // are written by query_api, token_cache and ingest there).
  'actions_parity',
  'actions_tokens_capture',
  // Log lines carry no token value; the login form; the token command line.
  'no_secrets_in_logs',
  'pages_login',
  'token_cli',
  // Delivery to a webhook receiver and an SMTP server (timers, retries); alerts wired into
  // the server and on to a webhook (the rules are evaluated there by alerts).
  'notifications',
  'notifications_email',
  'alerts_notify',
  'alerts_server',
  // Output formats of data the other suites read there: the lists as CSV against their JSON
  // (query_api, vm_list, reports, benchmark_start read them), the Proxmox rows of the RVTools
  // workbook (rvtools reads its data module, as of too), the report writers (a postgres.js
  // cursor, exceljs styles), the /metrics exposition after an ingest and a pg-boss job.
  'csv_lists',
  'rvtools_proxmox',
  'report_writer',
  'metrics',
  // How Node reads and admits a capture: the agent's layout in parts or others whole, large
  // captures streamed, the fast and general staging paths, the admission gate; the demo
  // collector's week of life.
  'ingest_layouts',
  'ingest_paths',
  'ingest_busy',
  'ingest_streamed',
  'demo_site_life',
  // Every page rendered and its live updates; the Costs page (40 and 17 s on the extra server
  // in a suite at its 10-minute edge, for statements the API suites run there).
  'pages_ui',
  'pages_costs',
]);

let stopPg: (() => Promise<void>) | null = null;
let tmp: string | null = null;
let checks: Promise<void> | undefined;
try {
  if (!only) {
    // The checks run beside the suites, one after the other (they change no file): run first,
    // alone, they kept one of the two cores idle for ~20 s (the typecheck is one thread).
    checks = (async () => {
      await check('typecheck (tsc --noEmit)', bin('tsc'), ['--noEmit', '-p', '.']);
      await check('lint (deno lint)', bin('deno'), ['lint', '--quiet']);
      await check('format (deno fmt --check)', bin('deno'), ['fmt', '--check', '--quiet']);
      // The layer rules and no import cycles (.dependency-cruiser.cjs); it prints each
      // violation (rule: from → to) and exits non-zero when there is any.
      await check('layers (dependency-cruiser)', bin('node'), [
        path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs'),
        '--config',
        '.dependency-cruiser.cjs',
        'agent',
        'server',
        'shared',
        'web',
      ]);
    })();
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
    // Node's module compile cache (V8 code cache and the TypeScript it strips) for every Node
    // process and worker the suites start: dozens load the server or the agent from source
    // (the runners, server nodes, agent command lines, report workers), ~0.6 of ~1.4 CPU s
    // each without it. Keyed by each file's content, so an edited file is compiled again; it is
    // Node's default folder (tsc uses it too), and NODE_DISABLE_COMPILE_CACHE=1 turns it off.
    NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ??
      path.join(os.tmpdir(), 'node-compile-cache'),
  };
  const node = bin('node');
  const deno = [bin('deno'), ['run', '--allow-all', '--quiet', 'tests/run.ts']] as const;

  if (only) await suites('node suites', node, ['tests/run.ts', ...args], env);
  else {
    // Every group starts at once; only the embedded integration group's output streams, the
    // others' is held and printed when they end. The unit groups under Node and Deno share
    // nothing (no database; every file or port they use is their own); started first and
    // waited for, they kept the other groups back ~90 s.
    const underDeno = suites('unit (deno)', deno[0], [...deno[1], '--group', 'unit'], env, {
      held: true,
    });
    const underNode = suites('unit (node)', node, ['tests/run.ts', '--group', 'unit'], env, {
      held: true,
    });
    // The system group runs beside the integration group(s): its suites mostly wait (on
    // Chromium, vcsim, slapd, an OIDC provider), and every suite has its own databases
    // (tests/support/db.ts), ports and files, so sharing the embedded server is safe. Run one
    // after the other, the three kept the two cores ~60% busy.
    const system = suites('system (node)', node, ['tests/run.ts', '--group', 'system'], env, {
      held: true,
    });
    // The drills (a PostgreSQL down for two minutes, restarts, several nodes, a replica,
    // backup and restore) are mostly waiting on purpose: beside the rest they cost little,
    // after the system group they would add minutes. The two outage drills (~5 min of
    // waiting between them) run in a process of their own beside the others: one after the
    // other, the drills became the longest group (~600 s).
    const drillFiles = readdirSync(path.join(root, 'tests', 'drills'))
      .filter((f) => f.endsWith('.test.ts')).sort().map((f) => `tests/drills/${f}`);
    const outageFiles = drillFiles.filter((f) => f.includes('outage'));
    const outages = suites('drills: outages (node)', node, ['tests/run.ts', ...outageFiles], env, {
      held: true,
    });
    const drills = suites(
      'drills (node)',
      node,
      ['tests/run.ts', ...drillFiles.filter((f) => !outageFiles.includes(f))],
      env,
      { held: true },
    );
    // The integration group on the extra server runs beside the one on the embedded server
    // (the two servers and their databases share nothing). It is there for what PostgreSQL
    // computes on another major version: every suite runs there except those whose subject is
    // the HTTP layer, sign-in, delivery to peers or how Node reads a capture (ONE_SERVER_SUITES),
    // whose statements the other suites run there too. On the two saturated cores the second
    // run cost as much CPU as the first (npm test's total is its CPU over 2).
    const extra = process.env.VMLEDGER_EXTRA_DATABASE_URL;
    const integrationFiles = readdirSync(path.join(root, 'tests', 'integration'))
      .filter((f) => f.endsWith('.test.ts')).sort();
    const onExtra = extra
      ? suites(
        'integration (node) on VMLEDGER_EXTRA_DATABASE_URL',
        node,
        [
          'tests/run.ts',
          ...integrationFiles.filter((f) => !ONE_SERVER_SUITES.has(f.replace('.test.ts', '')))
            .map((f) => `tests/integration/${f}`),
        ],
        { ...env, TEST_DATABASE_URL: extra },
        { held: true },
      )
      : undefined;
    await suites('integration (node)', node, ['tests/run.ts', '--group', 'integration'], env);
    await onExtra;
    await system;
    await drills;
    await outages;
    await underNode;
    await underDeno;
  }
} finally {
  await checks;
  await stopPg?.().catch(() => {});
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}

if (!only) {
  const clean = leakedTokens.size === 0;
  steps.push({
    name: 'no token values in any output',
    passed: clean ? 1 : 0,
    failed: clean ? 0 : 1,
    skipped: 0,
    seconds: 0,
  });
  if (!clean) console.log(`token values seen in output: ${[...leakedTokens].join(', ')}`);
}
const sum = (key: 'passed' | 'failed' | 'skipped') => steps.reduce((n, s) => n + s[key], 0);
const [passed, failed, skipped] = [sum('passed'), sum('failed'), sum('skipped')];
const width = Math.max(...steps.map((s) => s.name.length));
console.log(
  '\n' +
    steps.map((s) =>
      `  ${s.name.padEnd(width)}  ${s.passed} passed, ${s.failed} failed${
        s.skipped ? `, ${s.skipped} skipped` : ''
      }  ${s.seconds.toFixed(1)} s`
    ).join('\n') +
    `\n  ${'total'.padEnd(width)}  ${secondsSince(started).toFixed(1)} s`,
);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
