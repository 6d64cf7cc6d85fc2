/**
 * Issue 16, the HTTP side: body limits before reading (413), the login redirect only to
 * same-origin paths, CSV formula neutralisation, a failed-auth lockout that never blocks a
 * valid token or login, trusted proxies, the session cookie's Secure flag, token hints,
 * no-store on token values, and scheduled report retention.
 */
import { connect } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCsv } from '../support/csv.ts';
import { runAggregation } from '../../server/aggregate/run.ts';
import { createApp } from '../../server/app.ts';
import { ensureToken } from '../../server/auth/tokens.ts';
import { ConfigError, loadServerConfig } from '../../server/config.ts';
import type { Jobs } from '../../server/jobs/boss.ts';
import { runReportJob } from '../../server/reports/report_jobs.ts';
import { listen } from '../../server/runtime.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture, makeHeartbeat } from '../support/captures.ts';

const test = suite('hardening: HTTP limits, redirects, CSV, lockout, proxies');
let t: TestApp;
const DAY = '2026-09-10';
const NASTY_NAMES = ['=HYPERLINK("http://x")', '@SUM(1)', '\t=1', '-1+1', '+cmd|calc'];

test.before(async () => {
  t = await createTestApp('hardening_http', { authFailureLimit: 20 });
  const capture = makeCapture({
    sourceId: 'vc-nasty',
    at: `${DAY}T12:00:00Z`,
    vms: NASTY_NAMES.map((name, i) => ({ key: `vc:n${i}`, name, annotation: name })),
  });
  const res = await t.call('/api/v1/captures', { ...json(capture), token: t.tokens.agent });
  assert.is(res.status, 201);
  const [{ id }] = await t.db.sql`select id from sources where external_id = 'vc-nasty'`;
  await runAggregation(t.db.sql, 'sql', { kind: 'daily', sourceId: id, period: DAY, tz: 'UTC' });
});
test.after(() => t.close());

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const from = (ip: string) => ({ incoming: { socket: { remoteAddress: ip } } });
const count = async (table: string) =>
  (await t.db.sql`select count(*)::int as n from ${t.db.sql(table)}`)[0].n as number;

function chunked(text: string, chunk = 4096): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

const heartbeat = makeHeartbeat;

test('login form over 16 KiB: 413 plain page, with, without and with a lying Content-Length', async () => {
  const sessions = await count('sessions');
  const big = new URLSearchParams({ token: t.tokens.admin, pad: 'x'.repeat(20 * 1024) })
    .toString();
  const declared = await t.app.request('/login', { method: 'POST', headers: FORM, body: big });
  assert.is(declared.status, 413);
  assert.match(declared.headers.get('content-type')!, /text\/html/);
  const streamed = await t.app.request('/login', {
    method: 'POST',
    headers: FORM,
    body: chunked(big),
    duplex: 'half',
  } as RequestInit);
  assert.is(streamed.status, 413);
  const lying = await t.app.request('/login', {
    method: 'POST',
    headers: { ...FORM, 'content-length': '40' },
    body: big,
  });
  assert.is(lying.status, 413);
  assert.is(await count('sessions'), sessions, 'no session from an oversized form');
  const ok = await t.app.request('/login', {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({ token: t.tokens.admin }).toString(),
  });
  assert.is(ok.status, 303, 'a normal login still works');
});

