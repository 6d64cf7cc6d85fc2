/**
 * Alerts: the list (firing first, filters, acknowledge with a note, silence), one alert with
 * its timeline, the silences, and the rules with their thresholds (admins edit them).
 */
import { markup } from '../markup.ts';
import {
  badge,
  csrfField,
  empty,
  pageHead,
  segmented,
  table,
  time,
  type Tone,
} from '../components.ts';
import { fmtInt } from '../format.ts';
import { page, type Viewer } from '../layout.ts';

/** An alert as the pages show it. */
export type AlertRow = {
  id: number;
  ruleId: string;
  ruleName: string;
  objectKind: string;
  objectKey: string;
  objectName: string;
  sourceId: number | null;
  sourceName: string | null;
  severity: string;
  state: string;
  summary: string;
  pendingSince: string;
  firedAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  ackNote: string | null;
  resolvedAt: string | null;
  silenced: boolean;
};

export type AlertEventRow = {
  id: number;
  at: string;
  kind: string;
  actor: string | null;
  note: string | null;
};

export type SilenceRow = {
  id: number;
  startsAt: string;
  endsAt: string;
  ruleId: string | null;
  sourceId: number | null;
  objectKind: string | null;
  objectKey: string | null;
  maintenance: boolean;
  comment: string;
  createdBy: string;
  active: boolean;
};

export type RuleRow = {
  id: string;
  name: string;
  description: string;
  severity: string;
  enabled: boolean;
  params: Record<string, unknown>;
  direction: string;
  updatedAt: string;
  updatedBy: string | null;
  overrides: {
    scopeKind: string;
    scopeValue: string;
    enabled: boolean | null;
    params: Record<string, unknown>;
  }[];
};

const SEVERITY_TONE: Record<string, Tone> = { critical: 'bad', warning: 'warn', info: 'info' };
const STATE_TONE: Record<string, Tone> = {
  firing: 'bad',
  pending: 'warn',
  acknowledged: 'info',
  resolved: 'ok',
};

export const severityBadge = (s: string) => badge(SEVERITY_TONE[s] ?? 'neutral', s);
const stateBadge = (a: { state: string; silenced: boolean }) =>
  markup`${badge(STATE_TONE[a.state] ?? 'neutral', a.state)}${
    a.silenced ? markup` ${badge('neutral', 'silenced', 'under a silence: not notified')}` : ''
  }`;

const STATES: [string, string][] = [
  ['open', 'Open'],
  ['firing', 'Firing'],
  ['pending', 'Pending'],
  ['acknowledged', 'Acknowledged'],
  ['resolved', 'Resolved'],
  ['all', 'All'],
];

function ackForm(viewer: Viewer, a: AlertRow) {
  return markup`<form class="inline" method="post" action="/alerts/${a.id}/ack">
  ${csrfField(viewer.csrf)}
  <input id="note-${a.id}" name="note" required maxlength="2000" aria-label="Note" placeholder="What is being done">
  <button class="small" type="submit">Acknowledge</button>
</form>`;
}

function silenceForm(viewer: Viewer, a: AlertRow) {
  return markup`<form class="inline" method="post" action="/silences">
  ${csrfField(viewer.csrf)}
  <input type="hidden" name="ruleId" value="${a.ruleId}">
  <input type="hidden" name="objectKind" value="${a.objectKind}">
  <input type="hidden" name="objectKey" value="${a.objectKey}">
  <input type="hidden" name="back" value="/alerts/${a.id}">
  <select id="dur-${a.id}" name="durationMinutes" aria-label="Silence for">
    <option value="60">1 hour</option><option value="240">4 hours</option>
    <option value="1440">1 day</option><option value="10080">1 week</option>
  </select>
  <input id="why-${a.id}" name="comment" required maxlength="2000" aria-label="Why silence it" placeholder="Why">
  <button class="small quiet" type="submit">Silence</button>
</form>`;
}

