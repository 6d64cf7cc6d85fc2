import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { retentionCutoff, runMaintenance } from '../../server/maintenance/maintenance.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('maintenance: partitions ahead, fact retention');
let t: TestApp;

test.before(async () => {
  t = await createTestApp('maintenance');
  for (const at of ['2025-01-15T10:00:00Z', '2025-02-15T10:00:00Z', '2026-04-15T10:00:00Z']) {
    const c = makeCapture({
      sourceId: 'm',
      at,
      vms: [{ key: 'a' }],
      hosts: [{
        key: 'h',
        name: 'h',
        datacenter: null,
        cluster: null,
        connectionState: 'connected',
        powerState: 'poweredOn',
        cpuCores: 8,
        cpuMhz: 2000,
        memoryMib: 1024,
        version: null,
      }],
    });
    assert.is(
      (await t.call('/api/v1/captures', { ...json(c), token: t.tokens.agent })).status,
      201,
    );
  }
});
test.after(() => t.close());

const partitions = async () =>
  (await t.db
    .sql`select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
                  where p.relname = 'vm_hourly_stats' order by 1`).map((r) => r.relname as string);

test('the cutoff is the start of a whole month', () => {
  assert.is(
    retentionCutoff(new Date('2026-05-20T12:00:00Z'), 13).toISOString(),
    '2025-04-01T00:00:00.000Z',
  );
});

test('partitions are created ahead; old fact partitions dropped; lifecycle and totals kept; idempotent', async () => {
  const now = new Date('2026-05-20T12:00:00Z');
  const r = await runMaintenance(t.db.sql, { retentionMonths: 13, now });
  assert.equal(r.partitionsEnsured, [
    'vm_hourly_stats_2026_05',
    'vm_hourly_stats_2026_06',
    'vm_hourly_stats_2026_07',
  ]);
  assert.equal(r.partitionsDropped, ['vm_hourly_stats_2025_01', 'vm_hourly_stats_2025_02']);
  assert.is(r.hostFactsDeleted, 2);
  assert.equal(await partitions(), [
    'vm_hourly_stats_2026_04',
    'vm_hourly_stats_2026_05',
    'vm_hourly_stats_2026_06',
    'vm_hourly_stats_2026_07',
  ]);
  const [{ n }] = await t.db.sql`select count(*)::int as n from source_totals`;
  assert.is(n, 3, 'per-capture totals kept');
  const [{ l }] = await t.db.sql`select count(*)::int as l from vm_lifecycle`;
  assert.is(l, 1);
  const again = await runMaintenance(t.db.sql, { retentionMonths: 13, now });
  assert.equal(again.partitionsDropped, []);
  const forever = await runMaintenance(t.db.sql, {
    retentionMonths: 0,
    now: new Date('2030-01-01T00:00:00Z'),
  });
  assert.equal(forever.partitionsDropped, []);
});

test.run();
