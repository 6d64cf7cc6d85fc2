/** Admin: API tokens (create, revoke), agents, background jobs and the audit log. */
import { markup } from '../markup.ts';
import {
  badge,
  type Content,
  csrfField,
  empty,
  pageHead,
  segmented,
  table,
  time,
  type Tone,
} from '../components.ts';
import { fmtAge, fmtInt } from '../format.ts';
import { page, type Viewer } from '../layout.ts';

/** An API token as listed (never its value). */
export type TokenListItem = {
  id: number;
  name: string;
  role: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  allowedSources: string[] | null;
  status: 'active' | 'expired' | 'revoked';
};

/** An agent by its token, with its spool and delivery as its last heartbeat reported them. */
export type AgentRow = {
  tokenId: number;
  name: string;
  revoked: boolean;
  version: string | null;
  hostname: string | null;
  firstSeenAt: string;
  lastHeartbeatAt: string;
  spool: {
    pending?: number;
    pendingBytes?: number;
    rejected?: number;
    refusedAtCap?: number;
    refusedDiskFull?: number;
    lastRefusal?: { at: string; reason: string } | null;
    maxBytes?: number;
  };
  delivery: {
    delivered?: number;
    rejected?: number;
    lastDeliveredAt?: string | null;
    lastError?: string | null;
    retryAt?: string | null;
  };
  sources: string[];
};

/** A pg-boss job as the Jobs page lists it. */
export type JobItem = {
  id: string;
  queue: string;
  state: string;
  error: string | null;
  retryCount: number;
  createdOn: string;
  completedOn: string | null;
  singletonKey: string | null;
  data?: unknown;
};

/** pg-boss jobs: every queue with its counts by state, and the latest jobs. */
export type JobSummary = {
  installed: boolean;
  queues: { queue: string; counts: Record<string, number> }[];
  recent: JobItem[];
};

/** What the Jobs page says after an action: done, or the refused action's error. */
export type JobsFlash = {
  done?: string;
  error?: string;
  rerunError?: string;
  /** The refused rerun's fields, shown again. */
  rerun?: { kind?: string; source?: string; from?: string; to?: string; engine?: string };
};

/** A rerun of aggregation and its jobs. */
export type AggregationView = {
  id: string;
  kind: string;
  engine: string;
  createdAt: string;
  state: 'running' | 'completed' | 'failed';
  counts: Record<string, number>;
  jobs: JobItem[];
};

/** One audit log entry. */
export type AuditRow = {
  id: number;
  at: string;
  actorId: number | null;
  actorName: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  detail: unknown;
};

type Tab = 'tokens' | 'sessions' | 'agents' | 'jobs' | 'channels' | 'rates' | 'audit';

/** An admin page: the Admin heading, the section tabs, `body`. */
export function adminPage(viewer: Viewer, tab: Tab, body: Content) {
  const tabs: [Tab, string, string][] = [
    ['tokens', 'Tokens', '/admin'],
    ['sessions', 'Sessions', '/admin/sessions'],
    ['agents', 'Agents', '/admin/agents'],
    ['jobs', 'Jobs', '/admin/jobs'],
    ['channels', 'Channels', '/admin/channels'],
    ['rates', 'Rates', '/admin/rates'],
    ['audit', 'Audit log', '/admin/audit'],
  ];
  return page({
    title: `Admin · ${tabs.find((t) => t[0] === tab)![1]}`,
    current: '/admin',
    viewer,
    body: markup`${pageHead('Admin')}
<div class="toolbar">${
      segmented(
        'Admin sections',
        tabs.map(([t, label, href]) => ({ href, label, current: t === tab })),
      )
    }</div>
${body}`,
  });
}

export type TokenFlash = {
  created?: { name: string; role: string; token: string };
  revoked?: string;
  error?: string;
};