export function alertsPage(viewer: Viewer, o: {
  filters: { state: string; severity?: string; rule?: string; source?: string };
  items: AlertRow[];
  total: number;
  rules: { id: string; name: string }[];
  sources: { id: number; name: string }[];
  silences: SilenceRow[];
  done?: string;
}) {
  const f = o.filters;
  const url = (over: Record<string, string | undefined>) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...f, ...over })) if (v) q.set(k, v);
    return `/alerts?${q}`;
  };
  const admin = viewer.role === 'admin';
  return page({
    title: 'Alerts',
    current: '/alerts',
    viewer,
    body: markup`${
      pageHead('Alerts', {
        sub:
          'What the rules found wrong in the estate: firing first, then pending, acknowledged and resolved.',
        actions: markup`<a class="button quiet small" href="/alert-rules">Rules</a>`,
      })
    }
${o.done ? markup`<div class="notice success" role="status">${o.done}</div>` : ''}
<div class="toolbar">${
      segmented(
        'State',
        STATES.map(([v, label]) => ({ href: url({ state: v }), label, current: f.state === v })),
      )
    }</div>
<form class="toolbar" aria-label="Filters" action="/alerts" method="get">
  <input type="hidden" name="state" value="${f.state}">
  <label for="a-sev">Severity <select id="a-sev" name="severity">
    <option value="">Any</option>
    ${
      ['critical', 'warning', 'info'].map((s) =>
        markup`<option value="${s}"${s === f.severity ? markup` selected` : ''}>${s}</option>`
      )
    }
  </select></label>
  <label for="a-rule">Rule <select id="a-rule" name="rule">
    <option value="">Any rule</option>
    ${
      o.rules.map((r) =>
        markup`<option value="${r.id}"${
          r.id === f.rule ? markup` selected` : ''
        }>${r.name}</option>`
      )
    }
  </select></label>
  <label for="a-source">Source <select id="a-source" name="source">
    <option value="">All sources</option>
    ${
      o.sources.map((s) =>
        markup`<option value="${s.id}"${
          String(s.id) === f.source ? markup` selected` : ''
        }>${s.name}</option>`
      )
    }
  </select></label>
  <button type="submit">Show</button>
</form>
<p class="muted small" id="alert-count">${fmtInt(o.total)} alerts</p>
${
      o.items.length === 0
        ? empty('No alerts here.', 'Nothing the rules watch is wrong, or the filters leave it out.')
        : table(
          'Alerts',
          markup`<th scope="col">Severity</th><th scope="col">State</th><th scope="col">Alert</th><th scope="col">Source</th><th scope="col">Since</th>${
            admin ? markup`<th scope="col">Act</th>` : ''
          }`,
          markup`${
            o.items.map((a) =>
              markup`<tr data-alert="${a.id}"><td>${severityBadge(a.severity)}</td><td>${
                stateBadge(a)
              }</td><td><a href="/alerts/${a.id}">${a.summary}</a><div class="muted small">${a.ruleName} · ${a.objectKind} ${a.objectName}</div></td><td>${
                a.sourceName ?? '–'
              }</td><td>${time(a.resolvedAt ?? a.firedAt ?? a.pendingSince, { age: true })}</td>${
                admin
                  ? markup`<td>${a.state === 'firing' ? ackForm(viewer, a) : ''}${
                    a.state !== 'resolved' && !a.silenced ? silenceForm(viewer, a) : ''
                  }</td>`
                  : ''
              }</tr>`
            )
          }`,
          { id: 'alerts-table' },
        )
    }
<h2>Silences</h2>
${silencesTable(viewer, o.silences)}`,
  });
}

function matcher(s: SilenceRow) {
  const parts = [
    s.ruleId ? `rule ${s.ruleId}` : '',
    s.sourceId ? `source ${s.sourceId}` : '',
    s.objectKind ? `${s.objectKind}${s.objectKey ? ` ${s.objectKey}` : ''}` : '',
  ].filter(Boolean);
  return parts.join(' · ');
}

function silencesTable(viewer: Viewer, silences: SilenceRow[]) {
  if (silences.length === 0) {
    return empty('No silences.', 'Silence an alert from its row or its page.');
  }
  const admin = viewer.role === 'admin';
  return table(
    'Silences',
    markup`<th scope="col">Matches</th><th scope="col">From</th><th scope="col">Until</th><th scope="col">Why</th><th scope="col">By</th>${
      admin ? markup`<th scope="col">End</th>` : ''
    }`,
    markup`${
      silences.map((s) =>
        markup`<tr data-silence="${s.id}"><td>${matcher(s)}${
          s.maintenance ? markup` ${badge('info', 'maintenance')}` : ''
        }${s.active ? markup` ${badge('warn', 'active')}` : ''}</td><td>${
          time(s.startsAt)
        }</td><td>${time(s.endsAt)}</td><td>${s.comment}</td><td>${s.createdBy}</td>${
          admin
            ? markup`<td><form method="post" action="/silences/${s.id}/expire">${
              csrfField(viewer.csrf)
            }<button class="small quiet" type="submit">End now</button></form></td>`
            : ''
        }</tr>`
      )
    }`,
    { short: true, id: 'silences-table' },
  );
}

