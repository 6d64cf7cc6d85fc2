/**
 * Showback (issue 22, part B) through the API on a small hand-built estate
 * (costs_showback_fixture.ts: real ingest, aggregation and costing): GET /api/v1/costs by
 * each grouping adds up to the lines in the database, with the previous month per group;
 * the drill-down; CSV; the owner setting; 400s that change nothing; and the chargeback
 * workbook (XLSX and CSV zip) whose totals equal the API's to the cent.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import ExcelJS from 'exceljs';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';
import { csvObjects } from '../support/csv.ts';
import { download, generate, readZip } from './reports_fixture.ts';
import {
  cents,
  FORMULA_NAME,
  MONTH,
  PREV,
  type Seeded,
  seedShowback,
  vmTotals,
} from './costs_showback_fixture.ts';

const test = suite('costs showback');
let t: TestApp;
let s: Seeded;
let mar: Map<string, bigint>;
let feb: Map<string, bigint>;

type Group = {
  key: string;
  label: string;
  currency: string;
  vms: number;
  total: string;
  vcpuCost: string;
  ramCost: string;
  diskCost: string;
  vmCost: string;
  previousTotal: string;
  change: string;
  sourceId: number | null;
  vmKey: string | null;
};
type Answer = { groups: Group[]; totals: (Omit<Group, 'key' | 'label'>)[]; month: string };

test.before(async () => {
  t = await createTestApp('costs_showback');
  s = await seedShowback(t);
  mar = await vmTotals(t, MONTH);
  feb = await vmTotals(t, PREV);
});
test.after(async () => {
  await t?.close();
});

const costs = async (query: string, token = t.tokens.viewer): Promise<Answer> => {
  const res = await t.call(`/api/v1/costs?${query}`, { token });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
};
const sum = (keys: string[], m: Map<string, bigint>) =>
  keys.reduce((a, k) => a + (m.get(k) ?? 0n), 0n);
const byKey = (a: Answer) => new Map(a.groups.map((g) => [g.key, g]));
const auditCount = async () =>
  (await t.db.sql`select count(*)::int as n from audit_log`)[0].n as number;

test('the estate is costed: five VMs in March, three in February, every line rounded', () => {
  assert.equal([...mar.keys()].sort(), ['alpha', 'bravo', 'charlie', 'delta', 'echo']);
  assert.equal([...feb.keys()].sort(), ['alpha', 'bravo', 'echo']);
  for (const v of mar.values()) assert.ok(v > 0n);
});

test('each group_by adds up to the lines; groups hold the VMs they should', async () => {
  const grand = sum([...mar.keys()], mar);
  const expected: Record<string, Record<string, string[]>> = {
    tier: { Gold: ['alpha', 'delta', 'echo'], Silver: ['bravo'], unassigned: ['charlie'] },
    source: { [String(s.show)]: ['alpha', 'bravo', 'charlie', 'delta'], [String(s.two)]: ['echo'] },
    cluster: { c1: ['alpha', 'charlie'], c2: ['bravo', 'delta'], '(no cluster)': ['echo'] },
    folder: { 'Prod/Web': ['alpha', 'charlie'], '(no folder)': ['bravo', 'delta', 'echo'] },
    owner: {
      'team-a': ['alpha'],
      'team-b': ['bravo'],
      '=cmd|x': ['delta'],
      '(no owner)': ['charlie', 'echo'],
    },
    tag: {
      web: ['alpha', 'delta'],
      db: ['delta'],
      '<b>lab</b>': ['charlie'],
      'Owner=team-a': ['alpha'],
      'Owner=team-b': ['bravo'],
      'Owner==cmd|x': ['delta'],
      '(no tag)': ['echo'],
    },
    vm: Object.fromEntries(
      [...mar.keys()].map((k) => [`${k === 'echo' ? s.two : s.show}/${k}`, [k]]),
    ),
  };
  for (const [g, groups] of Object.entries(expected)) {
    const a = await costs(`month=${MONTH}&group_by=${g}`);
    assert.equal(a.totals.length, 1, `${g}: one currency`);
    assert.equal(a.totals[0].currency, 'EUR');
    assert.equal(cents(a.totals[0].total), grand, `${g}: grand total = Σ lines`);
    assert.equal(cents(a.totals[0].previousTotal), sum([...feb.keys()], feb), `${g}: previous`);
    assert.equal(a.totals[0].vms, 5);
    const got = byKey(a);
    assert.equal([...got.keys()].sort(), Object.keys(groups).sort(), `${g}: the groups`);
    for (const [key, vms] of Object.entries(groups)) {
      const row = got.get(key)!;
      assert.equal(cents(row.total), sum(vms, mar), `${g} ${key}: total`);
      assert.equal(cents(row.previousTotal), sum(vms, feb), `${g} ${key}: previous month`);
      assert.equal(cents(row.change), sum(vms, mar) - sum(vms, feb), `${g} ${key}: change`);
      assert.equal(row.vms, vms.length, `${g} ${key}: VM count`);
      assert.equal(
        cents(row.vcpuCost) + cents(row.ramCost) + cents(row.diskCost) + cents(row.vmCost),
        cents(row.total),
        `${g} ${key}: components add up`,
      );
    }
    if (g !== 'tag') {
      const all = a.groups.reduce((x, r) => x + cents(r.total), 0n);
      assert.equal(all, grand, `${g}: groups add up to the grand total`);
    }
  }
  const src = byKey(await costs(`month=${MONTH}&group_by=source`));
  assert.equal(src.get(String(s.two))!.label, 'vc-two');
  const vm = byKey(await costs(`month=${MONTH}&group_by=vm`)).get(`${s.show}/delta`)!;
  assert.equal([vm.label, vm.sourceId, vm.vmKey], [FORMULA_NAME, s.show, 'delta']);
});

test('drill-down: a group to its VMs; a VM costed only last month is listed at zero', async () => {
  const a = await costs(`month=${MONTH}&group_by=vm&filter_by=tag&filter=web`);
  assert.equal(a.groups.map((g) => g.vmKey).sort(), ['alpha', 'delta']);
  assert.equal(cents(a.totals[0].total), sum(['alpha', 'delta'], mar));
  const o = await costs(`month=${MONTH}&group_by=vm&filter_by=owner&filter=(no owner)`);
  assert.equal(o.groups.map((g) => g.vmKey).sort(), ['charlie', 'echo']);
  // April has no run: every group is March's, at zero now.
  const apr = await costs('month=2026-04&group_by=tier');
  assert.equal(apr.groups.map((g) => g.total), ['0.00', '0.00', '0.00']);
  assert.equal(cents(apr.totals[0].previousTotal), sum([...mar.keys()], mar));
});

test('CSV: format=csv and Accept: text/csv give the groups; formula-looking text neutralised', async () => {
  for (
    const init of [
      { path: `month=${MONTH}&group_by=owner&format=csv`, headers: {} as Record<string, string> },
      { path: `month=${MONTH}&group_by=owner`, headers: { accept: 'text/csv' } },
    ]
  ) {
    const res = await t.call(`/api/v1/costs?${init.path}`, {
      token: t.tokens.viewer,
      headers: init.headers,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, 'text/csv');
    const rows = csvObjects(await res.text());
    assert.equal(rows.length, 4);
    const keys = rows.map((r) => r.key).sort();
    assert.ok(keys.includes("'=cmd|x"), `neutralised: ${keys}`);
    const total = rows.reduce((a, r) => a + cents(r.total), 0n);
    assert.equal(total, sum([...mar.keys()], mar));
  }
});

test('owner setting: read from another attribute or a tag category; viewer refused', async () => {
  const put = (body: unknown) => s.admin('/cost-settings', body, 'PUT');
  assert.equal((await put({ ownerFrom: 'tag_category', ownerName: 'Team' })).status, 200);
  let o = byKey(await costs(`month=${MONTH}&group_by=owner`));
  assert.equal([...o.keys()].sort(), ['(no owner)', 'ops']);
  assert.equal(cents(o.get('ops')!.total), mar.get('delta'));
  const denied = await t.call('/api/v1/cost-settings', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ownerFrom: 'attribute', ownerName: 'X' }),
    token: t.tokens.viewer,
  });
  assert.equal(denied.status, 403);
  assert.equal((await put({ ownerFrom: 'attribute', ownerName: 'Owner' })).status, 200);
  o = byKey(await costs(`month=${MONTH}&group_by=owner`));
  assert.ok(o.has('team-a'));
  const got = await (await t.call('/api/v1/cost-settings', { token: t.tokens.viewer })).json();
  assert.equal(got, { ownerFrom: 'attribute', ownerName: 'Owner' });
});

test('400s name the field and change nothing', async () => {
  const before = await auditCount();
  for (
    const [query, field] of [
      ['month=2026-13&group_by=tier', 'month'],
      ['month=March&group_by=tier', 'month'],
      ['group_by=tier', 'month'],
      [`month=${MONTH}&group_by=colour`, 'group_by'],
      [`month=${MONTH}&group_by=vm&filter=web`, 'filter_by'],
      [`month=${MONTH}&group_by=vm&filter_by=tag`, 'filter'],
      [`month=${MONTH}&format=pdf`, 'format'],
    ]
  ) {
    const res = await t.call(`/api/v1/costs?${query}`, { token: t.tokens.viewer });
    assert.equal(res.status, 400, query);
    const body = (await res.json()).error;
    assert.equal(body.code, 'invalid_query');
    assert.ok(body.issues.some((i: { path: string }) => i.path === field), `${query}: ${field}`);
  }
  for (
    const [body, field] of [
      [{ ownerFrom: 'label', ownerName: 'Owner' }, 'ownerFrom'],
      [{ ownerFrom: 'attribute', ownerName: '' }, 'ownerName'],
      [{ ownerFrom: 'attribute', ownerName: 'Owner', extra: 1 }, ''],
    ] as const
  ) {
    const res = await s.admin('/cost-settings', body, 'PUT');
    assert.equal(res.status, 400);
    const b = (await res.json()).error;
    if (field) assert.ok(b.issues.some((i: { path: string }) => i.path === field), field);
  }
  assert.equal(await auditCount(), before, 'nothing audited');
  const [row] = await t.db.sql`select owner_from, owner_name from cost_settings`;
  assert.equal([row.owner_from, row.owner_name], ['attribute', 'Owner']);
});

async function workbook(buf: Buffer): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(new Uint8Array(buf).buffer);
  return wb;
}

/** A sheet's rows as objects by header, the header row being `headerRow`, until an empty row. */
function rowsFrom(ws: ExcelJS.Worksheet, headerRow: number) {
  const head = (ws.getRow(headerRow).values as ExcelJS.CellValue[]).slice(1).map(String);
  const out: Record<string, ExcelJS.CellValue>[] = [];
  for (let n = headerRow + 1; n <= ws.rowCount; n++) {
    const v = ws.getRow(n).values as ExcelJS.CellValue[];
    if (!v.length || v.slice(1).every((x) => x === null || x === undefined)) break;
    out.push(Object.fromEntries(head.map((h, i) => [h, v[i + 1] ?? null])));
  }
  return out;
}

