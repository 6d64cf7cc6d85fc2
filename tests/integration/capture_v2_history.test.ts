/**
 * Capture contract v2 in storage: configuration is change-only history (migration 0008),
 * what moves every capture goes to the per-capture facts.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture, type CaptureInput } from '../../agent/capture/schema.ts';
import { captureFromParsed } from '../../server/ingest/incoming_capture.ts';
import { storeCapture } from '../../server/ingest/store_capture.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture, V2_DATASTORES, v2Vm } from '../support/captures.ts';

const test = suite('capture v2: change-only history, usage in the facts');
let t: TestApp;

test.before(async () => {
  t = await createTestApp('capture_v2_history');
});
test.after(() => t.close());

const post = (body: unknown) =>
  t.call('/api/v1/captures', { ...json(body), token: t.tokens.agent });

async function count(table: string, source: string): Promise<number> {
  const [r] = await t.db.sql.unsafe(
    `select count(*)::int as n from ${table} x join sources s on s.id = x.source_id where s.external_id = $1`,
    [source],
  );
  return r.n;
}

const hour = (h: number) => new Date(Date.UTC(2026, 4, 1, h)).toISOString();

const HOSTS = (h: number): NonNullable<CaptureInput['hosts']> =>
  ['esx1', 'esx2'].map((name, i) => ({
    key: `host-${i}`,
    name,
    cpuCores: 64,
    vendor: 'Dell Inc.',
    model: 'PowerEdge R750',
    // Moving numbers: never a history row.
    cpuUsageMhz: 1000 * h + i,
    memoryUsageMib: 2000 * h + i,
  }));

/** A capture of `n` VMs of two disks and one NIC whose configuration never changes. */
function steady(source: string, n: number, h: number, vmExtra: (i: number) => object = () => ({})) {
  const keys = Array.from({ length: n }, (_, i) => `vm-${i}`);
  return makeCapture({
    sourceId: source,
    at: hour(h),
    vms: keys.map((key, i) => v2Vm(key, i, vmExtra(i))),
    hosts: HOSTS(h),
    datastores: V2_DATASTORES.map((d, i) => ({
      ...d,
      freeGib: 1000 + h + i,
      uncommittedGib: 10 * h,
    })),
    clusters: [{ key: 'domain-c1', name: 'prod', haEnabled: true, drsEnabled: true, hostCount: 2 }],
    networks: [{ key: 'network-1', name: 'VM Network', kind: 'standard', vlanId: 0, vmCount: n }],
    resourcePools: [{ key: 'resgroup-1', name: 'Gold', vmCount: n }],
    // Usage moves every capture; it travels apart from the VMs, whose text stays the same.
    usage: keys.map((key, i) => ({
      key,
      cpuUsageMhz: (i * 7 + h * 13) % 5000,
      guestMemoryMib: 100 + h,
      hostMemoryMib: 200 + h,
    })),
  });
}

