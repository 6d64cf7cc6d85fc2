/**
 * The inventory as a list: search, filters and keyset pagination over the live VMs
 * (vm_inventory), the deleted ones (vm_inventory_deleted, as they last were), both, or the
 * estate as of a past moment (the facts of each source's capture then). Data access only:
 * handed a `sql`, knows nothing of HTTP.
 */
import type { Row } from 'postgres';
import type { Sql } from '../db/connect.ts';
import { constantFragment, noFragment } from '../db/fragments.ts';
import { plannedWithValues } from '../db/planning.ts';
import { encodeCursor } from '../cursor.ts';
import { GenerationCache, inventoryGeneration } from './list_cache.ts';
import {
  asOfByName,
  asOfByNameQuery,
  asOfCaptures,
  asOfTotal,
  capturesAsOf,
  factColumns,
  generationAndCaptures,
  sourcesAsOf,
  stateNowCondition,
  toAsOf,
} from './as_of.ts';
import {
  datastoreCondition,
  guestFamilyCondition,
  searchCondition,
  selectiveSearch,
  tagCondition,
} from './list_conditions.ts';
import {
  decodeVmCursor,
  keysetPage,
  type Page,
  type SortRow,
  type VmAsOf,
  type VmListItem,
  type VmListQuery,
  type VmSort,
} from './list_query.ts';
import { poolOf, requestScope } from '../auth/scope.ts';
import { ListModelHolder, servable } from './list_model.ts';
import { asOfKey, AsOfModelHolder, servableAsOf } from './as_of_model.ts';
import {
  AS_OF_BY_NAME_PAGE_COLUMNS,
  AS_OF_PAGE_COLUMNS,
  cursorSortValue,
  DELETED_PAGE_COLUMNS,
  ITEM_JSON,
  KNOWN_NOW_JOIN,
  PAGE_COLUMNS,
  ROW_COLUMNS,
  SORT_SQL,
  type VmJsonPage,
} from './list_columns.ts';

/**
 * The rows listed, as `i`: the live inventory, the deleted one, both, or (with `at`) the facts
 * of each source's capture then. Their VMs' creation and first sighting are joined only when
 * the list is sorted by them: otherwise the page's few rows get them (readPage), not the
 * 10,000 rows of a capture (that join was half the time of an `at` page).
 */
function vmRows(sql: Sql, query: VmListQuery) {
  if (query.at) {
    const lifecycle = query.sort === 'created' || query.sort === 'firstSeen';
    return sql`(
      select ${factColumns(sql, lifecycle)}
      from (${capturesAsOf(sql, query.at)}) c
      join vm_hourly_stats f on f.source_id = c.source_id and f.snapshot_time = c.captured_at
      ${
      lifecycle
        // Every VM of a capture has its lifecycle row (the ingest writes both); joined left
        // on its key, it is left out of the queries that need none of its columns (the count).
        ? sql`left join vm_lifecycle_base l on l.source_id = f.source_id and l.vm_key = f.vm_key`
        : noFragment(sql)
    }
    )`;
  }
  const state = query.state ?? 'live';
  if (state === 'live') return sql`vm_inventory`;
  if (state === 'deleted') return sql`vm_inventory_deleted`;
  const columns = constantFragment(sql, ROW_COLUMNS);
  return sql`(select ${columns} from vm_inventory union all select ${columns} from vm_inventory_deleted)`;
}

/** The cursor's sort value as a SQL parameter of the sort column's type. */
function cursorValue(sql: Sql, sort: VmSort, v: string | number | null) {
  // A VM without a creation time sorts as -infinity, which a Date cannot hold (the cursor
  // carries null for it): times travel as text and PostgreSQL reads the literal.
  if (sort === 'created' || sort === 'firstSeen') {
    return sql`${
      Number.isFinite(v as number) ? new Date(v as number).toISOString() : '-infinity'
    }::text::timestamptz`;
  }
  return sql`${v}`;
}

/**
 * Answers (pages and totals) are reused while the inventory generation is unchanged: many
 * people and scripts look at the same lists between two captures. Bounded by the rows kept.
 */
