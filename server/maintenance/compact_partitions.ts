/**
 * Fact partitions whose month is over are rebuilt once, so that every later read of that
 * history probes a smaller index (fact_partition_compactions, migration 0072).
 *
 * A partition is written capture by capture, each capture's keys landing inside its source's
 * range of the primary key, not at its end: its pages split and stay part full. Through the
 * ingest (two sources of 5,000 VMs, hourly, a day) the leaves were 69 % full; rebuilt, 90 %:
 * a quarter smaller. (The history bench writes each capture in key order, which leaves them
 * half full: 629 MB a month at 10,000 VMs, rebuilt 370 MB.) Every later read of the month
 * (as-of pages, a VM's trace, reports) probes it. The month is rebuilt once it ended a day
 * ago (late captures of that day land first); a capture later still is stored as ever, into
 * the rebuilt index.
 *
 * REINDEX CONCURRENTLY blocks neither reads nor ingest (it cannot run in a transaction, so
 * this is not one). A rebuild that fails (cancelled, out of disk) leaves an invalid copy of
 * the index behind: it is dropped (then, or before the next try), the partition is not
 * recorded, and the next run tries again.
 */
import type { Sql } from '../db/connect.ts';
import { log } from '../log.ts';

/** How long after its month ended a partition is rebuilt. */
const GRACE_MS = 86_400_000;

export type PartitionCompaction = { partition: string; bytesBefore: number; bytesAfter: number };

/** Rebuilds the indexes of the fact partitions whose month ended a day before `now`. */
export async function compactFinishedPartitions(
  sql: Sql,
  now: Date,
): Promise<PartitionCompaction[]> {
  const done: PartitionCompaction[] = [];
  const finished = await sql`
    select partition_name, index_bytes
    from vm_hourly_stats_finished_partitions(${new Date(now.getTime() - GRACE_MS)})`;
  for (const { partition_name: partition, index_bytes: bytesBefore } of finished) {
    try {
      await dropInvalidIndexes(sql, partition);
      await sql`reindex table concurrently ${sql(partition)}`;
    } catch (err) {
      // Dropping the copy waits for the same readers the rebuild waited for: if it cannot
      // either, the next run drops it before it rebuilds.
      await dropInvalidIndexes(sql, partition).catch(() => {});
      log.warn('fact partition not compacted (tried again at the next maintenance)', {
        partition,
        error: String(err),
      });
      continue;
    }
    const [{ bytes }] = await sql`
      insert into fact_partition_compactions (partition_name, index_bytes_before, index_bytes_after)
      values (${partition}, ${bytesBefore}, pg_indexes_size(${partition}::regclass))
      returning index_bytes_after as bytes`;
    done.push({ partition, bytesBefore: Number(bytesBefore), bytesAfter: Number(bytes) });
  }
  if (done.length) log.info('fact partitions compacted', { partitions: done });
  return done;
}

/** The copies a failed REINDEX CONCURRENTLY left on `partition` (invalid, never used). */
async function dropInvalidIndexes(sql: Sql, partition: string) {
  const invalid = await sql`
    select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid
    where i.indrelid = ${partition}::regclass and not i.indisvalid`;
  for (const { relname } of invalid) await sql`drop index concurrently if exists ${sql(relname)}`;
}
