/**
 * Chargeback rates through the API: tiers, tier rules and rate cards (admin changes them,
 * viewers read, each change audited), and bad input refused with 400 naming the field while
 * nothing changes: a negative price, an overlapping version, an unknown tier, an invalid
 * regex. Then a month costed through POST /cost-runs, and its history.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { addCapture, addSource } from './aggregate_support.ts';
import { runAggregation } from '../../server/aggregate/run.ts';
import { costsForMonth } from '../../server/costs/costs.ts';
import { runBenchmark } from '../../server/aggregate/benchmark.ts';
import { pageSession } from '../support/jobs.ts';

const test = suite('costs: rate cards and tier rules API');
let t: TestApp;
let cardId: number;

const api = (path: string, init: RequestInit & { token?: string | null } = {}) =>
  t.call(`/api/v1${path}`, { token: t.tokens.admin, ...init });
const send = (method: string, path: string, body: unknown, token = t.tokens.admin) =>
  api(path, { ...json(body), method, token });

/** Everything a refused change could have touched, to compare before and after. */
async function state() {
  const s = t.db.sql;
  return {
    tiers: await s`select * from cost_tiers order by name`,
    rules: await s`select * from tier_rules order by id`,
    cards: await s`select * from rate_cards order by id`,
    versions: await s`select * from rate_card_versions order by id`,
    prices: await s`select * from rate_card_tier_prices order by version_id, tier`,
  };
}

async function refused(method: string, path: string, body: unknown, field: string) {
  const before = await state();
  const res = await send(method, path, body);
  const text = await res.text();
  assert.is(res.status, 400, text);
  const err = JSON.parse(text).error;
  assert.is(err.code, 'invalid_body');
  assert.ok(
    err.issues.some((i: { path: string }) => i.path === field),
    `issues name ${field}: ${text}`,
  );
  assert.equal(await state(), before, 'nothing changed');
}

const version = (from: string, extra: Record<string, unknown> = {}) => ({
  effectiveFrom: from,
  vcpuHour: '0.01',
  ramGbHour: 0.004,
  diskGbMonth: '0.09',
  vmMonth: '3',
  ...extra,
});

test.before(async () => {
  t = await createTestApp('costs_rates');
});
test.after(async () => {
  await t?.close();
});

test('tiers and tier rules: admin adds, viewer reads, not changes; audited', async () => {
  for (const name of ['Gold', 'Silver']) {
    assert.is((await send('POST', '/cost-tiers', { name })).status, 201);
  }
  const res = await send('POST', '/tier-rules', {
    position: 10,
    match: 'regex',
    pattern: '^gold-[0-9]+$',
    tier: 'Gold',
  });
  assert.is(res.status, 201, await res.clone().text());
  assert.is(
    (await send('POST', '/tier-rules', {
      position: 20,
      match: 'prefix',
      pattern: 'Silver',
      tier: 'Silver',
    })).status,
    201,
  );
  const viewer = await api('/tier-rules', { token: t.tokens.viewer });
  assert.equal((await viewer.json()).items.map((r: { pattern: string }) => r.pattern), [
    '^gold-[0-9]+$',
    'Silver',
  ]);
  const tiers = await (await api('/cost-tiers', { token: t.tokens.viewer })).json();
  assert.ok(
    tiers.items.some((x: { name: string; builtIn: boolean }) =>
      x.name === 'unassigned' && x.builtIn
    ),
  );
  const denied = await send('POST', '/tier-rules', {
    position: 30,
    match: 'exact',
    pattern: 'x',
    tier: 'Gold',
  }, t.tokens.viewer);
  assert.is(denied.status, 403);
  const audit = await t.db
    .sql`select action from audit_log where action like 'tier_rule.%' or action like 'cost_tier.%' order by id`;
  assert.equal(audit.map((a) => a.action), [
    'cost_tier.create',
    'cost_tier.create',
    'tier_rule.create',
    'tier_rule.create',
  ]);
});

test('bad tier rules: unknown tier, invalid regex (JS or PostgreSQL), taken position', async () => {
  await refused('POST', '/tier-rules', {
    position: 1,
    match: 'exact',
    pattern: 'a',
    tier: 'Platinum',
  }, 'tier');
  await refused('POST', '/tier-rules', {
    position: 1,
    match: 'regex',
    pattern: 'gold-(',
    tier: 'Gold',
  }, 'pattern');
  // Valid in JavaScript, refused by PostgreSQL (no named groups): both engines must run it.
  await refused('POST', '/tier-rules', {
    position: 1,
    match: 'regex',
    pattern: '(?<pool>gold)',
    tier: 'Gold',
  }, 'pattern');
  await refused(
    'POST',
    '/tier-rules',
    { position: 10, match: 'exact', pattern: 'a', tier: 'Gold' },
    'position',
  );
  await refused(
    'POST',
    '/tier-rules',
    { position: 1, match: 'glob', pattern: 'a', tier: 'Gold' },
    'match',
  );
  await refused(
    'POST',
    '/tier-rules',
    { position: 1, field: 'folder', match: 'exact', pattern: 'a', tier: 'Gold' },
    'field',
  );
  await refused('POST', '/tier-rules', {
    position: 1,
    field: 'tag',
    match: 'regex',
    pattern: '[gold',
    tier: 'Gold',
  }, 'pattern');
});

