/** The page shell: document head, header with navigation, and the main region. */
import { markup } from './markup.ts';
import type { Content } from './components.ts';

/** Who is looking at the page (from the session). */
export type Viewer = { name: string; role: string; csrf: string };

const NAV: { href: string; label: string; admin?: boolean }[] = [
  { href: '/', label: 'Dashboard' },
  { href: '/vms', label: 'VMs' },
  { href: '/changes', label: 'Changes' },
  { href: '/alerts', label: 'Alerts' },
  { href: '/hosts', label: 'Hosts' },
  { href: '/clusters', label: 'Clusters' },
  { href: '/datastores', label: 'Datastores' },
  { href: '/networks', label: 'Networks' },
  { href: '/sources', label: 'Sources' },
  { href: '/totals', label: 'Totals' },
  { href: '/costs', label: 'Costs' },
  { href: '/capture-history', label: 'Capture history' },
  { href: '/reports', label: 'Reports' },
  { href: '/benchmarks', label: 'Benchmarks' },
  { href: '/api-reference', label: 'API' },
  { href: '/database', label: 'Database', admin: true },
  { href: '/admin', label: 'Admin', admin: true },
];

/** A full page. `current` marks the navigation entry of this page. */
export function page(
  options: { title: string; current?: string; viewer?: Viewer; body: Content; events?: string },
) {
  const v = options.viewer;
  return markup`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}'>
<title>${options.title} · vmledger</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css">
<script src="/static/htmx.min.js" defer></script>
<script src="/static/app.js" defer></script>
</head>
<body${options.events ? markup` data-events="${options.events}"` : ''}>
<a class="skip" href="#main">Skip to content</a>
${
    v
      ? markup`<header class="shell">
  <a class="brand" href="/">vm<span>ledger</span></a>
  <nav aria-label="Main"><ul>
    ${
        NAV.filter((n) => !n.admin || v.role === 'admin').map((n) =>
          markup`<li><a href="${n.href}"${
            n.href === options.current ? markup` aria-current="page"` : ''
          }>${n.label}</a></li>`
        )
      }
  </ul></nav>
  <form class="who" method="post" action="/logout">
    <input type="hidden" name="csrf" value="${v.csrf}">
    <span class="name muted" title="role: ${v.role}">${v.name}</span>
    <button class="quiet small" type="submit">Log out</button>
    <button class="quiet small" type="submit" formaction="/logout/everywhere" title="End your sessions in every browser" aria-label="Log out everywhere">Everywhere</button>
  </form>
</header>`
      : ''
  }
<main id="main" tabindex="-1">${options.body}</main>
</body>
</html>`;
}
