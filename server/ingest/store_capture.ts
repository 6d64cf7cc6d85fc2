/**
 * Stores one validated capture in one transaction: source registration and ownership,
 * the captures row (idempotency by capture id), then the VMs applied to facts, lifecycle,
 * inventory, hosts, datastores, totals and registry by
 * sql/routines/ingest_apply_capture.sql. Either all of it is committed or none of it.
 *
 * A capture newer than its source's newest (the usual case) takes the fast way: facts are
 * COPYed straight into their partition, and only the VMs whose rows may change are staged
 * for the routine, found through the source's state (source_state.ts). Late captures and a
 * source's first capture stage every VM and let the routine do all of it.
 */
import type { CaptureHead } from '../../agent/capture/schema.ts';
import type { Sql } from '../db/connect.ts';
import type { TokenInfo } from '../auth/tokens.ts';
import { AppError } from '../errors.ts';
import { CaptureTotalsSum } from './capture_totals.ts';
import { type IncomingCapture, NeedsWholeParse } from './incoming_capture.ts';
import {
  CaptureComparison,
  loadSourceState,
  type SourceState,
  sourceStateCache,
} from './source_state.ts';
import { copyFactsPickingChanges, ensureStageTables, stageLines } from './stage.ts';
import { stageLine } from './vm_lines.ts';
import { vmTextMemos } from './vm_text_memo.ts';

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
  /** How many VMs were staged for the routine: all of them, or (fast way) those that may change. */
  staged: number;
};

export type StoreOptions = {
  /** Stage every VM even for a newer capture: the reference the fast way is tested against. */
  stageEverything?: boolean;
};

type ClaimedSource = { id: number; generation: string; lastCaptureAt: Date | null };

/** 403 unless `token` may post for the capture's source by its list of allowed sources. */
function checkAllowedSource(capture: CaptureHead, token: TokenInfo): void {
  const s = capture.source;
  if (
    token.role === 'agent' && token.allowedSources &&
    !token.allowedSources.includes(`${s.kind}:${s.id}`)
  ) {
    throw new AppError(
      'source_not_yours',
      `this agent token may post only for ${token.allowedSources.join(', ')}`,
    );
  }
}

/**
 * Registers the source if new and checks that `token` may post for it. The row lock
 * taken here also serialises concurrent captures of one source, so lifecycle reasoning
 * always sees a consistent order, and the generation read here is the one this
 * transaction will bump.
 */
async function claimSource(
  tx: Sql,
  capture: CaptureHead,
  token: TokenInfo,
): Promise<ClaimedSource> {
  const s = capture.source;
  const claimant = token.role === 'agent' ? token.id : null;
  const [row] = await tx`
    insert into sources (kind, external_id, name, endpoint, version, owner_token_id)
    values (${s.kind}, ${s.id}, ${s.name}, ${s.endpoint}, ${s.version}, ${claimant})
    on conflict (kind, external_id) do update set
      name = excluded.name, endpoint = excluded.endpoint, version = excluded.version,
      owner_token_id = coalesce(sources.owner_token_id, excluded.owner_token_id)
    returning id, owner_token_id, generation::text as generation, last_capture_at`
    // Sent now, not when awaited (a microtask later), so that it goes before insertCaptureRow's.
    .execute();
  if (token.role === 'agent' && row.owner_token_id !== token.id) {
    throw new AppError(
      'source_not_yours',
      `source ${s.kind}:${s.id} belongs to another agent token`,
    );
  }
  return { id: row.id, generation: row.generation, lastCaptureAt: row.last_capture_at };
}

/**
 * The captures row, unless its capture id is there already (then no row is returned). The
 * source is found by its key, as claimSource wrote it just before in the same transaction:
 * the two are sent together, one round trip fewer before the COPY. The VM count is set at
 * the end: the VMs may not all be parsed yet.
 */
function insertCaptureRow(tx: Sql, capture: CaptureHead, token: TokenInfo) {
  return tx`
    insert into captures (capture_id, source_id, captured_at, complete, errors, vm_count,
                          host_count, datastore_count, event_count, token_id, schema_version)
    select ${capture.captureId}, s.id, ${capture.capturedAt}, ${capture.complete},
           ${tx.json(capture.errors)}, 0, ${capture.hosts.length}, ${capture.datastores.length},
           ${capture.events.length}, ${token.id}, ${capture.schemaVersion}
    from sources s where s.kind = ${capture.source.kind} and s.external_id = ${capture.source.id}
    on conflict (capture_id) do nothing
    returning capture_id`.execute();
}

/** The earliest capture time accepted. */
const EARLIEST_CAPTURE = '2000-01-01T00:00:00Z';
/** How far ahead of the server's clock a capture time may be (agents' clocks drift). */
const MAX_CAPTURE_AHEAD_MS = 10 * 60_000;

/**
 * 400 unless `capturedAt` lies between 2000-01-01 and 10 minutes past the server's clock:
 * a capture time out there is a broken clock, and storing it would create a partition for
 * its month and make every later capture of its source "late".
 */
