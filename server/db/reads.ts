/**
 * Where list and detail reads go (issue 23): a streaming replica when DATABASE_READ_URL is
 * set, the primary otherwise. Writes and jobs always use the primary.
 *
 * Read-your-writes: a reader may name the WAL position of what it was last shown (an LSN,
 * from a page's `vmledger_lsn` cookie or the `X-Vmledger-Min-Lsn` header, itself given in every
 * answer's `X-Vmledger-Lsn`). The replica serves the read only once it has replayed that far;
 * it is asked again every 10 ms for at most `waitMs` (default 250 ms), then the read goes to
 * the primary. So a page read right after a capture never shows data older than what the
 * person was just shown, whichever node serves it.
 *
 * A replica that does not answer is left alone for `retryMs` (default 5 s), reads going to
 * the primary meanwhile; /healthz says so.
 */
import { createRequestPool, SERVER_TIMEOUTS, type Sql } from './connect.ts';

export type ReadTarget = { sql: Sql; from: 'replica' | 'primary'; lsn: string };

export type Reads = ReturnType<typeof createReads>;

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;

/** A well-formed LSN from a header or cookie, else null (anything else is ignored). */
export function parseLsn(value: string | undefined | null): string | null {
  return value && LSN.test(value) ? value.toUpperCase() : null;
}

export function createReads(
  primary: Sql,
  replicaUrl: string | undefined,
  options: { waitMs?: number; retryMs?: number } = {},
) {
  const waitMs = options.waitMs ?? 250;
  const retryMs = options.retryMs ?? 5_000;
  // As the primary's request pool (connect.ts): each read waits for the first free connection.
  // Its transactions are the list model's builds (read only), on two connections of their own.
  const replica = replicaUrl
    ? createRequestPool(replicaUrl, SERVER_TIMEOUTS, { transactionsMax: 2 })
    : null;
  let downUntil = 0;
  let lastError: string | null = null;
  const stats = { replica: 0, primary: 0, waitedForReplay: 0, replayTooSlow: 0, replicaDown: 0 };

  async function fromPrimary(): Promise<ReadTarget> {
    stats.primary++;
    if (!replica) return { sql: primary, from: 'primary', lsn: '' };
    const [r] = await primary`select pg_current_wal_lsn()::text as lsn`;
    return { sql: primary, from: 'primary', lsn: r.lsn };
  }

  return {
    configured: replica !== null,
    /** The replica's pool, when one is configured (per-pool settings: the list model's size). */
    replicaPool: replica,
    stats,
    /** The pool a read must use to see at least `minLsn` (null: any committed state). */
    async target(minLsn: string | null): Promise<ReadTarget> {
      if (!replica || Date.now() < downUntil) {
        if (replica) stats.replicaDown++;
        return fromPrimary();
      }
      const end = Date.now() + waitMs;
      let waited = false;
      try {
        for (;;) {
          const [r] = await replica`
            select pg_last_wal_replay_lsn()::text as lsn,
                   ${minLsn}::pg_lsn is null
                     or pg_last_wal_replay_lsn() >= ${minLsn}::pg_lsn as caught_up`;
          if (r.caught_up) {
            stats.replica++;
            if (waited) stats.waitedForReplay++;
            return { sql: replica, from: 'replica', lsn: r.lsn };
          }
          if (Date.now() >= end) {
            stats.replayTooSlow++;
            return fromPrimary();
          }
          waited = true;
          await new Promise((res) => setTimeout(res, 10));
        }
      } catch (err) {
        downUntil = Date.now() + retryMs;
        lastError = (err as Error).message;
        stats.replicaDown++;
        return fromPrimary();
      }
    },
    /** For /healthz: nothing without a replica; else ok (with its lag) or unavailable (reads on the primary). */
    async health(): Promise<Record<string, unknown>> {
      if (!replica) return {};
      try {
        const [p] = await primary`select pg_current_wal_lsn()::text as lsn`;
        const [r] = await replica`
          select pg_wal_lsn_diff(${p.lsn}::pg_lsn, pg_last_wal_replay_lsn())::float8 as lag_bytes,
                 coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0)::float8
                   as since_last_replay_s`;
        downUntil = 0;
        return {
          replica: 'ok',
          reads: 'replica',
          replicaLagBytes: Math.max(0, r.lag_bytes),
          replicaLastReplayAgoSeconds: Math.round(r.since_last_replay_s * 10) / 10,
        };
      } catch (err) {
        downUntil = Date.now() + retryMs;
        lastError = (err as Error).message;
        return { replica: 'unavailable', reads: 'primary', replicaError: lastError };
      }
    },
    close: () => replica?.end({ timeout: 5 }) ?? Promise.resolve(),
  };
}