/** The row number of the block header following the title `title` on the Summary sheet. */
function blockHeader(ws: ExcelJS.Worksheet, title: string): number {
  for (let n = 1; n <= ws.rowCount; n++) {
    if (ws.getRow(n).getCell(1).value === title) return n + 1;
  }
  throw new Error(`no block ${title}`);
}

test('chargeback workbook (XLSX): Lines add up to the Summary and to the API, to the cent', async () => {
  const r = await generate(t, { kind: 'chargeback', period: MONTH });
  assert.equal(r.fileName, `vmledger-chargeback-${MONTH}.xlsx`);
  const wb = await workbook(await download(t, r));
  assert.equal(wb.worksheets.map((w) => w.name), ['Summary', 'Lines']);
  const lines = rowsFrom(wb.getWorksheet('Lines')!, 1);
  const [{ n }] = await t.db.sql`
    select count(*)::int as n from vm_cost_lines l join cost_runs r on r.id = l.run_id
    where r.month = '2026-03-01' and r.superseded_at is null`;
  assert.equal(lines.length, n, 'one row per cost line');
  assert.equal(r.rowCount, n);
  const api = await costs(`month=${MONTH}&group_by=owner`);
  const apiTotal = cents(api.totals[0].total);
  const lineTotal = lines.reduce((a, l) => a + cents(Number(l.Total)), 0n);
  assert.equal(lineTotal, apiTotal, 'Σ Lines = API total');
  for (const l of lines) {
    const parts = ['vCPU cost', 'RAM cost', 'Disk cost', 'VM fee'].map((h) => cents(Number(l[h])));
    assert.equal(parts.reduce((a, b) => a + b, 0n), cents(Number(l.Total)), 'components add up');
  }
  // Per VM: the workbook's lines equal the database's.
  const perVm = new Map<string, bigint>();
  for (const l of lines) {
    const k = String(l['VM key']);
    perVm.set(k, (perVm.get(k) ?? 0n) + cents(Number(l.Total)));
  }
  assert.equal(perVm, mar);
  // Days present and average size of alpha (2 vCPU, 4 GiB, 40 GiB all three days).
  const alpha = lines.find((l) => l['VM key'] === 'alpha')!;
  assert.equal(alpha.Owner, 'team-a');
  assert.equal(Number(alpha['Days present (d)']), 3);
  assert.equal(Number(alpha['Avg vCPU (month)']), 2);
  assert.equal(Number(alpha['Avg disk GB (month)']), 40);
  // A formula-looking name is a text cell, never a formula.
  const delta = lines.find((l) => l['VM key'] === 'delta')!;
  assert.equal(delta.VM, FORMULA_NAME);
  assert.equal(typeof delta.VM, 'string');

  const sum = wb.getWorksheet('Summary')!;
  const totals = rowsFrom(sum, blockHeader(sum, 'Totals'));
  assert.equal(totals.length, 1);
  assert.equal(cents(Number(totals[0].Total)), apiTotal, 'Summary total = API total');
  const byOwner = rowsFrom(sum, blockHeader(sum, 'By owner'));
  const apiOwners = byKey(api);
  assert.equal(byOwner.length, apiOwners.size);
  for (const o of byOwner) {
    assert.equal(
      cents(Number(o.Total)),
      cents(apiOwners.get(String(o.Owner))!.total),
      `${o.Owner}`,
    );
  }
  const byOwnerTier = rowsFrom(sum, blockHeader(sum, 'By owner and tier'));
  assert.equal(byOwnerTier.reduce((a, o) => a + cents(Number(o.Total)), 0n), apiTotal);
  const apiTiers = byKey(await costs(`month=${MONTH}&group_by=tier`));
  const byTier = rowsFrom(sum, blockHeader(sum, 'By tier'));
  for (const o of byTier) {
    assert.equal(cents(Number(o.Total)), cents(apiTiers.get(String(o.Tier))!.total), `${o.Tier}`);
  }
});

