/**
 * The fast way of storing a newer capture (facts COPYed straight into their partition,
 * only VMs that may change staged, chosen from a source state kept between ingests, VMs
 * parsed from the body text part by part during the COPY) must leave exactly the database
 * the general way (capture parsed whole, every VM staged) leaves. Three databases take the
 * same captures in the same order:
 *   general  every capture parsed whole and staged whole;
 *   fast     one server node, its source states cached between captures, each VM its own part;
 *   nodes    two server nodes taking turns, so each finds the other's writes and reloads,
 *            parts of a few VMs.
 * After every capture all tables ingest writes are compared, so a difference is reported
 * at the capture that made it.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture, type CaptureInput } from '../../agent/capture/schema.ts';
import { createToken, type TokenInfo } from '../../server/auth/tokens.ts';
import { createPool, type Sql } from '../../server/db/connect.ts';
import { captureFromParsed, captureFromText } from '../../server/ingest/incoming_capture.ts';
import {
  storeCapture,
  type StoreOptions,
  type StoreResult,
} from '../../server/ingest/store_capture.ts';
import { makeCapture } from '../support/captures.ts';
import { createTestDatabase, rolledBack, type TestDatabase } from '../support/db.ts';

const test = suite('ingest: the fast way and the general way store the same');

/** partChars null: parsed whole; else read from text in parts of about that many characters. */
type Target = {
  name: string;
  db: TestDatabase;
  pools: Sql[];
  token: TokenInfo;
  options: StoreOptions;
  partChars: number | null;
  turn: number;
};
let targets: Target[] = [];

test.before(async () => {
  targets = await Promise.all(
    [['general', { stageEverything: true }, 1, null], ['fast', {}, 1, 1], ['nodes', {}, 2, 1500]]
      .map(async ([name, options, nodes, partChars]) => {
        const db = await createTestDatabase(`paths_${name}`);
        const t = await createToken(db.sql, { name: 'ingest', role: 'admin' });
        const pools = [
          db.sql,
          ...Array.from({ length: (nodes as number) - 1 }, () => createPool(db.url, { max: 2 })),
        ];
        return {
          name: name as string,
          db,
          pools,
          token: { id: t.id, name: 'ingest', role: 'admin' as const },
          options: options as StoreOptions,
          partChars: partChars as number | null,
          turn: 0,
        };
      }),
  );
});
test.after(async () => {
  for (const t of targets) {
    for (const p of t.pools.slice(1)) await p.end();
    await t.db.drop();
  }
});

/** The sizes at first and last sighting ingest keeps in vm_lifecycle_base (migration 0047). */
const LIFECYCLE_SIZES =
  `x.vm_key, x.first_vcpu, x.first_ram_mb, x.first_disk_gb, x.last_vcpu, x.last_ram_mb,
  x.last_disk_gb from vm_lifecycle_base x`;