const MAX_CACHED_ROWS = 20_000;
const caches = new WeakMap<Sql, GenerationCache>();

/** One cache per pool, whether asked through the pool or a route's handle (auth/scope.ts). */
function cacheFor(sql: Sql): GenerationCache {
  let cache = caches.get(poolOf(sql));
  if (!cache) caches.set(poolOf(sql), cache = new GenerationCache(MAX_CACHED_ROWS));
  return cache;
}

/** The in-memory model of the present's list, one per pool (list_model.ts). */
const models = new WeakMap<Sql, ListModelHolder>();

function modelFor(sql: Sql): ListModelHolder {
  let holder = models.get(poolOf(sql));
  if (!holder) models.set(poolOf(sql), holder = new ListModelHolder());
  return holder;
}

/** Up to how many VMs `sql`'s pool keeps a model: of the present (live and deleted) or a past moment (0: none). */
export function setListModelMaxVms(sql: Sql, max: number): void {
  modelFor(sql).maxRows = max;
  asOfModelsFor(sql).maxRows = max;
}

/**
 * How often list answers were reused (hits), read from the database (misses) or given by the
 * in-memory model (memory).
 */
export function vmListCacheStats(sql: Sql): { hits: number; misses: number; memory: number } {
  const cache = caches.get(poolOf(sql));
  return {
    hits: cache?.hits ?? 0,
    misses: cache?.misses ?? 0,
    memory: (models.get(poolOf(sql))?.answers ?? 0) + (asOfModels.get(poolOf(sql))?.answers ?? 0),
  };
}

/**
 * The answer of the in-memory model of the current generation, or null: the query is not one
 * it answers (a past moment, a tag or datastore filter, a viewer limited to some sources), its
 * model is being built, or its cursor names a VM it does not hold. The generation is read
 * with PostgreSQL's lower() of the search (one round trip), so the answer is the database's.
 */
async function modelAnswer(sql: Sql, query: VmListQuery): Promise<VmJsonPage | null> {
  if (!servable(query) || requestScope()) return null;
  const holder = modelFor(sql);
  if (holder.unavailable) return null;
  const [row] = query.q
    ? await sql`select coalesce(sum(generation), 0)::float8 as generation,
        lower(${query.q}::text) as lower_q from sources`
    : [{ generation: await inventoryGeneration(sql), lower_q: null }];
  const model = holder.current(poolOf(sql), row.generation);
  const page = model?.answer(query, row.lower_q) ?? null;
  if (page) holder.answers++;
  return page;
}

/** The in-memory models of past moments, one holder per pool (as_of_model.ts). */
const asOfModels = new WeakMap<Sql, AsOfModelHolder>();

function asOfModelsFor(sql: Sql): AsOfModelHolder {
  let holder = asOfModels.get(poolOf(sql));
  if (!holder) asOfModels.set(poolOf(sql), holder = new AsOfModelHolder());
  return holder;
}

/**
 * The answer of the model of the query's past moment, or null: no model is held, the
 * moment's captures or the generation are not a model's, or it is not a query a model answers.
 * The generation, the captures read as of `at` (with those passed over: the answer's asOf) and
 * lower() of the search are read in one round trip.
 */
async function asOfModelAnswer(sql: Sql, query: VmListQuery): Promise<VmJsonPage | null> {
  if (!servableAsOf(query) || requestScope()) return null;
  const holder = asOfModelsFor(sql);
  if (holder.empty) return null;
  const [row] = await sql`
    select (select coalesce(sum(generation), 0)::float8 from sources) as generation,
      (select json_agg(a)::text from (${sourcesAsOf(sql, query.at!)}) a) as as_of,
      lower(${query.q ?? ''}::text) as lower_q`;
  const asOf = toAsOf(query.at!, JSON.parse(row.as_of ?? '[]'));
  const page = holder.model(row.generation, asOfKey(asOf))?.answer(query, row.lower_q) ?? null;
  if (!page) return null;
  holder.answers++;
  return { ...page, asOf };
}