test('heartbeat over 1 MiB and token JSON over 256 KiB: 413 JSON, nothing stored', async () => {
  const pad = 'x'.repeat(1100 * 1024);
  for (
    const body of [JSON.stringify(heartbeat({ pad })), chunked(JSON.stringify(heartbeat({ pad })))]
  ) {
    const res = await t.call(
      '/api/v1/heartbeats',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        token: t.tokens.agent2,
        duplex: 'half',
      } as RequestInit & { token: string },
    );
    assert.is(res.status, 413);
    assert.is((await res.json()).error.code, 'body_too_large');
  }
  assert.is(await count('agents'), 0, 'no heartbeat recorded');
  const tokens = await count('api_tokens');
  const big = await t.call('/api/v1/tokens', {
    ...json({ name: 'big', role: 'viewer', pad: 'y'.repeat(300 * 1024) }),
    token: t.tokens.admin,
  });
  assert.is(big.status, 413);
  assert.is((await big.json()).error.code, 'body_too_large');
  assert.is(await count('api_tokens'), tokens, 'no token created');
  const hb = await t.call('/api/v1/heartbeats', { ...json(heartbeat()), token: t.tokens.agent2 });
  assert.is(hb.status, 200, 'a normal heartbeat still works');
  const created = await t.call('/api/v1/tokens', {
    ...json({ name: 'normal', role: 'viewer' }),
    token: t.tokens.admin,
  });
  assert.is(created.status, 201);
  assert.is(created.headers.get('cache-control'), 'no-store', 'a token value is never cached');
});

/** Sends only the head of a request declaring a huge body; resolves with the status line. */
function headOnly(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer: the server waited for the body'));
    }, 3000);
    socket.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(got.split('\r\n')[0]);
      }
    });
    socket.on('error', reject);
    socket.write(head + 'token=abc');
  });
}

