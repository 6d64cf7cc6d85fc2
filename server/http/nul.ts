/** The URL half of the NUL refusal (server/nul.ts says why): path and query parameters. */
import type { Context, Next } from 'hono';
import { tryDecodeURIComponent } from 'hono/utils/url';
import { AppError } from '../errors.ts';
import { NUL_MESSAGE } from '../nul.ts';

/** Middleware: 400 for a NUL in the decoded path or in any query parameter's name or value. */
export async function rejectNulInUrl(c: Context, next: Next): Promise<Response | void> {
  // Almost every URL has neither anywhere: no parse then (the host cannot hold either).
  const href = c.req.url;
  if (!href.includes('%00') && !href.includes('\0')) return await next();
  const url = new URL(href);
  if (!url.pathname.includes('%00') && !url.search.includes('%00') && !url.search.includes('\0')) {
    return await next();
  }
  if (tryDecodeURIComponent(url.pathname).includes('\0')) {
    throw new AppError('invalid_path', `the path ${NUL_MESSAGE}`);
  }
  for (const [name, value] of url.searchParams) {
    if (name.includes('\0') || value.includes('\0')) {
      const shown = name.replaceAll('\0', '\\u0000');
      throw new AppError('invalid_query', `${shown}: ${NUL_MESSAGE}`, {
        issues: [{ path: shown, message: NUL_MESSAGE }],
      });
    }
  }
  return await next();
}