/** A page of the list; with `at`, which capture each source was read from. */
export type VmListPage = Page<VmListItem> & { asOf?: VmAsOf };

/** One page of VMs with the total matching count. The page is shared: do not modify it. */
export async function listVms(sql: Sql, query: VmListQuery): Promise<VmListPage> {
  const result = await sharedPage(sql, query, false);
  // The shared answer may have been read for another moment between the same captures.
  return result.asOf && query.at && result.asOf.at !== query.at.toISOString()
    ? { ...result, asOf: { ...result.asOf, at: query.at.toISOString() } }
    : result;
}

/** The UTF-8 bytes of shared answers, each written once however often it is sent. */
const jsonBodies = new WeakMap<VmJsonPage, Uint8Array<ArrayBuffer>>();
const utf8 = new TextEncoder();

/** A JSON page as listVms' answer serialized (the same keys in the same order). */
function jsonText(page: VmJsonPage): string {
  return `{"items":[${page.itemsJson}],"total":${JSON.stringify(page.total)},"next":${
    JSON.stringify(page.next)
  }${page.asOf ? `,"asOf":${JSON.stringify(page.asOf)}` : ''}}`;
}

/**
 * listVms' answer as the bytes of its JSON. Its items are written by PostgreSQL (a page of 50
 * is 37 kB of JSON: rows parsed into objects and serialized again took most of the node CPU
 * of a list read), and an answer reused from the cache is not encoded again. One read for
 * another moment between the same captures differs only in `asOf.at`.
 */
export async function listVmsJson(sql: Sql, query: VmListQuery): Promise<Uint8Array<ArrayBuffer>> {
  const fromModel = await modelAnswer(sql, query) ?? await asOfModelAnswer(sql, query);
  if (fromModel) return utf8.encode(jsonText(fromModel));
  const started = performance.now();
  listsInFlight++;
  let result: VmJsonPage;
  try {
    result = await sharedPage(sql, query, true);
  } finally {
    listsInFlight--;
  }
  if (query.at && result.asOf && servableAsOf(query) && !requestScope()) {
    // Its share of the machine while it was answered: the time it took, divided among the
    // answers in flight beyond the cores (the database's and the server's CPU time).
    const cost = (performance.now() - started) * Math.min(1, CORES / (listsInFlight + 1));
    asOfModelsFor(sql).charge(
      poolOf(sql),
      asOfKey(result.asOf),
      query.at,
      cost,
      modelFor(sql).size,
    );
  }
  if (result.asOf && query.at && result.asOf.at !== query.at.toISOString()) {
    return utf8.encode(
      jsonText({ ...result, asOf: { ...result.asOf, at: query.at.toISOString() } }),
    );
  }
  let body = jsonBodies.get(result);
  if (body === undefined) jsonBodies.set(result, body = utf8.encode(jsonText(result)));
  return body;
}

/** The list queries of this process being answered by the database now. */
let listsInFlight = 0;

/** The cores an answer's time is shared among (the database's host unknown: this one's). */
const CORES = navigator.hardwareConcurrency || 1;

