/**
 * The web UI in a real browser: Debian's Chromium (headless) driven by playwright-core,
 * against a real server listening on 127.0.0.1, seeded through the ingest API with demo
 * captures. Screenshots of every page at desktop and 375 px widths go to .tmp/screenshots/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import * as assert from 'uvu/assert';
import { launchChromium } from '../support/chromium.ts';
import { suiteNeeding } from '../support/parts.ts';
import { demoCapture, type DemoFlavor } from '../../agent/collectors/demo/fleet.ts';
import { runBenchmark } from '../../server/aggregate/benchmark.ts';
import { runAggregation } from '../../server/aggregate/run.ts';
import { listen, type RunningServer } from '../../server/runtime.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';

const test = suiteNeeding('browser: the web UI in Chromium', ['chromium']);
const SHOTS = path.resolve('.tmp/screenshots');
const START = Date.parse('2026-05-01T00:00:00Z');
const STEP = 3 * 3600_000;
const CAPTURES = 24;

let t: TestApp;
let server: RunningServer;
let base: string;
let profile: string;
let benchGroup: string;
let context: BrowserContext;
/** Console errors and page errors, per page URL. */
const problems: string[] = [];

async function seed(flavors: DemoFlavor[] = ['vcenter', 'proxmox']) {
  for (let i = 0; i < CAPTURES; i++) {
    for (const flavor of flavors) {
      const at = new Date(START + i * STEP);
      const c = demoCapture({
        flavor,
        seed: 4,
        totalVms: 240,
        at,
        since: i === 0 ? null : new Date(at.getTime() - STEP),
      });
      const res = await t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent });
      assert.is(res.status, 201);
    }
  }
}

function watch(page: Page) {
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${page.url()}: console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${page.url()}: pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 500) problems.push(`${r.url()}: HTTP ${r.status()}`);
  });
}

async function newPage(width = 1280, height = 860): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize({ width, height });
  watch(page);
  return page;
}

async function login(page: Page, next = '/') {
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await page.fill('#token', t.tokens.admin);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/login')),
    page.click('button[type=submit]'),
  ]);
}

test.before(async () => {
  try {
    await setUp();
  } catch (err) {
    // uvu reports a failed hook without its reason.
    console.error('browser suite set-up failed:', err);
    throw err;
  }
});

async function setUp() {
  t = await createTestApp('browser');
  await seed();
  // Rollups and a benchmark run, so the daily/monthly views and the Benchmarks page have data.
  for (const { id } of await t.db.sql`select id from sources order by id`) {
    for (const day of ['2026-05-01', '2026-05-02']) {
      await runAggregation(t.db.sql, 'sql', {
        kind: 'daily',
        sourceId: id,
        period: day,
        tz: 'UTC',
      });
    }
    await runAggregation(t.db.sql, 'sql', {
      kind: 'monthly',
      sourceId: id,
      period: '2026-05-01',
      tz: 'UTC',
    });
    benchGroup = (await runBenchmark(t.db.sql, {
      kind: 'daily',
      sourceId: id,
      period: '2026-05-02',
      tz: 'UTC',
      reps: 2,
    })).runGroup;
  }
  server = await listen(t.app.fetch, '127.0.0.1', 0);
  base = `http://127.0.0.1:${server.port}`;
  profile = mkdtempSync(path.join(os.tmpdir(), 'vml-chromium-'));
  // A fresh profile per run (playwright passes it as --user-data-dir).
  context = await launchChromium(profile);
  mkdirSync(SHOTS, { recursive: true });
}