/** Everything ingest writes, each table as ordered rows, keyed by source external id rather than serial id. */
const SRC = 'join sources s on s.id = x.source_id';
const TABLES: Record<string, string> = {
  lifecycle: `select s.external_id, x.* from vm_lifecycle x ${SRC} order by 1, x.vm_key`,
  inventory: `select s.external_id, x.* from vm_inventory x ${SRC} order by 1, x.vm_key`,
  deleted: `select s.external_id, x.* from vm_inventory_deleted x ${SRC} order by 1, x.vm_key`,
  facts:
    `select s.external_id, x.* from vm_hourly_stats x ${SRC} order by 1, x.vm_key, x.snapshot_time`,
  events:
    `select s.external_id, x.* from vm_events x ${SRC} order by 1, x.at, x.type, x.vm_key, x.source_vm_id`,
  totals: `select s.external_id, x.* from source_totals x ${SRC} order by 1, x.captured_at`,
  clusterAllocation:
    `select s.external_id, x.* from cluster_allocation x ${SRC} order by 1, x.cluster, x.captured_at`,
  registry: `select s.external_id, x.kind, x.period_start, x.row_count, x.capture_id, x.complete
             from snapshot_registry x ${SRC} order by 1, x.period_start`,
  hosts: `select s.external_id, x.* from host_inventory x ${SRC} order by 1, x.host_key`,
  datastores:
    `select s.external_id, x.* from datastore_inventory x ${SRC} order by 1, x.datastore_key`,
  sources: `select external_id, last_capture_at from sources order by 1`,
  vmConfig:
    `select s.external_id, x.* from vm_config_history x ${SRC} order by 1, x.vm_key, x.valid_from`,
  siteObjects: `select s.external_id, x.* from site_object_history x ${SRC}
                order by 1, x.kind, x.object_key, x.valid_from`,
  changes: `select s.external_id, x.* from vm_changes x ${SRC} order by 1, x.vm_key, x.at, x.kind`,
  lifecycleSizes: `select s.external_id, ${LIFECYCLE_SIZES} ${SRC} order by 1, x.vm_key`,
  hostFacts:
    `select s.external_id, x.* from host_facts x ${SRC} order by 1, x.host_key, x.snapshot_time`,
};

/**
 * A digest of an ordered query's rows, computed in PostgreSQL: equal digests are equal rows
 * in the same order; the whole rows cross the wire only when two digests differ (then
 * compared row by row, which names the difference).
 */
const digestOf = (text: string) =>
  `select md5(coalesce(string_agg(j, e'\\n' order by n), '')) from (
     select row_to_json(q)::text as j, row_number() over () as n from (${text}) q) z`;

/** Every table's digest, in one statement. */
async function digests(sql: Sql): Promise<Record<string, string>> {
  const [row] = await sql.unsafe(
    `select ${
      Object.entries(TABLES).map(([table, text]) => `(${digestOf(text)}) as "${table}"`).join(', ')
    }`,
  );
  return row as Record<string, string>;
}

/**
 * What `rebuild` (a rebuild of derived rows from the facts) leaves in `table`, rolled back:
 * its digest, or its rows when `rows` is asked (to name a difference).
 */
async function rebuilt(sql: Sql, rebuild: string, table: string, rows: true): Promise<string[]>;
async function rebuilt(sql: Sql, rebuild: string, table: string, rows?: false): Promise<string>;
async function rebuilt(
  sql: Sql,
  rebuild: string,
  table: string,
  rows = false,
): Promise<string | string[]> {
  return await rolledBack(sql, async (tx) => {
    await tx.unsafe(rebuild);
    return rows
      ? (await tx.unsafe(TABLES[table])).map((r) => JSON.stringify(r))
      : Object.values((await tx.unsafe(digestOf(TABLES[table])))[0])[0] as string;
  });
}
/** vm_changes as vm_changes_rebuild() computes them from the facts (migration 0042). */
const CHANGES_REBUILD = `select vm_changes_rebuild(id, '-infinity', 'infinity') from sources`;
/** The lifecycle sizes as vm_lifecycle_sizes_rebuild() reads them from the facts (0047). */
const SIZES_REBUILD = `select vm_lifecycle_sizes_rebuild(id) from sources`;

