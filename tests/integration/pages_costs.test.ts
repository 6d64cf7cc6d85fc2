/**
 * The Costs page and the VM page's costs, on the showback estate (costs_showback_fixture.ts):
 * the last costed month by default, groups with month-over-month change, drill-down to the
 * VMs and on to a VM's page, the CSV link, escaping, a bad query as a 400 page; the owner
 * setting through the Rates page form.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestApp, type TestApp } from '../support/app.ts';
import { csvObjects } from '../support/csv.ts';
import { pageSession } from '../support/jobs.ts';
import {
  cents,
  MONTH,
  PREV,
  type Seeded,
  seedShowback,
  vmTotals,
} from './costs_showback_fixture.ts';

const test = suite('pages: costs');
let t: TestApp;
let s: Seeded;
let cookie = '';
let csrf = '';

const get = (path: string) => t.app.request(path, { headers: { cookie } });
const html = async (path: string) => {
  const res = await get(path);
  assert.equal(res.status, 200, path);
  return await res.text();
};

test.before(async () => {
  t = await createTestApp('pages_costs');
  s = await seedShowback(t);
  ({ cookie } = await pageSession(t.app, t.tokens.viewer));
});
test.after(async () => {
  await t?.close();
});

test('nav link; the last costed month by default, by tier, with the change from the month before', async () => {
  const page = await html('/costs');
  assert.match(page, 'href="/costs" aria-current="page"');
  assert.match(page, `<h1>Costs ${MONTH}</h1>`);
  assert.match(page, `<option value="${PREV}">`);
  assert.match(page, `<th scope="col" class="num">${PREV}</th>`);
  for (const tier of ['Gold', 'Silver', 'unassigned']) assert.match(page, `>${tier}</a>`);
  // The total row equals the lines in the database.
  const mar = await vmTotals(t, MONTH);
  const grand = [...mar.values()].reduce((a, b) => a + b, 0n);
  const totalText = String(grand).replace(/(\d\d)$/, '.$1').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  assert.match(page, `<strong>${totalText}</strong>`);
});

test('drill-down: a group to its VMs, a VM to its page; text escaped', async () => {
  const owners = await html(`/costs?month=${MONTH}&group_by=owner`);
  assert.match(
    owners,
    'href="/costs?month=2026-03&amp;group_by=vm&amp;filter_by=owner&amp;filter=team-a"',
  );
  const tags = await html(`/costs?month=${MONTH}&group_by=tag`);
  assert.match(tags, '&lt;b&gt;lab&lt;/b&gt;');
  assert.not.match(tags, '<b>lab</b>');
  const vms = await html(`/costs?month=${MONTH}&group_by=vm&filter_by=tag&filter=web`);
  assert.match(vms, `href="/vms/${s.show}/alpha"`);
  assert.match(vms, `href="/vms/${s.show}/delta"`);
  assert.not.match(vms, '/bravo"');
  assert.match(vms, '=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)');
  assert.match(vms, 'Only tag <strong>web</strong>');
});

test('CSV link: the groups shown, adding up to the lines', async () => {
  const page = await html(`/costs?month=${MONTH}&group_by=cluster`);
  assert.match(page, 'href="/costs.csv?month=2026-03&amp;group_by=cluster"');
  const res = await get(`/costs.csv?month=${MONTH}&group_by=cluster`);
  assert.equal(res.status, 200);
  const rows = csvObjects(await res.text());
  assert.equal(rows.map((r) => r.key).sort(), ['(no cluster)', 'c1', 'c2']);
  const mar = await vmTotals(t, MONTH);
  assert.equal(
    rows.reduce((a, r) => a + cents(r.total), 0n),
    [...mar.values()].reduce((a, b) => a + b, 0n),
  );
});

test('VMs a page at a time: a Next link, the next page holds the rest', async () => {
  const first = await html(`/costs?month=${MONTH}&group_by=vm&limit=3`);
  const next = /rel="next" href="([^"]+)"/.exec(first);
  assert.ok(next, 'a Next link');
  const rest = await html(next![1].replaceAll('&amp;', '&'));
  assert.not.match(rest, 'rel="next"');
  assert.match(rest, '>First</a>');
  const vmLinks = (page: string) =>
    [...page.matchAll(/href="\/vms\/\d+\/([^"]+)"/g)].map((m) => m[1]);
  const all = [...vmLinks(first), ...vmLinks(rest)].sort();
  assert.equal(all, ['alpha', 'bravo', 'charlie', 'delta', 'echo']);
  const whole = await html(`/costs?month=${MONTH}&group_by=vm`);
  assert.not.match(whole, 'rel="next"');
});

test('a bad month or grouping is a 400 page', async () => {
  for (const q of ['month=2026-13', `month=${MONTH}&group_by=colour`]) {
    const res = await get(`/costs?${q}`);
    assert.equal(res.status, 400, q);
    assert.match(await res.text(), 'Not a costs view');
  }
});

test('the VM page shows its cost per month with components', async () => {
  const page = await html(`/vms/${s.show}/alpha`);
  assert.match(page, 'id="vm-costs"');
  assert.match(page, `<a href="/costs?month=${MONTH}">${MONTH}</a>`);
  assert.match(page, `<a href="/costs?month=${PREV}">${PREV}</a>`);
  const mar = await vmTotals(t, MONTH);
  const alpha = String(mar.get('alpha')).replace(/(\d\d)$/, '.$1');
  assert.match(page, `${alpha} EUR`);
});

test('Rates page: the owner setting form; a bad value is named and changes nothing', async () => {
  ({ cookie, csrf } = await pageSession(t.app, t.tokens.admin, '/admin/rates'));
  const post = (form: Record<string, string>) =>
    t.app.request('/admin/rates/owner', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, ...form }).toString(),
    });
  assert.match(await html('/admin/rates'), 'id="owner-form"');
  const bad = await post({ ownerFrom: 'attribute', ownerName: '' });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), 'ownerName');
  const ok = await post({ ownerFrom: 'tag_category', ownerName: 'Team' });
  assert.equal(ok.status, 303);
  const owners = await html(`/costs?month=${MONTH}&group_by=owner`);
  assert.match(owners, '>ops</a>');
  assert.match(owners, 'tag category &quot;Team&quot;');
  const [a] = await t.db
    .sql`select count(*)::int as n from audit_log where action = 'cost_settings.update'`;
  assert.equal(a.n, 1);
});

test.run();
