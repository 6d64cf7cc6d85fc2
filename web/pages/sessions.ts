/** Admin · Sessions: who is signed in to the pages, how, and since when; end one or all of a person's. */
import { markup } from '../markup.ts';
import { badge, csrfField, empty, table, time } from '../components.ts';
import { fmtInt } from '../format.ts';
import type { Viewer } from '../layout.ts';
import { adminPage } from './admin.ts';

export type SessionRow = {
  sid: number;
  principalId: number;
  name: string;
  role: string;
  method: 'token' | 'ldap' | 'oidc';
  subject: string | null;
  ip: string | null;
  createdAt: string;
  lastSeenAt: string;
  endsAt: string;
};

const METHOD = { token: 'token', ldap: 'LDAP', oidc: 'OpenID Connect' } as const;

export function sessionsPage(
  viewer: Viewer,
  o: { sessions: SessionRow[]; ownSid: number; flash?: string; error?: string },
) {
  return adminPage(
    viewer,
    'sessions',
    markup`${o.flash ? markup`<p class="notice" role="status">${o.flash}</p>` : ''}${
      o.error ? markup`<p class="error" role="alert">${o.error}</p>` : ''
    }
<p class="muted small">${fmtInt(o.sessions.length)} live sessions</p>
${
      o.sessions.length === 0 ? empty('No one is signed in.') : table(
        'Sessions',
        markup`<th scope="col">Who</th><th scope="col">Role</th><th scope="col">Method</th><th scope="col">From</th><th scope="col">Signed in</th><th scope="col">Last seen</th><th scope="col">Ends</th><th scope="col"><span class="visually-hidden">Actions</span></th>`,
        markup`${
          o.sessions.map((s) =>
            markup`<tr><td>${s.name}${
              s.subject ? markup`<br><span class="muted small">${s.subject}</span>` : ''
            }</td><td>${badge(s.role === 'admin' ? 'warn' : 'neutral', s.role)}</td><td>${
              METHOD[s.method]
            }</td><td>${s.ip ?? markup`<span class="muted">–</span>`}</td><td>${
              time(s.createdAt)
            }</td><td>${time(s.lastSeenAt, { age: true })}</td><td>${time(s.endsAt)}</td><td>${
              s.sid === o.ownSid
                ? markup`<span class="muted small">this session</span>`
                : markup`<form method="post" action="/admin/sessions/${s.sid}/end" class="inline">${
                  csrfField(viewer.csrf)
                }<button class="quiet small" type="submit" aria-label="End this session of ${s.name}">End</button></form>`
            } <form method="post" action="/admin/principals/${s.principalId}/sessions/end" class="inline">${
              csrfField(viewer.csrf)
            }<button class="quiet small" type="submit" aria-label="End all sessions of ${s.name}">End all</button></form></td></tr>`
          )
        }`,
      )
    }`,
  );
}
