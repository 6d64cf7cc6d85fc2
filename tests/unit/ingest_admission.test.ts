/**
 * Admission of captures on a node (server/ingest/admission.ts): at most `maxActive` ingests
 * run at once, the next ones wait in arrival order, and past `maxWaiting` (or `maxWaitMs`)
 * a capture is refused with 503 `ingest_busy` and Retry-After before any of it is read.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IngestGate } from '../../server/ingest/admission.ts';
import { AppError } from '../../server/errors.ts';

const test = suite('ingest admission');

/** A started ingest that finishes when told. */
function held() {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  return { finish, done };
}

const tick = () => new Promise((r) => setImmediate(r));

test('runs at most maxActive at once, the rest in arrival order', async () => {
  const gate = new IngestGate({ maxActive: 2, maxWaiting: 10, maxWaitMs: 60_000 });
  const started: number[] = [];
  const holds = [held(), held(), held(), held()];
  const runs = holds.map((h, i) =>
    gate.run(async () => {
      started.push(i);
      await h.done;
      return i;
    })
  );
  await tick();
  assert.equal(started, [0, 1]);
  assert.equal([gate.active, gate.waiting], [2, 2]);
  holds[1].finish();
  await tick();
  assert.equal(started, [0, 1, 2]);
  holds[0].finish();
  holds[2].finish();
  await tick();
  assert.equal(started, [0, 1, 2, 3]);
  holds[3].finish();
  assert.equal(await Promise.all(runs), [0, 1, 2, 3]);
  assert.equal([gate.active, gate.waiting], [0, 0]);
});

test('a failed ingest gives its turn to the next', async () => {
  const gate = new IngestGate({ maxActive: 1, maxWaiting: 10, maxWaitMs: 60_000 });
  const first = gate.run(() => Promise.reject(new Error('bad capture')))
    .then(() => null, (err: Error) => err.message);
  const second = gate.run(() => Promise.resolve('stored'));
  assert.is(await first, 'bad capture');
  assert.is(await second, 'stored');
  assert.is(gate.active, 0);
});

test('past maxWaiting: 503 ingest_busy with Retry-After, the ingest never started', async () => {
  const gate = new IngestGate({ maxActive: 1, maxWaiting: 1, maxWaitMs: 60_000 });
  const h = held();
  const running = gate.run(() => h.done);
  const waiting = gate.run(() => Promise.resolve());
  let ran = false;
  const refused = await gate.run(() => {
    ran = true;
    return Promise.resolve();
  }).then(() => null, (err) => err);
  assert.ok(refused instanceof AppError);
  assert.is(refused.code, 'ingest_busy');
  assert.is(refused.status, 503);
  assert.is(refused.headers['retry-after'], '10');
  assert.is(ran, false);
  h.finish();
  await Promise.all([running, waiting]);
});

test('a capture that waited maxWaitMs is refused and leaves the queue', async () => {
  const gate = new IngestGate({ maxActive: 1, maxWaiting: 5, maxWaitMs: 20 });
  const h = held();
  const running = gate.run(() => h.done);
  const err = await gate.run(() => Promise.resolve()).then(() => null, (e) => e);
  assert.ok(err instanceof AppError);
  assert.is(err.code, 'ingest_busy');
  assert.is(gate.waiting, 0);
  h.finish();
  await running;
  // The gate is whole again: the next one runs at once.
  assert.is(await gate.run(() => Promise.resolve(7)), 7);
});

test.run();
