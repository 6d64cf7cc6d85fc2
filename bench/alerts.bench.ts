/**
 * Alerts speed, with a 10,000-VM source (demo fleet captures as bench/ingest.bench.ts makes
 * them), the server's ingest route and the alerts and notifications job workers in this
 * process, pg-boss on the bench database:
 *
 * (a) Rule evaluation's cost to an ingest: captures posted in turns with and without the
 *     after-capture evaluation (`onCaptureStored` requesting it, as server/main.ts does, or
 *     nothing). The evaluation starts in the ingest's after-commit step and runs after the 201
 *     (alert_jobs.ts), so two figures: the 201 time with it over the 201 time without, and —
 *     what the goal uses, what someone waiting for an alert sees — the time until the
 *     capture's evaluation has committed (its listener called). Two ways:
 *     in turns (median request → evaluation done over median 201 without evaluation), which
 *     the ingest's own noise on this shared machine swings by ±20 %; and added (median 201
 *     without evaluation plus median commit → evaluation done, over the former), which counts
 *     the ingest once and only what follows its commit (job send, pickup, evaluation, pg-boss's
 *     completion), so it is the steadier figure. The goal uses the added one: ≤ 1.10.
 * (b) Capture commit to webhook delivery: captures that each move one datastore across the
 *     threshold (95 % used, then 50 %: fired, resolved, alternating), a webhook route for the
 *     rule with group wait 0 (a re-fire of the same datastore within the default 30 s wait is
 *     held by design), a real receiver on 127.0.0.1 verifying the HMAC. Commit is the moment
 *     the ingest's after-commit hook runs; delivery the moment the receiver has the body.
 *     Goal: p99 < 2 s.
 */
import { gzipSync } from 'node:zlib';
import { captureText } from '../agent/capture/capture_text.ts';
import { Capture } from '../agent/capture/schema.ts';
import {
  alertsFeature,
  evaluationListeners,
  requestAlertEvaluation,
} from '../server/alerts/alert_jobs.ts';
import { alertHooks } from '../server/alerts/evaluate.ts';
import { installDefaultRules } from '../server/alerts/rules.ts';
import { createApp } from '../server/app.ts';
import { createToken } from '../server/auth/tokens.ts';
import { type Jobs, startJobs } from '../server/jobs/boss.ts';
import { ChannelCreate, insertChannel } from '../server/notifications/channels.ts';
import { insertRoute, RouteBody } from '../server/notifications/route_store.ts';
import { notificationsFeature, notifyAlertEvents } from '../server/notifications/notify_jobs.ts';
import { listen } from '../server/runtime.ts';
import { startReceiver } from '../tests/support/alert_events.ts';
import { benchCapture } from './bench_capture.ts';
import { openBenchDatabase } from './bench_db.ts';
import { type BenchReport, median, percentile, settledHeap } from './harness.ts';

const VMS = 10_000;
/** Pairs of captures (with, without evaluation) for (a). */
const PAIRS = 12;
/** Captures crossing the threshold for (b). */
const CROSSINGS = 30;
const SECRET = 'alerts-bench-webhook-secret';

const captureAt = (sourceId: string, at: Date): Capture => benchCapture(sourceId, at, VMS);

/** `c` `hours` later, its first datastore at `usedPct` % used, the others as they were. */
function withDatastore(c: Capture, hours: number, usedPct: number): Buffer {
  const at = new Date(Date.parse(c.capturedAt) + hours * 3600_000).toISOString();
  return gzipSync(captureText({
    ...c,
    captureId: crypto.randomUUID(),
    capturedAt: at,
    datastores: c.datastores.map((d, i) =>
      i === 0 ? { ...d, freeGib: d.capacityGib * (1 - usedPct / 100) } : d
    ),
  }));
}

