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

/** pg-boss jobs: counts by queue and state, and the latest jobs. */
export type JobSummary = {
  installed: boolean;
  byState: { queue: string; state: string; count: number }[];
  recent: {
    id: string;
    queue: string;
    state: string;
    error: string | null;
    retryCount: number;
    createdOn: string;
    completedOn: string | null;
    singletonKey: string | null;
  }[];
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

type Tab = 'tokens' | 'agents' | 'jobs' | 'audit';

function adminPage(viewer: Viewer, tab: Tab, body: Content) {
  const tabs: [Tab, string, string][] = [
    ['tokens', 'Tokens', '/admin'],
    ['agents', 'Agents', '/admin/agents'],
    ['jobs', 'Jobs', '/admin/jobs'],
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
    <div><button type="submit">Create token</button></div>
  </form>
  <p class="muted small" id="t-sources-hint">An agent token bound to sources may post only for them; unbound, it owns the sources it posts for first.</p>
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

export function agentsPage(viewer: Viewer, o: { agents: AgentRow[] }) {
  return adminPage(
    viewer,
    'agents',
    o.agents.length === 0 ? empty('No agent has sent a heartbeat yet.') : table(
      'Agents',
      markup`<th scope="col">Agent token</th><th scope="col">Host</th><th scope="col">Version</th><th scope="col">Heartbeat</th><th scope="col">Sources</th><th scope="col" class="num">Spool pending</th><th scope="col" class="num">Rejected</th><th scope="col" class="num">Delivered</th><th scope="col">Delivery error</th>`,
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
          }</td><td class="num">${fmtInt(a.delivery.delivered ?? 0)}</td>
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
};

export function jobsPage(
  viewer: Viewer,
  o: {
    jobs: JobSummary;
    state: string | null;
    canRetry: boolean;
    flash?: string | null;
    error?: string;
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
  const states = ['failed', 'retry', 'active', 'created', 'completed'];
  const retry = (r: JobSummary['recent'][number]) =>
    r.state === 'failed' && o.canRetry
      ? markup`<form method="post" action="/admin/jobs/${r.id}/retry" class="inline">${
        csrfField(viewer.csrf)
      }<button class="quiet small" type="submit" aria-label="Retry ${r.queue} job ${r.id}">Retry</button></form>`
      : '';
  return adminPage(
    viewer,
    'jobs',
    markup`
${o.flash ? markup`<div class="notice success" role="status">${o.flash}</div>` : ''}
${o.error ? markup`<div class="notice danger" role="alert">${o.error}</div>` : ''}
${
      !o.canRetry
        ? markup`<p class="muted small">This server runs no job workers, so failed jobs cannot be retried from here.</p>`
        : ''
    }
${
      table(
        'Jobs by queue and state',
        markup`<th scope="col">Queue</th><th scope="col">State</th><th scope="col" class="num">Jobs</th>`,
        markup`${
          j.byState.map((r) =>
            markup`<tr><td>${r.queue}</td><td>${
              badge(JOB_TONE[r.state] ?? 'neutral', r.state)
            }</td><td class="num">${fmtInt(r.count)}</td></tr>`
          )
        }`,
        { short: true },
      )
    }
<h2>Latest jobs</h2>
<div class="toolbar">${
      segmented('Job state', [
        { href: '/admin/jobs', label: 'All', current: !o.state },
        ...states.map((s) => ({
          href: `/admin/jobs?state=${s}`,
          label: s,
          current: s === o.state,
        })),
      ])
    }</div>
${
      j.recent.length === 0 ? empty('No jobs.') : table(
        'Jobs',
        markup`<th scope="col">Queue</th><th scope="col">State</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Finished</th><th scope="col" class="num">Retries</th><th scope="col">Error</th><th scope="col"><span class="visually-hidden">Actions</span></th>`,
        markup`${
          j.recent.map((r) =>
            markup`<tr><td>${r.queue}</td><td>${
              badge(JOB_TONE[r.state] ?? 'neutral', r.state)
            }</td><td class="mono">${r.singletonKey ?? ''}</td>
      <td>${time(r.createdOn)}</td><td>${
              time(r.completedOn)
            }</td><td class="num">${r.retryCount}</td><td class="wrap error">${
              r.error ?? ''
            }</td><td>${retry(r)}</td></tr>`
          )
        }`,
      )
    }`,
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
