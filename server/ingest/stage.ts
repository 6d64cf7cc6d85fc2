/**
 * COPY helpers of the ingest transaction: streaming lines into a table, and the
 * capture_stage temp table that ingest_apply_capture() reads the capture's VMs from.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sql } from '../db/connect.ts';
import { STAGE_COLUMNS } from './vm_lines.ts';

/**
 * Streams COPY text into `table`. `chunks` is consumed lazily, so the lines of one chunk
 * are built while PostgreSQL is still inserting the previous one. At most one chunk waits
 * in the stream: by default Readable.from reads 16 ahead, and a capture's chunks (each a
 * rope of thousands of strings) then lived long enough to be copied by every young
 * generation collection, 10-16 ms apiece.
 */
export async function copyInto(
  tx: Sql,
  table: string,
  columns: readonly string[],
  chunks: Iterable<string>,
): Promise<void> {
  const writable = await tx.unsafe(`copy ${table} (${columns.join(', ')}) from stdin`).writable();
  await pipeline(Readable.from(chunks, { highWaterMark: 1 }), writable);
}

/**
 * Fills `capture_stage` with `lines` (see vm_lines.ts). The temp table lives as long as its
 * connection and is emptied at each commit: creating it for every capture wrote some 30
 * catalog rows and made the routine plan every statement again (~3 ms a capture).
 */
export async function stageLines(tx: Sql, lines: string[]): Promise<void> {
  await tx`
    create temp table if not exists capture_stage (
      key text not null, source_vm_id text not null, name text not null, power_state text not null,
      is_template boolean not null, vcpu integer not null, ram_mb integer not null,
      provisioned_disk_gb numeric(16, 3) not null, used_disk_gb numeric(16, 3), datacenter text, cluster text,
      host text, resource_pool text, folder text, guest_os text, bios_uuid text, instance_uuid text,
      ip_addresses text[] not null, tags text[] not null, annotation text, created_at timestamptz, state_hash bigint
    ) on commit delete rows`;
  if (lines.length === 0) return;
  await copyInto(tx, 'capture_stage', STAGE_COLUMNS, inChunks(lines));
}

/** ~1,000 lines per COPY message: big enough to be cheap, small enough to stream. */
export function* inChunks(lines: string[], size = 1000): Generator<string> {
  for (let i = 0; i < lines.length; i += size) yield lines.slice(i, i + size).join('');
}
