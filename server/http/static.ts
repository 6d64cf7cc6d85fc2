/**
 * Static assets: CSS and the page glue from web/static, htmx from its npm package (no CDN).
 * Loaded once at start and served from memory, gzipped when the client accepts it, with an
 * ETag so repeat views revalidate for free.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Hono } from 'hono';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const web = (name: string) => path.resolve(here, '../../web/static', name);

const ASSETS: Record<string, { file: string; type: string }> = {
  'app.css': { file: web('app.css'), type: 'text/css; charset=utf-8' },
  'app.js': { file: web('app.js'), type: 'text/javascript; charset=utf-8' },
  'favicon.svg': { file: web('favicon.svg'), type: 'image/svg+xml' },
  'htmx.min.js': {
    file: require.resolve('htmx.org/dist/htmx.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

/** The assets as served: raw and gzipped bytes (the UI benchmark reads the sizes from here). */
export function loadAssets() {
  return new Map(
    Object.entries(ASSETS).map(([name, a]) => {
      const body = readFileSync(a.file);
      return [name, {
        body,
        gzip: gzipSync(body, { level: 9 }),
        type: a.type,
        etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`,
      }];
    }),
  );
}

/** Serves the known assets from memory. */
export function staticRoutes() {
  const loaded = loadAssets();
  const app = new Hono();
  app.get('/static/:name', (c) => {
    const asset = loaded.get(c.req.param('name'));
    if (!asset) return c.json({ error: { code: 'not_found', message: 'no such asset' } }, 404);
    const headers: Record<string, string> = {
      'content-type': asset.type,
      'cache-control': 'public, max-age=3600',
      etag: asset.etag,
      vary: 'accept-encoding',
    };
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, headers);
    if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
      return c.body(asset.gzip, 200, { ...headers, 'content-encoding': 'gzip' });
    }
    return c.body(asset.body, 200, headers);
  });
  return app;
}
