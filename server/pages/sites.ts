/**
 * Site pages: hosts, clusters, datastores and networks — each list (filters, sorts, pages,
 * CSV export) and each object's page. The lists page through the same functions as the API.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { listSourcesDetailed } from '../queries/sources.ts';
import { allClusters, getCluster } from '../sites/clusters.ts';
import { allDatastores, getDatastore } from '../sites/datastores.ts';
import { getHost } from '../sites/hosts.ts';
import {
  CLUSTER_LIST,
  DATASTORE_LIST,
  HOST_LIST,
  listPage,
  type ListSpec,
  NETWORK_LIST,
} from '../sites/lists.ts';
import { getNetwork } from '../sites/networks.ts';
import {
  CLUSTER_CSV,
  ClusterListParams,
  DATASTORE_CSV,
  DatastoreListParams,
  HOST_CSV,
  HostListParams,
  NETWORK_CSV,
  NetworkListParams,
  siteCsv,
} from '../sites/routes.ts';
import type { Keyed } from '../sites/site_list.ts';
import type { CsvColumn } from '../csv.ts';
import { clusterDetailPage, clustersPage } from '../../web/pages/clusters.ts';
import { datastoreDetailPage, datastoresPage } from '../../web/pages/datastores.ts';
import { hostDetailPage, hostsPage } from '../../web/pages/hosts.ts';
import { networkDetailPage, networksPage } from '../../web/pages/networks.ts';
import type { SiteListState } from '../../web/partials/site_table.ts';
import { notFound, type PageEnv, positiveInt, viewerOf } from './guard.ts';

const PAGE_SIZE = 100;
type ListQuery = { sort: string; order: 'asc' | 'desc'; limit: number; cursor?: string };

/**
 * A list's parameters from a page's query string: the API's schema, but a value it refuses
 * is dropped (the page shows the list without that filter) instead of answering 400.
 */
function pageParams<S extends z.ZodObject>(
  schema: S,
  path: string,
  query: Record<string, string>,
): { parsed: z.infer<S> & ListQuery; state: SiteListState } {
  const params: Record<string, string> = {};
  for (const k of Object.keys(schema.shape)) if (k !== 'limit' && query[k]) params[k] = query[k];
  let result = schema.safeParse(params);
  if (!result.success) {
    for (const issue of result.error.issues) delete params[String(issue.path[0])];
    result = schema.safeParse(params);
  }
  const parsed = (result.success ? result.data : schema.parse({})) as z.infer<S> & ListQuery;
  if (parsed.sort === 'name') delete params.sort;
  if (parsed.order === 'asc') delete params.order;
  return {
    parsed: { ...parsed, limit: PAGE_SIZE },
    state: {
      path,
      params,
      sort: parsed.sort,
      order: parsed.order,
      page: params.cursor ? (positiveInt(query.p) ?? 2) : 1,
    },
  };
}

const sourceChoices = async (sql: Sql) =>
  (await listSourcesDetailed(sql)).map((s) => ({ id: s.id, name: s.name }));

const distinct = (values: (string | null)[]) =>
  [...new Set(values.filter((v): v is string => !!v))].sort((a, b) => a.localeCompare(b));

const days = (v: string | undefined, allowed: number[], dflt: number) => {
  const n = Number(v);
  return allowed.includes(n) ? n : dflt;
};

