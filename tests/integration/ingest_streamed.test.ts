/**
 * Large captures over HTTP, read in parts while their facts are COPYed
 * (server/ingest/ingest_capture.ts). A fault found halfway through the VMs must roll the
 * whole capture back and get the answer the whole parse gives: 400 with zod's issues,
 * before any 403 or duplicate. Captures in other layouts are stored the same.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gzipSync } from 'node:zlib';
import { captureText } from '../../agent/capture/capture_text.ts';
import { Capture } from '../../agent/capture/schema.ts';
import { type ApiErrorBody, type LooseCapture, readJson } from '../support/api_bodies.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('ingest: large captures read in parts');
let t: TestApp;

test.before(async () => {
  t = await createTestApp('ingest_streamed', { maxBodyBytes: 64 * 1024 * 1024 });
});
test.after(() => t.close());

const VMS = 3000;
const hour = (h: number) => new Date(Date.UTC(2026, 5, 1, h)).toISOString();

/** A capture as our agent writes it (schema order), ~1.2 MB: several parts of the VM array. */
function big(h: number, source = 'big'): LooseCapture {
  const vms = Array.from(
    { length: VMS },
    (_, i) => ({ key: `vm-${i}`, name: `server-${i}`, vcpu: 1 + (i % 8) }),
  );
  return JSON.parse(
    JSON.stringify(Capture.parse(makeCapture({ sourceId: source, at: hour(h), vms }))),
  );
}

/** The layouts a capture is read in parts from: the VMs first (older agents), or last (ours). */
const LAYOUTS = [
  { name: 'VMs first', source: 'big', text: (c: unknown) => JSON.stringify(c) },
  {
    name: 'VMs last, read as it arrives',
    source: 'big-last',
    text: (c: unknown) => captureText(c as Capture),
  },
];

for (const layout of LAYOUTS) {
  const postText = (text: string, token = t.tokens.agent) =>
    t.call('/api/v1/captures', {
      method: 'POST',
      body: text,
      token,
      headers: { 'content-type': 'application/json' },
    });
  const post = (c: unknown, token = t.tokens.agent) => postText(layout.text(c), token);

  const counts = async (source = layout.source) => {
    const [r] = await t.db.sql`
      select (select count(*)::int from vm_hourly_stats f join sources s on s.id = f.source_id where s.external_id = ${source}) as facts,
             (select count(*)::int from captures c join sources s on s.id = c.source_id where s.external_id = ${source}) as captures,
             (select count(*)::int from vm_inventory i join sources s on s.id = i.source_id where s.external_id = ${source}) as live`;
    return r;
  };

  test(`${layout.name}: a first and a newer large capture are stored whole`, async () => {
    assert.is((await post(big(0, layout.source))).status, 201);
    assert.is((await post(big(1, layout.source))).status, 201);
    assert.equal(await counts(), { facts: 2 * VMS, captures: 2, live: VMS });
    const [c] = await t.db
      .sql`select vm_count from captures join sources s on s.id = source_id where captured_at = ${
      hour(1)
    } and s.external_id = ${layout.source}`;
    assert.is(c.vm_count, VMS);
  });

  test(`${layout.name}: a VM invalid deep in a newer capture → 400 with its path; nothing of it stays; the next capture is right`, async () => {
    const c = big(2, layout.source);
    c.vms[2500].vcpu = -1;
    const res = await post(c);
    assert.is(res.status, 400);
    const body = await readJson<ApiErrorBody>(res);
    assert.is(body.error.code, 'invalid_capture');
    assert.equal(body.error.issues.map((i) => i.path), ['vms.2500.vcpu']);
    assert.equal(await counts(), { facts: 2 * VMS, captures: 2, live: VMS });

    const fixed = big(2, layout.source);
    fixed.vms[7].name = 'renamed';
    assert.is((await post(fixed)).status, 201);
    assert.equal(await counts(), { facts: 3 * VMS, captures: 3, live: VMS });
    const [row] = await t.db
      .sql`select i.name from vm_inventory i join sources s on s.id = i.source_id
      where vm_key = 'vm-7' and s.external_id = ${layout.source}`;
    assert.is(row.name, 'renamed');
  });

  test(`${layout.name}: two VMs with one key in different parts → 400 naming the duplicate; nothing stored`, async () => {
    const c = big(3, layout.source);
    c.vms[2900].key = c.vms[10].key;
    const res = await post(c);
    assert.is(res.status, 400);
    const issues = (await readJson<ApiErrorBody>(res)).error.issues;
    assert.equal(issues, [{ path: 'vms.2900.key', message: 'duplicate VM key "vm-10"' }]);
    assert.equal(await counts(), { facts: 3 * VMS, captures: 3, live: VMS });
  });

  test(`${layout.name}: invalid beats duplicate and 403: a stored capture id or another agent's source with a bad VM → 400`, async () => {
    const stored = big(1, layout.source);
    const [{ capture_id }] = await t.db
      .sql`select capture_id from captures c join sources s on s.id = c.source_id
      where c.captured_at = ${hour(1)} and s.external_id = ${layout.source}`;
    stored.captureId = capture_id;
    assert.is((await post(stored)).status, 200, 'the valid copy is a duplicate');
    stored.vms[2999].powerState = 'exploded';
    assert.is((await post(stored)).status, 400, 'an invalid copy is refused as invalid');

    const theirs = big(4, layout.source);
    assert.is((await post(theirs, t.tokens.agent2)).status, 403);
    theirs.vms[1500].memoryMib = 'lots';
    assert.is((await post(theirs, t.tokens.agent2)).status, 400);
    assert.equal(await counts(), { facts: 3 * VMS, captures: 3, live: VMS });
  });

  test(`${layout.name}: pretty-printed JSON and names that look like part boundaries are stored exactly`, async () => {
    const pretty = big(4, layout.source);
    assert.is((await postText(JSON.stringify(pretty, null, 2))).status, 201);
    const tricky = big(5, layout.source);
    const names = ['},{"key":"vm-9"', '}],"hosts":[', '"vms":[', 'tab\there\\ and \n newline'];
    names.forEach((name, i) => (tricky.vms[1000 + i].name = name));
    assert.is((await post(tricky)).status, 201);
    assert.equal(await counts(), { facts: 5 * VMS, captures: 5, live: VMS });
    const rows = await t.db.sql`
      select f.name from vm_hourly_stats f join sources s on s.id = f.source_id
      where f.snapshot_time = ${
      hour(5)
    } and s.external_id = ${layout.source} and vm_key in ('vm-1000', 'vm-1001', 'vm-1002', 'vm-1003')
      order by vm_key`;
    assert.equal(rows.map((r) => r.name), names);
  });
}

test('VMs last, gzip in many chunks: read as it arrives, stored as the whole parse stores it', async () => {
  const c = big(0, 'gzip-last');
  const gz = gzipSync(captureText(c as Capture));
  let at = 0;
  const res = await t.call('/api/v1/captures', {
    method: 'POST',
    // Node's fetch wants `duplex` for a stream body; RequestInit's type does not know it yet.
    ...{ duplex: 'half' },
    body: new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= gz.length) return controller.close();
        controller.enqueue(gz.subarray(at, at += 4096));
      },
    }),
    token: t.tokens.agent,
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
  });
  assert.is(res.status, 201);
  const [r] = await t.db.sql`
    select (select count(*)::int from vm_hourly_stats f where f.source_id = s.id) as facts,
           (select count(*)::int from vm_inventory i where i.source_id = s.id) as live
    from sources s where s.external_id = 'gzip-last'`;
  assert.equal({ ...r }, { facts: VMS, live: VMS });
});

test.run();