test('a tag rule: saved with its field, listed, changed back to a pool rule', async () => {
  const res = await send('POST', '/tier-rules', {
    position: 30,
    field: 'tag',
    match: 'exact',
    pattern: 'gold',
    tier: 'Gold',
  });
  assert.is(res.status, 201, await res.clone().text());
  const { id } = await res.json();
  const listed = (await (await api('/tier-rules', { token: t.tokens.viewer })).json()).items;
  assert.equal(listed.map((r: { field: string; position: number }) => [r.position, r.field]), [
    [10, 'pool'],
    [20, 'pool'],
    [30, 'tag'],
  ]);
  const put = await send('PUT', `/tier-rules/${id}`, {
    position: 30,
    match: 'exact',
    pattern: 'gold',
    tier: 'Gold',
  });
  assert.is(put.status, 200, await put.clone().text());
  assert.equal((await t.db.sql`select field from tier_rules where id = ${id}`)[0].field, 'pool');
  assert.is((await send('DELETE', `/tier-rules/${id}`, undefined)).status, 200);
});

test('rate cards: a card with versions and tier prices', async () => {
  const res = await send('POST', '/rate-cards', {
    name: 'Standard',
    currency: 'USD',
    isDefault: true,
  });
  assert.is(res.status, 201, await res.clone().text());
  cardId = (await res.json()).id;
  const v1 = await send(
    'POST',
    `/rate-cards/${cardId}/versions`,
    version('2026-01-01', {
      tiers: [{ tier: 'Gold', multiplier: 2 }, {
        tier: 'Silver',
        multiplier: '1.5',
        vmMonth: '4.5',
      }],
    }),
  );
  assert.is(v1.status, 201, await v1.clone().text());
  const v2 = await send(
    'POST',
    `/rate-cards/${cardId}/versions`,
    version('2026-04-16', { vcpuHour: '0.012' }),
  );
  assert.is(v2.status, 201);
  const card = await (await api(`/rate-cards/${cardId}`, { token: t.tokens.viewer })).json();
  assert.equal(
    card.versions.map((v: { effectiveFrom: string; effectiveUntil: string | null }) => [
      v.effectiveFrom,
      v.effectiveUntil,
    ]),
    [['2026-01-01', '2026-04-16'], ['2026-04-16', null]],
    'a version applies until the next',
  );
  assert.equal(card.versions[0].ramGbHour, '0.004000', 'a JSON number is read exactly');
  assert.equal(card.versions[0].tiers, [
    {
      tier: 'Gold',
      multiplier: '2.000000',
      vcpuHour: null,
      ramGbHour: null,
      diskGbMonth: null,
      vmMonth: null,
    },
    {
      tier: 'Silver',
      multiplier: '1.500000',
      vcpuHour: null,
      ramGbHour: null,
      diskGbMonth: null,
      vmMonth: '4.500000',
    },
  ]);
  const [a] = await t.db
    .sql`select count(*)::int as n from audit_log where action like 'rate_card.%'`;
  assert.is(a.n, 3);
});

test('bad rate cards: negative price, overlapping version, unknown tier; nothing changes', async () => {
  const path = `/rate-cards/${cardId}/versions`;
  await refused('POST', path, version('2026-06-01', { vcpuHour: '-0.01' }), 'vcpuHour');
  await refused('POST', path, version('2026-06-01', { diskGbMonth: -1 }), 'diskGbMonth');
  await refused(
    'POST',
    path,
    version('2026-06-01', { tiers: [{ tier: 'Gold', vmMonth: '-2' }] }),
    'tiers.0.vmMonth',
  );
  await refused('POST', path, version('2026-04-16'), 'effectiveFrom');
  await refused(
    'POST',
    path,
    version('2026-06-01', { tiers: [{ tier: 'Platinum', multiplier: 2 }] }),
    'tiers.0.tier',
  );
  const [v1] = await t.db
    .sql`select id::int from rate_card_versions where effective_from = '2026-01-01'`;
  // Moving v1 onto v2's start day would make them overlap.
  await refused('PUT', `${path}/${v1.id}`, version('2026-04-16'), 'effectiveFrom');
  await refused('POST', '/rate-cards', { name: 'Standard', currency: 'USD' }, 'name');
  await refused('POST', '/rate-cards', { name: 'Other', currency: 'usd' }, 'currency');
});

