/** A page-shaped "not found" (missing VM, source, report or benchmark). */
import { markup } from '../markup.ts';
import { empty, pageHead } from '../components.ts';
import { page, type Viewer } from '../layout.ts';

export function notFoundPage(
  viewer: Viewer,
  o: { title: string; message: string; back: { href: string; label: string } },
) {
  return page({
    title: o.title,
    viewer,
    body: markup`${pageHead(o.title)}${
      empty(o.message, markup`<a href="${o.back.href}">${o.back.label}</a>`)
    }`,
  });
}