function checkCapturedAt(capturedAt: string, now = Date.now()): void {
  const t = Date.parse(capturedAt);
  if (t >= Date.parse(EARLIEST_CAPTURE) && t <= now + MAX_CAPTURE_AHEAD_MS) return;
  const message = `must be from ${EARLIEST_CAPTURE} to 10 minutes past the server's clock ` +
    `(now ${new Date(now).toISOString()}); got ${capturedAt}`;
  throw new AppError('invalid_captured_at', `capturedAt ${message}`, {
    issues: [{ path: 'capturedAt', message }],
  });
}

/**
 * Stores `incoming` once; a capture id seen before is reported as a duplicate and changes
 * nothing. The VMs of a capture read from text are validated as they are used: one that
 * is invalid throws NeedsWholeParse and nothing is stored.
 */
export async function storeCapture(
  sql: Sql,
  incoming: IncomingCapture,
  token: TokenInfo,
  options: StoreOptions = {},
): Promise<StoreResult> {
  const started = performance.now();
  const { head: capture, vms } = incoming;
  checkCapturedAt(capture.capturedAt);
  checkAllowedSource(capture, token);
  const base = { captureId: capture.captureId, capturedAt: capture.capturedAt };
  const cache = sourceStateCache(sql);
  const memos = vmTextMemos(sql);
  // Partition DDL takes a strong lock on the parent: keep it out of the ingest transaction.
  // It runs on a connection of its own while the transaction claims the source (neither
  // touches the facts), one round trip fewer before the COPY; awaited (and its error thrown)
  // before the facts are written.
  const partitionReady =
    sql`select vm_hourly_stats_ensure_partition(${capture.capturedAt}) as partition`
      .then(([row]) => row.partition as string);
  partitionReady.catch(() => {});
  const kept: { sourceId?: number; state?: SourceState } = {};
  try {
    const result = await sql.begin(async (txn) => {
      const tx = txn as unknown as Sql;
      // Sent at once and answered in order: the claim, the captures row, the stage tables.
      // A refusal of the claim is the answer; the rest then rolls back unseen.
      const claimed = claimSource(tx, capture, token);
      const row = insertCaptureRow(tx, capture, token);
      const stageReady = ensureStageTables(tx);
      row.catch(() => {});
      stageReady.catch(() => {});
      const source = await claimed;
      const inserted = await row;
      await stageReady;
      if (inserted.length === 0) {
        // An invalid capture is refused as such even when its id was seen before.
        if (!(await vms.allValid())) throw new NeedsWholeParse('a VM is invalid');
        return {
          ...base,
          vmCount: vms.keys.size,
          sourceId: source.id,
          duplicate: true,
          late: false,
          deleted: 0,
          reappeared: 0,
          staged: 0,
        };
      }
      const partition = await partitionReady;
      const newer = source.lastCaptureAt !== null &&
        new Date(capture.capturedAt) > source.lastCaptureAt;
      const totals = new CaptureTotalsSum();
      let leftOut: string[] | null = null;
      let staged: string[];
      if (newer && !options.stageEverything) {
        const state = cache.take(source.id, source.generation) ??
          await loadSourceState(tx, source.id, source.generation);
        const comparison = new CaptureComparison(state, capture.events);
        staged = await copyFactsPickingChanges(
          tx,
          partition,
          source.id,
          capture,
          vms.parts(memos.use(source.id)),
          (key) => vms.usageOf(key),
          comparison,
          totals,
        );
        leftOut = comparison.leftOut(vms.keys);
        comparison.advance(leftOut, capture.complete);
        kept.sourceId = source.id;
        kept.state = state;
      } else {
        staged = (await vms.all(memos.use(source.id))).map((vm) => {
          totals.add(vm);
          return stageLine(vm, vms.usageOf(vm.key));
        });
      }
      await stageLines(tx, staged);
      const [{ outcome }] = await tx`
        select ingest_apply_capture(${source.id}, ${capture.captureId}, ${capture.capturedAt}, ${capture.complete},
          ${tx.json(capture.events)}, ${tx.json(capture.hosts)}, ${tx.json(capture.datastores)},
          ${tx.json(capture.clusters)}, ${tx.json(capture.resourcePools)}, ${
        tx.json(capture.networks)
      },
          ${tx.json(totals.result())}, ${leftOut}::text[]) as outcome`;
      const [{ generation }] = await tx`
        with bump as (
          update sources set last_capture_at = greatest(last_capture_at, ${capture.capturedAt}::timestamptz),
            generation = generation + 1
          where id = ${source.id}
          returning generation::text as generation
        ), timing as (
          update captures set vm_count = ${vms.keys.size},
            ingest_ms = ${Math.round(performance.now() - started)}
          where capture_id = ${capture.captureId}
        )
        select generation from bump`;
      if (kept.state) kept.state.generation = generation;
      return {
        ...base,
        vmCount: vms.keys.size,
        sourceId: source.id,
        duplicate: false,
        late: outcome.late,
        deleted: outcome.deleted,
        reappeared: outcome.reappeared,
        staged: staged.length,
      };
    });
    // Only a committed state describes the database; it is what the next capture starts from.
    if (kept.state) cache.put(kept.sourceId!, kept.state);
    return result;
  } catch (err) {
    const e = err as { code?: string; constraint_name?: string };
    if (e.code === '23505' && e.constraint_name === 'captures_source_id_captured_at_key') {
      throw new AppError(
        'capture_conflict',
        `source ${capture.source.kind}:${capture.source.id} already has a different capture at ${capture.capturedAt}`,
      );
    }
    throw err;
  }
}