export function siteRoutes(sql: Sql, auth: MiddlewareHandler<PageEnv>) {
  const app = new Hono<PageEnv>();

  /** `/<name>.csv`: the whole filtered list, as the API's `Accept: text/csv` gives it. */
  function csv<T extends Keyed, S extends z.ZodObject>(
    name: string,
    schema: S,
    spec: ListSpec<T, z.infer<S>>,
    columns: CsvColumn<T>[],
  ) {
    app.get(`/${name}.csv`, auth, (c) => {
      const { parsed } = pageParams(schema, `/${name}`, c.req.query());
      return siteCsv(sql, name, spec, columns, parsed);
    });
  }
  csv('hosts', HostListParams, HOST_LIST, HOST_CSV);
  csv('clusters', ClusterListParams, CLUSTER_LIST, CLUSTER_CSV);
  csv('datastores', DatastoreListParams, DATASTORE_LIST, DATASTORE_CSV);
  csv('networks', NetworkListParams, NETWORK_LIST, NETWORK_CSV);

  app.get('/hosts', auth, async (c) => {
    const { parsed, state } = pageParams(HostListParams, '/hosts', c.req.query());
    const [result, sources, clusters] = await Promise.all([
      listPage(sql, HOST_LIST, parsed),
      sourceChoices(sql),
      allClusters(sql),
    ]);
    return c.html(
      hostsPage(viewerOf(c), {
        state,
        sources,
        clusters: distinct(clusters.map((x) => x.name)),
        result,
      }),
    );
  });

  app.get('/hosts/:source/:key', auth, async (c) => {
    const sourceId = positiveInt(c.req.param('source'));
    const key = c.req.param('key');
    const d = days(c.req.query('days'), [1, 7, 30, 90], 7);
    const host = sourceId ? await getHost(sql, sourceId, key, { days: d }) : null;
    if (!host) {
      return notFound(c, {
        title: 'Host not found',
        message: `No host ${key} in source ${c.req.param('source')}.`,
        back: { href: '/hosts', label: 'Back to hosts' },
      });
    }
    const base = `/hosts/${sourceId}/${encodeURIComponent(host.host.key)}`;
    return c.html(hostDetailPage(viewerOf(c), host, base));
  });

  app.get('/clusters', auth, async (c) => {
    const { parsed, state } = pageParams(ClusterListParams, '/clusters', c.req.query());
    const [result, sources] = await Promise.all([
      listPage(sql, CLUSTER_LIST, parsed),
      sourceChoices(sql),
    ]);
    return c.html(clustersPage(viewerOf(c), { state, sources, result }));
  });

  app.get('/clusters/:source/:name', auth, async (c) => {
    const sourceId = positiveInt(c.req.param('source'));
    const name = c.req.param('name');
    const cluster = sourceId ? await getCluster(sql, sourceId, name) : null;
    if (!cluster) {
      return notFound(c, {
        title: 'Cluster not found',
        message: `No cluster ${name} in source ${c.req.param('source')}.`,
        back: { href: '/clusters', label: 'Back to clusters' },
      });
    }
    return c.html(clusterDetailPage(viewerOf(c), cluster));
  });

  app.get('/datastores', auth, async (c) => {
    const { parsed, state } = pageParams(DatastoreListParams, '/datastores', c.req.query());
    const [result, sources, all] = await Promise.all([
      listPage(sql, DATASTORE_LIST, parsed),
      sourceChoices(sql),
      allDatastores(sql),
    ]);
    return c.html(
      datastoresPage(viewerOf(c), {
        state,
        sources,
        types: distinct(all.map((d) => d.type)),
        result,
      }),
    );
  });

  app.get('/datastores/:source/:key', auth, async (c) => {
    const sourceId = positiveInt(c.req.param('source'));
    const key = c.req.param('key');
    const d = days(c.req.query('days'), [7, 30, 90, 365], 30);
    const ds = sourceId ? await getDatastore(sql, sourceId, key, { days: d }) : null;
    if (!ds) {
      return notFound(c, {
        title: 'Datastore not found',
        message: `No datastore ${key} in source ${c.req.param('source')}.`,
        back: { href: '/datastores', label: 'Back to datastores' },
      });
    }
    const base = `/datastores/${sourceId}/${encodeURIComponent(key)}`;
    return c.html(datastoreDetailPage(viewerOf(c), ds, base));
  });

  app.get('/networks', auth, async (c) => {
    const { parsed, state } = pageParams(NetworkListParams, '/networks', c.req.query());
    const [result, sources] = await Promise.all([
      listPage(sql, NETWORK_LIST, parsed),
      sourceChoices(sql),
    ]);
    return c.html(networksPage(viewerOf(c), { state, sources, result }));
  });

  app.get('/networks/:source/:key', auth, async (c) => {
    const sourceId = positiveInt(c.req.param('source'));
    const key = c.req.param('key');
    const net = sourceId ? await getNetwork(sql, sourceId, key) : null;
    if (!net) {
      return notFound(c, {
        title: 'Network not found',
        message: `No network ${key} in source ${c.req.param('source')}.`,
        back: { href: '/networks', label: 'Back to networks' },
      });
    }
    return c.html(networkDetailPage(viewerOf(c), net));
  });

  return app;
}