/** The answer to `query` as computed (or reused) for every caller: do not modify it. */
function sharedPage(sql: Sql, query: VmListQuery, json: false): Promise<VmListPage>;
function sharedPage(sql: Sql, query: VmListQuery, json: true): Promise<VmJsonPage>;
async function sharedPage(
  sql: Sql,
  query: VmListQuery,
  json: boolean,
): Promise<VmListPage | VmJsonPage> {
  const cache = cacheFor(sql);
  // The object and the JSON forms are kept apart: the API asks for JSON, pages and CSV objects.
  const form = json ? 'json' : 'page';
  // The first page of a selective search of the present is one statement, page and total:
  // never asked before, it also reads the generation (one round trip, not two), and its
  // answer is kept under the generation it was read at. Concurrent first askers each read.
  if (!query.at && !query.cursor && selectiveSearch(query.q)) {
    const { filters, page } = cacheKeys(query, null);
    const key = `${form}:${page}`;
    if (!cache.has(key)) {
      const out: GenerationOut = {};
      const count = (compute: () => Promise<number>) =>
        out.generation === undefined
          ? compute()
          : cache.get(out.generation, `count:${filters}`, compute, () => 1);
      if (json) {
        const result = await readPage(sql, query, count, true, out);
        cache.put(out.generation, key, result, result.itemCount);
        return result;
      }
      const result = await readPage(sql, query, count, false, out);
      cache.put(out.generation, key, result, result.items.length);
      return result;
    }
  }
  // As of a moment by name, the answer depends on the moment only through the capture read
  // from each source (and the `at` it echoes): keyed by those captures, every moment between
  // two captures shares one answer. They are read with the generation, in one statement.
  const byCaptures = asOfByNameQuery(query);
  const { generation, captures } = byCaptures
    ? await generationAndCaptures(sql, query.at!)
    : { generation: await inventoryGeneration(sql), captures: null };
  const { filters, page } = cacheKeys(query, byCaptures ? captures ?? 'none' : null);
  const read = <P extends { asOf?: VmAsOf }>(
    readOne: (count: (compute: () => Promise<number>) => Promise<number>) => Promise<P>,
  ) =>
  async () => {
    const count = (compute: () => Promise<number>) =>
      cache.get(generation, `count:${filters}`, compute, () => 1);
    // As of a moment by name, the page's statement also answers the total and which
    // captures were read (one round trip instead of three); otherwise those run beside it.
    if (query.at && asOfByNameQuery(query)) {
      const { asOf, ...result } = await readOne(count);
      return { ...result, asOf: asOf ?? await asOfCaptures(sql, query.at) } as P;
    }
    const [result, asOf] = await Promise.all([
      readOne(count),
      query.at ? asOfCaptures(sql, query.at) : undefined,
    ]);
    return asOf ? { ...result, asOf } : result;
  };
  return json
    ? cache.get(
      generation,
      `${form}:${page}`,
      read((count) => readPage(sql, query, count, true)),
      (result) => result.itemCount,
    )
    : cache.get(
      generation,
      `${form}:${page}`,
      read((count) => readPage(sql, query, count)),
      (result) => result.items.length,
    );
}

/**
 * The cache keys of a query: its filters (the total's key) and, with the sort and page, its
 * answer's. `captures`: as of a moment by name, the captures read (then not the moment).
 */
function cacheKeys(query: VmListQuery, captures: string | null) {
  const filters = JSON.stringify([
    query.q,
    query.state,
    captures !== null ? `captures:${captures}` : query.at?.toISOString(),
    query.sourceId,
    query.cluster,
    query.pool,
    query.host,
    query.folder,
    query.tag,
    query.datastore,
    query.guestFamily,
    query.powerState,
    query.template,
  ]);
  const page = `[${filters},${
    JSON.stringify([query.sort ?? 'name', query.order ?? 'asc', query.limit, query.cursor ?? null])
  }]`;
  return { filters, page };
}

/**
 * Up to this many matching rows, a page is chosen by finding the matches and sorting them
 * (a top-N sort of 10,000 rows takes a few ms), not by walking the sort index.
 */
const FENCE_ROWS = 10_000;

/** Filled by readPage when asked: the inventory generation its page statement read. */
type GenerationOut = { generation?: number };

