/**
 * Hono's `html` template tag, named `markup` here. Deno's formatter (2.3+) rewrites the
 * inside of every template literal tagged `html` as an HTML document: it splits attributes
 * and wraps text onto new lines, which changes the whitespace of rendered pages (a badge
 * reading " match " instead of "match") and cannot be turned off. Templates tagged `markup`
 * are left exactly as written, and `deno fmt --check` still covers the code around them.
 */
export { html as markup, raw } from 'hono/html';
