import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { retentionCutoff, runMaintenance } from '../../server/maintenance/maintenance.ts';
import { compactFinishedPartitions } from '../../server/maintenance/compact_partitions.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('maintenance: partitions ahead, fact retention, finished months rebuilt');
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

/** `vms` VMs' facts of source m, hourly from `first` for `hours`, each capture in its own key order. */
async function insertFacts(first: string, hours: number, vms: number) {
  await t.db.sql`
    insert into vm_hourly_stats (source_id, vm_key, snapshot_time, capture_id, source_vm_id, name,
      power_state, is_template, vcpu, ram_mb, provisioned_disk_gb)
    select s.id, 'k-' || md5(v::text), ${first}::timestamptz + h * interval '1 hour',
      md5(${first} || h)::uuid, 'id-' || v, 'vm-' || v, 'poweredOn', false, 1 + v % 4, 1024, 20
    from sources s, generate_series(0, ${hours - 1}::int) h, generate_series(1, ${vms}::int) v
    where s.external_id = 'm'
    order by h, md5(v::text || h)`;
}

test('a finished month is rebuilt once, a day after it ended; its facts unchanged', async () => {
  const sql = t.db.sql;
  // A month of 300 VMs, hourly for two days, each capture's keys in an order of their own.
  await sql`select vm_hourly_stats_ensure_partition('2026-08-01T00:00:00Z')`;
  await insertFacts('2026-08-10T00:00:00Z', 48, 300);
  const facts = async () =>
    (await sql`
      select count(*)::int as n, sum(vcpu)::int as vcpu, md5(string_agg(vm_key || snapshot_time, ','
        order by vm_key, snapshot_time)) as digest
      from vm_hourly_stats_2026_08`)[0];
  const before = await facts();
  assert.is(before.n, 300 * 48);
  const compacted = async () =>
    (await sql`select partition_name from fact_partition_compactions order by 1`).map((r) =>
      r.partition_name as string
    );
  const already = await compacted();

  // The day after the month ended: not yet (late captures of that day land first).
  const early = await compactFinishedPartitions(sql, new Date('2026-09-01T12:00:00Z'));
  assert.not.ok(early.some((c) => c.partition === 'vm_hourly_stats_2026_08'));
  assert.not.ok((await compacted()).includes('vm_hourly_stats_2026_08'));

  const r = await runMaintenance(sql, {
    retentionMonths: 0,
    now: new Date('2026-09-02T02:00:00Z'),
  });
  const august = r.partitionsCompacted.find((c) => c.partition === 'vm_hourly_stats_2026_08');
  assert.ok(august, JSON.stringify(r.partitionsCompacted));
  assert.ok(
    august.bytesAfter < august.bytesBefore,
    `index bytes ${august.bytesBefore} -> ${august.bytesAfter}`,
  );
  // September and later are not over; every partition is recorded once.
  assert.not.ok(r.partitionsCompacted.some((c) => c.partition >= 'vm_hourly_stats_2026_09'));
  const after = await compacted();
  assert.equal(after, [...new Set(after)].sort());
  assert.ok(after.length > already.length);
  assert.equal(await facts(), before, 'the same facts');
  const [{ valid }] = await sql`
    select bool_and(i.indisvalid) as valid from pg_index i
    where i.indrelid = 'vm_hourly_stats_2026_08'::regclass`;
  assert.ok(valid);

  const again = await runMaintenance(sql, {
    retentionMonths: 0,
    now: new Date('2026-09-03T02:00:00Z'),
  });
  assert.equal(again.partitionsCompacted, [], 'each month once');
  // The start of the server ensures partitions only.
  const start = await runMaintenance(sql, {
    retentionMonths: 0,
    compact: false,
    now: new Date('2027-06-01T00:00:00Z'),
  });
  assert.equal(start.partitionsCompacted, []);
});

test('a rebuild that fails is not recorded, its invalid copy is dropped, and it is tried again', async () => {
  const sql = t.db.sql;
  await sql`select vm_hourly_stats_ensure_partition('2026-10-01T00:00:00Z')`;
  await insertFacts('2026-10-05T00:00:00Z', 1, 50);
  // A transaction that has read the partition holds REINDEX CONCURRENTLY back (it waits for
  // every older reader); a lock timeout of the rebuild's own session then cancels it mid-way.
  const reader = await sql.reserve();
  const rebuilder = await sql.reserve();
  try {
    await reader`begin`;
    await reader`select count(*) from vm_hourly_stats_2026_10`;
    await rebuilder`set lock_timeout = '300ms'`;
    const failed = await compactFinishedPartitions(
      rebuilder as unknown as typeof sql,
      new Date('2026-11-03T00:00:00Z'),
    );
    assert.not.ok(failed.some((c) => c.partition === 'vm_hourly_stats_2026_10'));
    await reader`rollback`;
    const [{ recorded }] = await sql`
      select count(*)::int as recorded from fact_partition_compactions
      where partition_name = 'vm_hourly_stats_2026_10'`;
    assert.is(recorded, 0, 'not recorded: tried again');
  } finally {
    reader.release();
    rebuilder.release();
  }
  const retried = await compactFinishedPartitions(sql, new Date('2026-11-03T00:00:00Z'));
  assert.ok(retried.some((c) => c.partition === 'vm_hourly_stats_2026_10'));
  const [{ indexes, invalid }] = await sql`
    select count(*)::int as indexes, count(*) filter (where not i.indisvalid)::int as invalid
    from pg_index i where i.indrelid = 'vm_hourly_stats_2026_10'::regclass`;
  assert.is(invalid, 0, 'no invalid copy left');
  assert.is(indexes, 2, 'primary key and BRIN, as before');
});

test.run();