test('chargeback workbook (CSV zip): exact amounts, formula-looking text neutralised', async () => {
  const r = await generate(t, { kind: 'chargeback', period: MONTH, format: 'csv' });
  const files = readZip(await download(t, r));
  assert.ok(files.has('lines.csv'), [...files.keys()].join());
  const lines = csvObjects(files.get('lines.csv')!.toString('utf8'));
  const api = await costs(`month=${MONTH}&group_by=tier`);
  assert.equal(lines.reduce((a, l) => a + cents(l.Total), 0n), cents(api.totals[0].total));
  assert.ok(lines.some((l) => l.VM === `'${FORMULA_NAME}`), 'name neutralised');
  assert.ok(lines.some((l) => l.Owner === "'=cmd|x"), 'owner neutralised');
});

test('a bad chargeback period is refused naming the field', async () => {
  const res = await s.admin('/reports', { kind: 'chargeback', period: '2026-3', wait: true });
  assert.equal(res.status, 400);
  assert.match(await res.text(), 'period');
  const future = await s.admin('/reports', { kind: 'chargeback', period: '2099-01', wait: true });
  assert.equal(future.status, 400);
});

test('group_by=vm is paged: limit and cursor walk every VM once; CSV and the page keep working', async () => {
  const whole = await costs(`month=${MONTH}&group_by=vm`);
  assert.is(whole.groups.length, 5, 'five VMs costed in March');
  assert.is((whole as Answer & { next: string | null }).next, null);
  const seen: Group[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const a: Answer & { next: string | null } = await costs(
      `month=${MONTH}&group_by=vm&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
    ) as Answer & { next: string | null };
    assert.ok(a.groups.length <= 4);
    assert.equal(a.totals, whole.totals, 'every page carries the grand totals');
    seen.push(...a.groups);
    cursor = a.next;
    pages++;
  } while (cursor);
  assert.is(pages, 2);
  assert.equal(seen, whole.groups, 'the pages are the whole answer, in order');
  const csv = await t.call(`/api/v1/costs?month=${MONTH}&group_by=vm&format=csv&limit=1`, {
    token: t.tokens.viewer,
  });
  assert.is(csvObjects(await csv.text()).length, 5, 'CSV: every group whatever the limit');
  const bad = await t.call(`/api/v1/costs?month=${MONTH}&group_by=vm&cursor=abc`, {
    token: t.tokens.viewer,
  });
  assert.is(bad.status, 400);
  assert.match(await bad.text(), 'cursor');
});

test('cluster, folder, tags and owner are as at the end of the costed month', async () => {
  // April 1: alpha moves to cluster c9, folder Other, owner team-z, tag "moved" instead of "web".
  const body = makeCapture({
    sourceId: 'vc-show',
    at: '2026-04-01T12:00:00Z',
    vms: [{
      key: 'alpha',
      name: 'alpha',
      resourcePool: 'Gold',
      cluster: 'c9',
      folder: 'Other',
      tags: ['Owner=team-z', 'moved'],
      attributes: [{ name: 'Owner', value: 'team-z' }],
      labels: [{ category: null, name: 'moved' }],
      vcpu: 2,
      memoryMib: 4096,
      provisionedDiskGib: 40,
    }],
  });
  const res = await t.call('/api/v1/captures', { ...json(body), token: t.tokens.agent });
  assert.equal(res.status, 201, await res.clone().text());
  const [now] = await t.db
    .sql`select cluster, folder, tags from vm_inventory where vm_key = 'alpha'`;
  assert.equal([now.cluster, now.folder, now.tags], ['c9', 'Other', ['Owner=team-z', 'moved']]);
  const alphaIn = async (groupBy: string, key: string) => {
    const g = (await costs(`month=${MONTH}&group_by=vm&filter_by=${groupBy}&filter=${key}`))
      .groups;
    return g.some((x) => x.vmKey === 'alpha');
  };
  for (
    const [by, march, april] of [
      ['cluster', 'c1', 'c9'],
      ['folder', 'Prod/Web', 'Other'],
      ['tag', 'web', 'moved'],
      ['owner', 'team-a', 'team-z'],
    ]
  ) {
    assert.ok(await alphaIn(by, encodeURIComponent(march)), `${by}: alpha in ${march} in March`);
    assert.not.ok(await alphaIn(by, encodeURIComponent(april)), `${by}: not yet in ${april}`);
  }
});

test.run();
