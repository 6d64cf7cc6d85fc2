import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from '../../server/inventory/list_query.ts';
import type { ClusterDetail, ClusterItem } from '../../server/sites/clusters.ts';
import type { DatastoreDetail, DatastoreItem } from '../../server/sites/datastores.ts';
import type { HostDetail, HostItem } from '../../server/sites/hosts.ts';
import type { NetworkDetail, NetworkItem } from '../../server/sites/networks.ts';
import { readJson } from '../support/api_bodies.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { parseCsv } from '../support/csv.ts';
import { dayAt, DAYS, EVIL, storeSiteEstate } from '../support/site_estate.ts';

const at = (d: number) => new Date(dayAt(d)).toISOString();

const test = suite('site API: hosts, clusters, datastores, networks');
let t: TestApp;
let src = 0;

test.before(async () => {
  t = await createTestApp('site_api');
  src = await storeSiteEstate(t);
});
test.after(() => t.close());

const get = async <T>(path: string) => {
  const res = await t.call(path, { token: t.tokens.viewer });
  return { status: res.status, body: await readJson<T>(res) };
};
const names = async (path: string) =>
  (await get<Page<{ name: string }>>(path)).body.items.map((i) => i.name);

test('hosts: VMs on each, allocation, state, filters, sorts and cursor', async () => {
  const { status, body } = await get<Page<HostItem>>('/api/v1/hosts');
  assert.is(status, 200);
  assert.is(body.total, 2);
  const [h1, h2] = body.items;
  assert.is(h1.name, 'esx-1');
  assert.is(h1.vms, 2);
  assert.is(h1.poweredOnVms, 1);
  assert.is(h1.vcpuPerCore, 0.5); // 8 vCPU on 16 cores; the template does not count
  assert.is(h1.allocatedMemoryMib, 4096);
  assert.is(h1.cpuUsagePct, 27.8); // (8000 + 900) MHz of 16 × 2000
  assert.is(h1.model, 'PowerEdge R750');
  assert.is(h2.state, 'disconnected');
  assert.equal(await names('/api/v1/hosts?state=disconnected'), ['esx-2']);
  assert.equal(await names('/api/v1/hosts?state=maintenance'), []);
  assert.equal(await names('/api/v1/hosts?q=ESX-1'), ['esx-1']);
  assert.equal(await names(`/api/v1/hosts?source=${src}&cluster=c1&sort=vcpuPerCore&order=desc`), [
    'esx-1',
    'esx-2',
  ]);
  const first = await get<Page<HostItem>>('/api/v1/hosts?sort=name&order=desc&limit=1');
  assert.equal(first.body.items.map((h) => h.name), ['esx-2']);
  assert.ok(first.body.next);
  const second = await get<Page<HostItem>>(
    `/api/v1/hosts?sort=name&order=desc&limit=1&cursor=${first.body.next}`,
  );
  assert.equal(second.body.items.map((h) => h.name), ['esx-1']);
  assert.is(second.body.next, null);
  assert.is((await get('/api/v1/hosts?cursor=bm90LWEtY3Vyc29y')).status, 400);
  assert.is((await get('/api/v1/hosts?sort=bogus')).status, 400);
});

test('host detail: hardware, state timeline with times, VMs, usage; by key or name', async () => {
  const { status, body } = await get<HostDetail>(`/api/v1/hosts/${src}/host-2?days=30`);
  assert.is(status, 200);
  assert.is(body.hardware.cpuSockets, 2);
  assert.equal(body.timeline.map((s) => [s.state, s.from, s.to]), [
    ['connected', at(0), at(5)],
    ['maintenance', at(5), at(7)],
    ['connected', at(7), at(8)],
    ['disconnected', at(8), null],
  ]);
  assert.equal(body.vms.map((v) => v.name), ['db-01']);
  assert.is(body.usage.points.length, DAYS);
  assert.is(body.usage.points[0].cpuCapacityMhz, 32000);
  const byName = await get<HostDetail>(`/api/v1/hosts/${src}/esx-1`);
  assert.is(byName.body.host.key, 'host-1');
  assert.equal(byName.body.vms.map((v) => v.name).sort(), [EVIL, 'app-01'].sort());
  assert.is(byName.body.usage.points.length, 7); // the default: the last 7 days
  assert.is((await get(`/api/v1/hosts/${src}/nope`)).status, 404);
});

test('datastores: provisioned, VMs, days until full by a 30-day fit, not filling', async () => {
  const { body } = await get<Page<DatastoreItem>>('/api/v1/datastores?sort=used&order=desc');
  const [fill, flat] = body.items;
  assert.is(fill.name, 'filling-ds');
  assert.is(fill.usedGib, 590);
  assert.is(fill.provisionedGib, 790); // used + uncommitted (vSphere)
  assert.is(fill.provisionedPct, 79);
  assert.is(fill.vms, 2);
  assert.is(fill.forecast.status, 'filling');
  assert.is(fill.forecast.growthGibPerDay, 10);
  assert.is(fill.forecast.daysUntilFull, 41); // 410 GiB free ÷ 10 GiB a day
  assert.is(fill.forecast.points, DAYS);
  assert.match(fill.forecast.method, /least squares/);
  assert.is(flat.forecast.status, 'notFilling');
  assert.is(flat.forecast.daysUntilFull, null);
  assert.is(flat.provisionedGib, 320); // no uncommitted: the VMs' disks on it (300 + 20)
  assert.equal(await names('/api/v1/datastores?forecast=filling'), ['filling-ds']);
  assert.equal(await names('/api/v1/datastores?type=NFS'), ['flat-ds']);
  assert.equal(await names('/api/v1/datastores?sort=daysUntilFull'), ['filling-ds', 'flat-ds']);
});

