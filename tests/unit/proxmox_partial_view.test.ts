/**
 * A Proxmox token that sees only part of the cluster (PVEAuditor on one pool): Proxmox
 * answers its lists without the other guests and without any error, so the collector reads
 * the token's effective permissions and marks such a capture incomplete; `check` says so.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture } from '../../agent/capture/schema.ts';
import { auditsAllVms, partialViewProblem } from '../../agent/collectors/proxmox/access.ts';
import { createProxmoxCollector } from '../../agent/collectors/proxmox/collector.ts';
import { ProxmoxSourceConfig } from '../../agent/config.ts';
import { createLogger } from '../../shared/log.ts';
import {
  type FakeCluster,
  loadFixtureCluster,
  type ProxmoxFake,
  startProxmoxFake,
} from '../support/proxmox_fake/index.ts';

const T0 = 1_700_100_000;
const GOOD = { id: 'vmledger@pve!collector', secret: '5b0e3c9e-3f9e-4a55-9d8b-2f6f1a7b9c01' };
const POOL = { id: 'vmledger@pve!prodonly', secret: '0c1d2e3f-0000-4000-8000-000000000004' };

/** The fixture cluster plus a token with Sys.Audit on / and PVEAuditor on /pool/prod. */
function clusterWithPoolToken(): FakeCluster {
  const model = loadFixtureCluster();
  model.tokens.push({ ...POOL, privileges: 'pool-auditor', pool: 'prod' });
  return model;
}

const test = suite('proxmox partial view');
let fake: ProxmoxFake;

test.before(async () => {
  fake = await startProxmoxFake(clusterWithPoolToken());
});
test.after(() => fake.close());

function collector(token: { id: string; secret: string }) {
  return createProxmoxCollector(
    ProxmoxSourceConfig.parse({
      kind: 'proxmox',
      name: 'lab',
      url: fake.url,
      tokenId: token.id,
      tokenSecret: token.secret,
    }),
    createLogger({ level: 'silent' }),
    { requestTimeoutMs: 2000 },
  );
}

async function capture(token: { id: string; secret: string }): Promise<Capture> {
  return Capture.parse(
    await collector(token).capture({
      signal: new AbortController().signal,
      since: null,
      at: new Date(T0 * 1000),
    }),
  );
}

test('the fake answers /access/permissions in PVE shape and filters guests by pool', async () => {
  const res = await fetch(`${fake.url}/api2/json/access/permissions`, {
    headers: { authorization: `PVEAPIToken=${POOL.id}=${POOL.secret}` },
  });
  const perms = (await res.json()).data as Record<string, Record<string, number>>;
  assert.equal(perms['/'], { 'Sys.Audit': 1 });
  assert.equal(perms['/vms'], { 'Sys.Audit': 1 });
  assert.is(perms['/pool/prod']['VM.Audit'], 1);
  assert.is(perms['/vms/100']['VM.Audit'], 1);
  assert.equal(perms['/vms/101'], { 'Sys.Audit': 1 }, 'a guest of another pool: no VM.Audit');
  const full = await fetch(`${fake.url}/api2/json/access/permissions`, {
    headers: { authorization: `PVEAPIToken=${GOOD.id}=${GOOD.secret}` },
  });
  assert.is((await full.json()).data['/vms']['VM.Audit'], 1);
});

test('pool-scoped token: capture incomplete, the error names what is missing', async () => {
  const c = await capture(POOL);
  assert.equal(c.vms.map((v) => v.sourceVmId).sort(), ['100', '102', '200']);
  assert.is(c.complete, false);
  const error = c.errors.find((e) => e.startsWith('partial view'));
  assert.ok(error, c.errors.join('\n'));
  assert.match(error!, /lacks VM\.Audit on \/ \(propagated\) or \/vms/);
  assert.match(error!, /VM\.Audit only on \/pool\/prod/);
  assert.match(error!, /pveum acl modify \/ --tokens 'vmledger@pve!prodonly' --roles PVEAuditor/);
});

test('full token: complete capture of every guest', async () => {
  const c = await capture(GOOD);
  assert.is(c.complete, true, c.errors.join('\n'));
  assert.is(c.errors.length, 0);
  assert.is(c.vms.length, 8);
});

test('check: a partial view is a warning that fails check; identity is the cluster', async () => {
  const partial = await collector(POOL).check(new AbortController().signal);
  assert.is(partial.ok, false);
  assert.is(partial.warning, true);
  assert.match(partial.message, /sees 3 guest\(s\); partial view: /);
  assert.equal(partial.identity, { kind: 'proxmox', id: 'pve-lab' });
  const full = await collector(GOOD).check(new AbortController().signal);
  assert.is(full.ok, true, full.message);
  assert.not.ok(full.warning);
  assert.equal(full.identity, { kind: 'proxmox', id: 'pve-lab' });
});

test('which permissions count as a full view', () => {
  assert.ok(auditsAllVms({ '/': { 'VM.Audit': 1 } }));
  assert.ok(auditsAllVms({ '/': { 'Sys.Audit': 1 }, '/vms': { 'VM.Audit': 1 } }));
  assert.not.ok(auditsAllVms({ '/': { 'VM.Audit': 0 } }), 'on / only, not propagated');
  assert.not.ok(auditsAllVms({ '/vms': { 'VM.Audit': 0 } }));
  assert.not.ok(auditsAllVms({ '/vms/100': { 'VM.Audit': 1 } }));
  assert.is(partialViewProblem('a@pve!t', { '/vms': { 'VM.Audit': 1 } }), null);
  assert.match(
    partialViewProblem('a@pve!t', { '/': { 'VM.Audit': 0 } })!,
    /only on \/ \(not propagated\)/,
  );
  assert.match(partialViewProblem('a@pve!t', {})!, /VM\.Audit nowhere/);
});

test.run();
