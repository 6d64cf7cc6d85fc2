/** VM pages: the list (full page or htmx fragment), its CSV export, and one VM with its trace. */
import type { Reads } from '../db/reads.ts';
import { readTarget } from '../http/read_target.ts';
import { Hono, type MiddlewareHandler } from 'hono';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { handleError } from '../http/errors.ts';
import { listVms } from '../inventory/list_vms.ts';
import { VM_SORTS, type VmSort } from '../inventory/list_query.ts';
import { parseVmListParams, VmListParams, vmsCsv } from '../inventory/routes.ts';
import { type VmFilterChoices, vmFilterChoices } from '../queries/pages_vm_filters.ts';
import { listSourcesDetailed } from '../queries/sources.ts';
import { getVm, vmTrace } from '../queries/vm_detail.ts';
import { vmCosts } from '../costs/showback.ts';
import { vmUsage } from '../queries/vm_usage.ts';
import { CHANGE_KINDS, listChanges } from '../changes/changes.ts';
import type { UsageRetention } from '../aggregate/usage_retention.ts';
import { SPANS, vmDetailPage } from '../../web/pages/vm_detail.ts';
import { vmsPage } from '../../web/pages/vms.ts';
import { type VmListState, vmsUrl, vmTable } from '../../web/partials/vm_table.ts';
import { fromLocalField, notFound, type PageEnv, positiveInt, viewerOf } from './guard.ts';

/** The list's URL parameters: the API's, but for `limit` (a page holds PAGE_SIZE VMs). */
const LIST_KEYS = Object.keys(VmListParams.shape).filter((k) => k !== 'limit');
const PAGE_SIZE = 100;

/** The list's URL state: known parameters only, defaults dropped so URLs stay short. */
function listState(query: Record<string, string>): VmListState {
  const params: Record<string, string> = {};
  for (const k of LIST_KEYS) if (query[k]) params[k] = query[k];
  // The page's "as of" field is a datetime-local value: a UTC time to the minute.
  if (params.at) params.at = fromLocalField(params.at);
  const sort = (VM_SORTS as readonly string[]).includes(params.sort)
    ? (params.sort as VmSort)
    : 'name';
  const order = params.order === 'desc' ? 'desc' : 'asc';
  if (sort === 'name') delete params.sort;
  if (order === 'asc') delete params.order;
  return { params, sort, order, page: params.cursor ? (positiveInt(query.p) ?? 2) : 1 };
}

/** How a filter chip names a value: sources and datastores by name, the rest as given. */
function filterNames(sources: { id: number; name: string }[], choices: VmFilterChoices) {
  return (k: string, v: string) =>
    k === 'source'
      ? (sources.find((s) => String(s.id) === v)?.name ?? v)
      : k === 'datastore'
      ? (choices.datastores.find((d) => d.key === v)?.name ?? v)
      : v;
}

/** The changes a VM's page lists (its whole life, oldest first); more are on the Changes page. */
const LIFE_CHANGES = 200;

/** The usage chart's ranges in days (the host page's). */
const USAGE_DAYS = [1, 7, 30, 90];

