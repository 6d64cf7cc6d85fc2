/**
 * Worker-thread entry of report generation (see run_in_worker.ts): its own small pool, one
 * report. The parent reads the outcome from the report's row; only the attempt that claimed
 * it is posted back (the parent fails the report under it if the worker dies).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createPool } from '../db/connect.ts';
import { setLogLevel } from '../log.ts';
import { generateReport } from './generate.ts';

export type WorkerInput = { url: string; reportId: string; tz: string; reclaim?: boolean };

const input = workerData as WorkerInput;
// The parent logs the outcome with its own logger and level; the worker only warns.
setLogLevel('warn');
const sql = createPool(input.url, { max: 2 });
try {
  await generateReport(sql, input.reportId, {
    tz: input.tz,
    reclaim: input.reclaim,
    onClaimed: (attempt) => parentPort?.postMessage({ attempt }),
  });
} finally {
  await sql.end({ timeout: 5 });
}
