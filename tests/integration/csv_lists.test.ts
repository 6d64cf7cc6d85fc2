/**
 * Issue 17, the CSV part: every API list answers `Accept: text/csv` with the whole filtered
 * list (past one page), a BOM and a header row always (an empty list too), the same rows as
 * its JSON, formula-looking text neutralised (numbers, negative ones too, stay numbers) and
 * times in one format (UTC `YYYY-MM-DD HH:MM:SS`). The page export /vms.csv is the same CSV.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCsv } from '../support/csv.ts';
import { runAggregation } from '../../server/aggregate/run.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('CSV of every API list');
let t: TestApp;
const DAY = '2026-09-10';
const NASTY = ['=SUM(A1)', '+cmd|calc', '-2+3', '@SUM(1)', '\t=1', '\r=1', '-7'];
const MANY = 1105; // past one CSV page (1,000) and many JSON pages
let sourceId = 0;

test.before(async () => {
  t = await createTestApp('csv_lists');
  const vms = [
    ...Array.from({ length: MANY }, (_, i) => ({ key: `vc:m${i}`, name: `vm-${i}` })),
    ...NASTY.map((name, i) => ({
      key: `vc:n${i}`,
      name,
      annotation: name,
      folder: name,
      cluster: 'c-nasty',
      tags: [name],
    })),
  ];
  const capture = makeCapture({ sourceId: 'vc-csv', at: `${DAY}T12:00:00.250Z`, vms });
  const res = await t.call('/api/v1/captures', { ...json(capture), token: t.tokens.agent });
  assert.is(res.status, 201);
  [{ id: sourceId }] = await t.db.sql`select id from sources where external_id = 'vc-csv'`;
  await runAggregation(t.db.sql, 'sql', { kind: 'daily', sourceId, period: DAY, tz: 'UTC' });
  // Long histories, read-only for these lists: captures, snapshots and the audit log.
  await t.db.sql`
    insert into captures (capture_id, source_id, captured_at, complete, vm_count, schema_version)
    select gen_random_uuid(), ${sourceId}, '2025-01-01'::timestamptz + g * interval '1 minute', true, g, 1
    from generate_series(1, ${MANY}) g`;
  await t.db.sql`
    insert into snapshot_registry (kind, source_id, period_start, period_end, row_count)
    select 'capture', ${sourceId}, '2025-01-01'::timestamptz + g * interval '1 minute',
           '2025-01-01'::timestamptz + g * interval '1 minute', g
    from generate_series(1, ${MANY}) g`;
  await t.db.sql`
    insert into audit_log (action, actor_name, target, detail)
    select 'csv.test', case when g % 2 = 0 then '=evil()' else 'someone' end, 'x:' || g, '{}'
    from generate_series(1, ${MANY}) g`;
  await t.db.sql`
    insert into reports (kind, period, format, status, file_name, content_type, expires_at, error, created_at)
    select 'inventory', '2026-05', 'csv', 'failed', 'r-' || g || '.zip', 'application/zip',
           now() + interval '1 day', '@' || g, now() - g * interval '1 second'
    from generate_series(1, ${MANY}) g`;
});
test.after(() => t.close());

/** Rows of a CSV export: it starts with a UTF-8 BOM and every row ends with CRLF. */
function parseExport(text: string): string[][] {
  assert.ok(text.startsWith('\ufeff'), 'a UTF-8 BOM first');
  assert.ok(text.endsWith('\r\n'), 'the text ends with CRLF');
  return parseCsv(text);
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** What a JSON value becomes in CSV (an independent statement of the rules). */
function expected(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string' && ISO_TIME.test(v)) return v.slice(0, 19).replace('T', ' ');
  let s: string;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) s = v.join(' ');
  else if (typeof v === 'object') s = JSON.stringify(v);
  else s = String(v);
  const number = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s);
  return typeof v !== 'number' && typeof v !== 'boolean' && /^[=+\-@\t\r]/.test(s) && !number
    ? `'${s}`
    : s;
}

async function csvOf(path: string, token = t.tokens.admin) {
  const res = await t.call(path, { token, headers: { accept: 'text/csv' } });
  assert.is(res.status, 200, path);
  assert.match(res.headers.get('content-type')!, /^text\/csv; charset=utf-8/, path);
  assert.match(res.headers.get('content-disposition')!, /^attachment; filename=".+\.csv"/);
  return parseExport(await textWithBom(res));
}

/** The body as text, keeping a BOM (`Response.text()` drops it). */
async function textWithBom(res: Response): Promise<string> {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer());
}

/** Every item of a JSON list, following `next`. */
async function jsonAll(path: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let next: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const url = next === null ? path : `${path}${sep}cursor=${encodeURIComponent(next)}`;
    const res = await t.call(url, { token: t.tokens.admin });
    assert.is(res.status, 200, url);
    const body = await res.json();
    items.push(...body.items);
    next = body.next ?? null;
  } while (next !== null);
  return items;
}

