/**
 * HTTP(S) client for talking to site systems (vCenter, Proxmox) with the TLS choices a
 * site needs: verified by default, an extra CA file, a pinned SHA-256 certificate
 * thumbprint for self-signed servers, or `insecure` only when asked for.
 *
 * Built on node:http/https (available in Node and Deno) because fetch cannot pin a
 * certificate. Keep-alive is on: one capture makes many requests to one host.
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { CollectorError } from '../collectors/collector.ts';

export type TlsOptions = { insecure?: boolean; caFile?: string; thumbprint?: string };

export type HttpResponse = {
  status: number;
  /** The reason phrase: Proxmox often puts the only error text there. */
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
};

export type HttpRequest = {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /** Per-request time limit in ms (the source's timeout still applies through `signal`). */
  timeoutMs?: number;
};

export type HttpClient = {
  request(url: string, req?: HttpRequest): Promise<HttpResponse>;
  close(): void;
};

function normalizeThumbprint(t: string): string {
  return t.replace(/:/g, '').toLowerCase();
}

/** `ab12…` → `AB:12:…`, the form browsers and `openssl x509 -fingerprint` show. */
function colons(hex: string): string {
  return hex.toUpperCase().match(/../g)!.join(':');
}

/** Creates a client; `onWarning` is told once when TLS verification is off. */
export function createHttpClient(
  tls: TlsOptions = {},
  onWarning?: (msg: string) => void,
): HttpClient {
  const pinned = tls.thumbprint ? normalizeThumbprint(tls.thumbprint) : null;
  if (tls.insecure && !pinned) {
    onWarning?.('TLS certificate verification is OFF for this source (insecure: true)');
  }
  const httpsAgent = new https.Agent({
    keepAlive: true,
    maxSockets: 8,
    ca: tls.caFile ? readFileSync(tls.caFile) : undefined,
    // With a pinned thumbprint the chain is not checked; the fingerprint is, below.
    rejectUnauthorized: !(tls.insecure || pinned),
  });
  if (pinned) {
    // Node calls checkServerIdentity only for a verified chain, so a pin on a self-signed
    // certificate must be checked here, before the socket is handed to any request:
    // nothing (a login password) is ever written to a server with another certificate.
    (httpsAgent as unknown as { createConnection: unknown }).createConnection = (
      options: ConnectionOptions,
      cb: (err: Error | null, socket?: TLSSocket) => void,
    ) => {
      const socket = tlsConnect({ ...options, rejectUnauthorized: false });
      let done = false;
      socket.once('secureConnect', () => {
        const actual = createHash('sha256').update(socket.getPeerCertificate().raw).digest('hex');
        done = true;
        if (actual === pinned) return cb(null, socket);
        socket.destroy();
        cb(
          new CollectorError(
            'tls',
            `the server's certificate thumbprint ${colons(actual)} does not match the pinned ${
              colons(pinned)
            }: if its certificate was renewed, update thumbprint (or use caFile)`,
          ),
        );
      });
      socket.once('error', (err) => {
        if (!done) {
          done = true;
          cb(err);
        }
      });
      return undefined;
    };
  }
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  /**
   * A server closes an idle keep-alive connection when it likes (PVE's pveproxy, vCenter's
   * reverse proxy, Node's 5 s): a request written onto one just as it closes fails with a
   * reset before any answer. Nothing was processed then, so a GET is sent once more on a new
   * connection (Node's documented remedy) instead of failing a capture's request.
   */
  async function request(url: string, req: HttpRequest = {}): Promise<HttpResponse> {
    const method = req.method ?? 'GET';
    try {
      return await send(url, req);
    } catch (err) {
      if (!(err instanceof StaleConnection)) throw err;
      if (method !== 'GET' && method !== 'HEAD') throw err.cause;
      return await send(url, req).catch((again) => {
        throw again instanceof StaleConnection ? again.cause : again;
      });
    }
  }

  function send(url: string, req: HttpRequest): Promise<HttpResponse> {
    const u = new URL(url);
    const isHttps = u.protocol === 'https:';
    const lib = isHttps ? https : http;
    return new Promise((resolve, reject) => {
      if (req.signal?.aborted) return reject(abortError(req.signal));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        if (timer) clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
      };
      const r = lib.request(
        u,
        {
          method: req.method ?? 'GET',
          headers: req.headers,
          agent: isHttps ? httpsAgent : httpAgent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            finish();
            resolve({
              status: res.statusCode ?? 0,
              statusText: res.statusMessage ?? '',
              headers: res.headers,
              body: Buffer.concat(chunks),
            });
          });
          res.on('error', (err) => {
            finish();
            reject(err);
          });
        },
      );
      // Reject directly as well as destroying the request: under Deno, destroying a request
      // on a reused keep-alive socket does not always end it, and a slow server would hang us.
      function onAbort() {
        const err = abortError(req.signal!);
        finish();
        r.destroy(err);
        reject(err);
      }
      req.signal?.addEventListener('abort', onAbort, { once: true });
      if (req.timeoutMs) {
        timer = setTimeout(() => {
          const err = new CollectorError(
            'timeout',
            `${u.host} did not answer within ${req.timeoutMs} ms`,
          );
          finish();
          r.destroy(err);
          reject(err);
        }, req.timeoutMs);
      }
      r.on('error', (err: Error & { code?: string }) => {
        finish();
        const described = describeNetworkError(err, u);
        const reset = err.code === 'ECONNRESET' || err.code === 'EPIPE' ||
          /socket hang up/i.test(err.message);
        reject(r.reusedSocket && reset ? new StaleConnection(described) : described);
      });
      if (req.body !== undefined) r.write(req.body);
      r.end();
    });
  }

  return {
    request,
    close() {
      httpsAgent.destroy();
      httpAgent.destroy();
    },
  };
}

