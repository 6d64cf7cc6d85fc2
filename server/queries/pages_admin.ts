/**
 * Admin page data: agents and background jobs (tokens come from server/auth/tokens.ts).
 * Data access only.
 */
import type { Heartbeat } from '../../agent/capture/heartbeat.ts';
import type { Sql } from '../db/connect.ts';
import { isUuid } from '../ids.ts';
import { hasJobTable } from './pages_dashboard.ts';

const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);

export type AgentRow = {
  tokenId: number;
  name: string;
  revoked: boolean;
  version: string | null;
  hostname: string | null;
  firstSeenAt: string;
  lastHeartbeatAt: string;
  /** As the agent last reported them. */
  spool: Partial<Heartbeat['spool']>;
  delivery: Partial<Heartbeat['delivery']>;
  sources: string[];
};

/** Agents as they last reported themselves, with the sources they own. */
export async function listAgents(sql: Sql): Promise<AgentRow[]> {
  const rows = await sql`
    select a.*, t.name, t.revoked_at is not null as revoked,
           array(select s.name from sources s where s.owner_token_id = a.token_id order by s.name) as sources
    from agents a join api_tokens t on t.id = a.token_id order by a.last_heartbeat_at desc`;
  return rows.map((r) => ({
    tokenId: r.token_id,
    name: r.name,
    revoked: r.revoked,
    version: r.version,
    hostname: r.hostname,
    firstSeenAt: iso(r.first_seen_at)!,
    lastHeartbeatAt: iso(r.last_heartbeat_at)!,
    spool: r.spool ?? {},
    delivery: r.delivery ?? {},
    sources: r.sources,
  }));
}

export type JobSummary = {
  installed: boolean;
  byState: { queue: string; state: string; count: number }[];
  recent: {
    id: string;
    queue: string;
    state: string;
    error: string | null;
    retryCount: number;
    createdOn: string;
    completedOn: string | null;
    singletonKey: string | null;
  }[];
};

/** pg-boss jobs of every queue: counts by queue and state, and the latest jobs (optionally one state). */
export async function jobOverview(
  sql: Sql,
  options: { state?: string; limit: number },
): Promise<JobSummary> {
  if (!(await hasJobTable(sql))) return { installed: false, byState: [], recent: [] };
  const [counts, rows] = await Promise.all([
    sql`select name, state::text, count(*)::int as n from pgboss.job group by name, state order by name, state`,
    sql`select id::text, name, state::text, output, retry_count, created_on, completed_on, singleton_key from pgboss.job
        ${options.state ? sql`where state::text = ${options.state}` : sql``}
        order by created_on desc limit ${options.limit}`,
  ]);
  return {
    installed: true,
    byState: counts.map((r) => ({ queue: r.name, state: r.state, count: r.n })),
    recent: rows.map((r) => ({
      id: r.id,
      queue: r.name,
      state: r.state,
      retryCount: r.retry_count,
      singletonKey: r.singleton_key,
      error: r.state === 'failed' || r.state === 'retry'
        ? (typeof r.output?.message === 'string'
          ? r.output.message
          : r.output
          ? JSON.stringify(r.output).slice(0, 500)
          : null)
        : null,
      createdOn: iso(r.created_on)!,
      completedOn: iso(r.completed_on),
    })),
  };
}

/** One pg-boss job's queue and state, or null. */
export async function jobState(
  sql: Sql,
  id: string,
): Promise<{ queue: string; state: string } | null> {
  if (!isUuid(id) || !(await hasJobTable(sql))) return null;
  const rows = await sql`select name, state::text from pgboss.job where id = ${id}::uuid`;
  return rows.length ? { queue: rows[0].name, state: rows[0].state } : null;
}
