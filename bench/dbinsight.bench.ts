/**
 * Database insight speed (issue 24): scanning the top 100 statements with every rule (a
 * generic plan of each, the catalogue rules, hypopg when present) and the Database page's
 * first contentful paint in headless Chromium (cold cache; the findings arrive after it).
 *
 *   npm run bench -- dbinsight [--reps 3] [--rows 50000]
 *
 * The workload: 20 tables of `--rows` rows, 5 statement shapes on each (100 distinct
 * statements: selective filters on unindexed columns, two-column filters, joins, counts,
 * a correlated subquery), each run 3 times after pg_stat_statements is reset.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp } from '../server/app.ts';
import { createToken } from '../server/auth/tokens.ts';
import { findings } from '../server/dbinsight/rules.ts';
import { insightStatus } from '../server/dbinsight/stats.ts';
import { listen } from '../server/runtime.ts';
import { provision } from '../scripts/provision.ts';
import { launchChromium } from '../tests/support/chromium.ts';
import { openBenchDatabase } from './bench_db.ts';
import { type BenchReport, median } from './harness.ts';

const TABLES = 20;
const SCAN_GOAL_MS = 2000;
const FCP_GOAL_MS = 1000;

function arg(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

export default async function benchDbInsight(argv: string[] = []): Promise<BenchReport[]> {
  const reps = arg(argv, 'reps', 3);
  const rows = arg(argv, 'rows', 50_000);
  const browser = provision('chromium', 'the Database page benchmark');
  if (!browser.ok) throw new Error(`${browser.reason}; install: ${browser.install}`);
  const db = await openBenchDatabase('dbinsight');
  const sql = db.sql;
  const profile = mkdtempSync(path.join(os.tmpdir(), 'vml-bench-dbinsight-'));
  try {
    const status = await insightStatus(sql);
    if (!status.ready) {
      throw new Error(`pg_stat_statements is not ready: ${status.missing.join('; ')}`);
    }
    const t0 = performance.now();
    for (let t = 0; t < TABLES; t++) {
      await sql.unsafe(`
        create table bench_t${t} (id bigint primary key, a int, b int, c int, d int, note text);
        insert into bench_t${t} select i, i % 1000, i % 1000, i % 37, i % 5000, 'n' || i
          from generate_series(1, ${rows}) i;
        analyze bench_t${t};`);
    }
    const seedMs = performance.now() - t0;
    await sql`select pg_stat_statements_reset()`;
    for (let t = 0; t < TABLES; t++) {
      const u = (t + 1) % TABLES;
      const shapes = [
        `select id, note from bench_t${t} where d = $1`,
        `select id from bench_t${t} where a = $1 and b = $2`,
        `select count(*) from bench_t${t} where c = $1`,
        `select x.id from bench_t${t} x join bench_t${u} y on y.id = x.d where x.d = $1`,
        `select o.id, (select count(*) from bench_t${u} i where i.d = o.id) from bench_t${t} o where o.id < $1`,
      ];
      for (const [k, q] of shapes.entries()) {
        for (let r = 0; r < 3; r++) await sql.unsafe(q, k === 1 ? [r, r] : [k === 4 ? 3 : r]);
      }
    }

    const scans: number[] = [];
    let last: Awaited<ReturnType<typeof findings>> | null = null;
    for (let i = 0; i < reps; i++) {
      const s = performance.now();
      last = await findings(sql, { statements: 100 });
      scans.push(performance.now() - s);
    }
    const scanMs = median(scans);

    const app = createApp(sql, { maxBodyBytes: 1024 * 1024, sessionHours: 1 });
    const server = await listen(app.fetch, '127.0.0.1', 0);
    const base = `http://127.0.0.1:${server.port}`;
    const context = await launchChromium(profile, { viewport: { width: 1280, height: 860 } });
    const fcps: number[] = [];
    const ttfbs: number[] = [];
    try {
      const { token } = await createToken(sql, { name: 'bench admin', role: 'admin' });
      const login = await fetch(`${base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, next: '/' }).toString(),
      });
      const cookie = login.headers.get('set-cookie')!.split(';')[0];
      const [name, value] = cookie.split('=');
      await context.addCookies([{ name, value, url: base }]);
      for (let i = 0; i < reps + 1; i++) {
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
        await page.goto(`${base}/database`, { waitUntil: 'load' });
        const m = await page.evaluate(() =>
          new Promise<{ fcp: number; ttfb: number }>((resolve) => {
            const nav = performance.getEntriesByType(
              'navigation',
            )[0] as PerformanceNavigationTiming;
            const done = (fcp: number) => resolve({ fcp, ttfb: nav.responseStart });
            const hit = performance.getEntriesByName('first-contentful-paint')[0];
            if (hit) return done(hit.startTime);
            new PerformanceObserver((list) => {
              const e = list.getEntriesByName('first-contentful-paint')[0];
              if (e) done(e.startTime);
            }).observe({ type: 'paint', buffered: true });
          })
        );
        // The findings arrive after the paint (htmx); wait for them before the next round.
        await page.waitForSelector('#db-findings', { timeout: 30_000 });
        await page.close();
        if (i > 0) {
          fcps.push(m.fcp);
          ttfbs.push(m.ttfb);
        }
      }
    } finally {
      await context.close();
      await server.close();
    }
    const fcpMs = median(fcps);
    const notes = `${os.cpus().length} CPUs; PostgreSQL ${
      Math.floor(status.serverVersion / 10000)
    }, hypopg ${status.hypopg ? 'on' : 'off'}; ${TABLES} tables of ${rows} rows seeded in ${
      (seedMs / 1000).toFixed(1)
    } s; median of ${reps}`;
    return [
      {
        name: 'dbinsight-scan',
        title: `database insight: ${last!.statementsScanned} statements scanned with every rule`,
        goal: `≤ ${SCAN_GOAL_MS} ms`,
        met: scanMs <= SCAN_GOAL_MS && last!.statementsScanned >= 100,
        metrics: {
          scanMs: Math.round(scanMs),
          statementsScanned: last!.statementsScanned,
          statementsExplained: last!.statementsExplained,
          findings: last!.items.length,
        },
        notes,
      },
      {
        name: 'dbinsight-page',
        title: 'Database page: first contentful paint (cold cache; findings after it)',
        goal: `≤ ${FCP_GOAL_MS} ms`,
        met: fcpMs <= FCP_GOAL_MS,
        metrics: { fcpMs: Math.round(fcpMs), ttfbMs: Math.round(median(ttfbs)) },
        notes,
      },
    ];
  } finally {
    await db.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