export function vmRoutes(
  data: Sql,
  auth: MiddlewareHandler<PageEnv>,
  usageRetention: UsageRetention,
  reads: Reads,
) {
  const app = new Hono<PageEnv>();

  app.get('/vms', auth, async (c) => {
    const sql = await readTarget(c, reads, data);
    const state = listState(c.req.query());
    // htmx (search, filters, sort, pages) gets the table alone; history restores get the page.
    const fragment = !!c.req.header('hx-request') && !c.req.header('hx-history-restore-request');
    // A fragment reads the sources only to name a source chip (search keystrokes need none).
    const [result, sources, choices] = await Promise.all([
      listVms(sql, { ...parseVmListParams(state.params), limit: PAGE_SIZE }),
      !fragment || state.params.source ? listSourcesDetailed(sql) : [],
      vmFilterChoices(sql),
    ]);
    if (fragment) {
      // The address bar gets the canonical URL (no empty filters), whatever the form sent.
      c.header(
        'HX-Push-Url',
        vmsUrl(state.params, { p: state.page > 1 ? String(state.page) : null }),
      );
      return c.html(vmTable(result, state, { oob: true, names: filterNames(sources, choices) }));
    }
    return c.html(
      vmsPage(viewerOf(c), {
        state,
        sources,
        choices,
        result,
        names: filterNames(sources, choices),
      }),
    );
  });

  // The whole filtered list as CSV: the same function as the API's `Accept: text/csv`.
  app.get('/vms.csv', auth, (c) => {
    const state = listState(c.req.query());
    delete state.params.cursor;
    return vmsCsv(data, parseVmListParams(state.params));
  });

  app.get('/vms/:source/:key', auth, async (c) => {
    const sql = await readTarget(c, reads, data);
    const sourceId = positiveInt(c.req.param('source'));
    const key = c.req.param('key');
    const vm = sourceId ? await getVm(sql, sourceId, key) : null;
    if (!vm) {
      return notFound(c, {
        title: 'VM not found',
        message: `No VM ${key} in source ${c.req.param('source')}.`,
        back: { href: '/vms', label: 'Back to VMs' },
      });
    }
    const g = (['capture', 'daily', 'monthly'] as const).find((x) =>
      x === c.req.query('granularity')
    ) ?? 'capture';
    const asked = Number(c.req.query('span'));
    const span = SPANS[g].includes(asked) ? asked : SPANS[g][1];
    // Anchor the window at the VM's last sighting, so a deleted VM still shows its last days…
    const to = new Date(
      Date.parse(vm.lifecycle.lastSeenAt!) + (g === 'capture' ? 1000 : 86400_000),
    );
    // …and not before it was first seen (an empty stretch before its first capture says nothing).
    const first = vm.lifecycle.firstSeenAt!;
    const floor = Date.parse(
      g === 'capture' ? first : g === 'daily' ? first.slice(0, 10) : `${first.slice(0, 7)}-01`,
    );
    const from = new Date(Math.max(to.getTime() - span * 86400_000, floor));
    // Usage over `days` up to the VM's newest capture, from the tier that covers it.
    const days = USAGE_DAYS.includes(Number(c.req.query('days'))) ? Number(c.req.query('days')) : 7;
    const usageTo = new Date(Date.parse(vm.lifecycle.lastSeenAt!) + 1000);
    // Its whole life from the ledger's change list: the Changes page's function, for one VM.
    const lifeTo = new Date(Date.now() + 1000);
    const [trace, usage, costs, life] = await Promise.all([
      vmTrace(sql, { sourceId: sourceId!, key, granularity: g, from, to }),
      vmUsage(sql, {
        sourceId: sourceId!,
        key,
        // Not before it was first seen (as the trace), so a new VM's chart is not mostly empty.
        from: new Date(
          Math.max(usageTo.getTime() - days * 86400_000, Date.parse(vm.lifecycle.firstSeenAt!)),
        ),
        to: usageTo,
        retention: usageRetention,
      }),
      vmCosts(sql, sourceId!, key, 12),
      listChanges(sql, {
        from: new Date(0),
        to: lifeTo,
        sourceId: sourceId!,
        vmKey: key,
        kinds: CHANGE_KINDS,
        limit: LIFE_CHANGES,
      }),
    ]);
    const allChanges = new URLSearchParams({
      preset: 'custom',
      from: (vm.lifecycle.createdAt ?? vm.lifecycle.firstSeenAt!).slice(0, 10),
      to: new Date(lifeTo.getTime() + 86400_000).toISOString().slice(0, 10),
      source: String(sourceId),
      vm: key,
    });
    return c.html(
      vmDetailPage(viewerOf(c), {
        vm,
        trace,
        usage,
        usageDays: days,
        costs,
        life: { items: life.items, all: life.next ? `/changes?${allChanges}` : null },
        span,
        base: `/vms/${sourceId}/${encodeURIComponent(key)}`,
      }),
    );
  });

  app.onError((err, c) => {
    // A bad filter value answers the page with the error rather than JSON.
    if (err instanceof AppError && err.status === 400 && c.req.header('hx-request')) {
      return c.html(
        `<div id="vm-table"><p class="notice danger" role="alert">${
          err.message.replace(/[<>&"]/g, '')
        }</p></div>`,
        200,
      );
    }
    // A browser opening a link with a bad value (a hand-edited `at`, a NUL) gets the page's
    // answer too, with the same message; other clients keep the JSON error.
    if (
      err instanceof AppError && err.status === 400 && c.get('session') &&
      (c.req.header('accept') ?? '').includes('text/html')
    ) {
      return notFound(c, {
        title: 'Not a valid list',
        message: err.message,
        back: { href: '/vms', label: 'Back to VMs' },
      }, 400);
    }
    return handleError(err, c);
  });

  return app;
}
