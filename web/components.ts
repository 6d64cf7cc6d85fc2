/**
 * Shared page components: page heading, KPI cards, badges, empty states, tables, times and
 * segmented controls. Pages compose these so they stay consistent.
 */
import { markup } from './markup.ts';
import type { HtmlEscapedString } from 'hono/utils/html';
import { fmtAge, fmtTime } from './format.ts';

export type Content = HtmlEscapedString | Promise<HtmlEscapedString> | string;

/** The heading row of a page: title, optional subtitle and actions on the right. */
export function pageHead(
  title: string,
  options: { sub?: Content; actions?: Content; crumbs?: Content } = {},
) {
  return markup`${
    options.crumbs
      ? markup`<nav class="crumbs" aria-label="Breadcrumb">${options.crumbs}</nav>`
      : ''
  }
<div class="page-head"><div><h1>${title}</h1>${
    options.sub ? markup`<div class="sub">${options.sub}</div>` : ''
  }</div>${options.actions ?? ''}</div>`;
}

/** A KPI card with an optional change ("+12 vs yesterday"). */
export function kpi(
  label: string,
  value: string,
  delta?: { value: number; text: string; title?: string } | null,
) {
  const cls = !delta ? '' : delta.value > 0 ? 'up' : delta.value < 0 ? 'down' : 'flat';
  return markup`<div class="card kpi"><div class="label">${label}</div><div class="value">${value}</div>${
    delta ? markup`<div class="delta ${cls}" title="${delta.title ?? ''}">${delta.text}</div>` : ''
  }</div>`;
}

export type Tone = 'ok' | 'warn' | 'bad' | 'neutral' | 'info' | 'on' | 'off' | 'suspended';

/** A small pill with a text label (colour is never the only signal). */
export function badge(tone: Tone, label: string, title?: string) {
  return markup`<span class="badge ${tone}"${
    title ? markup` title="${title}"` : ''
  }>${label}</span>`;
}

const POWER: Record<string, [Tone, string]> = {
  poweredOn: ['on', 'On'],
  poweredOff: ['off', 'Off'],
  suspended: ['suspended', 'Suspended'],
};

/** Power state of a VM as a badge. */
export function powerBadge(state: string) {
  const [tone, label] = POWER[state] ?? ['neutral', state];
  return badge(tone, label);
}

/** An empty state: what is missing and what to do about it. */
export function empty(title: string, hint?: Content) {
  return markup`<div class="empty" role="status"><strong>${title}</strong>${
    hint ? markup`<span>${hint}</span>` : ''
  }</div>`;
}

/** A `<time>` showing the UTC time, with the age as its hover title. */
export function time(iso: string | null | undefined, options: { age?: boolean } = {}) {
  if (!iso) return markup`<span class="muted">–</span>`;
  return options.age
    ? markup`<time datetime="${iso}" title="${fmtTime(iso)}">${fmtAge(iso)}</time>`
    : markup`<time datetime="${iso}" title="${fmtAge(iso)}">${fmtTime(iso)}</time>`;
}

/** A scrollable table with a sticky header; `caption` is for screen readers. */
export function table(
  caption: string,
  head: Content,
  rows: Content,
  options: { short?: boolean; id?: string } = {},
) {
  return markup`<div class="table-wrap${options.short ? ' short' : ''}"${
    options.id ? markup` id="${options.id}"` : ''
  } tabindex="0" role="region" aria-label="${caption}">
<table><caption class="visually-hidden">${caption}</caption><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** A row of links where one is current (granularity pickers and the like). */
export function segmented(
  label: string,
  items: { href: string; label: string; current: boolean }[],
) {
  return markup`<div class="segmented" role="group" aria-label="${label}">${
    items.map((i) =>
      markup`<a href="${i.href}"${i.current ? markup` aria-current="true"` : ''}>${i.label}</a>`
    )
  }</div>`;
}

/** Poll health of a source from its age and last capture: [tone, label, why]. */
export function pollHealth(
  options: {
    lastCaptureAt: string | null;
    complete: boolean | null;
    errors: number;
    stale: boolean;
  },
): [Tone, string, string] {
  if (!options.lastCaptureAt) return ['neutral', 'no captures', 'no capture received yet'];
  if (options.stale) return ['bad', 'stale', `last capture ${fmtAge(options.lastCaptureAt)}`];
  if (options.complete === false || options.errors > 0) {
    return ['warn', 'partial', 'last capture was incomplete'];
  }
  return ['ok', 'healthy', `last capture ${fmtAge(options.lastCaptureAt)}`];
}

/** A hidden CSRF field for a form posting to a page route. */
export function csrfField(token: string) {
  return markup`<input type="hidden" name="csrf" value="${token}">`;
}
