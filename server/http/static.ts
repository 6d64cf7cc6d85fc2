/** Static assets: the CSS from web/static and htmx from its npm package (no CDN). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const ASSETS: Record<string, { file: string; type: string }> = {
  'app.css': { file: path.resolve(here, '../../web/static/app.css'), type: 'text/css; charset=utf-8' },
  'htmx.min.js': { file: require.resolve('htmx.org/dist/htmx.min.js'), type: 'text/javascript; charset=utf-8' },
};

/** Serves the known assets from memory, loaded once at start. */
export function staticRoutes() {
  const loaded = new Map(Object.entries(ASSETS).map(([name, a]) => [name, { body: readFileSync(a.file), type: a.type }]));
  const app = new Hono();
  app.get('/static/:name', (c) => {
    const asset = loaded.get(c.req.param('name'));
    if (!asset) return c.json({ error: { code: 'not_found', message: 'no such asset' } }, 404);
    return c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=3600' });
  });
  return app;
}
