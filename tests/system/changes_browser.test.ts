/**
 * The Changes page in Chromium against a real server, with a history stored through the
 * ingest API yesterday and today: presets (yesterday, last 7 days, last month, custom), the
 * summary shown before the list, kind filter, CSV export, no console errors, no sideways
 * scroll at 375 px. Screenshots go to .tmp/screenshots/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import * as assert from 'uvu/assert';
import { listen, type RunningServer } from '../../server/runtime.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';
import { launchChromium } from '../support/chromium.ts';
import { suiteNeeding } from '../support/parts.ts';

const test = suiteNeeding('browser: the Changes page in Chromium', ['chromium']);
const SHOTS = path.resolve('.tmp/screenshots');
const DAY = 86400_000;

let t: TestApp;
let server: RunningServer;
let base: string;
let profile: string;
let context: BrowserContext;
const problems: string[] = [];
const today = new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z').getTime();
const iso = (ms: number) => new Date(ms).toISOString();

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

async function counts(page: Page): Promise<Record<string, string>> {
  const cards = await page.locator('#counts .card').all();
  const out: Record<string, string> = {};
  for (const c of cards) {
    out[(await c.locator('.label').textContent())!.trim()] =
      (await c.locator('.value').textContent())!
        .trim();
  }
  return out;
}

test.before(async () => {
  try {
    t = await createTestApp('changes_browser');
    const post = async (at: number, vms: Parameters<typeof makeCapture>[0]['vms']) => {
      const c = makeCapture({ sourceId: 'vc-changes', at: iso(at), vms });
      const res = await t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent });
      assert.is(res.status, 201, await res.clone().text());
    };
    // Yesterday: a, b, c first seen at 10:00; a resized at 11:00.
    await post(today - DAY + 10 * 3600_000, [{ key: 'a' }, { key: 'b' }, { key: 'c' }]);
    await post(today - DAY + 11 * 3600_000, [{ key: 'a', vcpu: 4 }, { key: 'b' }, {
      key: 'c',
    }]);
    // Today (just after midnight, so never in the future): b moved, then c gone.
    await post(today + 60_000, [{ key: 'a', vcpu: 4 }, { key: 'b', host: 'h2' }, { key: 'c' }]);
    await post(today + 120_000, [{ key: 'a', vcpu: 4 }, { key: 'b', host: 'h2' }]);
    server = await listen(t.app.fetch, '127.0.0.1', 0);
    base = `http://127.0.0.1:${server.port}`;
    profile = mkdtempSync(path.join(os.tmpdir(), 'vml-chromium-'));
    context = await launchChromium(profile);
    mkdirSync(SHOTS, { recursive: true });
  } catch (err) {
    console.error('changes browser suite set-up failed:', err);
    throw err;
  }
});

test.after(async () => {
  await context?.close().catch(() => {});
  await server?.close();
  await t?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('presets: last 7 days by default, yesterday, last month, custom; summary before the list', async () => {
  const page = await newPage();
  await login(page, '/changes');
  assert.match(page.url(), /\/changes$/);
  assert.is(
    await page.getAttribute('nav[aria-label=Main] a[href="/changes"]', 'aria-current'),
    'page',
  );
  const last7 = await counts(page);
  assert.equal(
    [last7.Created, last7.Deleted, last7.Resized, last7.Moved, last7.Renamed],
    ['3', '1', '1', '1', '0'],
  );
  assert.is((await page.textContent('#net .card:first-child .value'))!.trim(), '+2');
  // The summary comes first, then the list.
  const order = await page.evaluate(() => {
    const net = document.querySelector('#net')!;
    const list = document.querySelector('#changes-table')!;
    return net.compareDocumentPosition(list) & Node.DOCUMENT_POSITION_FOLLOWING;
  });
  assert.ok(order, 'the summary precedes the list');
  assert.is(await page.locator('#changes-table tbody tr').count(), 6);

  await Promise.all([page.waitForURL(/preset=yesterday/), page.click('a:has-text("Yesterday")')]);
  const y = await counts(page);
  assert.equal([y.Created, y.Deleted, y.Resized, y.Moved], ['3', '0', '1', '0']);
  assert.is(
    await page.getAttribute('.segmented a[aria-current=true]', 'href'),
    '/changes?preset=yesterday',
  );

  await Promise.all([page.waitForURL(/preset=month/), page.click('a:has-text("Last month")')]);
  const now = new Date();
  const first = iso(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).slice(0, 10);
  assert.is(await page.inputValue('#c-from'), `${first}T00:00`);

  // Custom: yesterday 00:00 to today 00:00 again, through the form (UTC times to the minute).
  await page.fill('#c-from', iso(today - DAY).slice(0, 16));
  await page.fill('#c-to', iso(today).slice(0, 16));
  await Promise.all([page.waitForURL(/preset=custom/), page.click('button:has-text("Show")')]);
  assert.equal(await counts(page), y);
  assert.is(await page.inputValue('#c-to'), iso(today).slice(0, 16), 'the form keeps the time');
  await page.close();
  // A hand-made range with its end first is a page saying so (a 400: the browser logs it, so
  // this page is not watched for console errors).
  const bad = await context.newPage();
  const res = await bad.goto(`${base}/changes?preset=custom&from=2026-05-02&to=2026-05-01`);
  assert.is(res?.status(), 400);
  assert.match((await bad.textContent('main'))!, /must be before to/);
  await bad.close();
});

test('kind filter from a count card; CSV export of the same range', async () => {
  const page = await newPage();
  await login(page, '/changes?preset=7d');
  await Promise.all([page.waitForURL(/kind=resized/), page.click('#counts a:has-text("Resized")')]);
  const rows = await page.locator('#changes-table tbody tr').allTextContents();
  assert.is(rows.length, 1);
  assert.match(rows[0], /vCPU 2 → 4/);
  assert.match(rows[0], /vm-a/);
  const href = await page.getAttribute('a:has-text("Export CSV")', 'href');
  assert.match(href!, /^\/changes\.csv\?/);
  const res = await page.request.get(`${base}${href}`);
  assert.is(res.status(), 200);
  assert.match(res.headers()['content-type'], /text\/csv/);
  const lines = (await res.text()).trim().split('\r\n');
  assert.is(lines.length, 2, 'header and the one resize');
  assert.match(lines[1], /resized/);
  await page.close();
});

test('no console errors, no sideways scroll at 375 px, screenshots', async () => {
  for (const [width, height, label] of [[1280, 860, 'desktop'], [375, 812, 'mobile']] as const) {
    const page = await newPage(width, height);
    await login(page, '/changes');
    for (const url of ['/changes', '/changes?preset=yesterday', '/changes?preset=month']) {
      const res = await page.goto(`${base}${url}`);
      assert.is(res?.status(), 200, url);
      await page.waitForLoadState('load');
      const overflow = await page.evaluate(() =>
        document.documentElement.scrollWidth - document.documentElement.clientWidth
      );
      assert.ok(overflow <= 1, `${url} at ${label}: page scrolls sideways by ${overflow}px`);
    }
    await page.goto(`${base}/changes`);
    await page.screenshot({ path: path.join(SHOTS, `changes-${label}.png`), fullPage: true });
    await page.close();
  }
  assert.equal(problems, [], problems.join('\n'));
});

test.run();
