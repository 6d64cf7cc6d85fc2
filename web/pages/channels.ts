/**
 * Admin · Channels: where notifications go (list, add, edit, delete, send test), the routes
 * that send rules to them, and the deliveries with their state — dead ones with Retry.
 */
import { markup } from '../markup.ts';
import {
  badge,
  type Content,
  csrfField,
  empty,
  segmented,
  table,
  time,
  type Tone,
} from '../components.ts';
import type { Viewer } from '../layout.ts';
import { adminPage } from './admin.ts';

/** A channel as listed (secrets never reach a page: only whether one is set). */
export type ChannelItem = {
  id: number;
  name: string;
  kind: string;
  enabled: boolean;
  target: string;
  config: {
    url?: string;
    host?: string;
    port?: number;
    tls?: string;
    user?: string;
    from?: string;
    to?: string[];
  };
  hasSecret: boolean;
  updatedAt: string;
};

export type RouteItem = {
  id: number;
  channelName: string;
  ruleId: string | null;
  minSeverity: string;
  groupWaitSeconds: number;
  repeatSeconds: number;
  enabled: boolean;
};

export type DeliveryItem = {
  id: string;
  channelName: string;
  kind: string;
  ruleId: string | null;
  groupKey: string | null;
  objects: number;
  state: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
};

export type ChannelsFlash = { done?: string; error?: string };

/** The values a channel form shows again (after a refusal, or to edit). */
export type ChannelFormValues = Record<string, string | undefined>;

const STATE_TONE: Record<string, Tone> = {
  delivered: 'ok',
  pending: 'info',
  retrying: 'warn',
  dead: 'bad',
};

const option = (value: string, label: string, current?: string) =>
  markup`<option value="${value}"${
    value === (current ?? '') ? markup` selected` : ''
  }>${label}</option>`;

/** The add/edit form: one form for every kind; each field says which kinds read it. */
export function channelForm(
  viewer: Viewer,
  o: { action: string; values: ChannelFormValues; editing: boolean; error?: string },
) {
  const v = o.values;
  const keep = o.editing ? ' (leave empty to keep the stored one)' : '';
  return markup`<section class="card panel" aria-labelledby="ch-form-h"><h2 id="ch-form-h">${
    o.editing ? 'Edit channel' : 'Add a channel'
  }</h2>
${o.error ? markup`<div class="notice danger" role="alert">${o.error}</div>` : ''}
<form method="post" action="${o.action}" class="form-grid" id="channel-form">
  ${csrfField(viewer.csrf)}
  <label for="c-name">Name<input id="c-name" name="name" required maxlength="100" value="${
    v.name ?? ''
  }"></label>
  <label for="c-kind">Kind<select id="c-kind" name="kind">${
    option('webhook', 'Webhook (signed JSON)', v.kind)
  }${option('slack', 'Slack-compatible', v.kind)}${option('teams', 'Teams-compatible', v.kind)}${
    option('email', 'E-mail (SMTP)', v.kind)
  }</select></label>
  <label for="c-enabled">Enabled<select id="c-enabled" name="enabled">${
    option('true', 'Yes', v.enabled)
  }${option('false', 'No', v.enabled)}</select></label>
  <label for="c-url">URL (webhook, Slack, Teams)<input id="c-url" name="url" type="url" maxlength="2000" value="${
    v.url ?? ''
  }" placeholder="https://…"></label>
  <label for="c-secret">Secret (webhook, 16+ characters${keep})<input id="c-secret" name="secret" type="password" autocomplete="new-password" maxlength="500"></label>
  <label for="c-host">SMTP host (e-mail)<input id="c-host" name="host" maxlength="253" value="${
    v.host ?? ''
  }"></label>
  <label for="c-port">Port<input id="c-port" name="port" inputmode="numeric" maxlength="5" value="${
    v.port ?? '587'
  }"></label>
  <label for="c-tls">TLS<select id="c-tls" name="tls">${
    option('starttls', 'STARTTLS (required)', v.tls)
  }${option('tls', 'TLS (465)', v.tls)}${option('none', 'None', v.tls)}</select></label>
  <label for="c-user">User<input id="c-user" name="user" maxlength="200" value="${
    v.user ?? ''
  }" autocomplete="off"></label>
  <label for="c-password">Password${keep}<input id="c-password" name="password" type="password" autocomplete="new-password" maxlength="500"></label>
  <label for="c-from">From<input id="c-from" name="from" maxlength="254" value="${
    v.from ?? ''
  }"></label>
  <label for="c-to">To (comma-separated)<input id="c-to" name="to" maxlength="5000" value="${
    v.to ?? ''
  }"></label>
  <div><button type="submit">${o.editing ? 'Save' : 'Add channel'}</button></div>
</form>
<p class="muted small">Secrets are stored and never shown again. A Slack or Teams URL is a credential too: only its host is shown.</p>
</section>`;
}