test('a month costed through the API, recosted after a price change, the history kept', async () => {
  const s = t.db.sql;
  const src = await addSource(s, 'costs-api');
  // Two days in April: gold-1 (Gold ×2) and a VM in no pool (unassigned, base prices).
  for (const d of ['2026-04-01', '2026-04-02']) {
    await addCapture(s, src, `${d}T12:00:00Z`, [
      { key: 'g', vcpu: 1, memoryMib: 1024, diskGb: '30.000', pool: 'gold-1' },
      { key: 'u', vcpu: 1, memoryMib: 1024, diskGb: '30.000', pool: null },
    ]);
    await runAggregation(s, 'sql', { kind: 'daily', sourceId: src, period: d, tz: 'UTC' });
  }
  const first = await send('POST', '/cost-runs', { sourceId: src, month: '2026-04', engine: 'ts' });
  assert.is(first.status, 201, await first.clone().text());
  // Per day: 24 vCPU-h × 0.01 = 0.24, 24 GB-h × 0.004 = 0.096, 30 GB × 0.09 / 30 = 0.09, 3 / 30 = 0.10.
  // u, 2 days: 0.48 + 0.192 → 0.19 + 0.18 + 0.20 = 1.05; g at ×2: 0.96 + 0.384 → 0.38 + 0.36 + 0.40 = 2.10.
  const byTier = await costsForMonth(s, '2026-04-01', { groupBy: 'tier' });
  assert.equal(byTier.map((r) => [r.key, r.total]), [['Gold', '2.10'], ['unassigned', '1.05']]);
  const [v1] = await s`select id::int from rate_card_versions where effective_from = '2026-01-01'`;
  const put = await send(
    'PUT',
    `/rate-cards/${cardId}/versions/${v1.id}`,
    version('2026-01-01', {
      vcpuHour: '0.02',
      tiers: [{ tier: 'Gold', multiplier: 2 }],
    }),
  );
  assert.is(put.status, 200, await put.clone().text());
  assert.is((await send('POST', '/cost-runs', { sourceId: src, month: '2026-04-01' })).status, 201);
  // vCPU doubles: u 0.96 + 0.19 + 0.18 + 0.20 = 1.53; g 1.92 + 0.38 + 0.36 + 0.40 = 3.06.
  const after = await costsForMonth(s, '2026-04-01', { groupBy: 'source' });
  assert.equal(after.map((r) => [r.key, r.currency, r.total]), [[String(src), 'USD', '4.59']]);
  const runs =
    await (await api(`/cost-runs?month=2026-04&source=${src}`, { token: t.tokens.viewer })).json();
  assert.equal(
    runs.items.map((r: { engine: string; total: string; supersededAt: string | null }) => [
      r.engine,
      r.total,
      r.supersededAt === null,
    ]),
    [['sql', '4.59', true], ['ts', '3.15', false]],
  );
  // A month with no price for its days is refused, and the current run stays.
  await s`update rate_card_versions set effective_from = '2026-04-02' where id = ${v1.id}`;
  const no = await send('POST', '/cost-runs', { sourceId: src, month: '2026-04' });
  assert.is(no.status, 400);
  assert.match((await no.json()).error.message, /no version in effect/);
  assert.is((await costsForMonth(s, '2026-04-01', { groupBy: 'source' }))[0].total, '4.59');
  await s`update rate_card_versions set effective_from = '2026-01-01' where id = ${v1.id}`;

  // The benchmark job times costing (kind costs): parity SQL vs TS, shown on the page.
  const b = await runBenchmark(s, {
    kind: 'costs',
    sourceId: src,
    period: '2026-04-15',
    tz: 'UTC',
    reps: 1,
  });
  assert.ok(b.parity, 'sql and ts lines identical');
  assert.equal(b.runs.map((r) => [r.path, r.rowsOut]).sort(), [['floor', 2], ['sql', 2], [
    'ts',
    2,
  ]]);
  const sqlRun = b.runs.find((r) => r.path === 'sql')!;
  assert.is(b.runs.find((r) => r.path === 'ts')!.checksum, sqlRun.checksum);
  assert.match(b.explain ?? '', /Query Text/, "the SQL path's plan recorded");
  assert.is(
    (await costsForMonth(s, '2026-04-01', { groupBy: 'source' }))[0].total,
    '4.59',
    'rolled back',
  );
  const { cookie } = await pageSession(t.app, t.tokens.admin, '/benchmarks');
  const html = await (await t.app.request('/benchmarks', { headers: { cookie } })).text();
  assert.match(html, '2026-04 costs');
  const detail = await (await t.app.request(`/benchmarks/${b.runGroup}`, { headers: { cookie } }))
    .text();
  assert.match(detail, 'Monthly costing, 2026-04');
  assert.match(detail, 'parity: match');
});

test.run();
