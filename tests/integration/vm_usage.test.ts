/**
 * Issue 19: a VM's CPU and memory usage (GET /api/v1/vms/{source}/{key}/usage and its page's
 * chart) from the usage tiers, its guest file systems' free space, and its disks' datastores
 * and NICs' networks by name — through the real ingest and the real tier aggregation.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runUsageTiers } from '../../server/aggregate/usage_run.ts';
import { pageSession } from '../support/jobs.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('VM usage and named datastores and networks');
let t: TestApp;
let viewer: { cookie: string; csrf: string };
let src = 0;

// Four captures on 9 May, two on 10 May (UTC); 9 May's tiers get computed.
const TIMES = [
  '2026-05-09T00:00:00Z',
  '2026-05-09T06:00:00Z',
  '2026-05-09T12:00:00Z',
  '2026-05-09T18:00:00Z',
  '2026-05-10T06:00:00Z',
  '2026-05-10T12:00:00Z',
];
const cpu = (i: number) => 1000 + i * 100;
const vm = {
  key: 'vm-1',
  name: 'db-01',
  vcpu: 2,
  memoryMib: 4096,
  host: 'esx-a',
  disks: [{ label: 'Hard disk 1', capacityMib: 40960, datastore: 'datastore-1' }],
  nics: [
    {
      label: 'Network adapter 1',
      macAddress: '00:50:56:aa:bb:01',
      network: 'VM Network',
      networkKey: 'net-1',
    },
    { label: 'Network adapter 2', macAddress: '00:50:56:aa:bb:02', network: 'Backup <LAN>' },
  ],
  guest: { disks: [{ path: '/', capacityMib: 10240, fileSystem: 'ext4' }] },
};

test.before(async () => {
  t = await createTestApp('vm_usage');
  for (const [i, at] of TIMES.entries()) {
    const capture = makeCapture({
      sourceId: 'vc-usage',
      at,
      vms: [vm, { key: 'vm-quiet' }],
      hosts: [{ key: 'host-9', name: 'esx-a', cpuCores: 16, cpuMhz: 2000, memoryMib: 262144 }],
      datastores: [{ key: 'datastore-1', name: 'ds-<gold>', type: 'VMFS', capacityGib: 1000 }],
      networks: [{ key: 'net-1', name: 'VM Network', vlanId: 10 }],
      usage: [{
        key: 'vm-1',
        cpuUsageMhz: cpu(i),
        guestMemoryMib: 1024 * (i + 1),
        hostMemoryMib: 4000,
        guestDisks: [{ path: '/', freeMib: 5120 - i * 512 }],
      }],
    });
    const res = await t.call('/api/v1/captures', { ...json(capture), token: t.tokens.agent });
    assert.is(res.status, 201, await res.clone().text());
    src = (await res.json()).sourceId;
  }
  viewer = await pageSession(t.app, t.tokens.viewer);
});
test.after(() => t.close());

const usage = async (query: string) => {
  const res = await t.call(`/api/v1/vms/${src}/vm-1/usage${query}`, { token: t.tokens.viewer });
  assert.is(res.status, 200, await res.clone().text());
  return res.json();
};
const RANGE = '?from=2026-05-09T00:00:00Z&to=2026-05-11T00:00:00Z';

test('per capture: every capture of the VM in the range, against what the VM has', async () => {
  const u = await usage(`${RANGE}&tier=capture`);
  assert.is(u.tier, 'capture');
  assert.is(u.cpuCapacityMhz, 2 * 2000, 'vCPU × the core speed of its host');
  assert.is(u.memoryMib, 4096);
  assert.equal(
    u.points.map((p: { at: string }) => p.at),
    TIMES.map((x) => new Date(x).toISOString()),
  );
  assert.equal(
    u.points.map((p: { cpuAvgMhz: number }) => p.cpuAvgMhz),
    TIMES.map((_, i) => cpu(i)),
  );
  assert.equal(u.points[2].cpuMaxMhz, cpu(2));
  assert.is(u.points[5].guestMemoryAvgMib, 6 * 1024);
  // The range is half-open and by default ends just after the newest capture.
  const last = await usage('?tier=capture&from=2026-05-10T06:00:00Z');
  assert.is(last.to, '2026-05-10T12:00:01.000Z');
  assert.equal(last.points.map((p: { cpuAvgMhz: number }) => p.cpuAvgMhz), [cpu(4), cpu(5)]);
});

test('hourly and daily tiers: aggregated days from the tier, the rest per capture', async () => {
  // Nothing aggregated yet: an old range (the default tier is daily) still reads the captures.
  const before = await usage(RANGE);
  assert.is(before.tier, 'daily', 'a range older than the hourly retention reads daily');
  assert.is(before.points.length, 6);
  assert.ok(before.points.every((p: { tier: string }) => p.tier === 'capture'));

  await runUsageTiers(t.db.sql, 'sql', { sourceId: src, period: '2026-05-09', tz: 'UTC' });
  const hourly = await usage(`${RANGE}&tier=hourly`);
  assert.equal(
    hourly.points.map((p: { tier: string; cpuAvgMhz: number }) => [p.tier, p.cpuAvgMhz]),
    [
      ['hourly', cpu(0)],
      ['hourly', cpu(1)],
      ['hourly', cpu(2)],
      ['hourly', cpu(3)],
      ['capture', cpu(4)],
      ['capture', cpu(5)],
    ],
  );
  const daily = await usage(RANGE);
  assert.equal(daily.points.map((p: { tier: string }) => p.tier), ['daily', 'capture', 'capture']);
  assert.is(daily.points[0].cpuMaxMhz, cpu(3), 'the day’s peak');
  assert.is(daily.points[0].cpuAvgMhz, (cpu(0) + cpu(1) + cpu(2) + cpu(3)) / 4);
});

test('guest file systems: free space at the newest capture, capacity from the configuration', async () => {
  const u = await usage('');
  assert.equal(u.guestFileSystems, {
    at: new Date(TIMES[5]).toISOString(),
    items: [{ path: '/', freeMib: 5120 - 5 * 512, capacityMib: 10240, fileSystem: 'ext4' }],
  });
  const quiet = await (await t.call(`/api/v1/vms/${src}/vm-quiet/usage`, {
    token: t.tokens.viewer,
  })).json();
  assert.equal(quiet.points.map((p: { cpuAvgMhz: null }) => p.cpuAvgMhz), [null, null]);
  assert.equal(quiet.guestFileSystems, { at: null, items: [] });
});

test('an unknown VM is a 404; a backwards or too long range a 400', async () => {
  const none = await t.call(`/api/v1/vms/${src}/nope/usage`, { token: t.tokens.viewer });
  assert.is(none.status, 404);
  const back = await t.call(
    `/api/v1/vms/${src}/vm-1/usage?from=2026-05-10T00:00:00Z&to=2026-05-09T00:00:00Z`,
    { token: t.tokens.viewer },
  );
  assert.is(back.status, 400);
  const long = await t.call(`/api/v1/vms/${src}/vm-1/usage?from=2020-01-01&to=2026-01-01`, {
    token: t.tokens.viewer,
  });
  assert.is(long.status, 400);
  const tier = await t.call(`/api/v1/vms/${src}/vm-1/usage?tier=weekly`, {
    token: t.tokens.viewer,
  });
  assert.is(tier.status, 400);
});

test('the VM answer names its disks’ datastores and its NICs’ networks', async () => {
  const v = await (await t.call(`/api/v1/vms/${src}/vm-1`, { token: t.tokens.viewer })).json();
  assert.is(v.configuration.disks[0].datastore, 'datastore-1');
  assert.is(v.configuration.disks[0].datastoreName, 'ds-<gold>');
  assert.equal(
    v.configuration.nics.map((n: Record<string, unknown>) => [n.networkName, n.networkPageKey]),
    [['VM Network', 'net-1'], ['Backup <LAN>', null]],
  );
});

test('the VM page: usage chart, guest file systems, datastore and network by name', async () => {
  const started = performance.now();
  const res = await t.app.request(`/vms/${src}/vm-1`, { headers: { cookie: viewer.cookie } });
  const ms = performance.now() - started;
  assert.is(res.status, 200);
  const html = await res.text();
  const chart = html.slice(html.indexOf('id="usage-h"'), html.indexOf('id="config-h"'));
  assert.ok(chart.includes('% of the VM'), 'the usage chart');
  assert.ok(/<path[^>]*class="line/.test(chart), 'with lines drawn');
  // 9 May is aggregated (above) and older than the hourly retention: its day, then captures.
  assert.ok(
    chart.includes(
      'daily averages with the daily peak of CPU; per capture from 2026-05-10 06:00 UTC',
    ),
    'what the points are',
  );
  assert.ok(chart.includes('CPU % (peak)'), 'the peak series of the daily point');
  assert.ok(chart.includes('id="vm-guest-fs"') && chart.includes('ext4'), 'guest file systems');
  const disks = html.slice(html.indexOf('id="vm-disks"'));
  assert.ok(
    disks.includes(`<a href="/datastores/${src}/datastore-1">ds-&lt;gold&gt;</a>`),
    'the datastore by name, linked by key',
  );
  const nics = html.slice(html.indexOf('id="vm-nics"'));
  assert.ok(nics.includes(`<a href="/networks/${src}/net-1">VM Network</a>`), 'network page');
  assert.ok(
    nics.includes(`/networks?source=${src}&amp;q=Backup%20%3CLAN%3E`),
    'an unknown network links to the networks searched for its name',
  );
  assert.ok(nics.includes('Backup &lt;LAN&gt;'), 'escaped');
  console.log(`  VM page rendered in ${ms.toFixed(1)} ms`);
  // Other ranges are linked; a day's range draws from the captures of that day.
  assert.ok(html.includes(`/vms/${src}/vm-1?granularity=capture&amp;span=7&amp;days=30#usage-h`));
  const day = await (await t.app.request(`/vms/${src}/vm-1?days=1`, {
    headers: { cookie: viewer.cookie },
  })).text();
  assert.ok(day.includes('<strong aria-current="true">1 day</strong>'));
});

test.run();