/** The outcome of "Send test", swapped into the channel's row by htmx. */
export function testOutcome(r: { delivered: boolean; error: string | null }) {
  return r.delivered
    ? markup`<span role="status">${badge('ok', 'test delivered')}</span>`
    : markup`<span role="alert">${badge('bad', 'test failed')} <span class="small">${
      r.error ?? ''
    }</span></span>`;
}

function channelRows(viewer: Viewer, channels: ChannelItem[]) {
  return channels.map((c) =>
    markup`<tr><td><a href="/admin/channels/${c.id}">${c.name}</a></td><td>${c.kind}</td><td>${c.target}</td><td>${
      c.enabled ? badge('ok', 'enabled') : badge('neutral', 'disabled')
    }</td><td>${c.hasSecret ? 'set' : markup`<span class="muted">none</span>`}</td><td>
<form method="post" action="/admin/channels/${c.id}/test" class="inline" hx-post="/admin/channels/${c.id}/test" hx-target="#test-${c.id}" hx-swap="innerHTML">${
      csrfField(viewer.csrf)
    }<button class="quiet small" type="submit" aria-label="Send a test to ${c.name}">Send test</button></form>
<form method="post" action="/admin/channels/${c.id}/delete" class="inline">${
      csrfField(viewer.csrf)
    }<button class="quiet small" type="submit" aria-label="Delete channel ${c.name}">Delete</button></form>
<span id="test-${c.id}" aria-live="polite"></span></td></tr>`
  );
}

function routeSection(
  viewer: Viewer,
  channels: ChannelItem[],
  routes: RouteItem[],
  error?: string,
) {
  const rows = routes.map((r) =>
    markup`<tr><td>${r.channelName}</td><td>${
      r.ruleId ?? markup`<span class="muted">every rule</span>`
    }</td><td>${r.minSeverity}+</td><td class="num">${r.groupWaitSeconds} s</td><td class="num">${
      Math.round(r.repeatSeconds / 60)
    } min</td><td>${
      r.enabled ? 'yes' : 'no'
    }</td><td><form method="post" action="/admin/notification-routes/${r.id}/delete" class="inline">${
      csrfField(viewer.csrf)
    }<button class="quiet small" type="submit" aria-label="Delete route ${r.id}">Delete</button></form></td></tr>`
  );
  return markup`<h2>Routes</h2>
${error ? markup`<div class="notice danger" role="alert">${error}</div>` : ''}
${
    routes.length
      ? table(
        'Routes: which rules go to which channel',
        markup`<th scope="col">Channel</th><th scope="col">Rule</th><th scope="col">Severity</th><th scope="col" class="num">Group wait</th><th scope="col" class="num">Repeat</th><th scope="col">Enabled</th><th scope="col"></th>`,
        markup`${rows}`,
        { short: true },
      )
      : empty('No routes yet.', 'Without a route, no alert goes to any channel.')
  }
${
    channels.length
      ? markup`<form method="post" action="/admin/notification-routes" class="form-grid" id="route-form">
  ${csrfField(viewer.csrf)}
  <label for="r-channel">Channel<select id="r-channel" name="channelId">${
        channels.map((c) => option(String(c.id), c.name))
      }</select></label>
  <label for="r-rule">Rule id (empty: every rule)<input id="r-rule" name="ruleId" maxlength="100"></label>
  <label for="r-sev">At least<select id="r-sev" name="minSeverity">${option('info', 'info')}${
        option('warning', 'warning')
      }${option('critical', 'critical')}</select></label>
  <label for="r-wait">Group wait (s)<input id="r-wait" name="groupWaitSeconds" inputmode="numeric" value="30"></label>
  <label for="r-repeat">Repeat (s)<input id="r-repeat" name="repeatSeconds" inputmode="numeric" value="14400"></label>
  <div><button type="submit">Add route</button></div>
</form>`
      : ''
  }`;
}

