/**
 * No token value reaches a log line: every path that handles tokens runs at debug level
 * with the server's log captured, then every token value is searched for. (scripts/test.ts
 * also scans the whole suite's output for token-shaped values.)
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { LogLevel } from '../../shared/log.ts';
import { log, setLogSink } from '../../server/log.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('no secrets in logs');
let t: TestApp;
const lines: string[] = [];

test.before(async () => {
  t = await createTestApp('no_secrets', { authFailureLimit: 3 });
  setLogSink((line) => lines.push(line));
  log.setLevel('debug');
});
test.after(async () => {
  setLogSink(null);
  log.setLevel((process.env.VMLEDGER_LOG_LEVEL as LogLevel | undefined) ?? 'warn');
  await t.close();
});

test('tokens used, created, refused, rate-limited and logged by mistake never appear', async () => {
  const created = await (await t.call('/api/v1/tokens', {
    ...json({ name: 'n', role: 'agent' }),
    token: t.tokens.admin,
  })).json();
  const secrets = [t.tokens.admin, t.tokens.viewer, t.tokens.agent, created.token];
  await t.call('/api/v1/captures', {
    ...json(makeCapture({ sourceId: 's', at: '2026-05-01T10:00:00Z', vms: [{ key: 'a' }] })),
    token: created.token,
  });
  await t.call('/api/v1/captures', { ...json({ broken: true }), token: t.tokens.agent });
  for (const s of secrets) await t.call('/api/v1/vms', { token: s + 'x' });
  await t.call('/api/v1/vms', { token: t.tokens.viewer });
  await t.app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${t.tokens.agent}`,
  });
  await t.app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${t.tokens.admin}`,
  });
  // Code that logs a secret by mistake is still redacted, by key and by shape.
  log.error('oops', {
    token: t.tokens.admin,
    nested: { authorization: `Bearer ${t.tokens.viewer}` },
    text: `value ${created.token}`,
  });
  assert.ok(lines.length > 3, `captured ${lines.length} lines`);
  const all = lines.join('\n');
  for (const s of secrets) assert.not.ok(all.includes(s), 'a token value is in the log');
  assert.ok(all.includes('[redacted]'));
});

test.run();
