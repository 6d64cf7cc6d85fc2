/**
 * Every generated workbook opened by LibreOffice headless (Debian's libreoffice-calc,
 * provisioned by scripts/provision.ts): each sheet converted to CSV by soffice itself,
 * and the numbers it read compared with the rollups and inventory in the database. A
 * workbook LibreOffice cannot read, or reads differently from what we meant, fails here.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { suiteNeeding } from '../support/parts.ts';
import type { TableSpec } from '../../server/reports/columns.ts';
import { DAILY_VMS, MONTHLY_VMS } from '../../server/reports/layouts.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import {
  DAYS,
  download,
  expectedPools,
  generate,
  MONTH,
  near,
  type RollupRecord,
  rollupsByKey,
  seed,
} from '../integration/reports_fixture.ts';
import { csvObjects } from '../support/csv.ts';
import { runCosting } from '../../server/aggregate/cost_run.ts';

const test = suiteNeeding('reports opened by LibreOffice', ['libreoffice']);
let t: TestApp;
let tmp: string;

// All sheets (-1), UTF-8, raw values rather than "as shown", so numbers keep every digit.
const CSV_FILTER = 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1';

/** Converts an XLSX with soffice; returns sheet name → CSV text. */
function sheetsViaLibreOffice(xlsx: Buffer, name: string): Promise<Map<string, string>> {
  const dir = path.join(tmp, name);
  const file = path.join(tmp, `${name}.xlsx`);
  writeFileSync(file, xlsx);
  // Own profile directory: concurrent soffice runs with one profile block each other.
  const profile = `file://${path.join(tmp, 'lo-profile')}`;
  return new Promise((resolve, reject) => {
    execFile(
      'soffice',
      [
        `-env:UserInstallation=${profile}`,
        '--headless',
        '--convert-to',
        CSV_FILTER,
        '--outdir',
        dir,
        file,
      ],
      { timeout: 120_000 },
      (err, _stdout, stderr) => {
        if (err) {
          return reject(
            new Error(
              `soffice failed: ${stderr || err.message}`,
            ),
          );
        }
        const out = new Map<string, string>();
        for (const f of readdirSync(dir)) {
          out.set(
            f.slice(name.length + 1, -'.csv'.length),
            readFileSync(path.join(dir, f), 'utf8'),
          );
        }
        resolve(out);
      },
    );
  });
}

/** A date as LibreOffice writes it raw: ISO for ISO-like formats, else its default MM/DD/YYYY. */
function isoDay(s: string): string {
  const us = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(s);
  return us ? `${us[3]}-${us[1]}-${us[2]}` : s.slice(0, 10);
}

/** LibreOffice's text of a rollup value equals the database value. */
function assertVmSheet(
  rows: Record<string, string>[],
  expected: Map<string, RollupRecord>,
  spec: TableSpec,
) {
  assert.equal(rows.length, expected.size, `${spec.sheet}: one row per rollup row`);
  for (const row of rows) {
    const db = expected.get(`${row.Source}|${row['VM key']}`)!;
    assert.ok(db, `${row.Source}|${row['VM key']}`);
    for (const c of spec.columns) {
      if (!(c.key in db)) continue;
      const want = db[c.key];
      const got = row[c.header];
      if (want === null) assert.equal(got, '', `${c.header} empty`);
      else if (c.type === 'datetime') {
        assert.equal(got, (want as Date).toISOString().slice(0, 19).replace('T', ' '), c.header);
      } else if (c.type === 'date') {
        assert.equal(isoDay(got), (want as Date).toISOString().slice(0, 10), `${c.header}: ${got}`);
      } else if (c.type === 'text') assert.equal(got, String(want), c.header);
      else if (c.type === 'ratio') {
        near(
          Number(got.replace(/%$/, '')) / (got.endsWith('%') ? 100 : 1),
          Number(want),
          `${c.header} of ${db.vm_key}: ${got}`,
        );
      } else {assert.equal(
          Number(got),
          Number(want),
          `${c.header} of ${db.vm_key}: ${got} vs ${want}`,
        );}
    }
  }
}

test.before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'vml-lo-'));
  t = await createTestApp('reports_libreoffice');
  await seed(t);
});