/** `ownTokenId`: the token this session logged in with; it cannot be revoked from here. */
export function tokensPage(
  viewer: Viewer,
  o: { tokens: TokenListItem[]; ownTokenId: number; flash: TokenFlash },
) {
  const f = o.flash;
  return adminPage(
    viewer,
    'tokens',
    markup`
${
      f.created
        ? markup`<div class="notice success" role="status"><p><strong>Token “${f.created.name}” (${f.created.role}) created.</strong> Copy it now: it is shown only once.</p><code class="secret" id="new-token">${f.created.token}</code></div>`
        : ''
    }
${
      f.revoked
        ? markup`<div class="notice success" role="status">Revoked “${f.revoked}”; its sessions ended.</div>`
        : ''
    }
${f.error ? markup`<div class="notice danger" role="alert">${f.error}</div>` : ''}
<section class="card panel" aria-labelledby="new-h">
  <h2 id="new-h">New token</h2>
  <form method="post" action="/admin/tokens" class="form-grid">
    ${csrfField(viewer.csrf)}
    <label for="t-name">Name<input id="t-name" name="name" required maxlength="200" placeholder="e.g. site-b agent"></label>
    <label for="t-role">Role<select id="t-role" name="role">
      <option value="viewer">viewer — read pages and API</option><option value="agent">agent — post captures</option>
      <option value="metrics">metrics — scrape metrics</option><option value="admin">admin — everything</option>
    </select></label>
    <label for="t-days">Expires in days (optional)<input id="t-days" name="days" type="number" min="1" max="3650" inputmode="numeric"></label>
    <label for="t-sources">Sources (agent tokens, optional)<input id="t-sources" name="sources" placeholder="e.g. vcenter:vc-a, proxmox:pve-b" aria-describedby="t-sources-hint"></label>
    <label for="t-scope">Sees only (viewer tokens, optional)<input id="t-scope" name="scope" placeholder="e.g. tag:tenant=acme, vcenter:vc-a, source:3" aria-describedby="t-scope-hint"></label>
    <div><button type="submit">Create token</button></div>
  </form>
  <p class="muted small" id="t-sources-hint">An agent token bound to sources may post only for them; unbound, it owns the sources it posts for first.</p>
  <p class="muted small" id="t-scope-hint">A viewer token limited to sources (by tag, key or id) sees nothing of any other source, in the API and the pages.</p>
</section>
<h2>Tokens</h2>
${
      o.tokens.length === 0 ? empty('No tokens.') : table(
        'API tokens',
        markup`<th scope="col">Name</th><th scope="col">Role</th><th scope="col">Token</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th>`,
        markup`${
          o.tokens.map((t) =>
            markup`<tr><td>${t.name}</td><td>${t.role}</td><td class="mono">${t.prefix}</td><td>${
              time(t.createdAt)
            }</td>
      <td>${
              t.lastUsedAt ? fmtAge(t.lastUsedAt) : markup`<span class="muted">never</span>`
            }</td><td>${
              t.expiresAt ? time(t.expiresAt) : markup`<span class="muted">never</span>`
            }</td>
      <td>${
              t.status === 'active'
                ? badge('ok', 'active')
                : t.status === 'revoked'
                ? badge('bad', 'revoked')
                : badge('neutral', 'expired')
            }</td>
      <td>${
              t.id === o.ownTokenId
                ? markup`<span class="muted">this session</span>`
                : t.status === 'active'
                ? markup`<form method="post" action="/admin/tokens/${t.id}/revoke" class="inline" data-confirm="Revoke “${t.name}”? Clients using it stop working at once.">${
                  csrfField(viewer.csrf)
                }<button class="danger small" type="submit" aria-label="Revoke ${t.name}">Revoke</button></form>`
                : ''
            }</td></tr>`
          )
        }`,
      )
    }`,
  );
}

/** Captures the agent's spool refused (at its cap, disk full) and the latest reason. */
function spoolRefused(s: AgentRow['spool']) {
  const n = (s.refusedAtCap ?? 0) + (s.refusedDiskFull ?? 0);
  if (n === 0) return '';
  const last = s.lastRefusal;
  return markup`${badge('bad', `${fmtInt(n)} refused`)}${
    last ? markup` <span class="error">${last.reason} (${fmtAge(last.at)})</span>` : ''
  }`;
}

export function agentsPage(viewer: Viewer, o: { agents: AgentRow[] }) {
  return adminPage(
    viewer,
    'agents',
    o.agents.length === 0 ? empty('No agent has sent a heartbeat yet.') : table(
      'Agents',
      markup`<th scope="col">Agent token</th><th scope="col">Host</th><th scope="col">Version</th><th scope="col">Heartbeat</th><th scope="col">Sources</th><th scope="col" class="num">Spool pending</th><th scope="col" class="num">Rejected</th><th scope="col">Spool refused</th><th scope="col" class="num">Delivered</th><th scope="col">Delivery error</th>`,
      markup`${
        o.agents.map((a) => {
          const stale = Date.now() - Date.parse(a.lastHeartbeatAt) > 5 * 60_000;
          return markup`<tr><td>${a.name}${
            a.revoked ? markup` ${badge('bad', 'revoked')}` : ''
          }</td><td>${a.hostname ?? ''}</td><td>${a.version ?? ''}</td>
        <td>${badge(stale ? 'warn' : 'ok', fmtAge(a.lastHeartbeatAt))}</td><td>${
            a.sources.join(', ')
          }</td>
        <td class="num">${fmtInt(a.spool.pending ?? 0)}</td><td class="num">${
            fmtInt(a.spool.rejected ?? 0)
          }</td><td class="wrap">${spoolRefused(a.spool)}</td><td class="num">${
            fmtInt(a.delivery.delivered ?? 0)
          }</td>
        <td class="wrap error">${a.delivery.lastError ?? ''}</td></tr>`;
        })
      }`,
    ),
  );
}

