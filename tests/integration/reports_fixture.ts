/**
 * Shared by the report suites (exceljs and LibreOffice): seeds two sources through the real
 * ingest API and aggregates them with the SQL procedures; reads zips and CSV back; fetches
 * the rollups the numbers must equal. Not a suite itself (no .test.ts).
 */
import { inflateRawSync } from 'node:zlib';
import * as assert from 'uvu/assert';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import { runAggregation } from '../../server/aggregate/run.ts';
import type { Sql } from '../../server/db/connect.ts';
import type { ReportRecord } from '../../server/reports/report_store.ts';
import { json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

export const DAYS = ['2026-09-01', '2026-09-02', '2026-09-03'];
export const MONTH = '2026-09';
const HOURS = ['00', '06', '12', '18'];

/** What the fixture put in. */
export type Seeded = { sourceIds: number[]; captures: number; incomplete: number };

/** A report as the API answers it: the record and its links. */
export type ReportView = ReportRecord & { links: { self: string; file: string } };

/** A rollup row as the table holds it (dates as Date, numerics as exact text), with its source's name. */
export type RollupRecord = Record<string, unknown>;

/** Hand-made source "vc-alpha": pool moves, awkward names, a VM born and gone, a template, an incomplete capture. */
function alpha(day: string, hh: string, index: number) {
  const vms: Parameters<typeof makeCapture>[0]['vms'] = [
    {
      key: 'vc:a1',
      name: 'app-01',
      vcpu: 2,
      memoryMib: 4096,
      provisionedDiskGib: 40.5,
      resourcePool: 'Gold',
      host: 'esx-1',
    },
    {
      key: 'vc:a2',
      name: 'web, "prod"',
      vcpu: 4,
      memoryMib: 8192,
      provisionedDiskGib: 100,
      resourcePool: index % 3 === 0 ? 'Silver' : 'Gold',
      host: 'esx-2',
    },
    {
      key: 'vc:a3',
      name: '=cmd|calc',
      vcpu: 1,
      memoryMib: 1024,
      provisionedDiskGib: 10.125,
      powerState: 'poweredOff',
      resourcePool: null,
      host: 'esx-1',
    },
    {
      key: 'vc:t1',
      name: 'tmpl-linux',
      vcpu: 2,
      memoryMib: 2048,
      provisionedDiskGib: 20,
      isTemplate: true,
      host: 'esx-1',
    },
  ];
  // born on the 2nd at 06:00, gone after the 3rd at 06:00
  if ((day === DAYS[1] && hh >= '06') || (day === DAYS[2] && hh <= '06')) {
    vms.push({
      key: 'vc:a4',
      name: 'tmp-ü-04',
      vcpu: 8,
      memoryMib: 16384,
      provisionedDiskGib: 250.75,
      resourcePool: 'Bronze',
      host: 'esx-2',
      createdAt: `${DAYS[1]}T05:30:00Z`,
    });
  }
  const incomplete = day === DAYS[1] && hh === '12';
  return makeCapture({
    sourceId: 'vc-alpha',
    at: `${day}T${hh}:00:00Z`,
    vms,
    complete: !incomplete,
    hosts: [
      {
        key: 'host-1',
        name: 'esx-1',
        datacenter: 'dc1',
        cluster: 'c1',
        connectionState: 'connected',
        powerState: 'poweredOn',
        cpuCores: 32,
        cpuMhz: 2600,
        memoryMib: 262144,
        version: '8.0.3',
      },
      {
        key: 'host-2',
        name: 'esx-2',
        datacenter: 'dc1',
        cluster: 'c1',
        connectionState: 'connected',
        powerState: 'poweredOn',
        cpuCores: 16,
        cpuMhz: 2400,
        memoryMib: 131072,
        version: '8.0.3',
      },
    ],
    datastores: [{
      key: 'ds-1',
      name: 'vsan',
      type: 'vsan',
      capacityGib: 10240,
      freeGib: 4096.5,
      accessible: true,
    }],
  });
}

/** Posts captures of two sources for DAYS through the API, then aggregates days and the month. */
export async function seed(t: TestApp): Promise<Seeded> {
  let captures = 0;
  let incomplete = 0;
  let index = 0;
  let previous: Date | null = null;
  for (const day of DAYS) {
    for (const hh of HOURS) {
      const at = new Date(`${day}T${hh}:00:00Z`);
      const a = alpha(day, hh, index++);
      const b = demoCapture({ flavor: 'proxmox', seed: 7, totalVms: 60, at, since: previous });
      previous = at;
      for (const body of [a, b]) {
        const res = await t.call('/api/v1/captures', { ...json(body), token: t.tokens.agent });
        assert.equal(res.status, 201, `capture stored: ${await res.clone().text()}`);
        captures++;
        if (!body.complete) incomplete++;
      }
    }
  }
  const sourceIds = (await t.db.sql`select id from sources order by id`).map((r) => r.id as number);
  for (const sourceId of sourceIds) {
    for (const day of DAYS) {
      await runAggregation(t.db.sql, 'sql', { kind: 'daily', sourceId, period: day, tz: 'UTC' });
    }
    await runAggregation(t.db.sql, 'sql', {
      kind: 'monthly',
      sourceId,
      period: `${MONTH}-01`,
      tz: 'UTC',
    });
  }
  return { sourceIds, captures, incomplete };
}

/** POST /api/v1/reports with wait; asserts 201 and returns the record. */
export async function generate(t: TestApp, body: Record<string, unknown>): Promise<ReportView> {
  const res = await t.call('/api/v1/reports', {
    ...json({ wait: true, ...body }),
    token: t.tokens.admin,
  });
  const out: ReportView = await res.json();
  assert.equal(res.status, 201, JSON.stringify(out));
  assert.equal(out.status, 'ready');
  return out;
}

/** Downloads a report's file as a viewer; checks the headers. */
export async function download(t: TestApp, report: ReportView): Promise<Buffer> {
  const res = await t.call(`/api/v1/reports/${report.id}/file`, { token: t.tokens.viewer });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), report.contentType);
  assert.ok(res.headers.get('content-disposition')!.includes(`filename="${report.fileName}"`));
  const buf = Buffer.from(await res.arrayBuffer());
  assert.equal(buf.length, report.sizeBytes);
  assert.equal(Number(res.headers.get('content-length')), report.sizeBytes);
  return buf;
}

