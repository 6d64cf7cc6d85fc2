/** Agents as they last reported themselves (the Agents admin page). Data access only. */
import type { Heartbeat } from '../../agent/capture/heartbeat.ts';
import { iso, type Sql } from '../db/connect.ts';

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

/** Agents, latest heartbeat first, with the sources they own. */
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
