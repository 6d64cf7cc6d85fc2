import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Heartbeat } from '../../agent/capture/heartbeat.ts';
import type { CaptureInput } from '../../agent/capture/schema.ts';
import type { Collector } from '../../agent/collectors/collector.ts';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import { startAgent } from '../../agent/agent.ts';
import { parseAgentConfig } from '../../agent/config.ts';
import { sendHeartbeat } from '../../agent/delivery/heartbeat.ts';
import { createLogger } from '../../shared/log.ts';
import { createScheduler, nextAlignedRun } from '../../agent/scheduler/scheduler.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const test = suite('scheduler and heartbeat');
const log = createLogger({ level: 'silent' });
const source = (name: string, extra: Record<string, unknown> = {}) =>
  parseAgentConfig({
    server: { url: 'http://127.0.0.1:9', token: 't' },
    spoolDir: '/tmp/x',
    sources: [{ name, kind: 'demo', ...extra }],
  }).sources[0];

/** A collector whose capture is `behaviour`: anything at all, which the scheduler must validate. */
function collector(behaviour: (signal: AbortSignal) => Promise<unknown>): Collector {
  return {
    check: () => Promise.resolve({ ok: true, message: 'ok' }),
    capture: async ({ signal }) => (await behaviour(signal)) as CaptureInput,
  };
}
const good = () =>
  demoCapture({ flavor: 'vcenter', seed: 1, totalVms: 10, at: new Date(), since: null });

test('hourly runs are aligned to the hour; minute runs to the minute', () => {
  assert.is(
    new Date(nextAlignedRun(Date.parse('2026-05-01T10:17:03Z'), 3600)).toISOString(),
    '2026-05-01T11:00:00.000Z',
  );
  assert.is(
    new Date(nextAlignedRun(Date.parse('2026-05-01T10:17:03Z'), 60)).toISOString(),
    '2026-05-01T10:18:00.000Z',
  );
  assert.is(
    new Date(nextAlignedRun(Date.parse('2026-05-01T11:00:00Z'), 3600)).toISOString(),
    '2026-05-01T12:00:00.000Z',
  );
});

test('no overlapping runs of one source', async () => {
  let running = 0, maxRunning = 0, calls = 0;
  const stored: string[] = [];
  const s = createScheduler({
    log,
    store: (c) => {
      stored.push(c.captureId);
      return Promise.resolve();
    },
    sources: [{
      config: source('a'),
      collector: collector(async () => {
        calls++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 50));
        running--;
        return good();
      }),
    }],
  });
  const results = await Promise.all([s.runSource('a'), s.runSource('a'), s.runSource('a')]);
  assert.equal(results.sort(), [false, false, true]);
  assert.is(calls, 1);
  assert.is(maxRunning, 1);
  assert.is(stored.length, 1);
  assert.is(s.health()[0].lastVmCount, good().vms.length);
});

test('a timeout or a collector error is a failed poll with the reason, not a crash', async () => {
  const s = createScheduler({
    log,
    store: async () => {},
    sources: [
      {
        config: source('slow', { timeoutSeconds: 1 }),
        collector: collector((signal) =>
          new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
        ),
      },
      {
        config: source('bad'),
        collector: collector(() => Promise.reject(new Error('login refused'))),
      },
      {
        config: source('junk'),
        collector: collector(() => Promise.resolve({ ...good(), vms: [{ key: '' }] })),
      },
    ],
  });
  assert.is(await s.runSource('slow'), false);
  assert.is(await s.runSource('bad'), false);
  assert.is(await s.runSource('junk'), false);
  const h = Object.fromEntries(s.health().map((x) => [x.name, x]));
  assert.match(h.slow.lastError!, /timed out after 1 s/);
  assert.is(h.bad.lastError, 'login refused');
  assert.match(h.junk.lastError!, /invalid capture: vms\.0/);
  assert.is(h.bad.consecutiveFailures, 1);
});

test("the heartbeat answer's capture-now runs that source at once", async () => {
  let captures = 0;
  const s = createScheduler({
    log,
    store: async () => {},
    sources: [{
      config: source('vc'),
      collector: collector(() => {
        captures++;
        return Promise.resolve(good());
      }),
    }],
  });
  await s.runSource('vc');
  const sourceId = s.health()[0].sourceId!;
  let sent: Heartbeat | undefined;
  const fetchFn = ((_url: URL, init: RequestInit) => {
    sent = JSON.parse(String(init.body));
    return Promise.resolve(
      new Response(
        JSON.stringify({ captureNow: [{ sourceId }, { sourceId: 'unknown-source' }] }),
        { status: 200 },
      ),
    );
  }) as unknown as typeof fetch;
  const ok = await sendHeartbeat({
    serverUrl: 'http://127.0.0.1:9',
    token: 't',
    scheduler: s,
    log,
    fetch: fetchFn,
    body: {
      agentVersion: '0.1.0',
      hostname: 'h',
      sentAt: new Date().toISOString(),
      sources: s.health(),
      spool: { pending: 0, pendingBytes: 0, rejected: 0, refusedAtCap: 0, maxBytes: 1 },
      delivery: {
        delivered: 0,
        rejected: 0,
        lastDeliveredAt: null,
        lastError: null,
        retryAt: null,
      },
    },
  });
  assert.ok(ok);
  assert.is(sent!.sources[0].sourceId, sourceId);
  await new Promise((r) => setTimeout(r, 20));
  assert.is(captures, 2, 'captured again on request');
});

test('a heartbeat the server refuses is reported, never thrown', async () => {
  const s = createScheduler({ log, store: async () => {}, sources: [] });
  const down = (() => Promise.reject(new TypeError('fetch failed'))) as unknown as typeof fetch;
  const body = {
    agentVersion: '0.1.0',
    hostname: null,
    sentAt: new Date().toISOString(),
    sources: [],
    spool: { pending: 0, pendingBytes: 0, rejected: 0, refusedAtCap: 0, maxBytes: 1 },
    delivery: { delivered: 0, rejected: 0, lastDeliveredAt: null, lastError: null, retryAt: null },
  };
  assert.is(
    await sendHeartbeat({
      serverUrl: 'http://127.0.0.1:9',
      token: 't',
      scheduler: s,
      log,
      fetch: down,
      body,
    }),
    false,
  );
});

test('an agent started unscheduled captures only when asked: no run at start, none at the hour', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-unscheduled-'));
  const config = parseAgentConfig({
    server: { url: 'http://127.0.0.1:9', token: 't' },
    spoolDir: path.join(dir, 'spool'),
    sources: [{ name: 'a', kind: 'demo', vms: 5, intervalSeconds: 3600 }],
  });
  const runs = async (scheduled: boolean) => {
    const agent = await startAgent(config, log, { scheduled });
    try {
      await new Promise((r) => setTimeout(r, 50));
      return agent.scheduler.health()[0];
    } finally {
      await agent.stop();
    }
  };
  try {
    const scheduled = await runs(true);
    assert.ok(scheduled.nextRunAt, 'scheduled: its next aligned run is set');
    const unscheduled = await runs(false);
    assert.is(unscheduled.nextRunAt, null, 'unscheduled: no timer');
    assert.is(unscheduled.lastRunAt, null, 'unscheduled: no capture at start');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
