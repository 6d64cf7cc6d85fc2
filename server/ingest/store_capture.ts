/**
 * Stores one validated capture in one transaction: source registration and ownership,
 * the captures row (idempotency by capture id), then the staged VMs applied to facts,
 * lifecycle, inventory, hosts, datastores, totals and registry by
 * sql/routines/ingest_apply_capture.sql. Either all of it is committed or none of it.
 */
import type { Capture } from '../../agent/capture/schema.ts';
import type { Sql } from '../db/connect.ts';
import type { TokenInfo } from '../auth/tokens.ts';
import { ApiError } from '../http/errors.ts';
import { stageVms } from './stage.ts';

export type StoreResult = {
  captureId: string;
  sourceId: number;
  capturedAt: string;
  duplicate: boolean;
  vmCount: number;
  /** Arrived after a newer capture of the same source (an agent draining its spool). */
  late: boolean;
  deleted: number;
  reappeared: number;
};

/**
 * Registers the source if new and checks that `token` may post for it. The row lock
 * taken here also serialises concurrent captures of one source, so lifecycle reasoning
 * always sees a consistent order.
 */
async function claimSource(tx: Sql, capture: Capture, token: TokenInfo): Promise<number> {
  const s = capture.source;
  if (token.role === 'agent' && token.allowedSources && !token.allowedSources.includes(`${s.kind}:${s.id}`)) {
    throw new ApiError(403, 'source_not_yours', `this agent token may post only for ${token.allowedSources.join(', ')}`);
  }
  const claimant = token.role === 'agent' ? token.id : null;
  const [row] = await tx`
    insert into sources (kind, external_id, name, endpoint, version, owner_token_id)
    values (${s.kind}, ${s.id}, ${s.name}, ${s.endpoint}, ${s.version}, ${claimant})
    on conflict (kind, external_id) do update set
      name = excluded.name, endpoint = excluded.endpoint, version = excluded.version,
      owner_token_id = coalesce(sources.owner_token_id, excluded.owner_token_id)
    returning id, owner_token_id`;
  if (token.role === 'agent' && row.owner_token_id !== token.id) {
    throw new ApiError(403, 'source_not_yours', `source ${s.kind}:${s.id} belongs to another agent token`);
  }
  return row.id as number;
}

/** Stores `capture` once; a capture id seen before is reported as a duplicate and changes nothing. */
export async function storeCapture(sql: Sql, capture: Capture, token: TokenInfo): Promise<StoreResult> {
  const started = performance.now();
  const base = { captureId: capture.captureId, capturedAt: capture.capturedAt, vmCount: capture.vms.length };
  // Partition DDL takes a strong lock on the parent: keep it out of the ingest transaction.
  await sql`select vm_hourly_stats_ensure_partition(${capture.capturedAt})`;
  try {
    return await sql.begin(async (txn) => {
      const tx = txn as unknown as Sql;
      const sourceId = await claimSource(tx, capture, token);
      const inserted = await tx`
        insert into captures (capture_id, source_id, captured_at, complete, errors, vm_count,
                              host_count, datastore_count, event_count, token_id, schema_version)
        values (${capture.captureId}, ${sourceId}, ${capture.capturedAt}, ${capture.complete},
                ${tx.json(capture.errors)}, ${capture.vms.length}, ${capture.hosts.length},
                ${capture.datastores.length}, ${capture.events.length}, ${token.id}, ${capture.schemaVersion})
        on conflict (capture_id) do nothing
        returning capture_id`;
      if (inserted.length === 0) {
        return { ...base, sourceId, duplicate: true, late: false, deleted: 0, reappeared: 0 };
      }
      await stageVms(tx, capture.vms);
      const [{ outcome }] = await tx`
        select ingest_apply_capture(${sourceId}, ${capture.captureId}, ${capture.capturedAt}, ${capture.complete},
          ${tx.json(capture.events as any)}, ${tx.json(capture.hosts as any)}, ${tx.json(capture.datastores as any)}) as outcome`;
      await tx`
        update sources set last_capture_at = greatest(last_capture_at, ${capture.capturedAt}::timestamptz),
          generation = generation + 1
        where id = ${sourceId}`;
      await tx`
        update captures set ingest_ms = ${Math.round(performance.now() - started)}
        where capture_id = ${capture.captureId}`;
      return { ...base, sourceId, duplicate: false, late: outcome.late, deleted: outcome.deleted, reappeared: outcome.reappeared };
    });
  } catch (err) {
    const e = err as { code?: string; constraint_name?: string };
    if (e.code === '23505' && e.constraint_name === 'captures_source_id_captured_at_key') {
      throw new ApiError(409, 'capture_conflict',
        `source ${capture.source.kind}:${capture.source.id} already has a different capture at ${capture.capturedAt}`);
    }
    throw err;
  }
}
