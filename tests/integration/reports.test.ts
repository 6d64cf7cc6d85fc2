/**
 * Reports end to end through the API: captures posted through ingest, aggregated by the SQL
 * procedures, every report kind generated as XLSX and CSV, downloaded, opened with exceljs
 * (and our zip/CSV reader), and every number compared with the rollups in the database.
 * Also: bad input, listing, background generation, the scheduled job's wait for
 * aggregation, and retention.
 */
import { startTestJobs } from '../support/jobs.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import ExcelJS from 'exceljs';
import { runAggregation } from '../../server/aggregate/run.ts';
import { DAILY_TOTALS, DAILY_VMS, MONTHLY_VMS } from '../../server/reports/layouts.ts';
import {
  REPORT_QUEUES,
  reportTick,
  RollupsNotReady,
  runReportJob,
} from '../../server/reports/report_jobs.ts';
import { createApp } from '../../server/app.ts';

import {
  claimReport,
  cleanupReports,
  createReport,
  failReport,
  finishReport,
  getReport,
  ReportSuperseded,
  writeChunk,
} from '../../server/reports/report_store.ts';
import type { Jobs } from '../../server/jobs/boss.ts';
import { type ApiErrorBody, readJson } from '../support/api_bodies.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';
import {
  DAYS,
  download,
  expectedPools,
  generate,
  MONTH,
  near,
  readZip,
  type ReportView,
  type RollupRecord,
  rollupsByKey,
  seed,
  type Seeded,
} from './reports_fixture.ts';
import { csvObjects } from '../support/csv.ts';

const test = suite('reports');
let t: TestApp;
let seeded: Seeded;

test.before(async () => {
  t = await createTestApp('reports');
  seeded = await seed(t);
});

test.after(async () => {
  await t?.close();
});

async function workbook(buf: Buffer): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  // exceljs types its input as an ArrayBuffer: hand it the bytes as one.
  await wb.xlsx.load(new Uint8Array(buf).buffer);
  return wb;
}

/** A row's cell values (exceljs numbers cells from 1: index 0 is empty). */
const cellValues = (row: ExcelJS.Row) => row.values as ExcelJS.CellValue[];

/** Data rows of a sheet as objects keyed by header text (row 1). */
function sheetObjects(ws: ExcelJS.Worksheet): Record<string, ExcelJS.CellValue>[] {
  const headers = cellValues(ws.getRow(1)).slice(1).map(String);
  const out: Record<string, ExcelJS.CellValue>[] = [];
  ws.eachRow((row, n) => {
    if (n === 1) return;
    const v = cellValues(row);
    out.push(Object.fromEntries(headers.map((h, i) => [h, v[i + 1] ?? null])));
  });
  return out;
}

/** A per-VM sheet or CSV equals the rollup table, column by column. */
function assertVmRows(
  rows: Record<string, unknown>[],
  expected: Map<string, RollupRecord>,
  columns: typeof DAILY_VMS.columns,
  exact: boolean,
) {
  assert.equal(rows.length, expected.size, 'one row per rollup row');
  for (const row of rows) {
    const db = expected.get(`${row.Source}|${row['VM key']}`);
    assert.ok(db, `row ${row.Source}|${row['VM key']} is a rollup`);
    for (const c of columns) {
      if (!(c.key in db!)) continue; // derived: pools text, source name
      const want = db![c.key];
      const got = row[c.header];
      if (want === null) {
        assert.ok(got === null || got === '', `${c.header} empty for ${db!.vm_key}`);
      } else if (c.type === 'date' || c.type === 'datetime') {
        const ms = (want as Date).getTime();
        if (exact) {
          assert.equal(
            got,
            (want as Date).toISOString().slice(0, c.type === 'date' ? 10 : 19).replace('T', ' '),
            `${c.header} of ${db!.vm_key}`,
          );
        } else assert.equal((got as Date).getTime(), ms, `${c.header} of ${db!.vm_key}`);
      } else if (c.type === 'text') {
        const text = exact && /^[=+\-@]/.test(String(want)) ? `'${want}` : String(want);
        assert.equal(String(got), text, `${c.header} of ${db!.vm_key}`);
      } else if (exact) {
        assert.equal(got, String(want), `${c.header} of ${db!.vm_key} (exact text)`);
      } else {
        assert.equal(got, Number(want), `${c.header} of ${db!.vm_key}`);
      }
    }
  }
}

