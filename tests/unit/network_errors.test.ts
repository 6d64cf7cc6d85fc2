/**
 * TLS and connection mistakes come out of the agent's HTTP client as one plain sentence
 * (not raw OpenSSL text), the same under Node and Deno: nothing listening, https against an
 * http port, http against an https port, an untrusted certificate, a wrong pinned thumbprint.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createHttpClient } from '../../agent/runtime/http_client.ts';

/** A self-signed test certificate for localhost/127.0.0.1 (valid for 100 years). */
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrFn1Wl5ICgeVMFwo
0VeznUTMQ55PXQYSWUjhwAg/JEGhRANCAAQKglR8qfGtRpzb4vlKotF1y0FTx4K1
w/FLvG5NTyLyfF7ISd1+wvW314xo5luqLIt7Jj4BX3pNN0agw/JHU938
-----END PRIVATE KEY-----`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUFt+Pta3MCXGK26khtXOpDTlyB4QwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEzMDE5MTQ0NVoYDzIxMjYxMTA2
MTkxNDQ1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQKglR8qfGtRpzb4vlKotF1y0FTx4K1w/FLvG5NTyLyfF7ISd1+wvW3
14xo5luqLIt7Jj4BX3pNN0agw/JHU938o28wbTAdBgNVHQ4EFgQUU3bR64KWbB81
QIfi4+KkLoKS2LYwHwYDVR0jBBgwFoAUU3bR64KWbB81QIfi4+KkLoKS2LYwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDRwAwRAIgAVrTqvEl2z8uB2FflGmfZ8uenJq6NoPUDAhUfCt84+oCIERu
XY2EKIfqhtZyRj8n7AkH5UgKmHaagGTvrVdwlevU
-----END CERTIFICATE-----`;

const test = suite('agent HTTP client: plain sentences for connection and TLS mistakes');
let plain: http.Server;
let tls: https.Server;
let plainPort = 0;
let tlsPort = 0;

test.before(async () => {
  plain = http.createServer((_req, res) => res.end('ok'));
  tls = https.createServer({ key: KEY, cert: CERT }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  plainPort = (plain.address() as AddressInfo).port;
  tlsPort = (tls.address() as AddressInfo).port;
});
test.after(async () => {
  plain.closeAllConnections?.();
  tls.closeAllConnections?.();
  await new Promise((r) => plain.close(r));
  await new Promise((r) => tls.close(r));
});

async function failure(url: string, options: { thumbprint?: string } = {}): Promise<Error> {
  const client = createHttpClient(options);
  try {
    await client.request(url, { timeoutMs: 5000 });
  } catch (err) {
    return err as Error;
  } finally {
    client.close();
  }
  throw new Error(`${url} answered`);
}

const RAW = /SSL routines|error:0A|EPROTO|InvalidContentType|UnknownIssuer/;

test('connection refused', async () => {
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const err = await failure(`http://127.0.0.1:${port}/`);
  assert.match(err.message, /connection refused \(nothing listens there/);
});

test('https against an http port', async () => {
  const err = await failure(`https://127.0.0.1:${plainPort}/`);
  assert.match(err.message, /the URL says https but the server answered without TLS/);
  assert.not.match(err.message, RAW);
});

test('http against an https port', async () => {
  const err = await failure(`http://127.0.0.1:${tlsPort}/`);
  assert.match(
    err.message,
    /did not answer plain HTTP \(does it expect https\? then use https:\/\/\)/,
  );
});

test('a certificate from an unknown CA', async () => {
  const err = await failure(`https://127.0.0.1:${tlsPort}/`);
  assert.match(
    err.message,
    /not signed by a CA this host trusts \(self-signed\?\): set caFile or thumbprint/,
  );
  assert.not.match(err.message, RAW);
});

test('a pinned thumbprint that does not match, and one that does', async () => {
  const real = createHash('sha256').update(new X509Certificate(CERT).raw).digest('hex');
  const wrong = real.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  const err = await failure(`https://127.0.0.1:${tlsPort}/`, { thumbprint: wrong });
  const colons = real.toUpperCase().match(/../g)!.join(':');
  assert.match(err.message, new RegExp(`thumbprint ${colons} does not match the pinned`));
  const client = createHttpClient({ thumbprint: colons });
  try {
    const res = await client.request(`https://127.0.0.1:${tlsPort}/`);
    assert.is(res.status, 200);
  } finally {
    client.close();
  }
});

test.run();
