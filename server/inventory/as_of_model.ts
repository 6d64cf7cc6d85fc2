/**
 * The VM list as of a past moment as an in-memory model (list_model.ts' ListModel) of the
 * captures read then, built once that moment has been asked enough to pay for it.
 *
 * Why: as of a moment, a list with a filter or a sort other than by name reads every fact of
 * the captures read (there is no index of the past by cluster or by size); at 100,000 VMs that
 * is ~100 ms of database CPU an answer, where people slicing one moment ask many. A model of
 * the moment answers them as the present's does (~0.1 ms).
 *
 * When: an answer depends on the captures read from each source (asOfKey) and on the
 * inventory generation (the VMs' identity and state now). Answers the database gives are
 * charged to their moment by their estimated cost; a moment's model is built once its charges
 * reach what a build is expected to cost (rent or buy: at most about twice the cheaper
 * choice). Moments asked once or twice (a load spread over the whole history) never get
 * one. At most MODELS_KEPT are kept, the one used last first; a newer generation drops them.
 *
 * Exact by construction, like the present's: the build statement makes its rows as the SQL
 * path makes an `at` page's rows (the facts of capturesAsOf, AS_OF_PAGE_COLUMNS, the VM as
 * known now), and PostgreSQL ranks them with the list's own sort expressions.
 *
 * Data access only: handed a `sql`, knows nothing of HTTP.
 */
import type { Sql } from '../db/connect.ts';
import { constantFragment } from '../db/fragments.ts';
import { log } from '../log.ts';
import { capturesAsOf, factColumns, sourcesAsOf, toAsOf } from './as_of.ts';
import { AS_OF_PAGE_COLUMNS, ITEM_JSON, KNOWN_NOW_JOIN } from './list_columns.ts';
import {
  AS_I,
  ListModel,
  MAX_MODEL_ROWS,
  modelRows,
  RANKED_ROWS,
  RAW,
  STATE_DELETED,
  STATE_LIVE,
} from './list_model.ts';
import type { VmAsOf, VmListQuery } from './list_query.ts';

/** How many moments keep a model (each ~1 kB a VM, as the present's). */
const MODELS_KEPT = 2;

/** How many moments' charges are remembered (the oldest charged are forgotten first). */
const MOMENTS_TRACKED = 2_000;

/** A build's cost per VM until one was measured, ms (100,000 VMs: ~4 s, list_model.ts). */
const FIRST_MS_PER_ROW = 0.04;

/** The VMs of a moment when neither the present's model nor a moment's was built yet. */
const FIRST_ROWS_GUESS = 10_000;

/** What an answer as of a moment was read from: the capture of each source (none: empty). */
export function asOfKey(asOf: VmAsOf): string {
  return [
    ...asOf.captures.map((c) => `${c.sourceId}:${c.captureId}`),
    ...asOf.sourcesWithoutCapture.map((s) => `${s.sourceId}:`),
  ].sort().join(',');
}

/** Whether a moment's model can answer `query`: a past moment, with filters it holds. */
export function servableAsOf(query: VmListQuery): boolean {
  return !!query.at && query.tag === undefined && query.datastore === undefined;
}

/**
 * Reads the model of the estate as of `at` from `sql`, with the key of the captures it was
 * read from, in one snapshot; null when those captures hold more than `maxRows` VMs.
 */
