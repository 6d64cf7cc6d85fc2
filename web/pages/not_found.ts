/** A page-shaped "not found" (missing VM, source, report or benchmark). */
import { html } from 'hono/html';
import { empty, pageHead } from '../components.ts';
import { page, type Viewer } from '../layout.ts';

export function notFoundPage(
  viewer: Viewer,
  o: { title: string; message: string; back: { href: string; label: string } },
) {
  return page({
    title: o.title,
    viewer,
    body: html`${pageHead(o.title)}${
      empty(o.message, html`<a href="${o.back.href}">${o.back.label}</a>`)
    }`,
  });
}
