/** The Changes page: presets, the summary first, then the list; CSV export of the same list. */
import { Hono, type MiddlewareHandler } from 'hono';
import type { Sql } from '../db/connect.ts';
import { changesAnswer } from '../changes/changes.ts';
import { CHANGE_PRESETS, type ChangePreset, presetRange } from '../changes/presets.ts';
import { changesCsv, parseChangeParams } from '../changes/routes.ts';
import { listSourcesDetailed } from '../queries/sources.ts';
import { changesPage } from '../../web/pages/changes.ts';
import { AppError } from '../errors.ts';
import { fromLocalField, notFound, type PageEnv, viewerOf } from './guard.ts';

const PAGE_SIZE = 100;

/** The page's URL state: a preset (default the last 7 days) or custom dates, source, kind. */
function pageState(query: Record<string, string>) {
  const preset: ChangePreset = (CHANGE_PRESETS as readonly string[]).includes(query.preset)
    ? query.preset as ChangePreset
    : query.from || query.to
    ? 'custom'
    : '7d';
  // The form's fields are datetime-local values; dates (the presets') pass as they are.
  const field = (v: string | undefined) => (v ? fromLocalField(v) : v);
  const range = presetRange(preset, new Date(), { from: field(query.from), to: field(query.to) });
  const params: Record<string, string> = { ...range };
  for (const k of ['source', 'vm', 'kind', 'cursor'] as const) if (query[k]) params[k] = query[k];
  return { preset, params };
}

export function changeRoutes(sql: Sql, auth: MiddlewareHandler<PageEnv>) {
  const app = new Hono<PageEnv>();

  app.get('/changes', auth, async (c) => {
    const state = pageState(c.req.query());
    let q;
    try {
      q = parseChangeParams({ ...state.params, limit: String(PAGE_SIZE) });
    } catch (err) {
      // A hand-edited range (to before from, not a date) is shown as a page, not JSON.
      if (!(err instanceof AppError)) throw err;
      return notFound(c, {
        title: 'Not a range',
        message: err.message,
        back: { href: '/changes', label: 'Back to the last 7 days' },
      }, err.status);
    }
    const [answer, sources] = await Promise.all([changesAnswer(sql, q), listSourcesDetailed(sql)]);
    return c.html(changesPage(viewerOf(c), {
      preset: state.preset,
      params: state.params,
      sources: sources.map((s) => ({ id: s.id, name: s.name })),
      answer,
    }));
  });

  // The whole list as CSV: the same function as the API's `Accept: text/csv`.
  app.get('/changes.csv', auth, (c) => {
    const { params } = pageState(c.req.query());
    delete params.cursor;
    return changesCsv(sql, parseChangeParams(params));
  });

  return app;
}