export default async function benchAlerts(): Promise<BenchReport> {
  const base = Date.UTC(2026, 6, 1, 0);
  const db = await openBenchDatabase('alerts');
  await installDefaultRules(db.sql);
  if (!alertHooks.afterEvents.includes(notifyAlertEvents)) {
    alertHooks.afterEvents.push(notifyAlertEvents);
  }
  const jobs: Jobs = await startJobs({
    sql: db.sql,
    url: db.url,
    features: [alertsFeature, notificationsFeature],
    reportTz: 'UTC',
    engine: 'sql',
    dailyAt: '00:30',
    // No cron: only the captures' evaluations run. Polling at the server's default (2 s).
    schedule: false,
  });
  /** Whether the ingest sends the evaluation job; when it was last called (the commit). */
  const hook = { evaluate: true, committedAt: 0 };
  const app = createApp(db.sql, {
    maxBodyBytes: 256 * 1024 * 1024,
    sessionHours: 1,
    jobs,
    onCaptureStored: async () => {
      hook.committedAt = performance.now();
      if (hook.evaluate) await requestAlertEvaluation(jobs, 'capture');
    },
  });
  const server = await listen(app.fetch, '127.0.0.1', 0);
  const receiver = await startReceiver(SECRET);
  const { token } = await createToken(db.sql, { name: 'agent', role: 'agent' });
  const post = async (body: Buffer) => {
    const r = await fetch(`http://127.0.0.1:${server.port}/api/v1/captures`, {
      method: 'POST',
      body,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
    });
    const text = await r.text();
    if (r.status !== 201) throw new Error(`ingest answered ${r.status}: ${text}`);
  };
  /** Capture evaluations done: when (performance.now()) and how long each took. */
  const evaluations: { at: number; ms: number }[] = [];
  const listener = (after: string, r: { ms: number }) => {
    if (after === 'capture') evaluations.push({ at: performance.now(), ms: r.ms });
  };
  evaluationListeners.push(listener);
  /** Waits for the capture evaluation after the `seen`th to be done; its record. */
  const evaluationAfter = async (seen: number) => {
    const end = Date.now() + 60_000;
    while (evaluations.length <= seen) {
      if (Date.now() > end) throw new Error('evaluation did not complete in 60 s');
      await new Promise((r) => setTimeout(r, 1));
    }
    return evaluations[seen];
  };

  try {
    // Warm-up as bench/ingest.bench.ts does: a first capture, statistics, a second, and one
    // evaluation of every rule so the alerts the fleet has are open before timing.
    hook.evaluate = false;
    await post(gzipSync(captureText(captureAt('site-0', new Date(base - 3600_000)))));
    await db.sql`analyze`;
    hook.evaluate = true;
    await post(gzipSync(captureText(captureAt('site-0', new Date(base)))));
    await evaluationAfter(evaluations.length);

    // (a) in turns: with the evaluation job, without; which goes first alternates by pair.
    const without201: number[] = [];
    const with201: number[] = [];
    const withDone: number[] = [];
    const commitToDone: number[] = [];
    const evalMs: number[] = [];
    let hour = 1;
    for (let i = 0; i < PAIRS; i++) {
      for (const evaluate of i % 2 ? [false, true] : [true, false]) {
        const body = gzipSync(captureText(captureAt('site-0', new Date(base + hour++ * 3600_000))));
        hook.evaluate = evaluate;
        await settledHeap();
        const seen = evaluations.length;
        const t0 = performance.now();
        await post(body);
        const answered = performance.now() - t0;
        if (!evaluate) {
          without201.push(answered);
          continue;
        }
        with201.push(answered);
        const done = await evaluationAfter(seen);
        withDone.push(done.at - t0);
        commitToDone.push(done.at - hook.committedAt);
        evalMs.push(done.ms);
      }
    }
    hook.evaluate = true;

    // (b) one datastore across the threshold and back, CROSSINGS times, through a route.
    const channel = await insertChannel(
      db.sql,
      ChannelCreate.parse({ kind: 'webhook', name: 'bench', url: receiver.url, secret: SECRET }),
      null,
    );
    await insertRoute(
      db.sql,
      RouteBody.parse({ channelId: channel.id, ruleId: 'datastore_used', groupWaitSeconds: 0 }),
    );
    const template = captureAt('site-0', new Date(base + hour++ * 3600_000));
    const target = template.datastores[0].name;
    const bodies = Array.from(
      { length: CROSSINGS + 1 },
      (_, i) => withDatastore(template, i, i % 2 ? 95 : 50),
    );
    const before = evaluations.length;
    await post(bodies[0]);
    await evaluationAfter(before);
    const toDelivery: number[] = [];
    let unverified = 0;
    for (let i = 1; i <= CROSSINGS; i++) {
      const kind = i % 2 ? 'fired' : 'resolved';
      const seen = receiver.received.length;
      const evaluated = evaluations.length;
      await settledHeap();
      await post(bodies[i]);
      const committed = hook.committedAt;
      const end = Date.now() + 30_000;
      let got;
      while (!got) {
        got = receiver.received.slice(seen).find((m) =>
          m.json.kind === kind &&
          (m.json.alerts as { objectName: string }[]).some((a) => a.objectName === target)
        );
        if (!got && Date.now() > end) throw new Error(`no ${kind} message for capture ${i}`);
        if (!got) await new Promise((r) => setTimeout(r, 2));
      }
      if (!got.verified) unverified++;
      toDelivery.push(got.at - committed);
      await evaluationAfter(evaluated);
    }

    const r2 = (x: number) => Number(x.toFixed(2));
    const r0 = (x: number) => Math.round(x);
    const ratioDone = median(withDone) / median(without201);
    const ratioAdded = (median(without201) + median(commitToDone)) / median(without201);
    const ratio201 = median(with201) / median(without201);
    const p99 = percentile(toDelivery, 99);
    return {
      name: 'alerts',
      title: 'Alerts: evaluation after a 10,000-VM capture; capture commit to webhook delivery',
      goal:
        'ingest + commit → evaluation done ≤ 1.10× ingest without evaluation; commit → webhook p99 < 2 s',
      met: ratioAdded <= 1.1 && p99 < 2000 && unverified === 0,
      metrics: {
        ingestNoEvaluation201MedianMs: r0(median(without201)),
        ingestWithJob201MedianMs: r0(median(with201)),
        ingestUntilEvaluationDoneMedianMs: r0(median(withDone)),
        ratio201: r2(ratio201),
        ratioUntilEvaluationDoneInTurns: r2(ratioDone),
        ratioEvaluationAdded: r2(ratioAdded),
        commitToEvaluationDoneMedianMs: r0(median(commitToDone)),
        commitToEvaluationDoneMaxMs: r0(Math.max(...commitToDone)),
        evaluationMedianMs: r0(median(evalMs)),
        commitToWebhookMedianMs: r0(median(toDelivery)),
        commitToWebhookP99Ms: r0(p99),
        commitToWebhookMaxMs: r0(Math.max(...toDelivery)),
        crossings: toDelivery.length,
        unverifiedSignatures: unverified,
      },
      notes:
        `${VMS} VMs per capture, ${PAIRS} pairs with/without evaluation in turns (order alternating); ` +
        `the evaluation is the after-capture one (rules a capture can change), started in the ingest's after-commit step on the alerts' own connection; ` +
        `evaluation done = its listener called (committed, hooks run); the goal uses ratioEvaluationAdded (201 without ` +
        `evaluation + commit → evaluation done, over the former). ${CROSSINGS} crossings of one datastore (95 %/50 % used), ` +
        `route group wait 0, receiver in this process on 127.0.0.1. Shared 2-core machine.`,
    };
  } finally {
    evaluationListeners.splice(evaluationListeners.indexOf(listener), 1);
    await receiver.close();
    await server.close();
    await jobs.stop();
    await db.close();
  }
}
