/**
 * TLS and connection mistakes come out of the agent's HTTP client as one plain sentence
 * (not raw OpenSSL text), the same under Node and Deno: nothing listening, https against an
 * http port, http against an https port, an untrusted certificate, a wrong pinned thumbprint.
 * A keep-alive connection the server closes as a request is written on it costs a GET nothing.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
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

/**
 * A server that answers the first request of each connection (keeping it alive) and closes
 * the connection when a second request arrives on it: the moment a site's proxy drops an
 * idle keep-alive connection just as the agent reuses it.
 */
async function closesReusedConnections() {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let answered = false;
    socket.on('data', (chunk) => {
      if (!chunk.includes('\r\n\r\n')) return;
      if (answered) return void socket.destroy();
      answered = true;
      socket.write(
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok',
      );
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    connections: () => connections,
    close: () => new Promise((r) => server.close(r)),
  };
}

test('a reused keep-alive connection closed by the server: a GET is sent again on a new one, a POST is not', async () => {
  const server = await closesReusedConnections();
  const client = createHttpClient();
  try {
    for (let i = 0; i < 3; i++) {
      const res = await client.request(server.url, { timeoutMs: 5000 });
      assert.is(res.body.toString(), 'ok', `GET ${i}`);
    }
    // Each GET after the first met the closed connection, then a new one.
    assert.is(server.connections(), 3);
    // A POST may have been processed: where it met a closed connection (Node reuses one; Deno
    // opens a new one), it fails and is not sent again.
    const before = server.connections();
    const post = await client.request(server.url, { method: 'POST', body: 'x', timeoutMs: 5000 })
      .then(() => null, (err: Error) => err);
    assert.is(server.connections(), post ? before : before + 1, String(post));
  } finally {
    client.close();
    await server.close();
  }
});

test.run();
