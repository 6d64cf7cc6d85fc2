/** HTTP routes for hosts, clusters, datastores and networks: lists (JSON or CSV) and details. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { type ApiDoc, IntId, ListOf } from '../http/api_doc.ts';
import { type CsvColumn, csvResponse, fieldColumns, onePage, wantsCsv } from '../http/csv.ts';
import { parseOr400, query as nonEmpty } from '../http/validate.ts';
import { AppError } from '../errors.ts';
import { cursorParam } from '../cursor.ts';
import { ClusterDetail, ClusterItem, getCluster } from './clusters.ts';
import { DatastoreDetail, DatastoreItem, getDatastore } from './datastores.ts';
import { getHost, HOST_STATES, HostDetail, HostItem } from './hosts.ts';
import {
  CLUSTER_LIST,
  DATASTORE_LIST,
  HOST_LIST,
  listAll,
  listPageJson,
  type ListSpec,
  NETWORK_LIST,
} from './lists.ts';
import { getNetwork, NetworkDetail, NetworkItem } from './networks.ts';
import { type Keyed, SiteCursor } from './site_list.ts';

const sortsOf = <T extends Keyed>(spec: ListSpec<T, never>) =>
  Object.keys(spec.sorts) as [string, ...string[]];

/** The query every list takes, with its own filters and sorts. */
const listParams = <S extends z.ZodRawShape>(sorts: [string, ...string[]], filters: S) =>
  z.object({
    q: z.string().max(200).optional().describe('name (or key) substring, case-insensitive'),
    source: IntId.optional(),
    ...filters,
    sort: z.enum(sorts).default('name'),
    order: z.enum(['asc', 'desc']).default('asc'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: cursorParam(SiteCursor).optional(),
  });

export const HostListParams = listParams(sortsOf(HOST_LIST as ListSpec<HostItem, never>), {
  cluster: z.string().max(512).optional(),
  state: z.enum(HOST_STATES).optional(),
});
export const DatastoreListParams = listParams(
  sortsOf(DATASTORE_LIST as ListSpec<DatastoreItem, never>),
  {
    type: z.string().max(64).optional(),
    forecast: z.enum(['filling', 'notFilling', 'insufficientData']).optional(),
  },
);
export const ClusterListParams = listParams(
  sortsOf(CLUSTER_LIST as ListSpec<ClusterItem, never>),
  {},
);
export const NetworkListParams = listParams(
  sortsOf(NETWORK_LIST as ListSpec<NetworkItem, never>),
  {
    vlan: z.coerce.number().int().min(0).max(4095).optional(),
    kind: z.string().max(64).optional(),
  },
);

const fieldsOf = <S extends z.ZodObject>(item: S) =>
  Object.keys(item.shape) as (keyof z.infer<S> & string)[];

export const HOST_CSV = fieldColumns<HostItem>(fieldsOf(HostItem), ['lastSeenAt']);
export const CLUSTER_CSV = fieldColumns<ClusterItem>(fieldsOf(ClusterItem));
export const NETWORK_CSV = fieldColumns<NetworkItem>(fieldsOf(NetworkItem), ['since']);
export const DATASTORE_CSV: CsvColumn<DatastoreItem>[] = [
  ...fieldColumns<DatastoreItem>(
    fieldsOf(DatastoreItem).filter((f) => f !== 'forecast'),
    ['lastSeenAt'],
  ),
  { header: 'forecastStatus', value: (d) => d.forecast.status },
  { header: 'daysUntilFull', value: (d) => d.forecast.daysUntilFull },
  { header: 'fullAt', value: (d) => d.forecast.fullAt, type: 'time' },
  { header: 'growthGibPerDay', value: (d) => d.forecast.growthGibPerDay },
];

/** A list's filters from a page's query string, or 400 (the pages use the API's parameters). */
export function parseListParams<S extends z.ZodObject>(
  schema: S,
  query: Record<string, string>,
): z.infer<S> {
  return parseOr400(schema, nonEmpty(query), 'invalid_query');
}

/** A list's rows as CSV, the whole filtered list in order (the API and the pages' exports). */
export function siteCsv<T extends Keyed, F extends object>(
  sql: Sql,
  name: string,
  spec: ListSpec<T, F>,
  columns: CsvColumn<T>[],
  q: F & { sort: string; order: 'asc' | 'desc' },
): Response {
  const day = new Date().toISOString().slice(0, 10);
  return csvResponse(`vmledger-${name}-${day}.csv`, columns, onePage(listAll(sql, spec, q)));
}

const SourceKey = z.object({ source: IntId, key: z.string().min(1).max(1000) });
const SourceName = z.object({ source: IntId, name: z.string().min(1).max(1000) });
const Days = (max: number, dflt: number) =>
  z.object({ days: z.coerce.number().int().min(1).max(max).default(dflt) });

export function siteRoutes(sql: Sql, doc: ApiDoc) {
  const app = new Hono<{ Variables: AuthVariables }>();

  function list<T extends Keyed, S extends z.ZodObject>(o: {
    path: string;
    operationId: string;
    noun: string;
    item: z.ZodType;
    params: S;
    spec: ListSpec<T, z.infer<S>>;
    csv: CsvColumn<T>[];
  }) {
    doc.define(app, {
      method: 'get',
      path: o.path,
      operationId: o.operationId,
      tag: 'Sites',
      roles: ['viewer'],
      query: o.params,
      summary:
        `${o.noun}: filters, sorts, keyset pages (Accept: text/csv: the whole filtered list)`,
      responses: {
        200: { description: `A page of ${o.noun}`, schema: ListOf(o.item), produces: ['text/csv'] },
      },
    }, async (c, { query }) => {
      const q = query as z.infer<S> & { sort: string; order: 'asc' | 'desc'; limit: number };
      if (wantsCsv(c.req.header('accept'))) {
        return siteCsv(sql, o.path.slice(1), o.spec, o.csv, q);
      }
      return c.body(await listPageJson(sql, o.spec, q), 200, {
        'content-type': 'application/json',
      });
    });
  }

  list({
    path: '/hosts',
    operationId: 'listHosts',
    noun: 'Hosts',
    item: HostItem,
    params: HostListParams,
    spec: HOST_LIST,
    csv: HOST_CSV,
  });
  list({
    path: '/clusters',
    operationId: 'listClusters',
    noun: 'Clusters',
    item: ClusterItem,
    params: ClusterListParams,
    spec: CLUSTER_LIST,
    csv: CLUSTER_CSV,
  });
  list({
    path: '/datastores',
    operationId: 'listDatastores',
    noun: 'Datastores',
    item: DatastoreItem,
    params: DatastoreListParams,
    spec: DATASTORE_LIST,
    csv: DATASTORE_CSV,
  });
  list({
    path: '/networks',
    operationId: 'listNetworks',
    noun: 'Networks (port groups, bridges)',
    item: NetworkItem,
    params: NetworkListParams,
    spec: NETWORK_LIST,
    csv: NETWORK_CSV,
  });

  doc.define(app, {
    method: 'get',
    path: '/hosts/:source/:key',
    operationId: 'getHost',
    tag: 'Sites',
    roles: ['viewer'],
    params: SourceKey,
    query: Days(90, 7),
    summary:
      'One host (by key, or by name as VMs name it): hardware, state timeline, VMs, allocation, usage over `days`',
    responses: { 200: { description: 'The host', schema: HostDetail }, 404: 'No such host' },
  }, async (c, { params, query }) => {
    const host = await getHost(sql, params.source, params.key, query);
    if (!host) throw new AppError('not_found', `no host ${params.key} in source ${params.source}`);
    return c.json(host);
  });

  doc.define(app, {
    method: 'get',
    path: '/clusters/:source/:name',
    operationId: 'getCluster',
    tag: 'Sites',
    roles: ['viewer'],
    params: SourceName,
    query: Days(365, 30),
    summary: 'One cluster: HA/DRS, hosts, capacity and overcommit, per day over `days`',
    responses: {
      200: { description: 'The cluster', schema: ClusterDetail },
      404: 'No such cluster',
    },
  }, async (c, { params, query }) => {
    const cluster = await getCluster(sql, params.source, params.name, query);
    if (!cluster) {
      throw new AppError('not_found', `no cluster ${params.name} in source ${params.source}`);
    }
    return c.json(cluster);
  });

  doc.define(app, {
    method: 'get',
    path: '/datastores/:source/:key',
    operationId: 'getDatastore',
    tag: 'Sites',
    roles: ['viewer'],
    params: SourceKey,
    query: Days(365, 30),
    summary:
      'One datastore: capacity, free, provisioned, VMs and their disks on it, used-space trend over `days`, days until full (method stated)',
    responses: {
      200: { description: 'The datastore', schema: DatastoreDetail },
      404: 'No such datastore',
    },
  }, async (c, { params, query }) => {
    const ds = await getDatastore(sql, params.source, params.key, query);
    if (!ds) {
      throw new AppError('not_found', `no datastore ${params.key} in source ${params.source}`);
    }
    return c.json(ds);
  });

  doc.define(app, {
    method: 'get',
    path: '/networks/:source/:key',
    operationId: 'getNetwork',
    tag: 'Sites',
    roles: ['viewer'],
    params: SourceKey,
    summary: 'One network with its VLAN and the live VMs attached (their NICs on it)',
    responses: {
      200: { description: 'The network', schema: NetworkDetail },
      404: 'No such network',
    },
  }, async (c, { params }) => {
    const net = await getNetwork(sql, params.source, params.key);
    if (!net) {
      throw new AppError('not_found', `no network ${params.key} in source ${params.source}`);
    }
    return c.json(net);
  });

  return app;
}