const JOB_TONE: Record<string, Tone> = {
  completed: 'ok',
  failed: 'bad',
  retry: 'warn',
  active: 'info',
  created: 'neutral',
  cancelled: 'neutral',
  running: 'info',
};
const JOB_STATES = ['failed', 'retry', 'active', 'created', 'completed', 'cancelled'];

/** The latest jobs; `retry`: the Retry button of a failed one (when jobs run here). */
function jobsTable(jobs: JobItem[], retry: (j: JobItem) => Content = () => '') {
  return jobs.length === 0 ? empty('No jobs.') : table(
    'Jobs',
    markup`<th scope="col">Queue</th><th scope="col">State</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Finished</th><th scope="col" class="num">Retries</th><th scope="col">Error</th><th scope="col"><span class="visually-hidden">Actions</span></th>`,
    markup`${
      jobs.map((r) =>
        markup`<tr><td>${r.queue}</td><td>${
          badge(JOB_TONE[r.state] ?? 'neutral', r.state)
        }</td><td class="mono">${r.singletonKey ?? ''}</td>
      <td>${time(r.createdOn)}</td><td>${
          time(r.completedOn)
        }</td><td class="num">${r.retryCount}</td><td class="wrap error">${r.error ?? ''}</td><td>${
          retry(r)
        }</td></tr>`
      )
    }`,
  );
}

/** The "Rerun aggregation" form (admins, when this server runs jobs). */
function rerunForm(
  viewer: Viewer,
  o: { sources: { id: number; name: string }[]; yesterday: string },
  f: JobsFlash,
) {
  const v = f.rerun ?? {};
  const option = (value: string, label: string, current?: string) =>
    markup`<option value="${value}"${
      value === (current ?? '') ? markup` selected` : ''
    }>${label}</option>`;
  return markup`<section class="card panel" aria-labelledby="rerun-h"><h2 id="rerun-h">Rerun aggregation</h2>
${f.rerunError ? markup`<div class="notice danger" role="alert">${f.rerunError}</div>` : ''}
  <form method="post" action="/admin/aggregations" class="form-grid" id="rerun">
    ${csrfField(viewer.csrf)}
    <label for="a-source">Source<select id="a-source" name="source">${
    option('', 'All sources', v.source)
  }${o.sources.map((s) => option(String(s.id), s.name, v.source))}</select></label>
    <label for="a-kind">Kind<select id="a-kind" name="kind">${option('daily', 'Daily', v.kind)}${
    option('monthly', 'Monthly', v.kind)
  }</select></label>
    <label for="a-from">From<input id="a-from" name="from" required maxlength="10" value="${
    v.from ?? o.yesterday
  }" placeholder="YYYY-MM-DD or YYYY-MM" aria-describedby="a-hint"></label>
    <label for="a-to">To<input id="a-to" name="to" required maxlength="10" value="${
    v.to ?? o.yesterday
  }" placeholder="YYYY-MM-DD or YYYY-MM"></label>
    <label for="a-engine">Engine<select id="a-engine" name="engine">${
    option('', 'Server default', v.engine)
  }${option('sql', 'SQL', v.engine)}${option('ts', 'TypeScript', v.engine)}</select></label>
    <div><button type="submit">Rerun</button></div>
  </form>
  <p class="muted small" id="a-hint">One job per source and day (or month) in the range, replacing its rollups; a daily rerun needs days, a monthly one months.</p>
</section>`;
}