/**
 * The CSV of `path` has the same rows, in the same order, as its JSON list: each column
 * named after a JSON field (or renamed by `names`) holds that field's value. `clocked`: fields
 * counted from the moment of each request (seconds since a capture), which two requests a
 * second boundary apart answer one apart.
 */
async function sameRows(
  path: string,
  names: Record<string, string> = {},
  own: Record<string, (v: unknown) => string> = {},
  clocked: string[] = [],
) {
  const [items, rows] = await Promise.all([jsonAll(path), csvOf(path)]);
  const [header, ...body] = rows;
  assert.is(body.length, items.length, `${path}: one row per item`);
  const fields = header.map((h) => names[h] ?? h);
  let compared = 0;
  for (let r = 0; r < items.length; r++) {
    for (let i = 0; i < fields.length; i++) {
      if (!(fields[i] in items[r])) continue;
      const want = (own[fields[i]] ?? expected)(items[r][fields[i]]);
      if (clocked.includes(fields[i]) && body[r][i] !== want) {
        const apart = Math.abs(Number(body[r][i]) - Number(want));
        assert.ok(apart <= 1, `${path} row ${r} ${header[i]}: ${body[r][i]} against ${want}`);
      } else assert.is(body[r][i], want, `${path} row ${r} ${header[i]}`);
      compared++;
    }
  }
  assert.ok(items.length === 0 || compared >= items.length, `${path}: columns compared`);
  return { header, body, items };
}

const VM_NAMES: Record<string, string> = {
  source: 'sourceName',
  vm_id: 'sourceVmId',
  power_state: 'powerState',
  template: 'isTemplate',
  resource_pool: 'resourcePool',
  guest_os: 'guestOs',
  ip_addresses: 'ipAddresses',
  instance_uuid: 'instanceUuid',
  created_at: 'createdAt',
  first_seen_at: 'firstSeenAt',
  last_seen_at: 'lastSeenAt',
};

test('VMs: the whole filtered list past one page, same rows as JSON, formulas neutralised', async () => {
  const all = await sameRows('/api/v1/vms?limit=1000', VM_NAMES);
  assert.is(all.body.length, MANY + NASTY.length, 'every VM, not one page');
  const nasty = await sameRows('/api/v1/vms?cluster=c-nasty&sort=name', VM_NAMES);
  const col = (h: string) => nasty.header.indexOf(h);
  const names = nasty.body.map((r) => r[col('name')]).sort();
  assert.equal(
    names,
    ["'+cmd|calc", "'-2+3", "'=SUM(A1)", "'@SUM(1)", "'\t=1", "'\r=1", '-7'].sort(),
    'each formula start neutralised; a negative number stays a number',
  );
  for (const r of nasty.body) {
    assert.ok(!/^[=+\-@\t\r]/.test(r[col('folder')]) || r[col('folder')] === '-7');
    assert.is(r[col('vcpu')], '2');
    assert.is(r[col('last_seen_at')], `${DAY} 12:00:00`, 'UTC YYYY-MM-DD HH:MM:SS');
  }
  // The cursor of a JSON page does not cut the CSV: it is always the whole list.
  const page = await (await t.call('/api/v1/vms?limit=2', { token: t.tokens.viewer })).json();
  const fromCursor = await csvOf(`/api/v1/vms?limit=2&cursor=${encodeURIComponent(page.next)}`);
  assert.is(fromCursor.length, 1 + MANY + NASTY.length);
});

test('the page export /vms.csv is the same CSV as the API', async () => {
  const login = await t.app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: t.tokens.viewer }).toString(),
  });
  const cookie = login.headers.get('set-cookie')!.split(';')[0];
  const page = await t.app.request('/vms.csv?cluster=c-nasty', { headers: { cookie } });
  assert.is(page.status, 200);
  const api = await t.call('/api/v1/vms?cluster=c-nasty', {
    token: t.tokens.viewer,
    headers: { accept: 'text/csv' },
  });
  assert.is(await textWithBom(page), await textWithBom(api));
});

test('captures, snapshots and the audit log: whole lists past one page, same rows as JSON', async () => {
  const captures = await sameRows('/api/v1/captures?limit=1000', {}, {
    errors: (v) => JSON.stringify(v),
  });
  assert.is(captures.body.length, MANY + 1);
  assert.is(
    captures.body[0][captures.header.indexOf('capturedAt')],
    `${DAY} 12:00:00`,
    'times to the second, UTC',
  );
  const snapshots = await sameRows(`/api/v1/snapshots?kind=capture&source=${sourceId}&limit=1000`);
  assert.is(snapshots.body.length, MANY + 1);
  const audit = await sameRows('/api/v1/audit?action=csv.test&limit=1000');
  assert.is(audit.body.length, MANY);
  const actors = new Set(audit.body.map((r) => r[audit.header.indexOf('actorName')]));
  assert.equal([...actors].sort(), ["'=evil()", 'someone']);
});