test('6 unchanged captures of 10,000 VMs (two disks, one NIC) add no history rows after the first', async () => {
  const res = await post(steady('steady', 10_000, 0));
  assert.is(res.status, 201, await res.clone().text());
  const configRows = await count('vm_config_history', 'steady');
  const siteRows = await count('site_object_history', 'steady');
  assert.is(configRows, 10_000, 'one configuration row per VM');
  assert.is(siteRows, 2 + 2 + 1 + 1 + 1, 'hosts, datastores, cluster, network, pool');
  for (let h = 1; h <= 6; h++) {
    const r = await post(steady('steady', 10_000, h));
    assert.is(r.status, 201);
  }
  assert.is(
    await count('vm_config_history', 'steady'),
    configRows,
    'no VM configuration row added',
  );
  assert.is(await count('site_object_history', 'steady'), siteRows, 'no site object row added');
  assert.is(await count('vm_hourly_stats', 'steady'), 7 * 10_000, 'facts every capture');
  // The moving numbers are in the facts, per capture.
  const [u] = await t.db.sql`
    select f.cpu_usage_mhz, f.guest_memory_mib, f.host_memory_mib from vm_hourly_stats f
    join sources s on s.id = f.source_id
    where s.external_id = 'steady' and f.vm_key = 'vm-3' and f.snapshot_time = ${hour(6)}`;
  assert.equal({ ...u }, {
    cpu_usage_mhz: (21 + 6 * 13) % 5000,
    guest_memory_mib: 106,
    host_memory_mib: 206,
  });
  const [hf] = await t.db.sql`
    select h.cpu_usage_mhz, h.memory_usage_mib from host_facts h join sources s on s.id = h.source_id
    where s.external_id = 'steady' and h.host_key = 'host-1' and h.snapshot_time = ${hour(6)}`;
  assert.equal({ ...hf }, { cpu_usage_mhz: 6_001, memory_usage_mib: 12_001 });
  const [df] = await t.db.sql`
    select d.free_gb, d.uncommitted_gib from datastore_facts d join sources s on s.id = d.source_id
    where s.external_id = 'steady' and d.datastore_key = 'ds-b' and d.snapshot_time = ${hour(6)}`;
  assert.equal({ ...df }, { free_gb: 1007, uncommitted_gib: 60 });
  // The stored document is the VM's configuration, empty parts left out.
  const [doc] = await t.db.sql`
    select c.config, c.valid_from, c.valid_to from vm_config_history c join sources s on s.id = c.source_id
    where s.external_id = 'steady' and c.vm_key = 'vm-3'`;
  assert.equal(Object.keys(doc.config).sort(), ['disks', 'nics']);
  assert.is(doc.config.disks[1].datastore, 'ds-b');
  assert.is(doc.valid_to, null);

  // One VM's configuration changes: exactly one row more, and the previous one is closed.
  const changed = steady(
    'steady',
    10_000,
    7,
    (i) => i === 3 ? { disks: [{ label: 'Hard disk 1', capacityMib: 99, datastore: 'ds-a' }] } : {},
  );
  assert.is((await post(changed)).status, 201);
  assert.is(await count('vm_config_history', 'steady'), configRows + 1);
  const history = await t.db.sql`
    select c.valid_from, c.valid_to, c.config from vm_config_history c join sources s on s.id = c.source_id
    where s.external_id = 'steady' and c.vm_key = 'vm-3' order by c.valid_from`;
  assert.is(history.length, 2);
  assert.is(history[0].valid_to.toISOString(), hour(7), 'the old row ends where the new begins');
  assert.is(history[1].valid_from.toISOString(), hour(7));
  assert.is(history[1].valid_to, null);
  assert.is(history[1].config.disks[0].capacityMib, 99);
  // As of any capture, each VM has exactly one document.
  const [asOf] = await t.db.sql`
    select count(*)::int as n from vm_config_history c join sources s on s.id = c.source_id
    where s.external_id = 'steady' and c.valid_from <= ${hour(3)}
      and (c.valid_to is null or c.valid_to > ${hour(3)})`;
  assert.is(asOf.n, 10_000);
});

test('the general way (every VM staged) writes the same history as the fast way', async () => {
  for (let h = 0; h < 3; h++) {
    const parsed = Capture.parse(
      steady('general', 300, h, (i) => (h === 2 && i === 7 ? { nics: [] } : {})),
    );
    const info = { id: 1, role: 'admin' as const, name: 'admin', allowedSources: null };
    await storeCapture(t.db.sql, captureFromParsed(parsed), info as never, {
      stageEverything: true,
    });
  }
  assert.is(await count('vm_config_history', 'general'), 301, 'one row per VM, one for the change');
  assert.is(await count('site_object_history', 'general'), 7);
});

test('site objects: a change is one row; absent from a complete capture closes, from an incomplete one does not', async () => {
  const src = 'sites';
  const at = (h: number, hosts: NonNullable<CaptureInput['hosts']>, complete = true) =>
    post(makeCapture({ sourceId: src, at: hour(h), vms: [{ key: 'a' }], hosts, complete }));
  const host = (i: number, model = 'R750') => ({
    key: `host-${i}`,
    name: `esx${i}`,
    model,
    cpuUsageMhz: i,
  });
  assert.is((await at(0, [host(1), host(2)])).status, 201);
  assert.is(await count('site_object_history', src), 2);
  assert.is((await at(1, [host(1), host(2, 'R760')])).status, 201);
  assert.is(await count('site_object_history', src), 3, 'the changed host: one row');
  assert.is((await at(2, [host(1)], false)).status, 201);
  const open = async () =>
    (await t.db.sql`
      select h.object_key from site_object_history h join sources s on s.id = h.source_id
      where s.external_id = ${src} and h.valid_to is null order by 1`).map((r) => r.object_key);
  assert.equal(await open(), ['host-1', 'host-2'], 'an incomplete capture closes nothing');
  assert.is((await at(3, [host(1)])).status, 201);
  assert.equal(await open(), ['host-1'], 'a complete capture closes what it no longer holds');
  const [closed] = await t.db.sql`
    select h.valid_to from site_object_history h join sources s on s.id = h.source_id
    where s.external_id = ${src} and h.object_key = 'host-2' and h.valid_to is not null and h.doc->>'model' = 'R760'`;
  assert.is(closed.valid_to.toISOString(), hour(3));
  // Back again: a new row.
  assert.is((await at(4, [host(1), host(2, 'R760')])).status, 201);
  assert.equal(await open(), ['host-1', 'host-2']);
  assert.is(await count('site_object_history', src), 4);
});

