/**
 * A benchmark started from the Benchmarks page in Chromium: an admin logs in, fills the
 * form, and the request page shows its progress and then its result (durations per engine,
 * parity) without a reload — the benchmark job runs in this test's pg-boss.
 */
import { startTestJobs } from '../support/jobs.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import * as assert from 'uvu/assert';
import { createApp } from '../../server/app.ts';
import { createToken } from '../../server/auth/tokens.ts';
import type { Jobs } from '../../server/jobs/boss.ts';
import { setLogLevel } from '../../server/log.ts';
import { listen, type RunningServer } from '../../server/runtime.ts';
import { launchChromium } from '../support/chromium.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { suiteNeeding } from '../support/parts.ts';
import { addCapture, addSource } from '../integration/aggregate_support.ts';

const test = suiteNeeding(
  'browser: start a benchmark from the Benchmarks page, rerun aggregation from the Jobs page',
  ['chromium'],
);
const D = '2026-04-07';
let db: TestDatabase;
let jobs: Jobs;
let server: RunningServer;
let context: BrowserContext;
let profile = '';
let admin = '';
let base = '';

test.before(async () => {
  setLogLevel('warn');
  db = await createTestDatabase('browser_benchmark');
  const source = await addSource(db.sql, 'bench-browser');
  for (const hh of ['00', '06', '12', '18']) {
    await addCapture(db.sql, source, `${D}T${hh}:00:00Z`, [
      { key: 'v-1', vcpu: 2, memoryMib: 2048, diskGb: '10.000', pool: 'Gold' },
      { key: 'v-2', vcpu: 1, memoryMib: 512, diskGb: '3.250' },
    ]);
  }
  jobs = await startTestJobs(db);
  const app = createApp(db.sql, { maxBodyBytes: 1 << 20, sessionHours: 1, jobs });
  admin = (await createToken(db.sql, { name: 'admin', role: 'admin' })).token;
  server = await listen(app.fetch, '127.0.0.1', 0);
  base = `http://127.0.0.1:${server.port}`;
  profile = mkdtempSync(path.join(os.tmpdir(), 'vml-chromium-'));
  context = await launchChromium(profile);
});

test.after(async () => {
  await context?.close();
  await server?.close();
  await jobs?.stop();
  await db?.drop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('an admin starts a benchmark and watches it finish without reloading', async () => {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  await page.goto(`${base}/login?next=${encodeURIComponent('/benchmarks')}`);
  await page.fill('#token', admin);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/benchmarks'),
    page.click('button[type=submit]'),
  ]);
  assert.match(await page.textContent('main') ?? '', /No benchmark runs yet/);
  await page.selectOption('#b-source', { label: 'bench-browser' });
  await page.selectOption('#b-kind', 'daily');
  await page.fill('#b-period', D);
  await page.fill('#b-reps', '2');
  await Promise.all([
    page.waitForURL((u) => u.pathname.startsWith('/benchmarks/requests/')),
    page.click('#bench-start button[type=submit]'),
  ]);
  // From here on the page updates itself: count navigations to prove there is no reload.
  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  const state = await page.getAttribute('#bench-request', 'data-state');
  assert.ok(state === 'queued' || state === 'running' || state === 'completed', String(state));
  await page.waitForSelector('#bench-request[data-state="completed"]', { timeout: 15_000 });
  assert.is(navigations, 0, 'no reload');
  const durations = await page.textContent('#bench-durations') ?? '';
  assert.match(durations, /SQL/);
  assert.match(durations, /TypeScript/);
  assert.match(durations, /Floor/);
  assert.match(durations, /\d ms/);
  assert.match(
    await page.textContent('#bench-parity') ?? '',
    /Parity: match · checksum [0-9a-f]{32}/,
  );
  assert.ok(await page.isVisible('#plan-sql'));
  assert.ok(await page.isVisible('#plan-ts'));
  assert.equal(problems, []);
  await page.close();
});

test('an admin reruns aggregation from the Jobs page and watches its jobs finish', async () => {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${base}/login?next=${encodeURIComponent('/admin/jobs')}`);
  if (page.url().includes('/login')) {
    await page.fill('#token', admin);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/admin/jobs'),
      page.click('button[type=submit]'),
    ]);
  }
  await page.selectOption('#a-source', { label: 'bench-browser' });
  await page.fill('#a-from', D);
  await page.fill('#a-to', D);
  await page.selectOption('#a-engine', 'ts');
  await page.screenshot({
    path: path.resolve('.tmp/screenshots/admin-jobs-rerun.png'),
    fullPage: true,
  });
  await Promise.all([
    page.waitForURL((u) => u.pathname.startsWith('/admin/aggregations/')),
    page.click('#rerun button[type=submit]'),
  ]);
  await page.waitForSelector('#aggregation[data-state="completed"]', { timeout: 15_000 });
  assert.match(await page.textContent('#aggregation') ?? '', /1 of 1 jobs done/);
  await page.screenshot({
    path: path.resolve('.tmp/screenshots/admin-aggregation.png'),
    fullPage: true,
  });
  assert.equal(problems, []);
  await page.close();
});

test.run();