test.after(async () => {
  await context?.close().catch(() => {});
  await server?.close();
  await t?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('log in with a token and land on the dashboard with fleet totals', async () => {
  const page = await newPage();
  await page.goto(base);
  assert.match(page.url(), /\/login\?next=/);
  await page.fill('#token', 'vml_wrong_token_value_here');
  await page.click('button[type=submit]');
  assert.match(await page.textContent('[role=alert]') ?? '', /not valid/);
  // The browser logs the deliberate 401 as a console error; it is not a page problem.
  problems.splice(0);
  await login(page);
  assert.is(new URL(page.url()).pathname, '/');
  assert.is(await page.textContent('h1'), 'Fleet');
  // Five fleet figures, and the alerts panel's three severities.
  assert.is(await page.locator('#alerts-panel .card.kpi').count(), 3);
  assert.is(await page.locator('.card.kpi').count(), 5 + 3);
  assert.is(await page.locator('.card.source').count(), 2);
  // The live indicator connects to the event stream.
  await page.waitForSelector('.live[data-state="open"]', { timeout: 10_000 });
  await page.close();
});

test('search and filter the VM table; sort by a column', async () => {
  const page = await newPage();
  await login(page, '/vms');
  const count = () => page.textContent('#vm-count');
  const total = await count();
  const [{ name }] = await t.db.sql`select name from vm_inventory order by name desc limit 1`;
  const part = name.slice(0, Math.max(4, name.length - 2));
  await page.fill('#q', part);
  await page.waitForFunction(
    (before) => document.querySelector('#vm-count')?.textContent !== before,
    total,
  );
  assert.match(new URL(page.url()).search, new RegExp(`q=${encodeURIComponent(part)}`));
  const names = await page.locator('#vm-table tbody td:first-child a').allTextContents();
  assert.ok(
    names.length > 0 && names.every((n) => n.toLowerCase().includes(part.toLowerCase())),
    `rows match "${part}"`,
  );
  // Clear the search, filter to powered-on VMs: every Power badge says On.
  await page.fill('#q', '');
  await page.waitForFunction(
    (before) => document.querySelector('#vm-count')?.textContent === before,
    total,
  );
  await page.selectOption('#f-power', 'poweredOn');
  await page.waitForFunction(
    (before) => document.querySelector('#vm-count')?.textContent !== before,
    total,
  );
  const powers = await page.locator('#vm-table tbody td:nth-child(3)').allTextContents();
  assert.ok(powers.length > 0 && powers.every((p) => p.trim() === 'On'));
  const [{ n: on }] = await t.db
    .sql`select count(*)::int as n from vm_inventory where power_state = 'poweredOn'`;
  assert.match((await count())!, new RegExp(`^${new Intl.NumberFormat('en-US').format(on)} VMs`));
  // Sort by vCPU (descending on the second click), kept with the filter.
  await page.click('th:has-text("vCPU") a');
  await page.waitForSelector('th[aria-sort="ascending"]:has-text("vCPU")');
  await page.click('th:has-text("vCPU") a');
  await page.waitForSelector('th[aria-sort="descending"]:has-text("vCPU")');
  const vcpus = (await page.locator('#vm-table tbody td:nth-child(4)').allTextContents()).map(
    Number,
  );
  assert.equal(vcpus, [...vcpus].sort((a, b) => b - a));
  assert.match(page.url(), /power=poweredOn/);
  assert.match(page.url(), /sort=vcpu/);
  // The filter form carries the sort: changing a filter keeps it.
  await page.selectOption('#f-power', '');
  await page.waitForFunction(() => !location.search.includes('power='));
  assert.match(page.url(), /sort=vcpu&order=desc/);
  assert.is(await page.getAttribute('th:has-text("vCPU")', 'aria-sort'), 'descending');
  await page.close();
});

test('deleted VMs and the estate as of a past moment, with removable filter chips', async () => {
  const [{ n: deleted }] = await t.db.sql`select count(*)::int as n from vm_inventory_deleted`;
  assert.ok(deleted > 0, 'the demo history deletes VMs');
  const page = await newPage();
  await login(page, '/vms');
  const total = await page.textContent('#vm-count');
  await page.selectOption('#f-state', 'deleted');
  await page.waitForFunction(
    (before) => document.querySelector('#vm-count')?.textContent !== before,
    total,
  );
  assert.match(page.url(), /state=deleted/);
  assert.match(
    (await page.textContent('#vm-count'))!,
    new RegExp(`^${new Intl.NumberFormat('en-US').format(deleted)} VMs`),
  );
  const badges = await page.locator('#vm-table tbody td:last-child').allTextContents();
  assert.ok(badges.length > 0 && badges.every((b) => b.includes('deleted')));
  // The chip shows the filter; removing it returns to the live list.
  const chip = page.locator('.chips a.chip', { hasText: 'State: deleted' });
  await Promise.all([page.waitForURL((u) => !u.search.includes('state=')), chip.click()]);
  assert.is(await page.inputValue('#f-state'), '');
  assert.is(await page.textContent('#vm-count'), total);

  // As of the ninth capture's time: the notice names the capture read for each source.
  const at = new Date(START + 8 * STEP).toISOString().slice(0, 16);
  await page.fill('#f-at', at);
  await page.dispatchEvent('#f-at', 'change');
  await page.waitForSelector('#vm-table .notice');
  assert.match(page.url(), /at=/);
  const notice = (await page.textContent('#vm-table .notice'))!;
  assert.match(notice, new RegExp(`As of ${at.replace('T', ' ')} UTC`));
  // Each source's newest complete capture by then (the demo's captures may be incomplete).
  const [{ n: then }] = await t.db.sql`
    select count(*)::int as n from vm_hourly_stats f
    join (select distinct on (source_id) source_id, captured_at from captures
          where captured_at <= ${new Date(START + 8 * STEP)}
          order by source_id, complete desc, captured_at desc) c
      on c.source_id = f.source_id and c.captured_at = f.snapshot_time`;
  const shown = (await page.textContent('#vm-count'))!;
  assert.match(
    shown,
    new RegExp(`^${new Intl.NumberFormat('en-US').format(then)} VMs`),
    `${shown} | ${notice}`,
  );
  await page.close();
});

test('open a VM trace with its charts and switch granularity', async () => {
  const page = await newPage();
  await login(page, '/vms');
  const first = page.locator('#vm-table tbody tr:first-child td:first-child a');
  const name = await first.textContent();
  await Promise.all([page.waitForURL(/\/vms\/\d+\//), first.click()]);
  assert.is(await page.textContent('h1'), name);
  for (const id of ['vcpu', 'ram', 'disk', 'power']) {
    const svg = page.locator(`#chart-${id} svg`);
    assert.ok(await svg.isVisible(), `${id} chart visible`);
    assert.ok((await svg.locator('path.line').count()) >= 1, `${id} has a line`);
    assert.ok((await svg.locator('rect.hit title').count()) > 1, `${id} has hover titles`);
    const box = await svg.boundingBox();
    assert.ok(box && box.width > 200 && box.height > 50, `${id} has a size`);
  }
  await Promise.all([page.waitForURL(/granularity=monthly/), page.click('a:has-text("Monthly")')]);
  assert.is(await page.getAttribute('.segmented a[aria-current="true"]', 'href') !== null, true);
  await page.close();
});

test('keyboard only: skip link, Tab to the navigation and the search, Enter', async () => {
  const page = await newPage();
  await login(page);
  await page.goto(`${base}/`);
  await page.keyboard.press('Tab');
  assert.is(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  // Tab through the header to the "VMs" navigation link and follow it with Enter.
  let found = false;
  for (let i = 0; i < 12 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => document.activeElement?.getAttribute('href') === '/vms');
  }
  assert.ok(found, 'reached the VMs link with Tab');
  const ring = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement!);
    return s.outlineStyle !== 'none' || s.boxShadow !== 'none';
  });
  assert.ok(ring, 'focus is visible');
  await Promise.all([page.waitForURL(/\/vms$/), page.keyboard.press('Enter')]);
  // Tab to the search box and type; the table follows.
  found = false;
  // The header's stops (navigation, Log out, Everywhere) come first.
  for (let i = 0; i < 24 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => document.activeElement?.id === 'q');
  }
  assert.ok(found, 'reached the search box with Tab');
  const before = await page.textContent('#vm-count');
  await page.keyboard.type('zz-nothing-matches');
  await page.waitForSelector('#vm-table .empty');
  await page.keyboard.press('Escape');
  await page.fill('#q', '');
  await page.waitForFunction((b) => document.querySelector('#vm-count')?.textContent === b, before);
  // Enter on a focused VM link opens its trace.
  await page.focus('#vm-table tbody tr:first-child td:first-child a');
  await Promise.all([page.waitForURL(/\/vms\/\d+\//), page.keyboard.press('Enter')]);
  assert.ok(await page.locator('#chart-vcpu svg').isVisible());
  await page.close();
});

test('the dashboard updates itself when a capture arrives (server-sent events)', async () => {
  const page = await newPage();
  await login(page);
  await page.waitForSelector('.live[data-state="open"]');
  const firstRow = () =>
    page.textContent('[aria-label="Recent captures"] tbody tr:first-child td:nth-child(2)');
  const before = await firstRow();
  const at = new Date(START + CAPTURES * STEP);
  const c = demoCapture({
    flavor: 'proxmox',
    seed: 4,
    totalVms: 240,
    at,
    since: new Date(at.getTime() - STEP),
  });
  assert.is((await t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent })).status, 201);
  await page.waitForFunction(
    (b) =>
      document.querySelector('[aria-label="Recent captures"] tbody tr:first-child td:nth-child(2)')
        ?.textContent !== b,
    before,
    { timeout: 15_000 },
  );
  assert.match((await firstRow())!, /2026-05-04 00:00 UTC/);
  await page.close();
});

test('every page: no console errors, screenshots at desktop and 375 px', async () => {
  const [vm] = await t.db.sql`
    select source_id, vm_key from vm_hourly_stats group by source_id, vm_key
    having count(distinct (vcpu, ram_mb, power_state)) > 1 order by 1, 2 limit 1`;
  const [{ id: sourceId }] = await t.db.sql`select id from sources order by id limit 1`;
  const pages: [string, string][] = [
    ['dashboard', '/'],
    ['vms', '/vms'],
    ['vms-deleted', '/vms?state=deleted&os=linux'],
    ['vms-as-of', '/vms?at=2026-05-01T12:00:00Z&state=all&folder=%2F'],
    ['vm-trace', `/vms/${vm.source_id}/${encodeURIComponent(vm.vm_key)}`],
    ['vm-trace-daily', `/vms/${vm.source_id}/${encodeURIComponent(vm.vm_key)}?granularity=daily`],
    ['sources', '/sources'],
    ['source', `/sources/${sourceId}`],
    ['totals', '/totals'],
    ['totals-source', `/totals?source=${sourceId}`],
    ['totals-daily', '/totals?granularity=daily'],
    ['capture-history', '/capture-history'],
    ['costs', '/costs'],
    ['reports', '/reports'],
    ['benchmarks', '/benchmarks'],
    ['benchmark', `/benchmarks/${benchGroup}`],
    ['admin', '/admin'],
    ['api-reference', '/api-reference'],
    ['admin-agents', '/admin/agents'],
    ['admin-jobs', '/admin/jobs'],
    ['admin-audit', '/admin/audit'],
  ];
  for (const [width, height, label] of [[1280, 860, 'desktop'], [375, 812, 'mobile']] as const) {
    const page = await newPage(width, height);
    await login(page);
    for (const [name, url] of pages) {
      const res = await page.goto(`${base}${url}`);
      assert.is(res?.status(), 200, url);
      await page.waitForLoadState('load');
      // Nothing wider than the viewport except inside scroll regions.
      const overflow = await page.evaluate(() =>
        document.documentElement.scrollWidth - document.documentElement.clientWidth
      );
      assert.ok(overflow <= 1, `${name} at ${label}: page scrolls sideways by ${overflow}px`);
      await page.screenshot({ path: path.join(SHOTS, `${name}-${label}.png`), fullPage: true });
    }
    await page.goto(`${base}/login`);
    await page.screenshot({ path: path.join(SHOTS, `login-${label}.png`) });
    await page.close();
  }
  // Dark mode too (the same tokens, other values).
  const page = await newPage();
  await page.emulateMedia({ colorScheme: 'dark' });
  await login(page);
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-dark.png'), fullPage: true });
  await page.goto(`${base}/vms/${vm.source_id}/${encodeURIComponent(vm.vm_key)}`);
  await page.screenshot({ path: path.join(SHOTS, 'vm-trace-dark.png'), fullPage: true });
  await page.close();
  assert.equal(problems, [], problems.join('\n'));
});

test.run();