/** A capture as JSON, open to the spoiling the bad-input cases do. */
// deno-lint-ignore no-explicit-any
type Spoilable = Record<string, any>;

type Row = { from: string; to: string | null; value: unknown };

async function vmHistory(src: string, key: string): Promise<Row[]> {
  const rows = await t.db.sql`
    select c.valid_from, c.valid_to, c.config from vm_config_history c join sources s on s.id = c.source_id
    where s.external_id = ${src} and c.vm_key = ${key} order by c.valid_from`;
  return rows.map((r) => ({
    from: r.valid_from.toISOString(),
    to: r.valid_to?.toISOString() ?? null,
    value: r.config.disks?.[0]?.capacityMib ?? null,
  }));
}

async function hostHistory(src: string, key: string): Promise<Row[]> {
  const rows = await t.db.sql`
    select h.valid_from, h.valid_to, h.doc from site_object_history h join sources s on s.id = h.source_id
    where s.external_id = ${src} and h.kind = 'host' and h.object_key = ${key} order by h.valid_from`;
  return rows.map((r) => ({
    from: r.valid_from.toISOString(),
    to: r.valid_to?.toISOString() ?? null,
    value: r.doc.model,
  }));
}

test('a late capture lands at its own time: the row it falls in is split, an equal one is left alone', async () => {
  const src = 'late';
  const disk = (mib: number) => [{ label: 'Hard disk 1', capacityMib: mib }];
  const send = (h: number, mib: number, model: string) =>
    post(makeCapture({
      sourceId: src,
      at: hour(h),
      vms: [{ key: 'a', disks: disk(mib) }, { key: 'b', disks: disk(1) }],
      hosts: [{ key: 'host-1', name: 'esx1', model }],
    }));
  assert.is((await send(10, 100, 'R750')).status, 201);
  assert.is((await send(20, 100, 'R750')).status, 201);
  assert.is((await send(30, 300, 'R760')).status, 201);
  const before = await vmHistory(src, 'a');
  assert.equal(before, [
    { from: hour(10), to: hour(30), value: 100 },
    { from: hour(30), to: null, value: 300 },
  ]);
  // Late, inside [10, 30) and the same: nothing changes.
  assert.is((await send(15, 100, 'R750')).status, 201);
  assert.equal(await vmHistory(src, 'a'), before);
  // Late, inside [10, 30) and different: [10, 12) old, [12, 15) its own (15 is now the next
  // capture), [15, 30) old again.
  assert.is((await send(12, 200, 'R740')).status, 201);
  assert.equal(await vmHistory(src, 'a'), [
    { from: hour(10), to: hour(12), value: 100 },
    { from: hour(12), to: hour(15), value: 200 },
    { from: hour(15), to: hour(30), value: 100 },
    { from: hour(30), to: null, value: 300 },
  ]);
  assert.equal(await hostHistory(src, 'host-1'), [
    { from: hour(10), to: hour(12), value: 'R750' },
    { from: hour(12), to: hour(15), value: 'R740' },
    { from: hour(15), to: hour(30), value: 'R750' },
    { from: hour(30), to: null, value: 'R760' },
  ]);
  // Late, different, where the next capture is the row's end: two pieces.
  assert.is((await send(25, 250, 'R760')).status, 201);
  assert.equal((await vmHistory(src, 'a')).slice(2), [
    { from: hour(15), to: hour(25), value: 100 },
    { from: hour(25), to: hour(30), value: 250 },
    { from: hour(30), to: null, value: 300 },
  ]);
  // Late, inside the current row: the current document resumes at the next capture.
  assert.is((await send(40, 300, 'R760')).status, 201);
  assert.is((await send(35, 350, 'R760')).status, 201);
  // Late, before the first row: its own row up to the next capture.
  assert.is((await send(5, 50, 'R750')).status, 201);
  assert.equal(await vmHistory(src, 'a'), [
    { from: hour(5), to: hour(10), value: 50 },
    { from: hour(10), to: hour(12), value: 100 },
    { from: hour(12), to: hour(15), value: 200 },
    { from: hour(15), to: hour(25), value: 100 },
    { from: hour(25), to: hour(30), value: 250 },
    { from: hour(30), to: hour(35), value: 300 },
    { from: hour(35), to: hour(40), value: 350 },
    { from: hour(40), to: null, value: 300 },
  ]);
  // VM b never changed: one row, extended by nothing, since a late row is its own.
  assert.equal((await vmHistory(src, 'b')).map((r) => r.value), [1, 1]);
  // Still, as of every capture time, one document per VM and host.
  for (const h of [5, 10, 12, 15, 20, 25, 30, 35, 40, 41]) {
    const [n] = await t.db.sql`
      select (select count(*)::int from vm_config_history c where c.source_id = s.id and c.vm_key = 'a'
                and c.valid_from <= ${hour(h)} and (c.valid_to is null or c.valid_to > ${
      hour(h)
    })) as vm,
             (select count(*)::int from site_object_history c where c.source_id = s.id
                and c.valid_from <= ${hour(h)} and (c.valid_to is null or c.valid_to > ${
      hour(h)
    })) as host
      from sources s where s.external_id = ${src}`;
    assert.equal({ ...n }, { vm: 1, host: 1 }, `as of ${hour(h)}`);
  }
});