export async function buildAsOfModel(
  sql: Sql,
  at: Date,
  maxRows = MAX_MODEL_ROWS,
): Promise<{ key: string; model: ListModel } | null> {
  const built = await sql.begin('isolation level repeatable read read only', async (tx) => {
    const t = tx as unknown as Sql;
    const c = (text: string) => constantFragment(t, text);
    const [head] = await t`
      select (select json_agg(a)::text from (${sourcesAsOf(t, at)}) a) as as_of,
        (select coalesce(sum(k.vm_count), 0)::float8 from (${capturesAsOf(t, at)}) c
         join captures k on k.capture_id = c.capture_id) as count`;
    const key = asOfKey(toAsOf(at, JSON.parse(head.as_of ?? '[]')));
    if (head.count > maxRows) return null;
    // The rows as an `at` page makes them (list_vms.ts' vmRows and readPage), each with its
    // state now and the addresses and UUIDs of the VM live now and deleted now, which its
    // searches match (list_conditions.ts' knownNow).
    const read = () =>
      t`
      with b as materialized (
        select (row_number() over ())::int as rid, b.state, b.match_ips, b.match_uuids, b.item,
          ${c(AS_I)}
        from (
          select ${c(ITEM_JSON)}, p.*
          from (
            select ${c(AS_OF_PAGE_COLUMNS)}, ${c(RAW)}, m.state, m.match_ips, m.match_uuids
            from (
              select ${factColumns(t, true)}, null::text as sort_value
              from (${capturesAsOf(t, at)}) c
              join vm_hourly_stats f on f.source_id = c.source_id and f.snapshot_time = c.captured_at
              left join vm_lifecycle_base l on l.source_id = f.source_id and l.vm_key = f.vm_key
            ) p
            join sources s on s.id = p.source_id
            cross join lateral (
              select l.* from vm_lifecycle_base l
              where l.source_id = p.source_id and l.vm_key = p.vm_key
              limit 1
            ) l
            ${c(KNOWN_NOW_JOIN)}
            cross join lateral (
              select coalesce(bit_or(n.bit), 0) as state,
                coalesce(json_agg(n.ip_addresses), '[]') as match_ips,
                coalesce(json_agg(json_build_array(n.bios_uuid, n.instance_uuid)), '[]')
                  as match_uuids
              from (
                select ${c(String(STATE_LIVE))} as bit, x.ip_addresses, x.bios_uuid,
                  x.instance_uuid
                from vm_inventory x where x.source_id = p.source_id and x.vm_key = p.vm_key
                union all
                select ${c(String(STATE_DELETED))}, x.ip_addresses, x.bios_uuid, x.instance_uuid
                from vm_inventory_deleted x
                where x.source_id = p.source_id and x.vm_key = p.vm_key
              ) n
            ) m
          ) p
        ) b
      ${c(RANKED_ROWS)}`;
    return { key, ...await modelRows(t, read) };
  });
  if (built === null) return null;
  return { key: built.key, model: await ListModel.of(built.generation, built.rows, 'all') };
}

/**
 * The models of past moments of one database (a pool), and what the database's answers of
 * other moments cost. One build at a time; a failed build is tried again a minute later.
 */
export class AsOfModelHolder {
  /** Answers the models gave. */
  answers = 0;
  /** Builds started. */
  builds = 0;
  /** No model of a moment above this many VMs (0: never one). */
  maxRows = MAX_MODEL_ROWS;
  private models: { key: string; model: ListModel }[] = [];
  /** Per moment (asOfKey): the estimated cost of the database's answers since its last build. */
  private readonly charged = new Map<string, number>();
  private building = false;
  private retryAt = 0;
  private msPerRow = FIRST_MS_PER_ROW;
  private lastBuildRows = 0;
  private newestGeneration = -1;

  /** Whether no model is held (then an answer is not looked for: no round trip). */
  get empty(): boolean {
    return this.models.length === 0;
  }

  /** The model of moment `key` at `generation`, or null. */
  model(generation: number, key: string): ListModel | null {
    if (generation > this.newestGeneration) {
      this.newestGeneration = generation;
      this.models = this.models.filter((m) => m.model.generation >= generation);
    }
    const i = this.models.findIndex((m) => m.key === key && m.model.generation === generation);
    if (i < 0) return null;
    const [found] = this.models.splice(i, 1);
    this.models.unshift(found);
    return found.model;
  }

  /**
   * Charges moment `key` (asked as of `at`) with a database answer's estimated cost, and
   * starts its model's build once the charges reach a build's expected cost: its VMs (a guess:
   * `presentRows`, the present's model's, else the last moment built's) at the last build's
   * cost per VM (its whole time, so a small estate's fixed costs are counted too).
   */
  charge(pool: Sql, key: string, at: Date, costMs: number, presentRows = 0): void {
    if (this.maxRows === 0 || typeof (pool as { begin?: unknown }).begin !== 'function') return;
    const charged = (this.charged.get(key) ?? 0) + costMs;
    this.charged.delete(key);
    this.charged.set(key, charged);
    if (this.charged.size > MOMENTS_TRACKED) {
      this.charged.delete(this.charged.keys().next().value!);
    }
    const rows = presentRows || this.lastBuildRows || FIRST_ROWS_GUESS;
    if (this.building || Date.now() < this.retryAt || charged < this.msPerRow * rows) return;
    this.charged.delete(key);
    this.building = true;
    this.builds++;
    const t0 = performance.now();
    buildAsOfModel(pool, at, this.maxRows).then(
      (built) => {
        if (built === null) return;
        this.lastBuildRows = Math.max(1, built.model.size);
        this.msPerRow = (performance.now() - t0) / this.lastBuildRows;
        if (built.model.generation < this.newestGeneration) return;
        this.models = [built, ...this.models.filter((m) => m.key !== built.key)]
          .slice(0, MODELS_KEPT);
      },
      (err) => {
        this.retryAt = Date.now() + 60_000;
        log.warn('vm list model of a past moment failed; the database answers it', {
          error: String(err),
        });
      },
    ).finally(() => this.building = false);
  }
}
