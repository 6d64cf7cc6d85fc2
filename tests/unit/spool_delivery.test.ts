import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../../agent/capture/schema.ts';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import { createDelivery } from '../../agent/delivery/delivery.ts';
import { backoffDelay, retryAfterMs } from '../../agent/delivery/backoff.ts';
import { createLogger } from '../../shared/log.ts';
import { gunzip, openSpool, SpoolFullError } from '../../agent/spool/spool.ts';
import { writeFileAtomic } from '../../agent/runtime/host.ts';

const test = suite('spool and delivery');
const log = createLogger({ level: 'silent' });
const capture = (hour: number) =>
  Capture.parse(
    demoCapture({
      flavor: 'vcenter',
      seed: 1,
      totalVms: 10,
      at: new Date(Date.UTC(2026, 4, 1, hour)),
      since: null,
    }),
  );

let dir = '';
test.before.each(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vml-spool-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test('captures are stored gzipped and listed oldest first', async () => {
  const spool = await openSpool(dir, { maxBytes: 50e6, log });
  const late = capture(5);
  const early = capture(2);
  await spool.put(late);
  await spool.put(early);
  const list = await spool.list();
  assert.equal(list.map((e) => e.captureId), [early.captureId, late.captureId]);
  const text = await gunzip(await spool.read(list[0]));
  assert.is(JSON.parse(text).captureId, early.captureId);
  assert.not.ok(
    readdirSync(path.join(dir, 'pending')).some((n) => n.includes('.tmp-')),
    'no temp files left',
  );
});

test('at the size cap a capture is refused loudly, older ones kept', async () => {
  const lines: string[] = [];
  const spool = await openSpool(dir, {
    maxBytes: 1024 * 1024,
    log: createLogger({ sink: (l) => lines.push(l) }),
  });
  const big = capture(1);
  big.vms = Array.from(
    { length: 3000 },
    (_, i) => ({ ...big.vms[0], key: `k${i}`, name: `vm-${i}-${Math.random()}` }),
  );
  let refused = 0;
  for (let i = 0; i < 20; i++) {
    try {
      await spool.put({
        ...big,
        captureId: crypto.randomUUID(),
        capturedAt: new Date(Date.UTC(2026, 4, 1, i)).toISOString(),
      });
    } catch (err) {
      assert.instance(err, SpoolFullError);
      refused++;
    }
  }
  assert.ok(refused > 0, 'some refused');
  const stats = await spool.stats();
  assert.is(stats.refusedAtCap, refused);
  assert.ok(stats.pendingBytes <= 1024 * 1024);
  assert.ok(lines.some((l) => l.includes('spool is full')), 'logged');
  assert.match(stats.lastRefusal?.reason ?? '', /spool at its cap/, 'the reason for the heartbeat');
  assert.is(stats.refusedDiskFull, 0);
});

test('a write that fails leaves no temp file; temp files of a killed agent are removed at start', async () => {
  // The target is a folder: the rename fails after the data was written and synced.
  const target = path.join(dir, 'pending', 'occupied');
  mkdirSync(target, { recursive: true });
  let failed = false;
  await writeFileAtomic(target, 'data').catch(() => (failed = true));
  assert.ok(failed, 'the write failed');
  const pending = () => readdirSync(path.join(dir, 'pending'));
  assert.not.ok(pending().some((n) => n.includes('.tmp-')), 'its temp file removed');
  rmSync(target, { recursive: true });
  writeFileSync(path.join(dir, 'pending', `x.json.gz.tmp-${crypto.randomUUID()}`), 'half');
  await openSpool(dir, { maxBytes: 1024 * 1024, log: createLogger({ level: 'silent' }) });
  assert.not.ok(pending().some((n) => n.includes('.tmp-')), 'removed at start');
});

function fakeServer(responses: ((body: Uint8Array) => Response)[]) {
  const seen: string[] = [];
  const fetchFn = (async (_url: string, init: RequestInit) => {
    const body = init.body as Uint8Array;
    seen.push(JSON.parse(await gunzip(body)).captureId);
    const next = responses.shift();
    if (!next) throw new Error('no more responses');
    return next(body);
  }) as unknown as typeof fetch;
  return { seen, fetchFn };
}

test('delivery sends oldest first, acks on 2xx, backs off on 503 with Retry-After', async () => {
  const spool = await openSpool(dir, { maxBytes: 50e6, log });
  const a = capture(1), b = capture(2);
  await spool.put(b);
  await spool.put(a);
  const server = fakeServer([
    () => new Response('{}', { status: 201 }),
    () => new Response('busy', { status: 503, headers: { 'retry-after': '7' } }),
    () => new Response('{"duplicate":true}', { status: 200 }),
  ]);
  const d = createDelivery({
    serverUrl: 'http://127.0.0.1:1',
    token: 't',
    spool,
    log,
    userAgent: 'test',
    fetch: server.fetchFn,
  });
  assert.is(await d.drain(), 7000, 'waits what Retry-After says');
  assert.equal(server.seen, [a.captureId, b.captureId]);
  assert.is((await spool.list()).length, 1);
  assert.is(await d.drain(), null);
  assert.is((await spool.list()).length, 0);
  assert.is(d.state.delivered, 2);
});

test('a 4xx rejection moves the capture aside with the reason; 401 is retried', async () => {
  const spool = await openSpool(dir, { maxBytes: 50e6, log });
  const a = capture(1), b = capture(2);
  await spool.put(a);
  await spool.put(b);
  const server = fakeServer([
    () => new Response('{"error":{"code":"unauthorized"}}', { status: 401 }),
    () => new Response('{"error":{"code":"invalid_capture","message":"bad"}}', { status: 400 }),
    () => new Response('{}', { status: 201 }),
  ]);
  const d = createDelivery({
    serverUrl: 'http://127.0.0.1:1',
    token: 't',
    spool,
    log,
    userAgent: 'test',
    fetch: server.fetchFn,
    backoff: { baseMs: 10 },
  });
  const wait = await d.drain();
  assert.ok(wait !== null && wait <= 10);
  assert.is((await spool.list()).length, 2, '401 keeps everything');
  assert.is(await d.drain(), null);
  const rejected = readdirSync(path.join(dir, 'rejected'));
  assert.ok(rejected.some((n) => n.endsWith(`${a.captureId}.json.gz`)));
  const reason = JSON.parse(
    readFileSync(
      path.join(
        dir,
        'rejected',
        rejected.find((n) => n.endsWith('.reason.json'))!,
      ),
      'utf8',
    ),
  );
  assert.is(reason.status, 400);
  assert.match(reason.body, /invalid_capture/);
  assert.is((await spool.list()).length, 0);
});

test('network failure keeps the capture and backs off exponentially', async () => {
  const spool = await openSpool(dir, { maxBytes: 50e6, log });
  await spool.put(capture(1));
  const failing = (() => Promise.reject(new TypeError('fetch failed'))) as unknown as typeof fetch;
  const d = createDelivery({
    serverUrl: 'http://127.0.0.1:1',
    token: 't',
    spool,
    log,
    userAgent: 'test',
    fetch: failing,
    backoff: { baseMs: 100, maxMs: 1000 },
  });
  const waits = [
    await d.drain(),
    await d.drain(),
    await d.drain(),
    await d.drain(),
    await d.drain(),
  ];
  assert.ok(waits.every((w) => w !== null));
  assert.ok(waits[4]! <= 1000 && waits[4]! >= 500, `capped: ${waits[4]}`);
  assert.is((await spool.list()).length, 1);
  assert.match(d.state.lastError!, /unreachable/);
});

test('a capture spooled while the loop is draining is not left waiting for the next one', async () => {
  const spool = await openSpool(dir, { maxBytes: 50e6, log });
  const sent: string[] = [];
  let releaseList!: () => void;
  const listGate = new Promise<void>((r) => (releaseList = r));
  // The loop's first drain lists an empty spool, then stalls until the capture has landed.
  const realList = spool.list;
  let first = true;
  spool.list = async () => {
    const entries = await realList();
    if (first) {
      first = false;
      await listGate;
    }
    return entries;
  };
  const fetchFn = (async (_u: string, init: RequestInit) => {
    sent.push(JSON.parse(await gunzip(init.body as Uint8Array)).captureId);
    return new Response('{}', { status: 201 });
  }) as unknown as typeof fetch;
  const d = createDelivery({
    serverUrl: 'http://127.0.0.1:1',
    token: 't',
    spool,
    log,
    userAgent: 'test',
    fetch: fetchFn,
  });
  const stop = new AbortController();
  const loop = d.run(stop.signal);
  await new Promise((r) => setTimeout(r, 20));
  const c = capture(3);
  await spool.put(c);
  d.nudge();
  releaseList();
  for (let i = 0; i < 50 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  stop.abort();
  await loop;
  assert.equal(sent, [c.captureId]);
});

test('stopped while a drain is sending: the loop ends (it does not go to sleep on an aborted signal)', async () => {
  const spool = await openSpool(dir, { maxBytes: 50e6, log });
  await spool.put(capture(4));
  const stop = new AbortController();
  const fetchFn = (() => {
    stop.abort(); // the agent is stopped while this capture is on its way
    return Promise.resolve(new Response('{}', { status: 201 }));
  }) as unknown as typeof fetch;
  const d = createDelivery({
    serverUrl: 'http://127.0.0.1:1',
    token: 't',
    spool,
    log,
    userAgent: 'test',
    fetch: fetchFn,
  });
  const ended = await Promise.race([
    d.run(stop.signal).then(() => 'ended'),
    new Promise((r) => setTimeout(() => r('still running after 2 s'), 2000)),
  ]);
  assert.is(ended, 'ended');
});

test('backoff and Retry-After parsing', () => {
  assert.is(backoffDelay(0, { random: () => 1 }), 1000);
  assert.is(backoffDelay(3, { random: () => 1 }), 8000);
  assert.is(backoffDelay(3, { random: () => 0 }), 4000);
  assert.is(backoffDelay(40, { random: () => 1 }), 300_000);
  assert.is(retryAfterMs('12'), 12_000);
  assert.is(retryAfterMs(new Date(Date.now() + 5000).toUTCString(), Date.now()) !== null, true);
  assert.is(retryAfterMs('soon'), null);
  assert.is(retryAfterMs(null), null);
});

test.run();
