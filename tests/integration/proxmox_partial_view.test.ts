/**
 * End to end: a full capture, then one from a token that sees only the `prod` pool, both
 * posted to the server. The partial capture arrives incomplete, so no VM is deleted.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture } from '../../agent/capture/schema.ts';
import { createProxmoxCollector } from '../../agent/collectors/proxmox/collector.ts';
import { ProxmoxSourceConfig } from '../../agent/config.ts';
import { createLogger } from '../../shared/log.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import {
  loadFixtureCluster,
  type ProxmoxFake,
  startProxmoxFake,
} from '../support/proxmox_fake/index.ts';

const T0 = 1_700_100_000;
const GOOD = { id: 'vmledger@pve!collector', secret: '5b0e3c9e-3f9e-4a55-9d8b-2f6f1a7b9c01' };
const POOL = { id: 'vmledger@pve!prodonly', secret: '0c1d2e3f-0000-4000-8000-000000000004' };

const test = suite('proxmox partial view through the server');
let t: TestApp;
let fake: ProxmoxFake;

test.before(async () => {
  t = await createTestApp('proxmox_partial');
  const model = loadFixtureCluster();
  model.tokens.push({ ...POOL, privileges: 'pool-auditor', pool: 'prod' });
  fake = await startProxmoxFake(model);
});
test.after(async () => {
  await fake.close();
  await t.close();
});

async function captureAndPost(token: { id: string; secret: string }, sec: number) {
  const collector = createProxmoxCollector(
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
  const capture = Capture.parse(
    await collector.capture({
      signal: new AbortController().signal,
      since: null,
      at: new Date(sec * 1000),
    }),
  );
  const res = await t.call('/api/v1/captures', { ...json(capture), token: t.tokens.agent });
  assert.is(res.status, 201, await res.clone().text());
  return { capture, result: await res.json() };
}

async function lifecycle() {
  return await t.db.sql`
    select l.vm_key, l.deleted_at from vm_lifecycle l join sources s on s.id = l.source_id
    where s.external_id = 'pve-lab' order by 1`;
}

test('a pool-scoped token captures 3 of 8 guests: incomplete, nothing marked deleted', async () => {
  const full = await captureAndPost(GOOD, T0);
  assert.is(full.capture.complete, true);
  assert.is((await lifecycle()).length, 8);

  const partial = await captureAndPost(POOL, T0 + 3600);
  assert.is(partial.capture.vms.length, 3);
  assert.is(partial.capture.complete, false);
  assert.ok(partial.capture.errors.some((e) => /^partial view: .*VM\.Audit/.test(e)));
  assert.is(partial.result.deleted, 0);
  const rows = await lifecycle();
  assert.is(rows.length, 8);
  assert.equal(rows.filter((r) => r.deleted_at !== null).map((r) => r.vm_key), []);
});

test.run();
