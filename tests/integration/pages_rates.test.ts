/**
 * Admin · Rates page: tiers, tier rules and rate-card versions through CSRF-protected forms
 * (the same actions as the API). A refused form names the field and changes nothing; names
 * are escaped; a viewer is refused.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestApp, type TestApp } from '../support/app.ts';
import { pageSession } from '../support/jobs.ts';

const test = suite('pages: admin rates');
let t: TestApp;
let cookie = '';
let csrf = '';

const post = (path: string, form: Record<string, string>) =>
  t.app.request(path, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, ...form }).toString(),
  });
const get = async (path: string) => (await t.app.request(path, { headers: { cookie } })).text();
const count = async (table: string) =>
  (await t.db.sql`select count(*)::int as n from ${t.db.sql(table)}`)[0].n as number;

test.before(async () => {
  t = await createTestApp('pages_rates');
  ({ cookie, csrf } = await pageSession(t.app, t.tokens.admin, '/admin/rates'));
});
test.after(async () => {
  await t?.close();
});

test('the admin tabs link to Rates; a viewer is refused', async () => {
  assert.match(await get('/admin'), 'href="/admin/rates"');
  const viewer = await pageSession(t.app, t.tokens.viewer);
  const res = await t.app.request('/admin/rates', { headers: { cookie: viewer.cookie } });
  assert.is(res.status, 403);
  const html = await get('/admin/rates');
  assert.match(html, 'unassigned');
  assert.match(html, 'built in');
  assert.match(html, '<strong>Templates are not charged</strong>');
});

test('tiers and rules: added through forms; a bad regex or unknown tier is named, nothing stored', async () => {
  assert.is((await post('/admin/rates/tiers', { name: 'Gold', position: '1' })).status, 303);
  assert.is((await post('/admin/rates/tiers', { name: 'Gold', position: '1' })).status, 400);
  const bad = await post('/admin/rates/rules', {
    position: '10',
    match: 'regex',
    pattern: 'gold-(',
    tier: 'Gold',
  });
  assert.is(bad.status, 400);
  assert.match(await bad.text(), /pattern: not a valid regular expression/);
  const unknown = await post('/admin/rates/rules', {
    position: '10',
    match: 'exact',
    pattern: 'x',
    tier: 'Platinum',
  });
  assert.is(unknown.status, 400);
  assert.match(await unknown.text(), /tier: unknown tier/);
  assert.is(await count('tier_rules'), 0);
  const ok = await post('/admin/rates/rules', {
    position: '10',
    match: 'prefix',
    pattern: 'gold<script>',
    tier: 'Gold',
  });
  assert.is(ok.status, 303);
  const tagRule = await post('/admin/rates/rules', {
    position: '20',
    field: 'tag',
    match: 'exact',
    pattern: 'gold',
    tier: 'Gold',
  });
  assert.is(tagRule.status, 303);
  const badField = await post('/admin/rates/rules', {
    position: '30',
    field: 'colour',
    match: 'exact',
    pattern: 'x',
    tier: 'Gold',
  });
  assert.is(badField.status, 400);
  assert.match(await badField.text(), /field/);
  assert.equal(
    (await t.db.sql`select field from tier_rules order by position`).map((r) => r.field),
    ['pool', 'tag'],
  );
  const html = await get('/admin/rates');
  assert.match(html, 'gold&lt;script&gt;');
  assert.not.match(html, 'gold<script>');
  assert.match(html, '<td>tag</td><td>exact</td>');
});

test('rate card and versions: add, edit in place; a negative price or overlap is named, nothing changes', async () => {
  assert.is(
    (await post('/admin/rates/cards', { name: 'Standard', currency: 'EUR', isDefault: 'true' }))
      .status,
    303,
  );
  const [card] = await t.db.sql`select id::int from rate_cards`;
  const version = {
    effectiveFrom: '2026-01-01',
    vcpuHour: '0.01',
    ramGbHour: '0.004',
    diskGbMonth: '0.09',
    vmMonth: '3',
    'mult:Gold': '2',
    'mult:unassigned': '1',
  };
  assert.is((await post(`/admin/rates/cards/${card.id}/versions`, version)).status, 303);
  const negative = await post(`/admin/rates/cards/${card.id}/versions`, {
    ...version,
    effectiveFrom: '2026-02-01',
    ramGbHour: '-0.004',
  });
  assert.is(negative.status, 400);
  assert.match(await negative.text(), /ramGbHour: a non-negative decimal/);
  const overlap = await post(`/admin/rates/cards/${card.id}/versions`, version);
  assert.is(overlap.status, 400);
  assert.match(await overlap.text(), /effectiveFrom: overlaps version/);
  assert.is(await count('rate_card_versions'), 1);
  const [v] = await t.db.sql`select id::int from rate_card_versions`;
  const edit = await post(`/admin/rates/cards/${card.id}/versions/${v.id}`, {
    ...version,
    vcpuHour: '0.015',
    'mult:Gold': '2.5',
  });
  assert.is(edit.status, 303);
  const [row] = await t.db.sql`select vcpu_hour::text,
    (select multiplier::text from rate_card_tier_prices where version_id = ${v.id} and tier = 'Gold') as gold,
    (select count(*)::int from rate_card_tier_prices where version_id = ${v.id}) as tiers
    from rate_card_versions where id = ${v.id}`;
  assert.equal([row.vcpu_hour, row.gold, row.tiers], ['0.015000', '2.500000', 1]);
  const html = await get('/admin/rates');
  assert.match(html, 'Standard');
  assert.match(html, 'Gold ×2.5');
  const [a] = await t.db
    .sql`select count(*)::int as n from audit_log where action like 'rate_card.%'`;
  assert.is(a.n, 3);
});

test.run();