test('over a socket, a declared 300 MB body is refused before it is sent', async () => {
  const server = await listen(t.app.fetch, '127.0.0.1', 0);
  try {
    const login = await headOnly(
      server.port,
      'POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
        'Content-Length: 300000000\r\n\r\n',
    );
    assert.match(login, / 413 /);
    const api = await headOnly(
      server.port,
      `POST /api/v1/heartbeats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.tokens.agent2}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n',
    );
    assert.match(api, / 413 /);
  } finally {
    await server.close();
  }
});

test('after login, only same-origin paths are followed', async () => {
  const nasty = [
    '/\t/evil.example',
    '/%09/evil.example',
    '/\n/evil.example',
    '/\r\nSet-Cookie: a=b',
    '//evil.example',
    '/\\evil.example',
    '/\\/evil.example',
    'https://evil.example',
    'javascript:alert(1)',
    ' /evil',
    '/vms\u2028x',
  ];
  const base = 'http://vmledger.test';
  for (const next of nasty) {
    const res = await t.app.request('/login', {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({ token: t.tokens.viewer, next }).toString(),
    });
    assert.is(res.status, 303, JSON.stringify(next));
    const location = res.headers.get('location')!;
    assert.is(new URL(location, base).origin, base, `${JSON.stringify(next)} → ${location}`);
    const bad = /^\/[/\\]/.test(location) ||
      [...location].some((ch) => ch.charCodeAt(0) <= 0x20 || ch === '\\');
    assert.not.ok(bad, `${JSON.stringify(next)} → ${location}`);
    const page = await t.app.request(`/login?next=${encodeURIComponent(next)}`);
    assert.is(page.status, 200);
    const kept = /name="next" value="([^"]*)"/.exec(await page.text())![1];
    assert.is(new URL(kept.replace(/&amp;/g, '&'), base).origin, base, JSON.stringify(next));
  }
  // The issue's own link: %09 decodes to a tab, which browsers strip (→ //evil.example).
  const issue = await t.app.request('/login?next=/%09/evil.example');
  assert.match(await issue.text(), /name="next" value="\/"/);
  const encoded = await t.app.request('/login', {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({ token: t.tokens.viewer, next: '/%2F%2Fevil.example' }).toString(),
  });
  assert.is(new URL(encoded.headers.get('location')!, base).origin, base);
  const good = await t.app.request('/login', {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({ token: t.tokens.viewer, next: '/vms?q=a&sort=name' }).toString(),
  });
  assert.is(good.headers.get('location'), '/vms?q=a&sort=name');
});

function assertNeutral(rows: string[][], where: string) {
  for (const row of rows) {
    for (const cell of row) {
      const number = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cell);
      assert.ok(
        number || !/^[=+\-@\t\r]/.test(cell),
        `${where}: live cell ${JSON.stringify(cell)}`,
      );
      assert.ok(!/^'[+-]?\d+(\.\d+)?$/.test(cell), `${where}: a number became text: ${cell}`);
    }
  }
  const flat = rows.flat();
  for (const name of NASTY_NAMES) assert.ok(flat.includes(`'${name}`), `${where}: ${name}`);
}

test('CSV: formulas in VM names are neutralised in API rollups and the VM list; numbers stay numbers', async () => {
  const rollups = await t.call(`/api/v1/rollups/daily?day=${DAY}`, {
    token: t.tokens.viewer,
    headers: { accept: 'text/csv' },
  });
  assert.is(rollups.status, 200);
  const rows = parseCsv(await rollups.text());
  assert.ok(rows.length > NASTY_NAMES.length);
  assertNeutral(rows, 'rollups');
  const login = await t.app.request('/login', {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({ token: t.tokens.viewer }).toString(),
  });
  const cookie = login.headers.get('set-cookie')!.split(';')[0];
  const list = await t.app.request('/vms.csv', { headers: { cookie } });
  assert.is(list.status, 200);
  assertNeutral(parseCsv(await list.text()), 'VM list');
});

test('lockout: 25 bad tokens from one address get 429 after 20, a valid token from it still passes', async () => {
  const env = from('203.0.113.7');
  const statuses: number[] = [];
  for (let i = 0; i < 25; i++) {
    const res = await t.app.request('/api/v1/vms', {
      headers: { authorization: `Bearer vml_guess_${i}_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa` },
    }, env);
    statuses.push(res.status);
    if (res.status === 429) assert.ok(Number(res.headers.get('retry-after')) > 0);
  }
  assert.equal(statuses, [...Array(20).fill(401), ...Array(5).fill(429)]);
  const valid = await t.app.request('/api/v1/vms', {
    headers: { authorization: `Bearer ${t.tokens.viewer}` },
  }, env);
  assert.is(valid.status, 200, 'a valid token is never locked out');
  const other = await t.app.request('/api/v1/vms', {
    headers: { authorization: 'Bearer vml_other_address_aaaaaaaaaaaaaaaaaaaaaaa' },
  }, from('203.0.113.8'));
  assert.is(other.status, 401, 'another address is not affected');
  // The same wrong token again and again (a mistyped script): 429 after 5, its address's
  // budget for other credentials untouched.
  const script = from('203.0.113.9');
  const repeated: number[] = [];
  for (let i = 0; i < 8; i++) {
    repeated.push(
      (await t.app.request('/api/v1/vms', {
        headers: { authorization: 'Bearer vml_mistyped_aaaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
      }, script)).status,
    );
  }
  assert.equal(repeated, [401, 401, 401, 401, 401, 429, 429, 429]);
  const fresh = await t.app.request('/api/v1/vms', {
    headers: { authorization: 'Bearer vml_another_guess_aaaaaaaaaaaaaaaaaaaaaaa' },
  }, script);
  assert.is(fresh.status, 401);
  // Logins: failing ones get 429 after 10; the valid one logs in.
  const logins: number[] = [];
  for (let i = 0; i < 12; i++) {
    logins.push(
      (await t.app.request('/login', {
        method: 'POST',
        headers: FORM,
        body: `token=wrong-${i}`,
      }, env)).status,
    );
  }
  assert.equal(logins.slice(9), [401, 429, 429]);
  const login = await t.app.request('/login', {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({ token: t.tokens.admin }).toString(),
  }, env);
  assert.is(login.status, 303, 'a valid login is never locked out');
});

test('X-Forwarded-For/-Proto: ignored by default, believed from a configured trusted proxy', async () => {
  const proxied = createApp(t.db.sql, {
    maxBodyBytes: 1024 * 1024,
    sessionHours: 1,
    trustedProxies: ['10.0.0.0/8'],
  });
  const headers = {
    authorization: 'Bearer vml_proxy_test_aaaaaaaaaaaaaaaaaaaaaaaaa',
    'x-forwarded-for': '198.51.100.23, 10.1.1.1',
    'x-forwarded-proto': 'https',
  };
  const lastIp = async () =>
    (await t.db
      .sql`select ip from audit_log where action = 'auth.failure' order by id desc limit 1`)[0]
      .ip;
  assert.is((await t.app.request('/api/v1/vms', { headers }, from('10.0.0.5'))).status, 401);
  assert.is(await lastIp(), '10.0.0.5', 'not trusted: the socket address');
  assert.is((await proxied.request('/api/v1/vms', { headers }, from('10.0.0.5'))).status, 401);
  assert.is(await lastIp(), '198.51.100.23', 'trusted proxy: the forwarded client');
  assert.is((await proxied.request('/api/v1/vms', { headers }, from('192.0.2.1'))).status, 401);
  assert.is(await lastIp(), '192.0.2.1', 'a peer that is not a trusted proxy is not believed');

  const form = {
    method: 'POST',
    headers: { ...FORM, 'x-forwarded-proto': 'https' },
    body: new URLSearchParams({ token: t.tokens.viewer }).toString(),
  };
  const viaProxy = await proxied.request('/login', form, from('10.0.0.5'));
  assert.match(viaProxy.headers.get('set-cookie')!, /;\s*Secure/i);
  const untrusted = await t.app.request('/login', form, from('10.0.0.5'));
  assert.not.match(untrusted.headers.get('set-cookie')!, /;\s*Secure/i);
  const direct = await t.app.request('https://vmledger.test/login', {
    ...form,
    headers: FORM,
  });
  assert.match(direct.headers.get('set-cookie')!, /;\s*Secure/i);

  assert.equal(
    loadServerConfig({ VMLEDGER_TRUSTED_PROXIES: '10.0.0.0/8, ::1,192.0.2.7' }).trustedProxies,
    ['10.0.0.0/8', '::1', '192.0.2.7'],
  );
  assert.equal(loadServerConfig({}).trustedProxies, []);
  assert.throws(
    () => loadServerConfig({ VMLEDGER_TRUSTED_PROXIES: 'proxy.example' }),
    (e: Error) => e instanceof ConfigError && /VMLEDGER_TRUSTED_PROXIES/.test(e.message),
  );
});

test('token lists show no secret characters of short tokens, at most the last 4 of long ones', async () => {
  const short = 'abcdefghijklmnop';
  await ensureToken(t.db.sql, { name: 'env admin', role: 'admin', value: short });
  const res = await t.call('/api/v1/tokens', { token: t.tokens.admin });
  const items = (await res.json()).items as { name: string; prefix: string }[];
  const env = items.find((i) => i.name === 'env admin')!;
  assert.ok(![...env.prefix].some((ch) => short.includes(ch)), `shown: ${env.prefix}`);
  const viewer = items.find((i) => i.name === 'test viewer')!;
  assert.is(viewer.prefix, `vml_…${t.tokens.viewer.slice(-4)}`);
  const page = await t.app.request('/login', {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({ token: t.tokens.admin }).toString(),
  });
  const cookie = page.headers.get('set-cookie')!.split(';')[0];
  const admin = await (await t.app.request('/admin', { headers: { cookie } })).text();
  assert.not.ok(admin.includes(short.slice(0, 6)), 'the admin page shows no secret characters');
  assert.not.ok(admin.includes(t.tokens.viewer.slice(0, 10)));
});

test('scheduled reports are kept VMLEDGER_REPORT_RETENTION_DAYS', async () => {
  const jobs = { sql: t.db.sql, reportTz: 'UTC', reportRetentionDays: 7 } as unknown as Jobs;
  const r = await runReportJob(jobs, {
    kind: 'daily',
    period: DAY,
    format: 'csv',
    scheduled: true,
  }) as { id: string };
  const [row] = await t.db.sql`
    select extract(epoch from expires_at - now())::float8 / 86400 as days from reports
    where id = ${r.id}`;
  assert.ok(row.days > 6.9 && row.days <= 7, `kept ${row.days} days`);
});

test.run();
