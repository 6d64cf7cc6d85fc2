/**
 * Usage tiers, seeded parity: 1,000 VMs with churn captured every 20 minutes over three
 * local days in America/New_York (the middle one the 23-hour DST day), one capture missed,
 * usage with unknown values, 20 hosts and 30 datastores with fractional doubles. Both engines
 * compute every day's tiers; all six tables must be equal row by row, column by column.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import type { Engine } from '../../server/aggregate/run.ts';
import { runUsageTiers } from '../../server/aggregate/usage_run.ts';
import { generateFacts } from '../support/synthetic_facts.ts';
import { addSiteFacts, addVmUsage } from '../support/synthetic_usage.ts';
import { addSource } from './aggregate_support.ts';
import { TIER_TABLES, tierRows } from './usage_tiers_support.ts';

const test = suite('usage tiers parity (seeded, 1,000 VMs, 20-minute captures)');
const TZ = 'America/New_York';
const DAYS = ['2026-03-07', '2026-03-08', '2026-03-09'];
let db: TestDatabase;
let source: number;

test.before(async () => {
  db = await createTestDatabase('usage_tiers_parity');
  source = await addSource(db.sql, 'usage-parity');
  await generateFacts(db.sql, {
    sourceId: source,
    vms: 1000,
    start: '2026-03-07T05:00:00Z',
    captures: 71 * 3,
    intervalSeconds: 1200,
    seed: 20260308,
    skip: [100],
  });
  await addVmUsage(db.sql, source, 7);
  // keys with the characters COPY text must escape (the TS engine writes by COPY)
  await db.sql`update vm_hourly_stats set vm_key = vm_key || ${'\t\\x\n\ry'}
    where source_id = ${source} and vm_key in ('vm-1', 'vm-2', 'vm-3')`;
  await addSiteFacts(db.sql, { sourceId: source, hosts: 20, datastores: 30, seed: 7 });
});

test.after(async () => {
  await db?.drop();
});

async function compare(day: string) {
  const out = {} as Record<Engine, Record<string, Record<string, unknown>[]>>;
  for (const engine of ['ts', 'sql'] as const) {
    await runUsageTiers(db.sql, engine, { sourceId: source, period: day, tz: TZ });
    out[engine] = {};
    for (const t of TIER_TABLES) out[engine][t] = await tierRows(db.sql, t, source, day, TZ);
  }
  for (const t of TIER_TABLES) {
    const [s, ts] = [out.sql[t], out.ts[t]];
    assert.ok(s.length > 0, `${day} ${t}: rows`);
    assert.is(ts.length, s.length, `${day} ${t}: row count`);
    for (let i = 0; i < s.length; i++) assert.equal(ts[i], s[i], `${day} ${t}: row ${i}`);
  }
  return out.sql;
}

test('the fixture has what the rules must handle', async () => {
  const [r] = await db.sql`
    select count(*) filter (where cpu_usage_mhz is null)::int as cpu_unknown,
           count(*) filter (where cpu_usage_mhz is null and guest_memory_mib is null and host_memory_mib is null)::int as none
    from vm_hourly_stats where source_id = ${source}`;
  assert.ok(r.cpu_unknown > 1000 && r.none > 0, JSON.stringify(r));
  const [d] = await db.sql`select count(*) filter (where free_gb is null)::int as unknown,
    count(*) filter (where free_gb <> round(free_gb::numeric, 3)::float8)::int as fractional
    from datastore_facts where source_id = ${source}`;
  assert.ok(d.unknown > 0 && d.fractional > 100, JSON.stringify(d));
});

for (const day of DAYS) {
  test(`${day}: sql and ts agree on every tier table row by row`, async () => {
    const rows = await compare(day);
    const hours = new Set(rows.vm_usage_hourly.map((r) => r.hour));
    assert.is(hours.size, day === '2026-03-08' ? 23 : 24, 'hours of the local day');
    const vm = rows.vm_usage_hourly;
    assert.ok(vm.some((r) => r.samples === '3') && vm.some((r) => r.cpu_samples !== r.samples));
    assert.ok(rows.vm_usage_daily.length > 900, `VMs: ${rows.vm_usage_daily.length}`);
    assert.ok(rows.vm_usage_daily.some((r) => r.vm_key === 'vm-2\t\\x\n\ry'), 'an escaped key');
  });
}

test.run();