test('datastore detail: VMs with only their disks on it, trend', async () => {
  const { status, body } = await get<DatastoreDetail>(`/api/v1/datastores/${src}/ds-1`);
  assert.is(status, 200);
  assert.equal(
    body.vms.map((v) => [v.name, v.disks.map((d) => [d.label, d.capacityMib])]),
    [['app-01', [['Hard disk 1', 102400]]], ['db-01', [['Hard disk 1', 51200]]]],
  );
  assert.is(body.trend.points.length, DAYS);
  assert.is(body.trend.points.at(-1)!.usedGib, 590);
  assert.is(body.datastore.forecast.daysUntilFull, 41);
  assert.match(body.forecastMethod, /Least-squares line .* each UTC day .* not filling/);
  assert.is((await get(`/api/v1/datastores/${src}/ds-9`)).status, 404);
});

test('clusters: HA/DRS, hosts, overcommit now and per day', async () => {
  const { body } = await get<Page<ClusterItem>>('/api/v1/clusters');
  assert.is(body.total, 1);
  const c = body.items[0];
  assert.is(c.haEnabled, true);
  assert.is(c.drsBehavior, 'fullyAutomated');
  assert.is(c.hosts, 2);
  assert.is(c.hostsAvailable, 1); // esx-2 is disconnected
  assert.is(c.allocatedVcpu, 12);
  assert.is(c.vcpuPerCore, 0.75);
  const d = await get<ClusterDetail>(`/api/v1/clusters/${src}/c1`);
  assert.is(d.status, 200);
  assert.equal(d.body.hosts.map((h) => h.name), ['esx-1', 'esx-2']);
  const pts = d.body.overTime.points;
  assert.is(pts.length, DAYS);
  assert.is(pts[0].cpuCores, 32); // both hosts connected on day 1
  assert.is(pts[0].vcpuPerCore, 0.38);
  assert.is(pts.at(-1)!.cpuCores, 16);
  assert.is(pts.at(-1)!.vcpuPerCore, 0.75);
  assert.is((await get(`/api/v1/clusters/${src}/nope`)).status, 404);
});

test('networks: VLAN and VMs attached by key or by name', async () => {
  const { body } = await get<Page<NetworkItem>>('/api/v1/networks?sort=vlan');
  assert.equal(body.items.map((n) => [n.name, n.vlanId, n.vms]), [
    ['VM Network', 10, 1],
    ['DMZ', 20, 1],
  ]);
  assert.equal(await names('/api/v1/networks?vlan=20'), ['DMZ']);
  const d = await get<NetworkDetail>(`/api/v1/networks/${src}/net-20`);
  assert.equal(d.body.vms.map((v) => [v.name, v.nics.map((n) => n.macAddress)]), [
    ['db-01', ['00:50:56:00:00:02']],
  ]);
});

test('a list page asked again is the kept answer until the source stores a capture', async () => {
  const path = '/api/v1/datastores?sort=used&order=desc&limit=1';
  const text = async () => {
    const res = await t.call(path, { token: t.tokens.viewer });
    assert.is(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    return res.text();
  };
  const first = await text();
  assert.is(await text(), first);
  assert.is(JSON.parse(first).items[0].name, 'filling-ds');
  // What a stored capture does: new rows, then the source's generation moves.
  const sql = t.db.sql;
  await sql`update datastore_inventory set name = 'renamed-ds' where name = 'filling-ds'`;
  assert.is(await text(), first);
  await sql`update sources set generation = generation + 1 where id = ${src}`;
  try {
    const after = JSON.parse(await text());
    assert.is(after.items[0].name, 'renamed-ds');
    assert.ok(after.next);
  } finally {
    await sql`update datastore_inventory set name = 'filling-ds' where name = 'renamed-ds'`;
    await sql`update sources set generation = generation + 1 where id = ${src}`;
  }
});

test('lists as CSV: the whole filtered list, in order', async () => {
  const res = await t.call('/api/v1/datastores?sort=name', {
    token: t.tokens.viewer,
    headers: { accept: 'text/csv' },
  });
  assert.is(res.status, 200);
  const rows = parseCsv(await res.text());
  assert.is(rows[0][0], 'sourceId');
  assert.ok(rows[0].includes('daysUntilFull'));
  assert.equal(rows.slice(1).map((r) => r[rows[0].indexOf('name')]), ['filling-ds', 'flat-ds']);
  const hosts = await t.call('/api/v1/hosts?state=disconnected', {
    token: t.tokens.viewer,
    headers: { accept: 'text/csv' },
  });
  assert.is(parseCsv(await hosts.text()).length, 2);
});

test.run();
