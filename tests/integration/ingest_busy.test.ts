/**
 * Admission of captures over HTTP (server/ingest/admission.ts): a capture that finds the
 * node's ingests busy and its queue full, or that waits too long for a turn, is answered 503
 * `ingest_busy` with Retry-After and a JSON error, and nothing of it is stored; the capture
 * being ingested meanwhile is stored whole, and the refused one is stored when sent again.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type ApiErrorBody, readJson } from '../support/api_bodies.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';
import { waitFor } from '../support/wait.ts';
import { IngestGate } from '../../server/ingest/admission.ts';

const test = suite('ingest: captures beyond what a node admits');
let t: TestApp;
// One ingest at a time, one more may wait a while: long enough for the first capture's ingest
// on a loaded machine, short enough to see a wait run out.
const MAX_WAIT_MS = 3000;
const gate = new IngestGate({ maxActive: 1, maxWaiting: 1, maxWaitMs: MAX_WAIT_MS });

test.before(async () => {
  t = await createTestApp('ingest_busy', { ingestGate: gate });
});
test.after(() => t.close());

const hour = (h: number) => new Date(Date.UTC(2026, 5, 1, h)).toISOString();
const text = (source: string, h: number) =>
  JSON.stringify(makeCapture({
    sourceId: source,
    at: hour(h),
    vms: Array.from({ length: 50 }, (_, i) => ({ key: `vm-${i}`, name: `${source}-${i}` })),
  }));

const post = (body: BodyInit) =>
  t.call(
    '/api/v1/captures',
    {
      method: 'POST',
      body,
      token: t.tokens.agent,
      headers: { 'content-type': 'application/json' },
      ...(typeof body === 'string' ? {} : { duplex: 'half' }),
    } as RequestInit & { token: string },
  );

/** A capture whose body arrives in two parts: the second only when `finish` is called. */
function slowCapture(source: string, h: number) {
  const whole = new TextEncoder().encode(text(source, h));
  let finish!: () => void;
  const rest = new Promise<void>((resolve) => (finish = resolve));
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(whole.subarray(0, 100));
      await rest;
      controller.enqueue(whole.subarray(100));
      controller.close();
    },
  });
  return { response: post(body), finish };
}

const stored = async (source: string) => {
  const [r] = await t.db.sql`
    select (select count(*)::int from captures c join sources s on s.id = c.source_id
            where s.external_id = ${source}) as captures,
           (select count(*)::int from vm_hourly_stats f join sources s on s.id = f.source_id
            where s.external_id = ${source}) as facts`;
  return r;
};

async function assertBusy(res: Response, why: RegExp) {
  assert.is(res.status, 503);
  assert.is(res.headers.get('retry-after'), '10');
  const body = await readJson<ApiErrorBody>(res);
  assert.is(body.error.code, 'ingest_busy');
  assert.match(body.error.message, why);
}

test('a full queue → 503 ingest_busy with Retry-After; the capture being ingested and the one waiting are stored whole; the refused one when sent again', async () => {
  const first = slowCapture('busy-a', 0);
  // The first is admitted and reading its body; the second waits for its turn (its body
  // unread); the third finds the queue full.
  await waitFor(() => gate.active === 1, 10_000, 'the first capture admitted');
  const second = slowCapture('busy-b', 0);
  await waitFor(() => gate.waiting === 1, 10_000, 'the second capture waiting');
  await assertBusy(await post(text('busy-c', 0)), /already waiting/);
  assert.equal(await stored('busy-c'), { captures: 0, facts: 0 });

  first.finish();
  second.finish();
  assert.is((await first.response).status, 201);
  assert.is((await second.response).status, 201);
  assert.equal(await stored('busy-a'), { captures: 1, facts: 50 });
  assert.equal(await stored('busy-b'), { captures: 1, facts: 50 });

  assert.is((await post(text('busy-c', 0))).status, 201, 'sent again, it is stored');
  assert.equal(await stored('busy-c'), { captures: 1, facts: 50 });
});

test('a capture that waits longer than the node lets it → 503 ingest_busy; nothing of it stored', async () => {
  const first = slowCapture('wait-a', 1);
  await waitFor(() => gate.active === 1, 10_000, 'the first capture admitted');
  await assertBusy(await post(text('wait-b', 1)), /waited/);
  assert.equal(await stored('wait-b'), { captures: 0, facts: 0 });
  first.finish();
  assert.is((await first.response).status, 201);
  assert.is((await post(text('wait-b', 1))).status, 201);
  assert.equal(await stored('wait-b'), { captures: 1, facts: 50 });
});

test.run();