async function storeEverywhere(input: CaptureInput): Promise<Record<string, StoreResult>> {
  const capture = Capture.parse(input);
  const results: Record<string, StoreResult> = {};
  for (const t of targets) {
    const pool = t.pools[t.turn++ % t.pools.length];
    const incoming = t.partChars === null
      ? captureFromParsed(structuredClone(capture))
      : captureFromText(JSON.stringify(capture), t.partChars);
    assert.ok(incoming, `${t.name}: the capture at ${input.capturedAt} could not be read in parts`);
    results[t.name] = await storeCapture(pool, incoming, t.token, t.options);
  }
  // Every path wrote the same rows as the general one: compared by digest, and row by row
  // (naming the difference) where a digest differs.
  const [reference, ...others] = await Promise.all(targets.map((t) => digests(t.db.sql)));
  const [general] = targets;
  for (const [i, other] of others.entries()) {
    for (const table of Object.keys(reference)) {
      if (other[table] === reference[table]) continue;
      const [a, b] = await Promise.all(
        [targets[i + 1], general].map(async (t) =>
          (await t.db.sql.unsafe(TABLES[table])).map((r) => JSON.stringify(r))
        ),
      );
      assert.equal(
        a,
        b,
        `${
          targets[i + 1].name
        } differs from general in ${table} after capture at ${input.capturedAt}`,
      );
    }
  }
  // The changes ingest wrote (late captures included) are what the facts say (migration 0042),
  // and so are the sizes at first and last sighting (migration 0047), which the changes read.
  for (
    const [table, rebuild, what] of [
      ['changes', CHANGES_REBUILD, 'vm_changes differ from their rebuild from the facts'],
      ['lifecycleSizes', SIZES_REBUILD, 'lifecycle sizes differ from the facts'],
    ]
  ) {
    if (await rebuilt(general.db.sql, rebuild, table) === reference[table]) continue;
    assert.equal(
      await rebuilt(general.db.sql, rebuild, table, true),
      (await general.db.sql.unsafe(TABLES[table])).map((r) => JSON.stringify(r)),
      `${what} after capture at ${input.capturedAt}`,
    );
  }
  // The deleted rows carry their lifecycle's last sighting and deletion (migration 0071).
  const [{ differ }] = await targets[0].db.sql`
    select count(*)::int as differ from vm_inventory_deleted d
    left join vm_lifecycle l on l.source_id = d.source_id and l.vm_key = d.vm_key
    where (d.last_seen_at, d.deleted_at, d.deleted_from)
      is distinct from (l.last_seen_at, l.deleted_at, l.deleted_from)`;
  assert.is(
    differ,
    0,
    `deleted rows differ from their lifecycle after capture at ${input.capturedAt}`,
  );
  const outcome = (r: StoreResult) => ({
    late: r.late,
    deleted: r.deleted,
    reappeared: r.reappeared,
  });
  assert.equal(outcome(results.fast), outcome(results.general));
  assert.equal(outcome(results.nodes), outcome(results.general));
  return results;
}

const hour = (h: number) => new Date(Date.UTC(2026, 4, 1, 0) + h * 3600_000).toISOString();

