/**
 * Issue 18: a VM's real snapshots (and its disks, NICs, hardware) on its page and in the API,
 * as last captured, through the real ingest; a VM from a v1 agent says it has none.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pageSession } from '../support/jobs.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('VM page: snapshots and configuration');
let t: TestApp;
let viewer: { cookie: string; csrf: string };
let sourceId = 0;

const AT = '2026-05-10T12:00:00Z';
const daysBefore = (days: number) => new Date(Date.parse(AT) - days * 86_400_000).toISOString();
const datastores = [{ key: 'datastore-1', name: 'ds-<gold>', type: 'VMFS', capacityGib: 1000 }];
const snapshots = [
  {
    id: 'snapshot-1',
    name: 'before <upgrade>',
    createdAt: daysBefore(10),
    description: 'taken by "ops"',
    quiesced: true,
  },
  {
    id: 'snapshot-2',
    name: 'nightly',
    createdAt: daysBefore(1),
    parentId: 'snapshot-1',
    current: true,
    sizeMib: 2048,
  },
];

async function post(at: string, vms: Parameters<typeof makeCapture>[0]['vms']) {
  const res = await t.call('/api/v1/captures', {
    ...json(makeCapture({ sourceId: 'vc-cfg', at, vms, datastores })),
    token: t.tokens.agent,
  });
  assert.is(res.status, 201, await res.clone().text());
  sourceId = (await res.json()).sourceId;
}

test.before(async () => {
  t = await createTestApp('vm_configuration');
  const db = {
    key: 'vm-1',
    name: 'db-01',
    disks: [{
      label: 'Hard disk 1',
      capacityMib: 40960,
      provisioning: 'thin' as const,
      datastore: 'datastore-1',
      controller: 'SCSI controller 0',
      unitNumber: 0,
      file: '[ds-gold] db-01/db-01.vmdk',
    }],
    nics: [{
      label: 'Network adapter 1',
      macAddress: '00:50:56:aa:bb:01',
      network: 'VM Network',
      connected: true,
    }],
    snapshots,
    hardware: { version: 'vmx-19', firmware: 'efi', cpuLimitMhz: -1 },
    labels: [{ category: 'env', name: 'prod' }],
  };
  await post(daysBefore(2), [db, { key: 'vm-old' }]);
  // A day later the newest snapshot is gone: the page shows the newest configuration only.
  await post(AT, [{ ...db, snapshots: snapshots.slice(0, 1) }, { key: 'vm-old' }]);
  viewer = await pageSession(t.app, t.tokens.viewer);
});
test.after(() => t.close());

const page = async (key: string) => {
  const res = await t.app.request(`/vms/${sourceId}/${key}`, {
    headers: { cookie: viewer.cookie },
  });
  assert.is(res.status, 200);
  return res.text();
};

test('the API answers the configuration as last captured, with defaults filled', async () => {
  const res = await t.call(`/api/v1/vms/${sourceId}/vm-1`, { token: t.tokens.viewer });
  const vm = await res.json();
  assert.is(vm.configuration.since, new Date(AT).toISOString());
  assert.equal(vm.configuration.snapshots.map((s: { id: string }) => s.id), ['snapshot-1']);
  assert.is(vm.configuration.snapshots[0].quiesced, true);
  assert.is(vm.configuration.snapshots[0].sizeMib, null, 'filled in: the source did not say');
  assert.is(vm.configuration.disks[0].capacityMib, 40960);
  assert.equal(vm.configuration.labels, [{ category: 'env', name: 'prod' }]);
  const old = await (await t.call(`/api/v1/vms/${sourceId}/vm-old`, { token: t.tokens.viewer }))
    .json();
  assert.is(old.configuration, null, 'a VM with no v2 details has no configuration');
});

test('the VM page lists its snapshots with age, flags old ones, escapes what the site sent', async () => {
  const html = await page('vm-1');
  const snap = html.slice(html.indexOf('id="vm-snapshots"'));
  assert.ok(snap.includes('data-snapshot="snapshot-1"'), 'the snapshot is listed');
  assert.not.ok(snap.includes('data-snapshot="snapshot-2"'), 'a deleted snapshot is not');
  // Its age is counted to now (at least the 10 days it had at capture), flagged as old.
  const age = /data-snapshot="snapshot-1".*?<td class="num"><span class="badge warn"[^>]*>(\d+)</s
    .exec(snap);
  assert.ok(age && Number(age[1]) >= 10, `age flagged: ${age?.[1]}`);
  assert.ok(snap.includes('before &lt;upgrade&gt;'), 'the name is escaped');
  assert.not.ok(html.includes('before <upgrade>'));
  assert.ok(html.includes('taken by &quot;ops&quot;') || html.includes('taken by "ops"'));
  const disks = html.slice(html.indexOf('id="vm-disks"'));
  assert.ok(disks.includes('Hard disk 1') && disks.includes('40'), 'disk with GiB');
  assert.ok(html.includes('00:50:56:aa:bb:01'), 'NIC MAC');
  assert.ok(html.includes('env: prod'), 'tag with its category');
  assert.ok(html.includes('unlimited'), 'a -1 limit reads unlimited');
});

test('a VM from a v1 agent says it has no configuration details', async () => {
  const html = await page('vm-old');
  assert.ok(html.includes('No configuration details captured'));
  assert.not.ok(html.includes('id="vm-snapshots"'));
});

test.run();