const EVENT_TONE: Record<string, Tone> = {
  pending: 'warn',
  fired: 'bad',
  acknowledged: 'info',
  resolved: 'ok',
  silenced: 'neutral',
  unsilenced: 'neutral',
  note: 'neutral',
};

export function alertDetailPage(viewer: Viewer, a: AlertRow & { timeline: AlertEventRow[] }) {
  const admin = viewer.role === 'admin';
  return page({
    title: `Alert ${a.id}`,
    current: '/alerts',
    viewer,
    body: markup`${
      pageHead(a.summary, {
        crumbs: markup`<a href="/alerts">Alerts</a> / ${a.id}`,
        sub: markup`${severityBadge(a.severity)} ${
          stateBadge(a)
        } · ${a.ruleName} · ${a.objectKind} ${a.objectName}${
          a.sourceName ? ` · ${a.sourceName}` : ''
        }`,
      })
    }
<dl class="facts">
  <dt>Pending since</dt><dd>${time(a.pendingSince)}</dd>
  <dt>Fired</dt><dd>${time(a.firedAt)}</dd>
  <dt>Acknowledged</dt><dd>${time(a.acknowledgedAt)}${
      a.acknowledgedBy ? markup` by ${a.acknowledgedBy}: ${a.ackNote}` : ''
    }</dd>
  <dt>Resolved</dt><dd>${time(a.resolvedAt)}</dd>
</dl>
${
      admin && a.state !== 'resolved'
        ? markup`<div class="toolbar">${a.state === 'firing' ? ackForm(viewer, a) : ''}${
          a.silenced ? '' : silenceForm(viewer, a)
        }</div>`
        : ''
    }
<h2>Timeline</h2>
${
      table(
        'Timeline',
        markup`<th scope="col">Time</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Note</th>`,
        markup`${
          a.timeline.map((e) =>
            markup`<tr><td>${time(e.at)}</td><td>${
              badge(EVENT_TONE[e.kind] ?? 'neutral', e.kind)
            }</td><td>${e.actor ?? markup`<span class="muted">the rule</span>`}</td><td>${
              e.note ?? ''
            }</td></tr>`
          )
        }`,
        { short: true, id: 'timeline' },
      )
    }`,
  });
}

const paramText = (v: unknown) => (Array.isArray(v) ? v.join(', ') : String(v));