test('a v1 capture (old names, schemaVersion 1) is accepted over HTTP and stored, with no history', async () => {
  const c = makeCapture({
    sourceId: 'v1',
    at: hour(1),
    vms: [{ key: 'a' }],
    hosts: [{ key: 'h', name: 'h' }],
  });
  const v1 = {
    schemaVersion: 1,
    captureId: c.captureId,
    source: c.source,
    capturedAt: c.capturedAt,
    complete: true,
    errors: [],
    vms: c.vms.map(({ memoryMib: _memoryMib, provisionedDiskGib, usedDiskGib, ...vm }) => ({
      ...vm,
      ramMb: 3072,
      provisionedDiskGb: provisionedDiskGib,
      usedDiskGb: usedDiskGib,
    })),
    hosts: [{ key: 'h', name: 'h', memoryMb: 1024 }],
    datastores: [{ key: 'd', name: 'd', capacityGb: 100, freeGb: 50 }],
    events: [],
  };
  const res = await post(v1);
  assert.is(res.status, 201, await res.clone().text());
  const [f] = await t.db.sql`
    select f.ram_mb, f.cpu_usage_mhz from vm_hourly_stats f join sources s on s.id = f.source_id
    where s.external_id = 'v1'`;
  assert.equal({ ...f }, { ram_mb: 3072, cpu_usage_mhz: null });
  const [d] = await t.db.sql`
    select d.capacity_gb from datastore_facts d join sources s on s.id = d.source_id where s.external_id = 'v1'`;
  assert.is(d.capacity_gb, 100);
  const [sv] = await t.db
    .sql`select schema_version from captures where capture_id = ${c.captureId}`;
  assert.is(sv.schema_version, 1);
  assert.is(await count('vm_config_history', 'v1'), 0, 'a v1 VM has no configuration document');
});

test('bad v2 input → 400 naming the path, nothing stored', async () => {
  const base = () =>
    JSON.parse(JSON.stringify(makeCapture({
      sourceId: 'bad',
      at: hour(1),
      vms: [v2Vm('a', 1), v2Vm('b', 2)],
      datastores: V2_DATASTORES,
    }))) as Spoilable;
  const snap = (id: string, parentId: string | null) => ({ id, name: id, parentId });
  const cases: [string, (c: Spoilable) => void, string][] = [
    [
      'a disk on an unknown datastore',
      (c) => (c.vms[1].disks[0].datastore = 'ds-nowhere'),
      'vms.1.disks.0.datastore',
    ],
    ['a NIC without MAC', (c) => delete c.vms[0].nics[0].macAddress, 'vms.0.nics.0.macAddress'],
    [
      'a NIC with an empty MAC',
      (c) => (c.vms[0].nics[0].macAddress = ''),
      'vms.0.nics.0.macAddress',
    ],
    [
      'a snapshot tree with a cycle',
      (c) => (c.vms[1].snapshots = [snap('s1', 's2'), snap('s2', 's1')]),
      'vms.1.snapshots.0.parentId',
    ],
    [
      'a duplicate snapshot id',
      (c) => (c.vms[0].snapshots = [snap('s1', null), snap('s1', null)]),
      'vms.0.snapshots.1.id',
    ],
    [
      'usage naming an unknown VM',
      (c) => (c.usage = [{ key: 'ghost', cpuUsageMhz: 1 }]),
      'usage.0.key',
    ],
  ];
  const tables = [
    'captures',
    'vm_hourly_stats',
    'vm_config_history',
    'site_object_history',
    'datastore_facts',
  ];
  const counts = () => Promise.all(tables.map((x) => count(x, 'bad')));
  const before = await counts();
  for (const [label, spoil, path] of cases) {
    const c = base();
    spoil(c);
    const res = await post(c);
    assert.is(res.status, 400, label);
    const body = await res.json();
    assert.ok(
      body.error.issues.some((i: { path: string }) => i.path === path),
      `${label}: ${JSON.stringify(body.error.issues)}`,
    );
  }
  assert.equal(await counts(), before, 'nothing stored');
  // The unspoiled capture is stored: the cases failed for their fault alone.
  assert.is((await post(base())).status, 201);
  assert.is(await count('vm_config_history', 'bad'), 2);
});

test.run();
