/**
 * Runs report generation in a worker thread with a small heap. Two reasons: building XML
 * for 100,000 rows is seconds of CPU that must not stall the HTTP server's event loop, and
 * a bounded young/old generation makes V8 collect the per-row garbage as it goes — on the
 * main thread's default heap sizes a 100,000-VM report lifts RSS past 300 MB of garbage
 * although less than 40 MB is live. The worker opens its own 2-connection pool to the same
 * database (built from the pool's resolved options) and writes the report itself; a worker
 * that dies (out of heap, crash) fails the report here.
 */
import { Worker } from 'node:worker_threads';
import { resolvedOptions, type Sql } from '../db/connect.ts';
import { log } from '../log.ts';
import { failReport, getReport, type ReportRecord } from './report_store.ts';
import type { WorkerInput } from './generate_worker.ts';

/** Heap limits of the worker; bench/reports.bench.ts shows what they buy. */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 12 };

/** A connection URL equivalent to the pool's (hosts, port, database, user, password, TLS). */
function urlOf(sql: Sql): string {
  const o = resolvedOptions(sql);
  const hosts = o.host.map((h, i) => `${h.includes(':') ? `[${h}]` : h}:${o.port[i] ?? o.port[0]}`)
    .join(',');
  const auth = `${encodeURIComponent(o.user)}${
    o.pass ? `:${encodeURIComponent(typeof o.pass === 'function' ? o.pass() : o.pass)}` : ''
  }`;
  const ssl = o.ssl === false || o.ssl === undefined
    ? 'disable'
    : typeof o.ssl === 'string'
    ? o.ssl
    : 'require';
  return `postgres://${auth}@${hosts}/${encodeURIComponent(o.database)}?sslmode=${ssl}`;
}

/**
 * Generates report `id` in a worker thread; resolves with the report's record afterwards.
 * `reclaim`: a retried job's attempt, which may take over a report its dead predecessor
 * left running. `signal`: the job's claim was lost (pg-boss aborts it when its heartbeat finds
 * the job taken away): the worker is stopped so two attempts never write one report.
 */
export async function generateInWorker(
  sql: Sql,
  id: string,
  o: { tz: string; reclaim?: boolean; signal?: AbortSignal },
): Promise<ReportRecord> {
  const input: WorkerInput = { url: urlOf(sql), reportId: id, tz: o.tz, reclaim: o.reclaim };
  const started = performance.now();
  const error = await new Promise<string | null>((resolve) => {
    const worker = new Worker(new URL('./generate_worker.ts', import.meta.url), {
      workerData: input,
      resourceLimits: WORKER_LIMITS,
    });
    let failed: string | null = null;
    const stop = () => {
      failed = 'report job lost its claim (heartbeat)';
      void worker.terminate();
    };
    if (o.signal?.aborted) stop();
    else o.signal?.addEventListener('abort', stop, { once: true });
    worker.on('exit', () => o.signal?.removeEventListener('abort', stop));
    worker.on('error', (err) => (failed = `report worker failed: ${err.message}`));
    worker.on(
      'exit',
      (code) => resolve(failed ?? (code === 0 ? null : `report worker exited with code ${code}`)),
    );
  });
  // A stopped attempt leaves the report to the attempt that took its job over.
  if (error && !o.signal?.aborted) {
    const r = await getReport(sql, id);
    if (r && r.status !== 'ready') await failReport(sql, id, error);
  }
  const r = await getReport(sql, id);
  if (!r) throw new Error(`report ${id} does not exist`);
  const fields = {
    id,
    kind: r.kind,
    period: r.period,
    format: r.format,
    rows: r.rowCount,
    bytes: r.sizeBytes,
    ms: Math.round(performance.now() - started),
  };
  if (r.status === 'ready') log.info('report generated', fields);
  else log.error('report failed', { ...fields, error: r.error });
  return r;
}
