/**
 * Storage maintenance: fact partitions created ahead of time, fact partitions past the
 * retention dropped (rollups, lifecycle and totals are kept), those of months that are over
 * rebuilt once (compact_partitions.ts), per-capture host and
 * datastore facts past the retention deleted, usage tiers pruned to their retention
 * (server/aggregate/usage_retention.ts), expired sessions removed. Idempotent.
 */
import type { Sql } from '../db/connect.ts';
import { log } from '../log.ts';
import { pruneUsage, type UsageRetention } from '../aggregate/usage_retention.ts';
import { compactFinishedPartitions, type PartitionCompaction } from './compact_partitions.ts';

/** The first instant kept: the start of the month `months` months before `now`'s month (UTC). */
export function retentionCutoff(now: Date, months: number): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 1));
}

/** Runs maintenance; `retentionMonths` 0 keeps facts forever. */
export async function runMaintenance(
  sql: Sql,
  o: {
    retentionMonths: number;
    /** Usage tier retention (server/aggregate/usage_retention.ts); left out: no usage pruning. */
    usage?: UsageRetention;
    aheadMonths?: number;
    /** Rebuild the fact partitions of months that are over (default true). */
    compact?: boolean;
    now?: Date;
  },
) {
  const now = o.now ?? new Date();
  const r = {
    partitionsEnsured: [] as string[],
    partitionsDropped: [] as string[],
    partitionsCompacted: [] as PartitionCompaction[],
    hostFactsDeleted: 0,
    datastoreFactsDeleted: 0,
    sessionsDeleted: 0,
    usage: null as Awaited<ReturnType<typeof pruneUsage>> | null,
  };
  for (let m = 0; m <= (o.aheadMonths ?? 2); m++) {
    const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + m, 1));
    const [{ part }] = await sql`select vm_hourly_stats_ensure_partition(${at}) as part`;
    r.partitionsEnsured.push(part);
  }
  if (o.retentionMonths > 0) {
    const cutoff = retentionCutoff(now, o.retentionMonths);
    const dropped = await sql`select vm_hourly_stats_drop_partitions_before(${cutoff}) as name`;
    r.partitionsDropped = dropped.map((d) => d.name);
    r.hostFactsDeleted = (await sql`delete from host_facts where snapshot_time < ${cutoff}`).count;
    r.datastoreFactsDeleted =
      (await sql`delete from datastore_facts where snapshot_time < ${cutoff}`).count;
    if (r.partitionsDropped.length) {
      log.info('fact partitions dropped (retention)', {
        partitions: r.partitionsDropped,
        cutoff: cutoff.toISOString(),
      });
    }
  }
  // After the retention: a partition about to be dropped is not rebuilt first.
  if (o.compact ?? true) r.partitionsCompacted = await compactFinishedPartitions(sql, now);
  if (o.usage) r.usage = await pruneUsage(sql, o.usage, now);
  // Past the absolute or the idle timeout (auth/sessions.ts); and OIDC logins never finished.
  r.sessionsDeleted = (await sql`
    delete from sessions
    where expires_at < now() or last_seen_at + make_interval(secs => idle_seconds) < now()`).count;
  await sql`delete from oidc_logins where expires_at < now()`;
  // (`session` in a field name is redacted by the logger, hence expiredLogins.)
  const { sessionsDeleted: expiredLogins, ...rest } = r;
  log.info('maintenance done', { ...rest, expiredLogins });
  return r;
}