test('seeded through ingest and aggregated: two sources, rollups for every day and the month', async () => {
  assert.equal(seeded.sourceIds.length, 2);
  assert.equal(seeded.incomplete, 1);
  const [{ n }] = await t.db.sql`select count(*)::int as n from vm_monthly_rollup`;
  assert.ok(n > 20, `monthly rollups: ${n}`);
});

test('daily XLSX: sheets, layout, every VM number equals vm_daily_rollup, pools equal the rollups', async () => {
  const r = await generate(t, { kind: 'daily', period: DAYS[1] });
  assert.equal(r.fileName, `vmledger-daily-${DAYS[1]}.xlsx`);
  assert.equal(r.contentType, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  const wb = await workbook(await download(t, r));
  assert.equal(wb.worksheets.map((w) => w.name), ['Summary', 'VMs', 'Pools']);

  const vms = wb.getWorksheet('VMs')!;
  assert.equal(vms.views[0].state, 'frozen');
  assert.equal((vms.views[0] as Partial<ExcelJS.WorksheetViewFrozen>).ySplit, 1);
  assert.ok(vms.autoFilter, 'autofilter');
  assert.equal(vms.getRow(1).getCell(1).font?.bold, true);
  assert.ok((vms.getColumn(1).width ?? 0) >= 20, 'VM column is wide');
  const headers = cellValues(vms.getRow(1)).slice(1);
  assert.equal(headers, DAILY_VMS.columns.map((c) => c.header));
  assert.ok(
    headers.includes('Avg RAM (GiB)') && headers.includes('vCPU-hours (vCPU·h)'),
    'units in headers',
  );
  assert.equal(vms.getRow(2).getCell(headers.indexOf('Day') + 1).numFmt, 'yyyy-mm-dd');
  assert.ok(vms.getRow(2).getCell(headers.indexOf('Day') + 1).value instanceof Date, 'real dates');

  const expected = await rollupsByKey(t.db.sql, 'daily', DAYS[1]);
  const rows = sheetObjects(vms);
  assert.equal(r.rowCount, expected.size);
  assertVmRows(rows, expected, DAILY_VMS.columns, false);
  const born = rows.find((x) => x['VM key'] === 'vc:a4')!;
  assert.equal(born.VM, 'tmp-ü-04');
  assert.equal((born['Created (UTC)'] as Date).toISOString(), `${DAYS[1]}T05:30:00.000Z`);
  assert.equal(
    rows.find((x) => x['VM key'] === 'vc:a2')!['Pools (% of samples)'],
    'Gold 75%; Silver 25%',
  );
  assert.not.ok(rows.some((x) => x['VM key'] === 'vc:t1'), 'templates are not in rollups');

  const pools = sheetObjects(wb.getWorksheet('Pools')!);
  const want = expectedPools(expected.values());
  assert.equal(pools.length, want.size);
  for (const p of pools) {
    const e = want.get(`${p.Source}|${p['Pool / tier']}`)!;
    assert.ok(e, `pool ${p.Source}|${p['Pool / tier']}`);
    assert.equal(p['VMs (count)'], e.vms);
    assert.equal(p['Samples in pool (count)'], e.samples);
    near(p['vCPU-hours (vCPU·h)'], e.vcpu, 'vCPU-hours');
    near(p['RAM GiB-hours (GiB·h)'], e.ram, 'RAM GB-hours');
    near(p['Disk GiB-hours (GiB·h)'], e.disk, 'disk GB-hours');
  }
});

test('daily Summary: period, fleet totals equal source_daily_totals, incomplete capture listed', async () => {
  const r = await generate(t, { kind: 'daily', period: DAYS[1] });
  const ws = (await workbook(await download(t, r))).getWorksheet('Summary')!;
  const field = (label: string) => {
    let v: ExcelJS.CellValue;
    ws.eachRow((row) => {
      if (v === undefined && row.getCell(1).value === label) v = row.getCell(2).value;
    });
    return v;
  };
  assert.equal(field('Period'), DAYS[1]);
  assert.equal((field('Period start (UTC)') as Date).toISOString(), `${DAYS[1]}T00:00:00.000Z`);
  const [tot] = await t.db.sql`
    select sum(vcpu_hours) as vcpu_hours, sum(ram_gb_hours) as ram, sum(avg_vm_count) as vms
    from source_daily_totals where day = ${DAYS[1]}`;
  assert.equal(field('vCPU-hours (fleet)'), Number(tot.vcpu_hours));
  assert.equal(field('RAM GiB-hours (fleet)'), Number(tot.ram));
  assert.equal(field('Avg VMs (fleet)'), Number(tot.vms));
  assert.equal(field('Incomplete captures in period'), 1);
  assert.equal(field('Sources'), 2);
  assert.match(String(field('Rollup status')), /^current/);
  let listed = false;
  ws.eachRow((row) => {
    if (row.getCell(4).value === 'hosts: timed out') {
      listed = (row.getCell(1).value as Date).toISOString() === `${DAYS[1]}T12:00:00.000Z`;
    }
  });
  assert.ok(listed, 'the incomplete capture is listed with its error');
});

test('monthly XLSX: VMs equal vm_monthly_rollup; Daily Totals equal source_daily_totals with an All sources row', async () => {
  const r = await generate(t, { kind: 'monthly', period: MONTH });
  assert.equal(r.fileName, `vmledger-monthly-${MONTH}.xlsx`);
  const wb = await workbook(await download(t, r));
  assert.equal(wb.worksheets.map((w) => w.name), ['Summary', 'VMs', 'Daily Totals', 'Pools']);
  assertVmRows(
    sheetObjects(wb.getWorksheet('VMs')!),
    await rollupsByKey(t.db.sql, 'monthly', `${MONTH}-01`),
    MONTHLY_VMS.columns,
    false,
  );

  const totals = sheetObjects(wb.getWorksheet('Daily Totals')!);
  const db = await t.db.sql`
    select t.*, s.name as source from source_daily_totals t join sources s on s.id = t.source_id order by day, s.name`;
  assert.equal(totals.length, db.length + DAYS.length, 'a row per source and day plus one per day');
  for (const d of db) {
    const row = totals.find((x) =>
      x.Source === d.source &&
      (x.Day as Date).toISOString().startsWith(d.day.toISOString().slice(0, 10))
    )!;
    for (const c of DAILY_TOTALS.columns) {
      if (c.type === 'decimal' || c.type === 'int') {
        assert.equal(row[c.header], Number(d[c.key]), `${c.header} ${d.source} ${d.day}`);
      }
    }
  }
  for (const day of DAYS) {
    const all = totals.find((x) =>
      x.Source === 'All sources' && (x.Day as Date).toISOString().startsWith(day)
    )!;
    const mine = db.filter((d) => d.day.toISOString().startsWith(day));
    near(
      all['vCPU-hours (vCPU·h)'],
      mine.reduce((a, d) => a + Number(d.vcpu_hours), 0),
      `fleet vCPU-hours ${day}`,
    );
    assert.equal(all['All captures complete'], mine.every((d) => d.complete));
  }
  const pools = sheetObjects(wb.getWorksheet('Pools')!);
  const want = expectedPools((await rollupsByKey(t.db.sql, 'monthly', `${MONTH}-01`)).values());
  for (const p of pools) {
    near(
      p['vCPU-hours (vCPU·h)'],
      want.get(`${p.Source}|${p['Pool / tier']}`)!.vcpu,
      'monthly pool vCPU-hours',
    );
  }
});

test('CSV: a zip with one file per table; per-VM numbers are the exact database text; formula-like names defused', async () => {
  const r = await generate(t, { kind: 'monthly', period: MONTH, format: 'csv' });
  assert.equal(r.fileName, `vmledger-monthly-${MONTH}.csv.zip`);
  assert.equal(r.contentType, 'application/zip');
  const files = readZip(await download(t, r));
  assert.equal([...files.keys()], [
    'summary.csv',
    'summary_sources.csv',
    'incomplete_captures.csv',
    'vms.csv',
    'daily_totals.csv',
    'pools.csv',
  ]);
  const vms = files.get('vms.csv')!.toString('utf8');
  assert.ok(vms.startsWith('\ufeffVM,Month,'), 'BOM and header');
  assertVmRows(
    csvObjects(vms),
    await rollupsByKey(t.db.sql, 'monthly', `${MONTH}-01`),
    MONTHLY_VMS.columns,
    true,
  );
  assert.ok(vms.includes('"web, ""prod"""'), 'quotes and commas are quoted');
  assert.ok(vms.includes("'=cmd|calc"), 'a leading = is defused');
  const summary = csvObjects(files.get('summary.csv')!.toString('utf8'));
  assert.equal(summary.find((f) => f.Field === 'Period')!.Value, MONTH);
});

test('inventory XLSX and CSV: vInfo equals vm_inventory, vHost/vDatastore/vSource as captured', async () => {
  const r = await generate(t, { kind: 'inventory' });
  assert.match(r.fileName, /^vmledger-inventory-\d{8}T\d{4}Z\.xlsx$/);
  const wb = await workbook(await download(t, r));
  assert.equal(wb.worksheets.map((w) => w.name), [
    'Summary',
    'vInfo',
    'vHost',
    'vDatastore',
    'vSource',
  ]);
  const headers = cellValues(wb.getWorksheet('vInfo')!.getRow(1)).slice(1);
  assert.equal(headers.slice(-10, -2), [
    'Datacenter',
    'Cluster',
    'Host',
    'Folder',
    'VM ID',
    'VM UUID',
    'BIOS UUID',
    'VM key',
  ], 'identity and location last');
  assert.equal(headers.at(-2), 'VI SDK Server');
  const info = sheetObjects(wb.getWorksheet('vInfo')!);
  const inv = await t.db
    .sql`select i.*, s.name as source from vm_inventory i join sources s on s.id = i.source_id`;
  assert.equal(info.length, inv.length);
  for (const v of inv) {
    const row = info.find((x) => x['VM key'] === v.vm_key && x['VI SDK Server'] === v.source)!;
    assert.ok(row, v.vm_key);
    assert.equal(row.CPUs, v.vcpu);
    assert.equal(row['Memory (MiB)'], v.ram_mb);
    assert.equal(row['Provisioned (GiB)'], Number(v.provisioned_disk_gb));
    assert.equal(row.Powerstate, v.power_state);
    assert.equal(row.Template, v.is_template);
  }
  assert.not.ok(
    info.some((x) => x['VM key'] === 'vc:a4'),
    'a deleted VM is not in the current inventory',
  );
  const hosts = sheetObjects(wb.getWorksheet('vHost')!);
  const [{ n: hostCount }] = await t.db.sql`select count(*)::int as n from host_inventory`;
  assert.equal(hosts.length, hostCount);
  const esx1 = hosts.find((h) => h.Host === 'esx-1')!;
  assert.equal(esx1['VMs (count)'], 2, 'app-01 and =cmd on esx-1 (template excluded)');
  const sources = sheetObjects(wb.getWorksheet('vSource')!);
  const alpha = sources.find((s) => s.Name === 'vc-alpha')!;
  assert.equal([alpha['VMs (count)'], alpha['Templates (count)'], alpha['vCPUs']], [3, 1, 7]);

  const csv = await generate(t, { kind: 'inventory', format: 'csv' });
  const files = readZip(await download(t, csv));
  assert.equal([...files.keys()], [
    'summary.csv',
    'incomplete_captures.csv',
    'vInfo.csv',
    'vHost.csv',
    'vDatastore.csv',
    'vSource.csv',
  ]);
  const vinfo = csvObjects(files.get('vInfo.csv')!.toString('utf8'));
  assert.equal(vinfo.length, inv.length);
  const a1 = vinfo.find((x) => x['VM key'] === 'vc:a1')!;
  assert.equal(a1['Provisioned (GiB)'], '40.500');
  assert.equal(a1.Template, 'false');
});

test('bad input: 400 naming the field; roles; unknown ids', async () => {
  const post = (body: unknown, token = t.tokens.admin) =>
    t.call('/api/v1/reports', { ...json(body), token });
  const bad = async (body: unknown, path: string) => {
    const res = await post(body);
    const out = await readJson<ApiErrorBody>(res);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.ok(
      out.error.issues.some((i) => i.path === path),
      `${JSON.stringify(out)} names ${path}`,
    );
  };
  await bad({}, 'kind');
  await bad({ kind: 'weekly' }, 'kind');
  await bad({ kind: 'daily', period: '2026-02-30' }, 'period');
  await bad({ kind: 'daily', period: '2999-01-01' }, 'period');
  await bad({ kind: 'monthly', period: 'October' }, 'period');
  await bad({ kind: 'inventory', period: '2026-09' }, 'period');
  await bad({ kind: 'daily', format: 'pdf' }, 'format');
  await bad({ kind: 'daily', wait: 'yes' }, 'wait');
  const extra = await post({ kind: 'daily', fromat: 'csv' });
  assert.equal(extra.status, 400, 'unknown fields are refused');
  const notJson = await t.call('/api/v1/reports', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{',
    token: t.tokens.admin,
  });
  assert.equal(notJson.status, 400);
  assert.equal((await post({ kind: 'daily' }, t.tokens.viewer)).status, 403);
  assert.equal((await t.call('/api/v1/reports', { ...json({ kind: 'daily' }) })).status, 401);
  assert.equal(
    (await t.call(`/api/v1/reports/${crypto.randomUUID()}`, { token: t.tokens.viewer })).status,
    404,
  );
  assert.equal(
    (await t.call(`/api/v1/reports/${crypto.randomUUID()}/file`, { token: t.tokens.viewer }))
      .status,
    404,
  );
  assert.equal(
    (await t.call('/api/v1/reports/not-an-id/file', { token: t.tokens.viewer })).status,
    400,
  );
  const queued = await createReport(t.db.sql, {
    kind: 'daily',
    period: DAYS[0],
    format: 'xlsx',
    origin: 'request',
  });
  const early = await t.call(`/api/v1/reports/${queued.id}/file`, { token: t.tokens.viewer });
  assert.equal(early.status, 409);
  assert.equal((await readJson<ApiErrorBody>(early)).error.code, 'not_ready');
  assert.equal((await t.call('/api/v1/reports?limit=0', { token: t.tokens.viewer })).status, 400);
  assert.equal(
    (await t.call('/api/v1/reports?cursor=zzz', { token: t.tokens.viewer })).status,
    400,
  );
});

test('without wait: 202 queued, generated in the background, then listed and downloadable', async () => {
  const res = await t.call('/api/v1/reports', {
    ...json({ kind: 'daily', period: DAYS[0], format: 'csv' }),
    token: t.tokens.admin,
  });
  assert.equal(res.status, 202);
  const r = await readJson<ReportView>(res);
  assert.equal(r.status, 'queued');
  let now = r;
  for (let i = 0; i < 100 && now.status !== 'ready' && now.status !== 'failed'; i++) {
    await new Promise((ok) => setTimeout(ok, 100));
    now = await readJson<ReportView>(
      await t.call(`/api/v1/reports/${r.id}`, { token: t.tokens.viewer }),
    );
  }
  assert.equal(now.status, 'ready');
  const files = readZip(await download(t, now));
  assert.ok(files.has('vms.csv'));
});

type ReportList = { items: ReportView[]; total: number; next: string | null };

test('list: newest first, filters, cursor pagination with the total', async () => {
  const list = async (query: string) =>
    readJson<ReportList>(await t.call(`/api/v1/reports?${query}`, { token: t.tokens.viewer }));
  const all = await list('limit=200');
  assert.ok(all.total >= 8);
  assert.equal(all.items.length, all.total);
  const times = all.items.map((i) => i.createdAt);
  assert.equal(times, [...times].sort().reverse());
  const seen: string[] = [];
  let next: string | null = null;
  do {
    const page = await list(`limit=3${next ? `&cursor=${next}` : ''}`);
    assert.equal(page.total, all.total);
    seen.push(...page.items.map((i) => i.id));
    next = page.next;
  } while (next);
  assert.equal(seen, all.items.map((i) => i.id));
  const monthly = await list('kind=monthly&status=ready');
  assert.ok(
    monthly.items.length >= 2 &&
      monthly.items.every((i) => i.kind === 'monthly' && i.status === 'ready'),
  );
  assert.equal(monthly.items[0].links.file, `/api/v1/reports/${monthly.items[0].id}/file`);
});

test('scheduled report job: waits while a late capture is not aggregated, then one report per period', async () => {
  const jobs = { sql: t.db.sql, reportTz: 'UTC' } as unknown as Jobs;
  const data = {
    kind: 'daily' as const,
    period: DAYS[2],
    format: 'xlsx' as const,
    scheduled: true as const,
  };
  const late = makeCapture({
    sourceId: 'vc-alpha',
    at: `${DAYS[2]}T21:00:00Z`,
    vms: [{ key: 'vc:a1', name: 'app-01', host: 'esx-1' }],
  });
  assert.equal(
    (await t.call('/api/v1/captures', { ...json(late), token: t.tokens.agent })).status,
    201,
  );
  try {
    await runReportJob(jobs, data);
    assert.unreachable('must wait for aggregation');
  } catch (err) {
    assert.instance(err, RollupsNotReady);
    assert.match((err as Error).message, /vc-alpha/);
  }
  await runAggregation(t.db.sql, 'sql', {
    kind: 'daily',
    sourceId: seeded.sourceIds[0],
    period: DAYS[2],
    tz: 'UTC',
  });
  const first = await runReportJob(jobs, data) as { id: string };
  const second = await runReportJob(jobs, data) as { id: string; replaced: number };
  assert.equal(second.replaced, 1, 'the rerun replaces the earlier scheduled report');
  assert.equal(await runReportJob(jobs, { ...data, period: '2026-08-15' }), {
    skipped: 'no captures in the period',
  });
  const rows = await t.db
    .sql`select id, status from reports where origin = 'schedule' and period = ${DAYS[2]}`;
  assert.equal(rows.map((r) => r.id), [second.id]);
  assert.ok(first.id !== second.id);
  const monthly = await runReportJob(jobs, { ...data, kind: 'monthly', period: MONTH }).catch((e) =>
    e
  );
  assert.instance(monthly, RollupsNotReady, 'the month is older than its re-aggregated day');
});

test('a retried scheduled report job finishes the row its killed attempt left running: one row', async () => {
  const jobs = { sql: t.db.sql, reportTz: 'UTC' } as unknown as Jobs;
  const data = {
    kind: 'daily' as const,
    period: DAYS[1],
    format: 'csv' as const,
    scheduled: true as const,
  };
  const jobId = crypto.randomUUID();
  // The first attempt created its row (id = the job's) and was killed while generating.
  await t.db.sql`
    insert into reports (id, kind, period, format, origin, file_name, content_type, status, started_at, expires_at)
    values (${jobId}, 'daily', ${
    DAYS[1]
  }, 'csv', 'schedule', 'x.zip', 'application/zip', 'running', now(),
            now() + interval '1 day')`;
  await t.db.sql`insert into report_chunks (report_id, seq, data) values (${jobId}, 0, ${
    Buffer.from('partial')
  })`;
  const r = await runReportJob(jobs, data, { id: jobId, retryCount: 1 }) as { id: string };
  assert.is(r.id, jobId);
  const rows = await t.db.sql`
    select id, status, chunk_count from reports where origin = 'schedule' and period = ${DAYS[1]}`;
  assert.equal(rows.map((x) => [x.id, x.status]), [[jobId, 'ready']]);
  const [{ n }] = await t.db.sql`
    select count(*)::int as n from report_chunks where report_id = ${jobId}`;
  assert.is(n, rows[0].chunk_count, 'the partial chunk dropped, the whole file stored');
  // A first attempt (not a retry) never takes over a running report.
  await t.db.sql`update reports set status = 'running' where id = ${jobId}`;
  const [other] = await t.db.sql`
    insert into reports (kind, period, format, origin, file_name, content_type, status, started_at, expires_at)
    values ('daily', ${DAYS[1]}, 'csv', 'request', 'y.zip', 'application/zip', 'running', now(),
            now() + interval '1 day') returning id`;
  const still = await runReportJob(jobs, { reportId: other.id }).catch((e) => e);
  assert.not.instance(still, Error);
  const [{ status }] = await t.db.sql`select status from reports where id = ${other.id}`;
  assert.is(status, 'running', 'left to the attempt that has it');
  await t.db.sql`delete from reports where id = any(${[jobId, other.id]}::uuid[])`;
});

test('through pg-boss: schedules installed, a requested report is generated by the worker, ticks deduplicated', async () => {
  const jobs = await startTestJobs(t.db, { dailyAt: '01:30', schedule: true });
  try {
    const schedules = (await jobs.boss.getSchedules()).filter((s) => s.name.startsWith('report-'));
    assert.equal(schedules.map((s) => `${s.name}/${s.key ?? ''}/${s.cron}`).sort(), [
      'report-retention//30 5 * * *',
      'report-tick/daily/30 2 * * *',
      'report-tick/monthly/30 4 1 * *',
    ]);
    const app = createApp(t.db.sql, { maxBodyBytes: 1 << 20, sessionHours: 1, jobs });
    const res = await app.request('/api/v1/reports', {
      ...json({ kind: 'monthly', period: MONTH }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.tokens.admin}` },
    });
    assert.equal(res.status, 202);
    const queued = await readJson<ReportView>(res);
    const [job] = await jobs.boss.findJobs(REPORT_QUEUES.generate, {
      data: { reportId: queued.id },
    });
    assert.ok(job, 'a report-generate job carries the report id');
    let now = queued;
    for (let i = 0; i < 150 && now.status !== 'ready' && now.status !== 'failed'; i++) {
      await new Promise((ok) => setTimeout(ok, 200));
      now = await readJson<ReportView>(
        await t.call(`/api/v1/reports/${queued.id}`, { token: t.tokens.viewer }),
      );
    }
    assert.equal(now.status, 'ready', JSON.stringify(now));
    const first = await reportTick(jobs, 'daily');
    const again = await reportTick(jobs, 'daily');
    assert.ok(first, 'the tick enqueues yesterday');
    assert.equal(again, null, 'a second tick within the hour is deduplicated');
  } finally {
    await jobs.stop();
  }
});

test('retention: expired reports and their chunks deleted, abandoned runs failed', async () => {
  const r = await generate(t, { kind: 'daily', period: DAYS[0] });
  const stuck = await createReport(t.db.sql, {
    kind: 'daily',
    period: DAYS[0],
    format: 'xlsx',
    origin: 'request',
  });
  await t.db.sql`update reports set expires_at = now() - interval '1 minute' where id = ${r.id}`;
  await t.db
    .sql`update reports set status = 'running', started_at = now() - interval '7 hours' where id = ${stuck.id}`;
  const out = await cleanupReports(t.db.sql);
  assert.equal(out, { expired: 1, abandoned: 1 });
  const [{ n }] = await t.db
    .sql`select count(*)::int as n from report_chunks where report_id = ${r.id}`;
  assert.equal(n, 0);
  assert.equal((await t.call(`/api/v1/reports/${r.id}`, { token: t.tokens.viewer })).status, 404);
  const [s] = await t.db.sql`select status from reports where id = ${stuck.id}`;
  assert.equal(s.status, 'failed');
});

async function refused(p: Promise<unknown>) {
  const err = await p.then(() => null, (e: Error) => e);
  assert.instance(err, ReportSuperseded);
}

test('a superseded attempt can neither add to, finish nor fail the report its successor took over', async () => {
  const sql = t.db.sql;
  const r = await createReport(sql, {
    kind: 'daily',
    period: DAYS[0],
    format: 'csv',
    origin: 'schedule',
  });
  const old = await claimReport(sql, r.id);
  assert.ok(old);
  assert.is(await claimReport(sql, r.id), null, 'running: not claimable without reclaim');
  await writeChunk(sql, old!, 0, Buffer.from('old-0'));
  // The job was retried on another node (the old node stopped heartbeating) while the old
  // attempt still runs: the retry takes the report over and drops the old chunk.
  const next = await claimReport(sql, r.id, { reclaim: true });
  assert.ok(next && next.attempt !== old!.attempt);
  await refused(writeChunk(sql, old!, 1, Buffer.from('old-1')));
  await writeChunk(sql, next!, 0, Buffer.from('new-0'));
  await writeChunk(sql, next!, 1, Buffer.from('new-1'));
  const file = { sizeBytes: 10, chunkCount: 2, sha256: 'x', rowCount: 1 };
  await refused(finishReport(sql, old!, { ...file, chunkCount: 1 }));
  assert.is(await failReport(sql, old!, 'old attempt failed'), false);
  assert.is(await failReport(sql, { id: r.id, attempt: null }, 'never claimed'), false);
  assert.is((await getReport(sql, r.id))!.status, 'running');
  await finishReport(sql, next!, file);
  const done = await getReport(sql, r.id);
  assert.is(done!.status, 'ready');
  assert.is(done!.chunkCount, 2);
  const chunks = await sql`
    select seq, convert_from(data, 'UTF8') as text from report_chunks
    where report_id = ${r.id} order by seq`;
  assert.equal(chunks.map((c) => c.text), ['new-0', 'new-1']);
  // A finished report is no attempt's to fail.
  assert.is(await failReport(sql, next!, 'late failure'), false);
  assert.is((await getReport(sql, r.id))!.status, 'ready');
});

test("a chunk being stored while the report is taken over goes with the old attempt's file", async () => {
  const sql = t.db.sql;
  const r = await createReport(sql, {
    kind: 'daily',
    period: DAYS[0],
    format: 'csv',
    origin: 'schedule',
  });
  const old = await claimReport(sql, r.id);
  // The old attempt's chunk insert is still open (its transaction holds the report row) when
  // the takeover comes: the takeover waits for it, then drops it.
  const tx = (await sql.reserve()) as unknown as typeof sql & { release(): void };
  try {
    await tx`begin`;
    await writeChunk(tx, old!, 0, Buffer.from('old-0'));
    const taking = claimReport(sql, r.id, { reclaim: true });
    await new Promise((res) => setTimeout(res, 200));
    await tx`commit`;
    const next = await taking;
    assert.ok(next);
    const [{ n }] =
      await sql`select count(*)::int as n from report_chunks where report_id = ${r.id}`;
    assert.is(n, 0);
    await writeChunk(sql, next!, 0, Buffer.from('new-0'));
  } finally {
    tx.release();
  }
});

test.run();
