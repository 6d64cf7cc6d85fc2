/** The page shell: document head, header with navigation, and the main region. */
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

type Content = HtmlEscapedString | Promise<HtmlEscapedString> | string;

const NAV = [
  { href: '/', label: 'Dashboard' },
  { href: '/vms', label: 'VMs' },
];

/** A full page. `current` marks the navigation entry of this page; `user` shows who is logged in. */
export function page(options: { title: string; current?: string; user?: string; csrf?: string; body: Content }) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · vmledger</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/htmx.min.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${options.user
    ? html`<header class="shell">
  <a class="brand" href="/">vmledger</a>
  <nav aria-label="Main">
    ${NAV.map((n) => html`<a href="${n.href}" ${n.href === options.current ? html`aria-current="page"` : ''}>${n.label}</a>`)}
  </nav>
  <form method="post" action="/logout">
    <input type="hidden" name="csrf" value="${options.csrf ?? ''}">
    <span class="muted">${options.user}</span> <button class="quiet" type="submit">Log out</button>
  </form>
</header>`
    : ''}
<main id="main">${options.body}</main>
</body>
</html>`;
}