async function readPage(
  sql: Sql,
  query: VmListQuery,
  cachedCount: (count: () => Promise<number>) => Promise<number>,
  json?: false,
  out?: GenerationOut,
): Promise<Page<VmListItem> & { asOf?: VmAsOf }>;
async function readPage(
  sql: Sql,
  query: VmListQuery,
  cachedCount: (count: () => Promise<number>) => Promise<number>,
  json: true,
  out?: GenerationOut,
): Promise<VmJsonPage>;
async function readPage(
  sql: Sql,
  query: VmListQuery,
  cachedCount: (count: () => Promise<number>) => Promise<number>,
  json = false,
  out?: GenerationOut,
): Promise<(Page<VmListItem> & { asOf?: VmAsOf }) | VmJsonPage> {
  const sort = query.sort ?? 'name';
  const desc = query.order === 'desc';
  const expr = constantFragment(sql, SORT_SQL[sort]);
  const cursor = query.cursor ? decodeVmCursor(query.cursor, sort) : null;
  const { q, at } = query;
  const rows = vmRows(sql, query);
  const where = sql`
    where true
    ${q ? searchCondition(sql, q, at) : noFragment(sql)}
    ${stateNowCondition(sql, query)}
    ${query.sourceId ? sql`and i.source_id = ${query.sourceId}` : noFragment(sql)}
    ${query.cluster ? sql`and i.cluster = ${query.cluster}` : noFragment(sql)}
    ${query.pool ? sql`and i.resource_pool = ${query.pool}` : noFragment(sql)}
    ${query.host ? sql`and i.host = ${query.host}` : noFragment(sql)}
    ${
    query.folder
      ? sql`and (i.folder = ${query.folder} or starts_with(i.folder, ${`${query.folder}/`}))`
      : noFragment(sql)
  }
    ${query.tag ? tagCondition(sql, query.tag, at) : noFragment(sql)}
    ${query.datastore ? datastoreCondition(sql, query.datastore, at) : noFragment(sql)}
    ${query.guestFamily ? guestFamilyCondition(sql, query.guestFamily) : noFragment(sql)}
    ${query.powerState ? sql`and i.power_state = ${query.powerState}` : noFragment(sql)}
    ${query.template !== undefined ? sql`and i.is_template = ${query.template}` : noFragment(sql)}`;
  // The exact total comes first (kept for the list's other pages), and it chooses how the
  // page is found. An IP or UUID matches a handful of rows and a name fragment of four or
  // more characters a few thousand at most; any filters matching at most FENCE_ROWS rows
  // are found the same way: the fence (offset 0) makes PostgreSQL find them by their index
  // first and sort those. Walking a sort index hoping to meet them is fast only when the
  // matches are many and spread along it: filters correlated with the sort (a cluster lies
  // in one source, sorted by power then source) walked 50,000 rows for 58 (131 ms against
  // 4 ms for cluster + pool sorted by first sighting). Without a selective search, many
  // matches are met soon along the sort index.
  const search = selectiveSearch(q);
  // A short name fragment matches none or a fifth of the rows, found by its trigram or not
  // at all ("db" has none): its statements are planned with its value every time (planning.ts).
  const valued = <Q extends object>(query: Q) => q && !search ? plannedWithValues(query) : query;
  // The first page of such a search finds its matches once, for the page and the total.
  const onePass = search && !cursor && !(at && sort === 'name');
  // As of a moment by name with no filter but the state and source: the page is walked along
  // the names (asOfByName), and the total of all VMs then is the captures' VM counts (ingest
  // writes a fact for each VM it counts), of those whose facts retention has not dropped.
  const byNameAsOf = asOfByNameQuery(query);
  // That total is read by the page's statement (with the captures read, see listVms).
  const totalWithPage = byNameAsOf && (query.state ?? 'all') === 'all';
  const direction = constantFragment(sql, desc ? 'desc' : 'asc');
  const after = cursor
    ? sql`and (${expr}, i.source_id, i.vm_key) ${constantFragment(sql, desc ? '<' : '>')} (${
      cursorValue(sql, sort, cursor.v)
    }, ${cursor.s}, ${cursor.k})`
    : noFragment(sql);
  const limit = query.limit + 1;
  /**
   * The page's statement, its matches found first and sorted (`exact`) or met along the sort.
   * `capped`: exact, with the number of matches (`matches`) among the first FENCE_ROWS + 1.
   */
  const statement = (exact: boolean, capped: boolean) => {
    const counted = onePass || capped;
    // The page is chosen from the VM rows alone (an index walk for the default sort), and
    // only its rows are joined: joining first would hash all 100,000 rows on every request.
    let chosen = sort === 'source' && !exact && !query.cluster && !query.pool
      // By source: sources in name order, each contributing at most a page from its primary
      // key, so the first pages never sort the whole inventory (1 ms against 40 ms). Cluster
      // and pool filters are selective enough for their index and a sort of what they match.
      ? sql`
          select i.*, src.name as sort_value
          from (
            select id, name from sources src
            ${
        cursor
          ? sql`where (src.name, src.id) ${
            constantFragment(sql, desc ? '<=' : '>=')
          } (${cursor.v}, ${cursor.s})`
          : noFragment(sql)
      }
            order by name ${direction}, id ${direction}
          ) src
          cross join lateral (
            select i.* from ${rows} i ${where} and i.source_id = src.id
            ${
        cursor
          ? (desc
            ? sql`and (src.id <> ${cursor.s} or i.vm_key < ${cursor.k})`
            : sql`and i.vm_key > (case when src.id = ${cursor.s} then ${cursor.k} else '' end)`)
          : noFragment(sql)
      }
            order by i.vm_key ${direction}
            limit ${limit}
          ) i
          order by src.name ${direction}, src.id ${direction}, i.vm_key ${direction}
          limit ${limit}`
      : sql`
          select i.*, ${expr} as sort_value ${
        counted ? sql`, (count(*) over ())::int as matches` : noFragment(sql)
      }
          from ${exact ? sql`(select * from ${rows} i ${where} offset 0) i` : sql`${rows} i`}
          ${sort === 'source' ? sql`join sources src on src.id = i.source_id` : noFragment(sql)}
          ${exact ? sql`where true` : where}
          ${after}
          order by ${expr} ${direction}, i.source_id ${direction}, i.vm_key ${direction}
          limit ${limit}`;
    if (byNameAsOf) chosen = asOfByName(sql, query, cursor, limit);
    else if (exact && !at) {
      // The matches are found and sorted by their keys and sort values only, and just the
      // page's rows are read whole: an index that holds those columns (cluster and pool's
      // does) answers the sort without visiting each match's row. A search visits each
      // match's row anyway (its index is lossy, or an array's): of one table, the page's rows
      // are then read again at their tuple's address (one buffer each), not through an
      // index (four). Within the statement's snapshot that address is the same row version.
      const byTid = !!q && (query.state ?? 'live') !== 'all';
      chosen = sql`
        select i.*, m.sort_value ${counted ? sql`, m.matches` : noFragment(sql)}
        from (
          select m.source_id, m.vm_key, m.sort_value ${byTid ? sql`, m.tid` : noFragment(sql)} ${
        counted ? sql`, (count(*) over ())::int as matches` : noFragment(sql)
      }
          from (
            select i.source_id, i.vm_key, ${expr} as sort_value ${
        byTid ? sql`, i.ctid as tid` : noFragment(sql)
      } from ${rows} i
            ${sort === 'source' ? sql`join sources src on src.id = i.source_id` : noFragment(sql)}
            ${where} ${capped ? sql`limit ${FENCE_ROWS + 1}` : constantFragment(sql, 'offset 0')}
          ) m
          ${
        cursor
          ? sql`where (m.sort_value, m.source_id, m.vm_key) ${
            constantFragment(sql, desc ? '<' : '>')
          } (${cursorValue(sql, sort, cursor.v)}, ${cursor.s}, ${cursor.k})`
          : noFragment(sql)
      }
          order by m.sort_value ${direction}, m.source_id ${direction}, m.vm_key ${direction}
          limit ${limit}
        ) m
        cross join lateral (
          select * from ${rows} i where ${
        byTid ? sql`i.ctid = m.tid` : sql`i.source_id = m.source_id and i.vm_key = m.vm_key`
      } limit 1
        ) i`;
    }
    const known = at && !byNameAsOf ? constantFragment(sql, KNOWN_NOW_JOIN) : noFragment(sql);
    // Uncorrelated, each computed once for the statement; as text, which the first row's is
    // parsed from (as json, each row's copy would be parsed).
    const extras = byNameAsOf
      ? sql`, (select json_agg(a)::text from (${sourcesAsOf(sql, at!)}) a) as as_of ${
        totalWithPage ? sql`, (${asOfTotal(sql, at!, query.sourceId)}) as matches` : noFragment(sql)
      }`
      : noFragment(sql);
    // Uncorrelated too: the generation in the page's own snapshot, see sharedPage.
    const generation = out
      ? sql`, (select coalesce(sum(generation), 0)::float8 from sources) as generation`
      : noFragment(sql);
    const order =
      sql`order by p.sort_value ${direction}, p.source_id ${direction}, p.vm_key ${direction}`;
    // The deleted VMs now carry their lifecycle's columns the page needs (migration 0071).
    const deletedNow = !at && query.state === 'deleted';
    const rowsRead = sql`
        select ${
      constantFragment(
        sql,
        byNameAsOf
          ? AS_OF_BY_NAME_PAGE_COLUMNS
          : at
          ? AS_OF_PAGE_COLUMNS
          : deletedNow
          ? DELETED_PAGE_COLUMNS
          : PAGE_COLUMNS,
      )
    } ${counted ? sql`, p.matches` : noFragment(sql)} ${extras} ${generation}
        from (${chosen}) p
        join sources s on s.id = p.source_id
        ${
      deletedNow ? noFragment(sql) : sql`
        -- By key for each of the page's rows (limit 1 keeps it a lateral probe): joined as a
        -- set, the planner may hash the whole lifecycle for a page of 50.
        cross join lateral (
          select l.* from vm_lifecycle_base l where l.source_id = p.source_id and l.vm_key = p.vm_key
          limit 1
        ) l`
    }
        ${known}
        ${order}`;
    // As JSON, each row is only its item's text and what the cursor, total and asOf need: no
    // row of 30 columns parsed, object built and serialized again in node.
    return valued(
      json
        ? sql<(Row & SortRow)[]>`
        select p.sort_value, p.source_id, p.vm_key ${
          counted ? sql`, p.matches` : noFragment(sql)
        } ${
          byNameAsOf
            ? sql`, p.as_of ${totalWithPage ? sql`, p.matches` : noFragment(sql)}`
            : noFragment(sql)
        } ${out ? sql`, p.generation` : noFragment(sql)}, ${constantFragment(sql, ITEM_JSON)}
        from (${rowsRead}) p
        ${order}`
        : rowsRead as unknown as Promise<(Row & SortRow)[]>,
    );
  };
  // A short name search of the present (no index finds its matches alone), first page, its
  // total not known yet: its matches are found once for the page and the total when they are
  // at most FENCE_ROWS (with a source and a power state, 385 of 100,000: two reads of them
  // were most of such a query's time); reading one more than that says they are more, and
  // then the total is counted and the page found by it, as before.
  const capped = !!q && !search && !cursor && !at;
  const firstPass: { rows?: (Row & SortRow)[] } = {};
  let count = onePass || totalWithPage ? 0 : await cachedCount(async () => {
    if (capped) {
      const found = await statement(true, true);
      const matches = (found[0]?.matches ?? 0) as number;
      if (matches <= FENCE_ROWS) {
        firstPass.rows = found;
        return matches;
      }
    }
    return (await valued(sql`select count(*)::int as count from ${rows} i ${where}`))[0]
      .count as number;
  });
  const exact = search || count <= FENCE_ROWS;
  const page = firstPass.rows ?? await statement(exact, false);
  if (out && page.length) out.generation = page[0].generation as number;
  if (onePass) count = await cachedCount(() => Promise.resolve(page[0]?.matches ?? 0));
  if (totalWithPage) {
    // An empty page carries no total: then it is read by itself.
    count = await cachedCount(async () =>
      page.length
        ? page[0].matches as number
        : (await asOfTotal(sql, at!, query.sourceId))[0].count as number
    );
  }
  const key = (r: Row & SortRow) => ({
    v: cursorSortValue(r.sort_value),
    s: r.source_id,
    k: r.vm_key,
  });
  const asOf = page.length && byNameAsOf ? toAsOf(at!, JSON.parse(page[0].as_of)) : undefined;
  if (json) {
    const rows = page.slice(0, query.limit);
    const result: VmJsonPage = {
      itemsJson: rows.map((r) => r.item as string).join(','),
      itemCount: rows.length,
      total: count,
      next: page.length > query.limit ? encodeCursor(key(rows.at(-1)!)) : null,
    };
    return asOf ? { ...result, asOf } : result;
  }
  const result = keysetPage(page, count, query.limit, toItem, key);
  return asOf ? { ...result, asOf } : result;
}

