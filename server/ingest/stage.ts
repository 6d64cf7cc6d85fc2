/**
 * The COPYs of the ingest transaction: streaming lines into a table, a newer capture's facts
 * straight into their partition, and the capture_stage temp table that
 * ingest_apply_capture() reads the capture's VMs from. Each VM's text and state hash come
 * from its digest (vm_lines.ts).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { CaptureHead } from '../../agent/capture/schema.ts';
import type { Sql } from '../db/connect.ts';
import type { CaptureTotalsSum } from './capture_totals.ts';
import type { CaptureComparison } from './source_state.ts';
import { FACT_COLUMNS, STAGE_COLUMNS, stageLine, type VmDigest } from './vm_lines.ts';

/**
 * Streams COPY text into `table`. `chunks` is consumed lazily, so the lines of one chunk
 * are built while PostgreSQL is still inserting the previous one. At most one chunk waits
 * in the stream: by default Readable.from reads 16 ahead, and a capture's chunks (each a
 * rope of thousands of strings) then lived long enough to be copied by every young
 * generation collection, 10-16 ms apiece.
 *
 * Settles when PostgreSQL refuses the data. postgres.js 3.4 (porsager/postgres#1173) hands
 * the error of a COPY that PostgreSQL rejects after the stream ended (all data sent, the
 * usual case for a small capture) only to the COPY query's promise, already resolved with
 * the stream, and never calls the stream's final callback: awaiting the stream alone hung
 * forever, holding the connection "idle in transaction (aborted)". So the query's reject
 * is watched too, and the first error of either ends the COPY.
 */
export async function copyInto(
  tx: Sql,
  table: string,
  columns: readonly string[],
  chunks: Iterable<string> | AsyncIterable<string>,
): Promise<void> {
  const query = tx.unsafe(`copy ${table} (${columns.join(', ')}) from stdin`);
  const refused = refusalOf(query);
  const writable = await query.writable();
  const copied = pipeline(Readable.from(chunks, { highWaterMark: 1 }), writable);
  const error = await Promise.race([copied.then(() => null), refused]);
  if (error === null) return;
  // The stream never finishes now: destroy it (PostgreSQL ignores the CopyFail it sends
  // outside COPY) so the source's generator is closed, and leave its rejection unobserved.
  copied.catch(() => {});
  writable.destroy(error);
  throw error;
}

/** postgres.js's query object, whose own `reject` its connection calls with a query's error. */
type Rejectable = { reject: (err: unknown) => unknown };

/** Resolves with the error the connection reports for `query`, even after it resolved. */
function refusalOf(query: object): Promise<Error> {
  const q = query as Rejectable;
  if (typeof q.reject !== 'function') {
    throw new Error('postgres.js no longer has Query.reject: review copyInto (stage.ts)');
  }
  return new Promise((resolve) => {
    const reject = q.reject;
    q.reject = (err: unknown) => {
      resolve(err instanceof Error ? err : new Error(String(err)));
      return reject(err);
    };
  });
}

/**
 * COPYs every VM of `parts` (with its usage: `usageOf`) into `partition`, adding each to `totals`, and returns the
 * stage lines of the VMs that `comparison` says must be staged. The facts stream part by
 * part, so parsing, validating and building the text of a part overlap PostgreSQL's
 * inserting the previous one.
 */
export async function copyFactsPickingChanges(
  tx: Sql,
  partition: string,
  sourceId: number,
  capture: CaptureHead,
  parts: AsyncIterable<VmDigest[]>,
  usageOf: (key: string) => string,
  comparison: CaptureComparison,
  totals: CaptureTotalsSum,
): Promise<string[]> {
  const prefix = `${sourceId}\t${capture.capturedAt}\t${capture.captureId}\t`;
  const changed: string[] = [];
  async function* chunks(): AsyncGenerator<string> {
    for await (const part of parts) {
      let out = '';
      for (const vm of part) {
        totals.add(vm);
        if (comparison.mustStage(vm.key, vm.sourceVmId, vm.hash)) {
          changed.push(stageLine(vm));
        }
        out += `${prefix}${vm.facts}\t${usageOf(vm.key)}\n`;
      }
      yield out;
      // The inflater (read_body.ts) starts its next piece only from the event loop: without
      // this turn, it waited while part after part went by in promise callbacks alone.
      await nextTurn();
    }
  }
  await copyInto(tx, partition, FACT_COLUMNS, chunks());
  return changed;
}

/**
 * Creates, unless this connection has them, the temp tables ingest_apply_capture() reads:
 * `capture_stage` (filled by stageLines) and `site_stage` (the capture's site objects as
 * history documents, filled by the routine). They live as long as their connection and are
 * emptied at each commit: creating them for every capture wrote some 30 catalog rows and
 * made the routine plan every statement again (~3 ms a capture). Sent without waiting for
 * the answer (store_capture.ts), so it costs no round trip of its own.
 */
export function ensureStageTables(tx: Sql): Promise<unknown> {
  return tx.unsafe(
    `create temp table if not exists capture_stage (
      key text not null, source_vm_id text not null, name text not null, power_state text not null,
      is_template boolean not null, vcpu integer not null, ram_mb integer not null,
      provisioned_disk_gb numeric(16, 3) not null, used_disk_gb numeric(16, 3), datacenter text, cluster text,
      host text, resource_pool text, folder text, guest_os text, bios_uuid text, instance_uuid text,
      ip_addresses text[] not null, tags text[] not null, annotation text, created_at timestamptz, config jsonb,
      state_hash bigint, cpu_usage_mhz integer, guest_memory_mib integer, host_memory_mib integer,
      guest_disk_free jsonb
    ) on commit delete rows;
    create temp table if not exists site_stage (kind text not null, key text not null, doc jsonb not null)
    on commit delete rows`,
  ).simple().execute();
}

/** Fills `capture_stage` (ensureStageTables) with `lines` (see vm_lines.ts). */
export async function stageLines(tx: Sql, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await copyInto(tx, 'capture_stage', STAGE_COLUMNS, inChunks(lines));
}

/** ~1,000 lines per COPY message: big enough to be cheap, small enough to stream. */
function* inChunks(lines: string[], size = 1000): Generator<string> {
  for (let i = 0; i < lines.length; i += size) yield lines.slice(i, i + size).join('');
}