test('reports: the whole filtered list past one page, same rows as JSON', async () => {
  const reports = await sameRows('/api/v1/reports?status=failed&limit=200');
  assert.is(reports.body.length, MANY);
  assert.is(reports.body[0][reports.header.indexOf('error')], "'@1");
  assert.is((await csvOf('/api/v1/reports?status=ready')).length, 1, 'the header alone');
});

test('benchmarks: one row per run, header when there are none', async () => {
  const empty = await csvOf('/api/v1/benchmarks');
  assert.is(empty.length, 1);
  assert.ok(empty[0].includes('durationMs'));
  await t.db.sql`
    insert into benchmark_runs (run_group, path, kind, period, source_id, rep, rows_in, rows_out, duration_ms, checksum, parity)
    select g, p, 'daily', ${DAY}, ${sourceId}, r, 10, 5, 1.5 * r, '-abc', 'match'
    from (values ('00000000-0000-4000-8000-000000000001'::uuid), ('00000000-0000-4000-8000-000000000002'::uuid)) v(g),
         (values ('sql'), ('ts')) w(p), generate_series(1, 3) r`;
  const groups = (await (await t.call('/api/v1/benchmarks', { token: t.tokens.viewer })).json())
    .items as { runGroup: string; runs: Record<string, unknown>[] }[];
  const rows = await csvOf('/api/v1/benchmarks');
  const [header, ...body] = rows;
  const runs = groups.flatMap((g) =>
    g.runs.map((r): Record<string, unknown> => ({ ...r, runGroup: g.runGroup }))
  );
  assert.is(body.length, 12);
  assert.equal(
    body.map((r) => header.map((h, i) => [h, r[i]]).filter(([h]) => h in runs[0])),
    runs.map((run) => header.filter((h) => h in run).map((h) => [h, expected(run[h])])),
  );
  assert.is(body[0][header.indexOf('checksum')], "'-abc");
});

test('sources, tokens, totals and rollups: same rows as JSON', async () => {
  const sources = await sameRows('/api/v1/sources', {}, {}, ['secondsSinceLastCapture']);
  assert.is(sources.body.length, 1);
  assert.ok(sources.header.includes('lastCaptureId') && sources.header.includes('agentName'));
  await sameRows('/api/v1/tokens');
  const totals = await csvOf(
    `/api/v1/totals?source=${sourceId}&from=${DAY}&to=2026-09-11`,
    t.tokens.viewer,
  );
  const totalsJson = await (await t.call(
    `/api/v1/totals?source=${sourceId}&from=${DAY}&to=2026-09-11`,
    { token: t.tokens.viewer },
  )).json();
  assert.is(totals.length, 1 + totalsJson.items.length);
  assert.is(totals.length, 2);
  assert.equal(
    totals[1],
    totals[0].map((h) => expected(totalsJson.items[0][h])),
  );
  const rollups = await sameRows(`/api/v1/rollups/daily?day=${DAY}&limit=500`, {}, {
    poolPct: (v) => Object.entries(v as object).map(([k, p]) => `${k}=${p}`).join(';'),
  });
  assert.is(rollups.body.length, MANY + NASTY.length);
  const names = new Set(rollups.body.map((r) => r[rollups.header.indexOf('name')]));
  assert.ok(names.has("'=SUM(A1)") && names.has('-7') && names.has("'\r=1"));
});

test('an empty list still has its header', async () => {
  const lists = [
    ['/api/v1/vms?q=no-such-vm-anywhere', 'name'],
    ['/api/v1/captures?source=999999', 'captureId'],
    ['/api/v1/snapshots?source=999999', 'periodStart'],
    ['/api/v1/audit?action=no.such.action', 'action'],
    ['/api/v1/totals?source=999999', 'vmCount'],
    ['/api/v1/rollups/daily?day=2020-01-01', 'presence'],
    ['/api/v1/rollups/monthly?month=2020-01', 'daysPresent'],
  ];
  for (const [path, column] of lists) {
    const rows = await csvOf(path);
    assert.is(rows.length, 1, `${path}: the header alone`);
    assert.ok(rows[0].includes(column), `${path}: header has ${column}`);
  }
});

test('OpenAPI: every list route says it produces text/csv', async () => {
  const doc = await (await t.call('/api/v1/openapi.json', { token: t.tokens.viewer })).json();
  for (
    const path of [
      '/vms',
      '/sources',
      '/captures',
      '/snapshots',
      '/totals',
      '/tokens',
      '/audit',
      '/rollups/daily',
      '/rollups/monthly',
      '/reports',
      '/jobs',
      '/benchmarks',
    ]
  ) {
    const content = doc.paths[`/api/v1${path}`].get.responses['200'].content;
    assert.ok('text/csv' in content, `${path} produces text/csv`);
  }
});

test.run();
