/**
 * The hosts, clusters, datastores and networks pages in Chromium against a real server:
 * the site test estate (tests/support/site_estate.ts) plus a demo vCenter fleet, through the
 * ingest API. Every page renders without console errors and without sideways scrolling at
 * 375 px; filters and sorts work; links lead host → VM → datastore → VM → host.
 * Screenshots go to .tmp/screenshots/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import * as assert from 'uvu/assert';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import { listen, type RunningServer } from '../../server/runtime.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { launchChromium } from '../support/chromium.ts';
import { suiteNeeding } from '../support/parts.ts';
import { storeSiteEstate } from '../support/site_estate.ts';

const test = suiteNeeding('browser: site pages in Chromium', ['chromium']);
const SHOTS = path.resolve('.tmp/screenshots');

let t: TestApp;
let server: RunningServer;
let base: string;
let profile: string;
let context: BrowserContext;
let src = 0;
let demo = 0;
const problems: string[] = [];

async function newPage(width = 1280, height = 860): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize({ width, height });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${page.url()}: console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${page.url()}: pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 500) problems.push(`${r.url()}: HTTP ${r.status()}`);
  });
  return page;
}

async function login(page: Page, next = '/') {
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await page.fill('#token', t.tokens.viewer);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/login')),
    page.click('button[type=submit]'),
  ]);
}

test.before(async () => {
  try {
    t = await createTestApp('site_browser');
    src = await storeSiteEstate(t);
    const start = Date.parse('2026-05-11T00:00:00Z');
    for (let i = 0; i < 6; i++) {
      const at = new Date(start + i * 4 * 3600_000);
      const c = demoCapture({
        flavor: 'vcenter',
        seed: 7,
        totalVms: 200,
        at,
        since: i === 0 ? null : new Date(at.getTime() - 4 * 3600_000),
      });
      const res = await t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent });
      assert.is(res.status, 201, await res.clone().text());
      demo = (await res.json()).sourceId;
    }
    server = await listen(t.app.fetch, '127.0.0.1', 0);
    base = `http://127.0.0.1:${server.port}`;
    profile = mkdtempSync(path.join(os.tmpdir(), 'vml-chromium-'));
    context = await launchChromium(profile);
    mkdirSync(SHOTS, { recursive: true });
  } catch (err) {
    console.error('site browser suite set-up failed:', err);
    throw err;
  }
});

test.after(async () => {
  await context?.close().catch(() => {});
  await server?.close();
  await t?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('filter hosts by state and sort datastores by days until full', async () => {
  const page = await newPage();
  await login(page, '/hosts');
  const all = await page.locator('#site-table tbody tr').count();
  assert.ok(all > 2, `hosts of both sources (${all})`);
  await page.selectOption('#f-state', 'disconnected');
  await Promise.all([
    page.waitForURL(/state=disconnected/),
    page.click('button:has-text("Apply")'),
  ]);
  const states = await page.locator('#site-table tbody td:nth-child(4)').allTextContents();
  assert.equal(states.map((s) => s.trim()), ['disconnected']);
  assert.match((await page.textContent('#site-count'))!, /^1 hosts/);
  await page.fill('#q', 'esx');
  await Promise.all([page.waitForURL(/q=esx/), page.press('#q', 'Enter')]);
  assert.match(page.url(), /state=disconnected/);

  await page.goto(`${base}/datastores`);
  await Promise.all([
    page.waitForURL(/sort=daysUntilFull/),
    page.click('th:has-text("Full in") a'),
  ]);
  assert.is(await page.getAttribute('th:has-text("Full in")', 'aria-sort'), 'ascending');
  const first = await page.textContent('#site-table tbody tr:first-child td:first-child');
  assert.is(first?.trim(), 'filling-ds');
  await page.close();
});

test('links: host → VM → datastore → VM → host; dashboard capacity panel', async () => {
  const page = await newPage();
  await login(page, '/hosts');
  await Promise.all([page.waitForURL(/\/hosts\/\d+\/host-1$/), page.click('a:text-is("esx-1")')]);
  assert.is(await page.textContent('h1'), 'esx-1');
  assert.ok(await page.locator('#host-usage svg path.line').count() >= 1, 'usage chart drawn');
  await Promise.all([page.waitForURL(/\/vms\/\d+\/vm-a$/), page.click('a:text-is("app-01")')]);
  // The disk names its datastore (ds-1 is named filling-ds) and links by key.
  assert.is(await page.locator('#vm-disks a:text-is("ds-1")').count(), 0, 'not the key');
  assert.is(
    await page.getAttribute('#vm-nics a:text-is("VM Network")', 'href'),
    `/networks/${src}/net-10`,
  );
  await Promise.all([
    page.waitForURL(/\/datastores\/\d+\/ds-1$/),
    page.click('#vm-disks a:text-is("filling-ds")'),
  ]);
  assert.is(await page.textContent('h1'), 'filling-ds');
  assert.match((await page.textContent('#forecast'))!, /41 days/);
  assert.match((await page.textContent('#forecast-method'))!, /Least-squares/);
  await Promise.all([page.waitForURL(/\/vms\/\d+\/vm-b$/), page.click('a:text-is("db-01")')]);
  await Promise.all([page.waitForURL(/\/hosts\/\d+\/esx-2$/), page.click('a:text-is("esx-2")')]);
  assert.is(await page.textContent('h1'), 'esx-2');
  assert.ok(await page.locator('td:has-text("maintenance")').count() >= 1, 'timeline shows it');

  await page.goto(`${base}/`);
  const panel = page.locator('#capacity');
  assert.ok(await panel.isVisible());
  assert.ok(await panel.locator('a:text-is("esx-2")').count() === 1, 'disconnected host listed');
  await Promise.all([
    page.waitForURL(/\/clusters\/\d+\//),
    panel.locator('#cap-cl-h ~ div tbody a').first().click(),
  ]);
  assert.ok(await page.locator('#cluster-vcpu svg').isVisible());
  await page.close();
});

test('VM page: usage chart, guest file systems, network by name links to its page', async () => {
  // A powered-on demo VM with usage at its newest capture.
  const [v] = await t.db.sql`
    select l.vm_key from vm_lifecycle l
    join vm_hourly_stats f on f.source_id = l.source_id and f.vm_key = l.vm_key
      and f.snapshot_time = l.last_seen_at
    where l.source_id = ${demo} and l.deleted_at is null and f.cpu_usage_mhz > 0 and f.guest_disk_free is not null
    order by l.vm_key limit 1`;
  assert.ok(v, 'a demo VM with usage');
  const url = `/vms/${demo}/${encodeURIComponent(v.vm_key)}`;
  const page = await newPage();
  await login(page, url);
  assert.ok(await page.locator('#vm-usage svg').isVisible(), 'usage chart shown');
  assert.ok(await page.locator('#vm-usage svg path.line').count() >= 1, 'with lines drawn');
  assert.ok(await page.locator('#vm-guest-fs tbody tr').count() >= 1, 'guest file systems');
  await Promise.all([page.waitForURL(/days=30/), page.click('#usage-h ~ p a:text-is("30 days")')]);
  assert.is(await page.textContent('#usage-h ~ p strong'), '30 days');
  assert.ok(await page.locator('#vm-usage svg').isVisible(), 'chart at 30 days');
  // The site estate's VM on DMZ: its NIC has no key; the one network named so is linked.
  await page.goto(`${base}/vms/${src}/vm-b`);
  await Promise.all([
    page.waitForURL(/\/networks\/\d+\/net-20$/),
    page.click('#vm-nics a:text-is("DMZ")'),
  ]);
  assert.is(await page.textContent('h1'), 'DMZ');
  await page.close();
});

test('every site page: no console errors, no sideways scroll at 375 px, screenshots', async () => {
  const [dsDemo] = await t.db.sql`
    select datastore_key from datastore_inventory where source_id = ${demo} order by 1 limit 1`;
  const [netDemo] = await t.db.sql`
    select object_key from site_object_history where source_id = ${demo} and kind = 'network'
      and valid_to is null order by 1 limit 1`;
  const [vmDemo] = await t.db.sql`
    select vm_key from vm_inventory where source_id = ${demo} and power_state = 'poweredOn'
    order by 1 limit 1`;
  const pages: [string, string][] = [
    ['dashboard-capacity', '/'],
    ['vm', `/vms/${src}/vm-a`],
    ['vm-demo', `/vms/${demo}/${encodeURIComponent(vmDemo.vm_key)}`],
    ['hosts', '/hosts'],
    ['host', `/hosts/${src}/host-2`],
    ['clusters', '/clusters'],
    ['cluster', `/clusters/${src}/c1`],
    ['datastores', '/datastores'],
    ['datastore', `/datastores/${src}/ds-1`],
    ['datastore-demo', `/datastores/${demo}/${encodeURIComponent(dsDemo.datastore_key)}`],
    ['networks', '/networks'],
    ['network', `/networks/${src}/net-20`],
    ['network-demo', `/networks/${demo}/${encodeURIComponent(netDemo.object_key)}`],
  ];
  for (const [width, height, label] of [[1280, 860, 'desktop'], [375, 812, 'mobile']] as const) {
    const page = await newPage(width, height);
    await login(page);
    for (const [name, url] of pages) {
      const res = await page.goto(`${base}${url}`);
      assert.is(res?.status(), 200, url);
      await page.waitForLoadState('load');
      const overflow = await page.evaluate(() =>
        document.documentElement.scrollWidth - document.documentElement.clientWidth
      );
      assert.ok(overflow <= 1, `${name} at ${label}: page scrolls sideways by ${overflow}px`);
      await page.screenshot({ path: path.join(SHOTS, `${name}-${label}.png`), fullPage: true });
    }
    await page.close();
  }
  assert.equal(problems, [], problems.join('\n'));
});

test.run();