test.after(async () => {
  await t?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('daily workbook: LibreOffice reads every sheet; VMs and Pools equal the rollups', async () => {
  const sheets = await sheetsViaLibreOffice(
    await download(t, await generate(t, { kind: 'daily', period: DAYS[1] })),
    'daily',
  );
  assert.equal([...sheets.keys()].sort(), ['Pools', 'Summary', 'VMs']);
  const expected = await rollupsByKey(t.db.sql, 'daily', DAYS[1]);
  assertVmSheet(csvObjects(sheets.get('VMs')!), expected, DAILY_VMS);
  const want = expectedPools(expected.values());
  const pools = csvObjects(sheets.get('Pools')!);
  assert.equal(pools.length, want.size);
  for (const p of pools) {
    const e = want.get(`${p.Source}|${p['Pool / tier']}`)!;
    assert.equal(Number(p['VMs (count)']), e.vms);
    near(p['vCPU-hours (vCPU·h)'], e.vcpu, 'vCPU-hours');
    near(p['Disk GiB-hours (GiB·h)'], e.disk, 'disk GB-hours');
  }
  const summary = sheets.get('Summary')!;
  assert.match(summary, /Incomplete captures in period,1/);
  assert.match(summary, new RegExp(`Period start \\(UTC\\),${DAYS[1]} 00:00:00`));
});

test('monthly workbook: VMs, Daily Totals and the Summary fleet totals equal the database', async () => {
  const sheets = await sheetsViaLibreOffice(
    await download(t, await generate(t, { kind: 'monthly', period: MONTH })),
    'monthly',
  );
  assert.equal([...sheets.keys()].sort(), ['Daily Totals', 'Pools', 'Summary', 'VMs']);
  assertVmSheet(
    csvObjects(sheets.get('VMs')!),
    await rollupsByKey(t.db.sql, 'monthly', `${MONTH}-01`),
    MONTHLY_VMS,
  );
  const totals = csvObjects(sheets.get('Daily Totals')!);
  const db = await t.db
    .sql`select t.*, s.name as source from source_daily_totals t join sources s on s.id = t.source_id`;
  for (const d of db) {
    const row = totals.find((x) =>
      x.Source === d.source && x.Day.startsWith(d.day.toISOString().slice(0, 10))
    )!;
    assert.ok(row, `${d.source} ${d.day}`);
    assert.equal(Number(row['vCPU-hours (vCPU·h)']), Number(d.vcpu_hours));
    assert.equal(Number(row['Avg RAM (GiB)']), Number(d.avg_ram_gb));
    assert.equal(row['All captures complete'], d.complete ? 'TRUE' : 'FALSE');
  }
  const [m] = await t.db
    .sql`select sum(vcpu_hours) as v, sum(disk_gb_hours) as d from source_monthly_totals where month = ${`${MONTH}-01`}`;
  const line = (label: string) =>
    sheets.get('Summary')!.split('\n').find((l) => l.startsWith(`${label},`))!.split(',')[1];
  assert.equal(Number(line('vCPU-hours (fleet)')), Number(m.v));
  assert.equal(Number(line('Disk GiB-hours (fleet)')), Number(m.d));
});

test('inventory workbook: vInfo, vHost, vDatastore and vSource as LibreOffice reads them', async () => {
  const sheets = await sheetsViaLibreOffice(
    await download(t, await generate(t, { kind: 'inventory' })),
    'inventory',
  );
  assert.equal([...sheets.keys()].sort(), ['Summary', 'vDatastore', 'vHost', 'vInfo', 'vSource']);
  const info = csvObjects(sheets.get('vInfo')!);
  const inv = await t.db
    .sql`select i.*, s.name as source from vm_inventory i join sources s on s.id = i.source_id`;
  assert.equal(info.length, inv.length);
  for (const v of inv) {
    const row = info.find((x) => x['VM key'] === v.vm_key && x['VI SDK Server'] === v.source)!;
    assert.equal(
      [Number(row.CPUs), Number(row['Memory (MiB)']), Number(row['Provisioned (GiB)'])],
      [
        v.vcpu,
        v.ram_mb,
        Number(v.provisioned_disk_gb),
      ],
    );
    assert.equal(row.VM, v.name);
  }
  const ds = csvObjects(sheets.get('vDatastore')!).find((d) => d.Name === 'vsan')!;
  assert.equal(
    [Number(ds['Capacity (GiB)']), Number(ds['Free (GiB)']), Number(ds['In use (GiB)'])],
    [
      10240,
      4096.5,
      6143.5,
    ],
  );
  const src = csvObjects(sheets.get('vSource')!).find((s) => s.Name === 'vc-alpha')!;
  assert.equal(Number(src['VMs (count)']), 3);
});

test('chargeback workbook: LibreOffice reads it; the Lines add up to the API total to the cent', async () => {
  const sql = t.db.sql;
  const [card] = await sql`insert into rate_cards (name, currency, is_default)
    values ('Std', 'EUR', true) returning id`;
  await sql`insert into rate_card_versions
    (card_id, effective_from, vcpu_hour, ram_gb_hour, disk_gb_month, vm_month)
    values (${card.id}, '2026-01-01', 0.013, 0.0047, 0.091, 3.10)`;
  for (const { id } of await sql`select id from sources`) {
    await runCosting(sql, 'sql', { sourceId: id, month: `${MONTH}-01` });
  }
  const sheets = await sheetsViaLibreOffice(
    await download(t, await generate(t, { kind: 'chargeback', period: MONTH })),
    'chargeback',
  );
  assert.equal([...sheets.keys()].sort(), ['Lines', 'Summary']);
  const lines = csvObjects(sheets.get('Lines')!);
  const [db] = await sql`select count(*)::int as n, sum(l.total)::text as total
    from vm_cost_lines l join cost_runs r on r.id = l.run_id
    where r.month = ${`${MONTH}-01`} and r.superseded_at is null`;
  assert.equal(lines.length, db.n);
  const cents = (v: string) => Math.round(Number(v) * 100);
  const sum = lines.reduce((a, l) => a + cents(l.Total), 0);
  const res = await t.call(`/api/v1/costs?month=${MONTH}`, { token: t.tokens.viewer });
  const api = await res.json();
  assert.equal(sum, cents(api.totals[0].total));
  assert.equal(sum, cents(db.total));
});

test.run();