/**
 * A vm_inventory row with its source's `source_name` and `source_kind` and the lifecycle's
 * `last_seen_at` → API item (camelCase, ISO times, numbers; numeric columns arrive as text).
 */
export function toItem(r: Row): VmListItem {
  return {
    key: r.vm_key,
    sourceId: r.source_id,
    sourceName: r.source_name,
    sourceKind: r.source_kind,
    sourceVmId: r.source_vm_id,
    name: r.name,
    powerState: r.power_state,
    isTemplate: r.is_template,
    vcpu: r.vcpu,
    memoryMib: r.ram_mb,
    provisionedDiskGib: Number(r.provisioned_disk_gb),
    usedDiskGib: r.used_disk_gb === null ? null : Number(r.used_disk_gb),
    ramMb: r.ram_mb,
    provisionedDiskGb: Number(r.provisioned_disk_gb),
    usedDiskGb: r.used_disk_gb === null ? null : Number(r.used_disk_gb),
    datacenter: r.datacenter,
    cluster: r.cluster,
    host: r.host,
    resourcePool: r.resource_pool,
    folder: r.folder,
    guestOs: r.guest_os,
    ipAddresses: r.ip_addresses,
    tags: r.tags,
    biosUuid: r.bios_uuid,
    instanceUuid: r.instance_uuid,
    createdAt: r.created_at ? isoText(r.created_at) : null,
    firstSeenAt: isoText(r.first_seen_at),
    lastSeenAt: isoText(r.last_seen_at),
    stateAt: isoText(r.state_at),
    state: r.deleted_at ? 'deleted' : 'live',
    deletedAt: r.deleted_at ? isoText(r.deleted_at) : null,
    deletedFrom: r.deleted_from ?? null,
  };
}