/** A request's reused keep-alive connection was closed by the server before any answer. */
class StaleConnection extends Error {
  override readonly cause: Error;
  constructor(cause: Error) {
    super(cause.message);
    this.cause = cause;
  }
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  return reason instanceof Error
    ? reason
    : new CollectorError('aborted', String(reason ?? 'aborted'));
}

/**
 * Turns socket/TLS errors into one plain sentence a site admin can act on, instead of the
 * raw OpenSSL text. Node gives error codes; Deno's node:https gives rustls wording, so both
 * are matched.
 */
export function describeNetworkError(err: Error & { code?: string }, u: URL): Error {
  if (err instanceof CollectorError) return err;
  const code = err.code ?? '';
  const text = `${code} ${err.message}`;
  const host = u.host;
  if (code === 'ECONNREFUSED' || /connection refused/i.test(err.message)) {
    return new CollectorError(
      'unreachable',
      `${host}: connection refused (nothing listens there: is the service running and the port right?)`,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /failed to lookup address/i.test(text)) {
    return new CollectorError('unreachable', `${u.hostname}: host not found`);
  }
  if (code === 'ETIMEDOUT') return new CollectorError('timeout', `${host}: connection timed out`);
  if (
    /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|wrong version number|packet length too long|InvalidContentType/i
      .test(text)
  ) {
    return new CollectorError(
      'tls',
      `${host}: the URL says https but the server answered without TLS (plain HTTP?): use http:// or the server's https port`,
    );
  }
  if (
    u.protocol === 'http:' &&
    (/HPE_|Parse Error|socket hang up|ECONNRESET/i.test(text))
  ) {
    return new CollectorError(
      'network',
      `${host}: the server did not answer plain HTTP (does it expect https? then use https://)`,
    );
  }
  if (/ALTNAME|NotValidForName|not valid for name|Hostname\/IP does not match/i.test(text)) {
    return new CollectorError(
      'tls',
      `${host}: the server's TLS certificate is not issued for ${u.hostname}: use the name in the certificate, or pin its thumbprint`,
    );
  }
  if (/EXPIRED|Expired|NOT_YET_VALID|NotValidYet/.test(text)) {
    return new CollectorError(
      'tls',
      `${host}: the server's TLS certificate has expired or is not yet valid (check its dates and this host's clock)`,
    );
  }
  if (
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|UnknownIssuer|invalid peer certificate|self.signed/i
      .test(text)
  ) {
    return new CollectorError(
      'tls',
      `${host}: the server's TLS certificate is not signed by a CA this host trusts (self-signed?): set caFile or thumbprint: caFile to its CA certificate, or thumbprint to its SHA-256 fingerprint (docs/agent.md shows how to read it)`,
    );
  }
  if (/EPROTO|SSL routines|handshake/i.test(text)) {
    return new CollectorError('tls', `${host}: the TLS handshake failed (is this an https port?)`);
  }
  return new CollectorError('network', `${host}: ${err.message}`);
}