export function rulesPage(
  viewer: Viewer,
  rules: RuleRow[],
  o: { done?: string; error?: string } = {},
) {
  const admin = viewer.role === 'admin';
  return page({
    title: 'Alert rules',
    current: '/alerts',
    viewer,
    body: markup`${
      pageHead('Alert rules', {
        crumbs: markup`<a href="/alerts">Alerts</a> / Rules`,
        sub:
          'What each rule watches and its thresholds; a clear level below the fire level keeps alerts from flapping. forMinutes: how long the condition must hold before the alert fires.',
      })
    }
${o.done ? markup`<div class="notice success" role="status">${o.done}</div>` : ''}
${o.error ? markup`<div class="notice danger" role="alert">${o.error}</div>` : ''}
${
      rules.map((r) =>
        markup`<section class="card panel" id="rule-${r.id}" aria-labelledby="rule-${r.id}-name">
  <div class="head"><h2 id="rule-${r.id}-name">${r.name}</h2><div>${severityBadge(r.severity)} ${
          r.enabled ? badge('ok', 'enabled') : badge('off', 'disabled')
        }</div></div>
  <p class="muted small">${r.description.replaceAll('`', '')} <code>${r.id}</code></p>
  ${
          admin
            ? markup`<form class="toolbar" method="post" action="/alert-rules/${r.id}" aria-label="${r.name} settings">
    ${csrfField(viewer.csrf)}
    <label for="${r.id}-enabled"><input id="${r.id}-enabled" type="checkbox" name="enabled" value="true"${
              r.enabled ? markup` checked` : ''
            }> enabled</label>
    <label for="${r.id}-severity">Severity <select id="${r.id}-severity" name="severity">${
              ['critical', 'warning', 'info'].map((s) =>
                markup`<option value="${s}"${
                  s === r.severity ? markup` selected` : ''
                }>${s}</option>`
              )
            }</select></label>
    ${
              Object.entries(r.params).map(([k, v]) =>
                markup`<label for="${r.id}-${k}">${k} <input id="${r.id}-${k}" name="p.${k}" value="${
                  paramText(v)
                }" size="${Array.isArray(v) ? 18 : 6}"></label>`
              )
            }
    <button class="small" type="submit">Save</button>
  </form>`
            : markup`<p class="small">${
              Object.entries(r.params).map(([k, v]) => `${k} ${paramText(v)}`).join(' · ')
            }</p>`
        }
  ${overridesPart(viewer, r)}
</section>`
      )
    }`,
  });
}

const SCOPES: [string, string][] = [
  ['source', 'Source (id)'],
  ['cluster', 'Cluster'],
  ['datastore', 'Datastore'],
  ['tag', 'VM tag'],
];

/** A rule's overrides: the list (admins: remove each) and, for admins, a form to set one. */
function overridesPart(viewer: Viewer, r: RuleRow) {
  const admin = viewer.role === 'admin';
  const list = r.overrides.length
    ? markup`<ul class="small" aria-label="${r.name} overrides">${
      r.overrides.map((ov) =>
        markup`<li>${ov.scopeKind} <strong>${ov.scopeValue}</strong>: ${
          Object.entries(ov.params).map(([k, v]) => `${k} ${paramText(v)}`).join(', ') ||
          'as the rule'
        }${ov.enabled === false ? ' (off here)' : ''}${
          admin
            ? markup` <form class="inline" method="post" action="/alert-rules/${r.id}/overrides/delete">${
              csrfField(viewer.csrf)
            }<input type="hidden" name="kind" value="${ov.scopeKind}"><input type="hidden" name="value" value="${ov.scopeValue}"><button class="small quiet" type="submit">Remove</button></form>`
            : ''
        }</li>`
      )
    }</ul>`
    : '';
  if (!admin) return list;
  return markup`${list}<details><summary class="small">Set an override</summary>
<form class="toolbar" method="post" action="/alert-rules/${r.id}/overrides" aria-label="${r.name} override">
  ${csrfField(viewer.csrf)}
  <label for="${r.id}-ov-kind">For <select id="${r.id}-ov-kind" name="kind">${
    SCOPES.map(([v, label]) => markup`<option value="${v}">${label}</option>`)
  }</select></label>
  <label for="${r.id}-ov-value">Name or id <input id="${r.id}-ov-value" name="value" required maxlength="1000" size="12"></label>
  <label for="${r.id}-ov-enabled">Rule here <select id="${r.id}-ov-enabled" name="enabled"><option value="">as the rule</option><option value="false">off</option><option value="true">on</option></select></label>
  ${
    Object.entries(r.params).map(([k, v]) =>
      markup`<label for="${r.id}-ov-${k}">${k} <input id="${r.id}-ov-${k}" name="p.${k}" placeholder="${
        paramText(v)
      }" size="${Array.isArray(v) ? 18 : 6}"></label>`
    )
  }
  <button class="small" type="submit">Set</button>
</form></details>`;
}

/** The dashboard panel: open alerts by severity, linking to the list. */
export function alertsPanel(counts: { severity: string; state: string; n: number }[]) {
  const firing = (sev: string) =>
    counts.filter((c) => c.severity === sev && (c.state === 'firing' || c.state === 'acknowledged'))
      .reduce((n, c) => n + c.n, 0);
  return markup`<section class="cards" aria-label="Alerts" id="alerts-panel">
  ${
    ['critical', 'warning', 'info'].map((s) =>
      markup`<a class="card kpi" href="/alerts?state=open&amp;severity=${s}"><div class="label">${s} alerts</div><div class="value">${
        fmtInt(firing(s))
      }</div></a>`
    )
  }
</section>`;
}