export function jobsPage(
  viewer: Viewer,
  o: {
    jobs: JobSummary;
    state: string | null;
    canRetry: boolean;
    rerun: { sources: { id: number; name: string }[]; yesterday: string };
    flash: JobsFlash;
  },
) {
  const j = o.jobs;
  if (!j.installed) {
    return adminPage(
      viewer,
      'jobs',
      empty(
        'Background jobs are not installed on this database.',
        'pg-boss creates its schema when the server starts its workers.',
      ),
    );
  }
  const retry = (r: JobItem) =>
    r.state === 'failed' && o.canRetry
      ? markup`<form method="post" action="/admin/jobs/${r.queue}/${r.id}/retry" class="inline">${
        csrfField(viewer.csrf)
      }<button class="quiet small" type="submit" aria-label="Retry ${r.queue} job ${r.id}">Retry</button></form>`
      : '';
  const f = o.flash;
  return adminPage(
    viewer,
    'jobs',
    markup`
${f.done ? markup`<div class="notice success" role="status">${f.done}</div>` : ''}
${f.error ? markup`<div class="notice danger" role="alert">${f.error}</div>` : ''}
${
      o.canRetry
        ? rerunForm(viewer, o.rerun, f)
        : markup`<p class="muted small">This server runs no job workers, so jobs cannot be retried or rerun from here.</p>`
    }
${
      table(
        'Queues and their jobs by state',
        markup`<th scope="col">Queue</th>${
          JOB_STATES.map((s) => markup`<th scope="col" class="num">${s}</th>`)
        }`,
        markup`${
          j.queues.map((q) =>
            markup`<tr><td>${q.queue}</td>${
              JOB_STATES.map((s) => markup`<td class="num">${fmtInt(q.counts[s] ?? 0)}</td>`)
            }</tr>`
          )
        }`,
        { short: true },
      )
    }
<h2>Latest jobs</h2>
<div class="toolbar">${
      segmented('Job state', [
        { href: '/admin/jobs', label: 'All', current: !o.state },
        ...JOB_STATES.map((s) => ({
          href: `/admin/jobs?state=${s}`,
          label: s,
          current: s === o.state,
        })),
      ])
    }</div>
${jobsTable(j.recent, retry)}`,
  );
}

/** A rerun's live status; polls itself every 2 s until every job is done. */
export function aggregationStatus(a: AggregationView) {
  const busy = a.state === 'running';
  const done = a.jobs.length - (a.counts.created ?? 0) - (a.counts.retry ?? 0) -
    (a.counts.active ?? 0);
  return markup`<section id="aggregation" class="card panel" data-state="${a.state}" aria-live="polite"${
    busy
      ? markup` hx-get="/admin/aggregations/${a.id}?part=status" hx-trigger="every 2s" hx-swap="outerHTML"`
      : ''
  }>
<p>${badge(JOB_TONE[a.state] ?? 'neutral', a.state)} ${fmtInt(done)} of ${
    fmtInt(a.jobs.length)
  } jobs done${
    Object.keys(a.counts).length
      ? markup` (${Object.entries(a.counts).map(([s, n]) => `${n} ${s}`).join(', ')})`
      : ''
  }.</p>
${
    busy
      ? markup`<progress max="${String(a.jobs.length)}" value="${
        String(done)
      }" aria-label="Rerun progress">${String(done)} of ${String(a.jobs.length)}</progress>`
      : ''
  }
${jobsTable(a.jobs)}
</section>`;
}

export function aggregationPage(viewer: Viewer, a: AggregationView) {
  return adminPage(
    viewer,
    'jobs',
    markup`<h2>Rerun of ${a.kind} aggregation</h2>
<p class="muted small">Engine ${a.engine} · requested ${
      time(a.createdAt)
    } · <a href="/admin/jobs">All jobs</a></p>
${aggregationStatus(a)}`,
  );
}

export function auditPage(
  viewer: Viewer,
  o: { rows: AuditRow[]; total: number; next: string | null },
) {
  return adminPage(
    viewer,
    'audit',
    markup`<p class="muted small">${fmtInt(o.total)} entries</p>
${
      o.rows.length === 0 ? empty('Nothing audited yet.') : table(
        'Audit log',
        markup`<th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">From</th><th scope="col">Detail</th>`,
        markup`${
          o.rows.map((r) =>
            markup`<tr><td>${time(r.at)}</td><td>${
              r.actorName ?? markup`<span class="muted">–</span>`
            }</td><td>${badge(r.action.startsWith('auth.') ? 'warn' : 'neutral', r.action)}</td>
      <td>${r.target ?? ''}</td><td class="mono">${r.ip ?? ''}</td><td class="wrap mono small">${
              r.detail && Object.keys(r.detail as object).length ? JSON.stringify(r.detail) : ''
            }</td></tr>`
          )
        }`,
      )
    }
${
      o.next
        ? markup`<nav class="pager" aria-label="Pages"><a class="button quiet small" href="/admin/audit">Newest</a><a class="button small" rel="next" href="/admin/audit?before=${o.next}">Older</a></nav>`
        : ''
    }`,
  );
}