test('a scripted history: changes, creation events, left out, deleted, back, late, vmid reuse, hosts', async () => {
  const base = [
    { key: 'a', createdAt: '2026-04-01T00:00:00Z' },
    { key: 'b', createdAt: '2026-04-02T00:00:00Z' },
    { key: 'c' },
    { key: 'd', createdAt: '2026-04-03T00:00:00Z' },
  ];
  await storeEverywhere(makeCapture({ sourceId: 's1', at: hour(0), vms: base }));
  // A rename, a resize, a new VM, and a creation event for c (which has no creation time).
  let r = await storeEverywhere(makeCapture({
    sourceId: 's1',
    at: hour(1),
    vms: [
      { key: 'a', name: 'a-renamed', createdAt: '2026-04-01T00:00:00Z' },
      { key: 'b', vcpu: 8, createdAt: '2026-04-02T00:00:00Z' },
      { key: 'c' },
      { key: 'd', createdAt: '2026-04-03T00:00:00Z' },
      { key: 'e', sourceVmId: 'vm-e' },
    ],
    events: [{
      type: 'created',
      at: hour(0.5),
      vmKey: 'c',
      sourceVmId: 'c',
      vmName: null,
      detail: null,
    }],
  }));
  assert.is(r.fast.staged, 4, 'a (renamed), b (resized), c (no creation time yet), e (new); not d');
  // Nothing changed: the fast way stages nothing.
  const steady = [
    { key: 'a', name: 'a-renamed', createdAt: '2026-04-01T00:00:00Z' },
    { key: 'b', vcpu: 8, createdAt: '2026-04-02T00:00:00Z' },
    { key: 'c' },
    { key: 'd', createdAt: '2026-04-03T00:00:00Z' },
    { key: 'e', sourceVmId: 'vm-e' },
  ];
  r = await storeEverywhere(makeCapture({ sourceId: 's1', at: hour(2), vms: steady }));
  assert.is(r.fast.staged, 0);
  assert.is(r.general.staged, 5);
  // Incomplete without d: d is left out, not deleted.
  await storeEverywhere(
    makeCapture({
      sourceId: 's1',
      at: hour(3),
      complete: false,
      vms: steady.filter((v) => v.key !== 'd'),
    }),
  );
  // Complete with d back and b gone, with a deletion event for b.
  await storeEverywhere(makeCapture({
    sourceId: 's1',
    at: hour(4),
    vms: steady.filter((v) => v.key !== 'b'),
    events: [{
      type: 'deleted',
      at: hour(3.5),
      vmKey: 'b',
      sourceVmId: 'b',
      vmName: null,
      detail: null,
    }],
  }));
  // b comes back: a reappearance. f is new, without a creation time.
  steady.push({ key: 'f' });
  r = await storeEverywhere(makeCapture({ sourceId: 's1', at: hour(5), vms: steady }));
  assert.is(r.general.reappeared, 1);
  // A late capture between hours 2 and 3: a VM only it saw, a with an older name, and a
  // creation event for f, which it does not contain (the next capture gives f that time).
  r = await storeEverywhere(makeCapture({
    sourceId: 's1',
    at: hour(2.5),
    vms: [...steady.filter((v) => v.key !== 'a' && v.key !== 'f'), { key: 'a', name: 'a-old' }, {
      key: 'x',
    }],
    events: [{
      type: 'created',
      at: hour(2.2),
      vmKey: 'f',
      sourceVmId: 'f',
      vmName: null,
      detail: null,
    }],
  }));
  assert.ok(r.general.late);
  // e deleted, its deletion event naming only its vmid; later a new VM reuses that vmid.
  await storeEverywhere(makeCapture({
    sourceId: 's1',
    at: hour(6),
    vms: steady.filter((v) => v.key !== 'e'),
    events: [{
      type: 'deleted',
      at: hour(5.5),
      vmKey: null,
      sourceVmId: 'vm-e',
      vmName: 'e',
      detail: null,
    }],
  }));
  // Inventory-only fields change too (tags, notes, addresses are not facts).
  const d2 = {
    key: 'd',
    createdAt: '2026-04-03T00:00:00Z',
    annotation: 'owner: ops',
    tags: ['prod'],
    ipAddresses: ['10.0.0.4'],
  };
  await storeEverywhere(makeCapture({
    sourceId: 's1',
    at: hour(7),
    vms: [...steady.filter((v) => v.key !== 'e' && v.key !== 'd'), d2, {
      key: 'e2',
      sourceVmId: 'vm-e',
    }],
    hosts: [{
      key: 'h1',
      name: 'esx1',
      datacenter: 'dc1',
      cluster: 'c1',
      connectionState: 'connected',
      powerState: 'poweredOn',
      cpuCores: 32,
      cpuMhz: 2600,
      memoryMib: 262144,
      version: '8.0',
    }],
    datastores: [{
      key: 'ds1',
      name: 'ds1',
      type: 'VMFS',
      capacityGib: 1000,
      freeGib: 400,
      accessible: true,
    }],
  }));
  // A creation event naming only the vmid of e2, which has no creation time.
  r = await storeEverywhere(makeCapture({
    sourceId: 's1',
    at: hour(8),
    vms: [...steady.filter((v) => v.key !== 'e' && v.key !== 'd'), d2, {
      key: 'e2',
      sourceVmId: 'vm-e',
    }],
    events: [{
      type: 'created',
      at: hour(6.5),
      vmKey: null,
      sourceVmId: 'vm-e',
      vmName: 'e2',
      detail: null,
    }],
  }));
  assert.ok(r.fast.staged >= 1, 'the VM a creation event may name is staged');
  // A capture older than all others: first-seen times move back.
  await storeEverywhere(
    makeCapture({ sourceId: 's1', at: hour(-5), vms: [{ key: 'a' }, { key: 'y' }] }),
  );
  await storeEverywhere(makeCapture({ sourceId: 's1', at: hour(9), vms: steady }));
});

