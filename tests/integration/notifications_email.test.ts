/**
 * E-mail channels against a real SMTP server (smtp-server) on 127.0.0.1 that offers STARTTLS
 * with a certificate made for the test (openssl) and only accepts a login over TLS: the
 * message arrives with a text and an HTML part, the HTML escaped, the password never shown.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { notificationJobs, notifyAlertEvents } from '../../server/notifications/notify_jobs.ts';
import { fireAlerts, insertRule, until } from '../support/alert_events.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { startTestJobs } from '../support/jobs.ts';

const test = suite('notifications: e-mail over SMTP with STARTTLS');
const PASSWORD = 'smtp-password-for-the-test';
type Mail = { raw: string; secure: boolean; user: string | undefined; to: string[] };
const mails: Mail[] = [];
let t: TestApp;
let smtp: SMTPServer;
let port = 0;
let ca = '';
let dir = '';

/** Quoted-printable soft breaks and escapes undone (what nodemailer encodes long lines with). */
const unQp = (s: string) =>
  s.replace(/=\r?\n/g, '').replace(
    /=([0-9A-F]{2})/g,
    (_, h) => String.fromCharCode(parseInt(h, 16)),
  );

/** The decoded body of the part with `type`, from a multipart message. */
function part(raw: string, type: string): string {
  const at = raw.indexOf(`Content-Type: ${type}`);
  assert.ok(at >= 0, `a ${type} part`);
  const start = raw.indexOf('\r\n\r\n', at) + 4;
  const end = raw.indexOf('\r\n--', start);
  return Buffer.from(unQp(raw.slice(start, end)), 'latin1').toString('utf8');
}

test.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'vmledger-smtp-'));
  execFileSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    path.join(dir, 'key.pem'),
    '-out',
    path.join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  ca = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  smtp = new SMTPServer({
    secure: false,
    key: readFileSync(path.join(dir, 'key.pem')),
    cert: ca,
    // Login only after STARTTLS (the default): a client that stayed in clear could not send.
    allowInsecureAuth: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'alerts' && auth.password === PASSWORD) cb(null, { user: 'alerts' });
      else cb(new Error('bad login'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          raw: Buffer.concat(chunks).toString('latin1'),
          secure: session.secure,
          user: session.user as string | undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  port = (smtp.server.address() as { port: number }).port;
  t = await createTestApp('notifications_email', {
    jobs: (db) => startTestJobs(db, { features: [notificationJobs({ retryLimit: 1 })] }),
  });
  await insertRule(t.db.sql, 'host_down');
});
test.after(async () => {
  await t?.close();
  await new Promise<void>((r) => smtp?.close(() => r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const api = (p: string, init: RequestInit = {}) =>
  t.call(`/api/v1${p}`, { token: t.tokens.admin, ...init });

test('a grouped alert arrives by mail over STARTTLS, text and escaped HTML', async () => {
  const res = await api(
    '/channels',
    json({
      kind: 'email',
      name: 'ops mail',
      host: '127.0.0.1',
      port,
      tls: 'starttls',
      user: 'alerts',
      password: PASSWORD,
      from: 'vmledger@example.test',
      to: ['ops@example.test', 'oncall@example.test'],
      ca,
    }),
  );
  assert.is(res.status, 201);
  const ch = await res.json();
  assert.not.match(JSON.stringify(ch), PASSWORD);
  assert.not.match(JSON.stringify(ch), 'BEGIN CERTIFICATE');
  assert.is(ch.config.hasCa, true);
  await api('/notification-routes', json({ channelId: ch.id }));

  await notifyAlertEvents(
    t.db.sql,
    await fireAlerts(t.db.sql, { ruleId: 'host_down', groupKey: 'host:esx9', objects: 3 }),
  );
  await until(() => mails.length === 1, 15_000, 'the mail');
  const m = mails[0];
  assert.ok(m.secure, 'upgraded with STARTTLS');
  assert.is(m.user, 'alerts');
  assert.equal(m.to.sort(), ['oncall@example.test', 'ops@example.test']);
  const subject = /^Subject: (.*)$/m.exec(m.raw)![1].replace(
    /=\?UTF-8\?Q\?(.*?)\?=/gi,
    (_, q: string) => Buffer.from(unQp(q.replace(/_/g, ' ')), 'latin1').toString('utf8'),
  );
  // (a long subject folds onto a second header line: its start is enough here)
  assert.match(subject, /^Firing: Rule host_down — 3/);
  const text = part(m.raw, 'text/plain');
  const html = part(m.raw, 'text/html');
  assert.match(text, 'esx9-vm-1 (vm): powered off <unexpectedly> & "quoted"');
  assert.match(html, 'powered off &lt;unexpectedly&gt; &amp; &quot;quoted&quot;');
  assert.not.match(html, '<unexpectedly>');
  const [{ id }] = await t.db.sql`select id::text from notifications where kind = 'fired'`;
  assert.match(m.raw, new RegExp(`Message-ID: <${id}@vmledger>`, 'i'));
});

test('send test by mail; a wrong password fails the test with the reason, not the secret', async () => {
  const [{ id }] = await t.db.sql`select id from notification_channels`;
  const ok = await (await api(`/channels/${id}/test`, { method: 'POST' })).json();
  assert.is(ok.delivered, true, ok.error);
  assert.match(mails.at(-1)!.raw, /Subject: Test notification from vmledger/);
  const put = await api(`/channels/${id}`, {
    ...json({
      kind: 'email',
      name: 'ops mail',
      host: '127.0.0.1',
      port,
      user: 'alerts',
      password: 'wrong-password',
      from: 'vmledger@example.test',
      to: ['ops@example.test'],
      ca,
    }),
    method: 'PUT',
  });
  assert.is(put.status, 200);
  const bad = await (await api(`/channels/${id}/test`, { method: 'POST' })).json();
  assert.is(bad.delivered, false);
  assert.match(bad.error, /auth|login|535/i);
  assert.not.match(bad.error, 'wrong-password');
});

test('without the certificate trusted, STARTTLS fails and nothing is sent in clear', async () => {
  const before = mails.length;
  const res = await api(
    '/channels',
    json({
      kind: 'email',
      name: 'untrusted',
      host: '127.0.0.1',
      port,
      user: 'alerts',
      password: PASSWORD,
      from: 'vmledger@example.test',
      to: ['ops@example.test'],
    }),
  );
  const ch = await res.json();
  const r = await (await api(`/channels/${ch.id}/test`, { method: 'POST' })).json();
  assert.is(r.delivered, false);
  assert.match(r.error, /certificate/i);
  assert.is(mails.length, before);
});

test.run();