/** Reads a zip's files (central directory, stored or deflated). */
export function readZip(buf: Buffer): Map<string, Buffer> {
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, 'zip end record');
  const count = buf.readUInt16LE(end + 10);
  let p = buf.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'central directory entry');
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(dataAt, dataAt + compressed);
    files.set(name, method === 8 ? inflateRawSync(raw) : raw);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return files;
}

/** The per-VM rollups straight from the table (numerics as exact text), keyed "source|vm_key". */
export async function rollupsByKey(
  sql: Sql,
  kind: 'daily' | 'monthly',
  day: string,
): Promise<Map<string, RollupRecord>> {
  const rows = kind === 'daily'
    ? await sql`select r.*, s.name as source from vm_daily_rollup r join sources s on s.id = r.source_id where r.day = ${day}`
    : await sql`select r.*, s.name as source from vm_monthly_rollup r join sources s on s.id = r.source_id where r.month = ${day}`;
  return new Map(rows.map((r) => [`${r.source}|${r.vm_key}`, r]));
}

/** Expected chargeback per "source|pool" computed here from the rollups (not by the report's SQL). */
export function expectedPools(
  rollups: Iterable<RollupRecord>,
): Map<string, { vms: number; samples: number; vcpu: number; ram: number; disk: number }> {
  const out = new Map<
    string,
    { vms: number; samples: number; vcpu: number; ram: number; disk: number }
  >();
  for (const r of rollups) {
    for (const [pool, n] of Object.entries(r.pool_samples as Record<string, number>)) {
      const k = `${r.source}|${pool}`;
      const e = out.get(k) ?? { vms: 0, samples: 0, vcpu: 0, ram: 0, disk: 0 };
      const share = Number(n) / Number(r.samples_present);
      e.vms++;
      e.samples += Number(n);
      e.vcpu += Number(r.vcpu_hours) * share;
      e.ram += Number(r.ram_gb_hours) * share;
      e.disk += Number(r.disk_gb_hours) * share;
      out.set(k, e);
    }
  }
  return out;
}

/** |a − b| within 1e-6 (values are rounded to 6 decimals). */
export function near(actual: unknown, expected: number, what: string) {
  const a = Number(actual);
  assert.ok(
    Math.abs(a - expected) <= 1e-6 * Math.max(1, Math.abs(expected)),
    `${what}: ${a} ≠ ${expected}`,
  );
}