test('a seeded random history of 40 captures over 30 VMs and two sources', async () => {
  let seed = 20261125;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const state = new Map<
    string,
    {
      vcpu: number;
      name: string;
      host: string;
      createdAt: string | null;
      vmId: string;
      /** v2 configuration: one disk's size, or no disk (the empty document). */
      diskMib: number | null;
    }
  >();
  for (let i = 0; i < 30; i++) {
    state.set(`k${i}`, {
      diskMib: i % 5 === 0 ? null : 1024,
      vcpu: 2,
      name: `vm${i}`,
      host: 'h1',
      createdAt: rand() < 0.5 ? '2026-01-01T00:00:00Z' : null,
      vmId: `id${i}`,
    });
  }
  const hours = Array.from({ length: 40 }, (_, i) => 20 + i);
  // Mostly in order, a few arriving late.
  for (let i = 0; i < 6; i++) {
    const a = Math.floor(rand() * hours.length);
    const b = Math.min(hours.length - 1, a + 1 + Math.floor(rand() * 4));
    [hours[a], hours[b]] = [hours[b], hours[a]];
  }
  let fastStored = 0;
  for (const h of hours) {
    for (const vm of state.values()) {
      if (rand() < 0.1) vm.vcpu = pick([1, 2, 4, 8]);
      if (rand() < 0.05) vm.host = pick(['h1', 'h2', 'h3']);
      if (rand() < 0.03) vm.name = `${vm.name}'`;
      if (rand() < 0.08) vm.diskMib = rand() < 0.2 ? null : pick([1024, 2048, 4096]);
    }
    const hostModel = pick(['R750', 'R750', 'R750', 'R760']);
    const hostSet = rand() < 0.2 ? ['h1'] : ['h1', 'h2'];
    const present = [...state.entries()].filter(() => rand() < 0.85);
    const events: CaptureInput['events'] = [];
    if (rand() < 0.3) {
      const [key, vm] = pick([...state.entries()]);
      events.push({
        type: pick(['created', 'deleted'] as const),
        at: hour(h - rand()),
        vmKey: rand() < 0.5 ? key : null,
        sourceVmId: vm.vmId,
        vmName: null,
        detail: null,
      });
    }
    for (const sourceId of ['r1', 'r2']) {
      const r = await storeEverywhere(makeCapture({
        sourceId,
        at: hour(h),
        complete: rand() < 0.8,
        events,
        vms: present.map(([key, vm]) => ({
          key,
          sourceVmId: vm.vmId,
          name: vm.name,
          vcpu: vm.vcpu,
          host: vm.host,
          createdAt: vm.createdAt,
          disks: vm.diskMib === null ? [] : [{ label: 'Hard disk 1', capacityMib: vm.diskMib }],
        })),
        hosts: hostSet.map((name) => ({ key: name, name, model: hostModel, cpuUsageMhz: h })),
        usage: present.map(([key]) => ({ key, cpuUsageMhz: h })),
      }));
      if (r.fast.staged < r.general.staged) fastStored++;
    }
  }
  assert.ok(
    fastStored > 20,
    `the fast way staged less than everything in ${fastStored} of 80 captures`,
  );
  // The changes compared after every capture were there to compare: resizes, moves, renames.
  const kinds = await targets[0].db.sql`select distinct kind from vm_changes order by 1`;
  assert.ok(kinds.length >= 3, `vm_changes kinds: ${kinds.map((k) => k.kind)}`);
});

test.run();