/** A time read as iso text (the list's pages) or as a Date (other readers' rows) → ISO text. */
function isoText(t: string | Date): string {
  return typeof t === 'string' ? t : t.toISOString();
}

/**
 * An answer about the whole live inventory (fleet totals, VMs per source), reused while the
 * inventory generation is unchanged, as the list's answers are: every open dashboard asks
 * for it again after each capture, and concurrent askers share one read.
 */
export async function inventoryAnswer<T>(
  sql: Sql,
  key: `fleet:${string}`,
  compute: () => Promise<T>,
): Promise<T> {
  return cacheFor(sql).get(await inventoryGeneration(sql), key, compute, () => 1);
}

/** Fleet totals of the live inventory (templates excluded from sizing). Shared: do not modify. */
export function fleetSummary(sql: Sql) {
  return inventoryAnswer(sql, 'fleet:summary', () => readFleetSummary(sql));
}

async function readFleetSummary(sql: Sql) {
  const [r] = await sql`
    select (select count(*) from sources)::int as sources,
           count(*) filter (where not is_template)::int as vms,
           count(*) filter (where power_state = 'poweredOn' and not is_template)::int as powered_on,
           coalesce(sum(vcpu) filter (where not is_template), 0)::bigint as vcpu,
           coalesce(sum(ram_mb) filter (where not is_template), 0)::bigint as ram_mb,
           coalesce(sum(provisioned_disk_gb) filter (where not is_template), 0)::float8 as disk_gb
    from vm_inventory`;
  return {
    sources: r.sources,
    vms: r.vms,
    poweredOn: r.powered_on,
    vcpu: Number(r.vcpu),
    ramGb: Math.round(Number(r.ram_mb) / 1024),
    diskGb: Math.round(r.disk_gb),
  };
}