function deliverySection(
  viewer: Viewer,
  deliveries: DeliveryItem[],
  state: string | null,
  canRetry: boolean,
) {
  const rows = deliveries.map((d) =>
    markup`<tr><td>${time(d.createdAt)}</td><td>${d.channelName}</td><td>${d.kind}</td><td>${
      d.ruleId ?? ''
    }</td><td>${d.groupKey ?? ''}</td><td class="num">${d.objects}</td><td>${
      badge(STATE_TONE[d.state] ?? 'neutral', d.state)
    }</td><td class="num">${d.attempts}</td><td class="small">${
      d.lastError ?? ''
    }</td><td><code class="small" title="${d.id}">${d.id.slice(0, 8)}</code></td><td>${
      d.state === 'dead' && d.kind !== 'test' && canRetry
        ? markup`<form method="post" action="/admin/notifications/${d.id}/retry" class="inline">${
          csrfField(viewer.csrf)
        }<button class="quiet small" type="submit" aria-label="Retry delivery ${d.id}">Retry</button></form>`
        : ''
    }</td></tr>`
  );
  return markup`<h2>Deliveries</h2>
<div class="toolbar">${
    segmented('Delivery state', [
      { href: '/admin/channels', label: 'All', current: !state },
      ...['dead', 'retrying', 'pending', 'delivered'].map((s) => ({
        href: `/admin/channels?state=${s}`,
        label: s === 'dead' ? 'Dead letters' : s,
        current: s === state,
      })),
    ])
  }</div>
${
    deliveries.length
      ? table(
        'Deliveries, newest first',
        markup`<th scope="col">Created</th><th scope="col">Channel</th><th scope="col">Kind</th><th scope="col">Rule</th><th scope="col">Group</th><th scope="col" class="num">Objects</th><th scope="col">State</th><th scope="col" class="num">Attempts</th><th scope="col">Last error</th><th scope="col">Delivery id</th><th scope="col"></th>`,
        markup`${rows}`,
      )
      : empty('No deliveries here.')
  }`;
}

/** The Channels page. */
export function channelsPage(
  viewer: Viewer,
  o: {
    channels: ChannelItem[];
    routes: RouteItem[];
    deliveries: DeliveryItem[];
    state: string | null;
    canRetry: boolean;
    flash: ChannelsFlash;
    form?: { values: ChannelFormValues; error?: string };
    routeError?: string;
  },
) {
  const f = o.flash;
  const body: Content = markup`
${f.done ? markup`<div class="notice success" role="status">${f.done}</div>` : ''}
${f.error ? markup`<div class="notice danger" role="alert">${f.error}</div>` : ''}
${
    o.channels.length
      ? table(
        'Notification channels',
        markup`<th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Target</th><th scope="col">State</th><th scope="col">Secret</th><th scope="col"></th>`,
        markup`${channelRows(viewer, o.channels)}`,
        { short: true },
      )
      : empty('No channels yet.', 'Add a webhook, Slack, Teams or e-mail channel below.')
  }
${
    channelForm(viewer, {
      action: '/admin/channels',
      values: o.form?.values ?? {},
      editing: false,
      error: o.form?.error,
    })
  }
${routeSection(viewer, o.channels, o.routes, o.routeError)}
${deliverySection(viewer, o.deliveries, o.state, o.canRetry)}`;
  return adminPage(viewer, 'channels', body);
}

/** One channel's edit page. */
export function channelEditPage(
  viewer: Viewer,
  o: { channel: ChannelItem; values: ChannelFormValues; error?: string },
) {
  return adminPage(
    viewer,
    'channels',
    markup`<p><a href="/admin/channels">← Channels</a></p>${
      channelForm(viewer, {
        action: `/admin/channels/${o.channel.id}`,
        values: o.values,
        editing: true,
        error: o.error,
      })
    }`,
  );
}

/** The form values of a stored channel (nothing secret). */
export function channelValues(c: ChannelItem): ChannelFormValues {
  return {
    name: c.name,
    kind: c.kind,
    enabled: String(c.enabled),
    url: c.config.url,
    host: c.config.host,
    port: c.config.port ? String(c.config.port) : undefined,
    tls: c.config.tls,
    user: c.config.user,
    from: c.config.from,
    to: c.config.to?.join(', '),
  };
}
