/**
 * Jobs and page sessions for suites: pg-boss on a suite's database with the settings tests
 * share (every feature, UTC, the SQL engine, no cron schedules, quick polling and retries),
 * and a logged-in page session with its CSRF token.
 */
import { type Jobs, type JobsOptions, startJobs } from '../../server/jobs/boss.ts';
import { JOB_FEATURES } from '../../server/main.ts';
import type { TestDatabase } from './db.ts';

/** pg-boss for a suite; `options` override the shared test settings (e.g. `workers: false`). */
export function startTestJobs(db: TestDatabase, options: Partial<JobsOptions> = {}): Promise<Jobs> {
  return startJobs({
    sql: db.sql,
    url: db.url,
    features: JOB_FEATURES,
    reportTz: 'UTC',
    engine: 'sql',
    dailyAt: '00:30',
    schedule: false,
    retryDelaySeconds: 1,
    pollingIntervalSeconds: 0.5,
    ...options,
  });
}

type RequestApp = { request(path: string, init?: RequestInit): Response | Promise<Response> };

/** Logs `token` in to the pages; the session cookie and the CSRF token shown on `page`. */
export async function pageSession(
  app: RequestApp,
  token: string,
  page = '/',
): Promise<{ cookie: string; csrf: string }> {
  const res = await app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  if (res.status !== 303) throw new Error(`login answered ${res.status}, not 303`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0];
  const html = await (await app.request(page, { headers: { cookie } })).text();
  return { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(html)![1] };
}
