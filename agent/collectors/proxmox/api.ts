/**
 * A small Proxmox VE `/api2/json` client: API-token auth, `{"data": …}` decoding, and
 * errors a site admin can act on. Every request goes through the agent's TLS-aware
 * http_client (CA file, pinned thumbprint, insecure) with a per-request time limit, so a
 * slow node costs one timeout, never a hang.
 */
import { createHttpClient, type HttpClient } from '../../runtime/http_client.ts';
import { CollectorError } from '../collector.ts';

export type ProxmoxApiOptions = {
  /** Base URL as configured: `https://pve:8006` (an `/api2/json` suffix is tolerated). */
  url: string;
  tokenId: string;
  tokenSecret: string;
  tls?: { insecure?: boolean; caFile?: string; thumbprint?: string };
  requestTimeoutMs: number;
  onWarning?: (msg: string) => void;
};

export type GetOptions = {
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
  timeoutMs?: number;
};

export type ProxmoxApi = {
  /** The normalized base (`https://pve:8006`), for the capture's `endpoint`. */
  readonly endpoint: string;
  /** GETs `/api2/json{path}` and returns its `data`. */
  get<T>(path: string, options?: GetOptions): Promise<T>;
  close(): void;
};

/**
 * A failed API call with its HTTP status. `code` is `permission` for 403, `node-unreachable`
 * for PVE's proxy errors 595/596 (the node behind the API is down), else `api`.
 */
export class ProxmoxApiError extends CollectorError {
  override name = 'ProxmoxApiError';
  readonly status: number;
  readonly path: string;
  constructor(code: string, status: number, path: string, message: string) {
    super(code, message);
    this.status = status;
    this.path = path;
  }
}

/** Strips a trailing slash and `/api2/json` so both config spellings work. */
export function normalizeBaseUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/api2\/json$/, '');
}

const decoder = new TextDecoder();

/** Creates a client for one Proxmox endpoint. */
export function createProxmoxApi(options: ProxmoxApiOptions): ProxmoxApi {
  const base = normalizeBaseUrl(options.url);
  const http: HttpClient = createHttpClient(options.tls ?? {}, options.onWarning);
  const authorization = `PVEAPIToken=${options.tokenId}=${options.tokenSecret}`;
  const host = new URL(base).host;

  async function get<T>(path: string, req: GetOptions = {}): Promise<T> {
    const url = new URL(`${base}/api2/json${path}`);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const timeoutMs = req.timeoutMs ?? options.requestTimeoutMs;
    const timedOut = () =>
      new CollectorError('timeout', `GET ${path}: ${host} did not answer within ${timeoutMs} ms`);
    // Our own timer, raced against the request: under Deno 2.9.6 neither the socket timeout
    // nor destroy() ends a request on a reused keep-alive connection (the answer still comes,
    // late), and a slow node must never hang a capture. A request we gave up on finishes
    // in the background and is ignored.
    const timer = new AbortController();
    const clock = setTimeout(() => timer.abort(timedOut()), timeoutMs);
    const stop = req.signal ? AbortSignal.any([req.signal, timer.signal]) : timer.signal;
    let res;
    try {
      const answer = http.request(url.toString(), {
        headers: { Authorization: authorization, Accept: 'application/json' },
        signal: stop,
        timeoutMs,
      });
      answer.catch(() => {});
      const giveUp = abandoned(stop);
      try {
        res = await Promise.race([answer, giveUp.promise]);
      } finally {
        giveUp.dispose();
      }
    } catch (err) {
      if (req.signal?.aborted) throw err;
      if (timer.signal.aborted || (err instanceof CollectorError && err.code === 'timeout')) {
        throw timedOut();
      }
      throw err;
    } finally {
      clearTimeout(clock);
    }
    const body = decoder.decode(res.body);
    if (res.status === 401) {
      throw new CollectorError(
        'auth',
        `Proxmox at ${host} rejected API token ${options.tokenId} (401): check tokenId (user@realm!tokenid) and its secret, and that the token has not expired`,
      );
    }
    if (res.status < 200 || res.status >= 300) {
      // PVE puts the reason in the HTTP status line (not exposed by http_client) and in the
      // body's `message`/`errors`; the body is what we can show.
      const reason = statusText(body);
      const code = res.status === 403
        ? 'permission'
        : res.status === 595 || res.status === 596
        ? 'node-unreachable'
        : 'api';
      throw new ProxmoxApiError(
        code,
        res.status,
        path,
        `GET ${path}: HTTP ${res.status}${reason ? ` ${reason}` : ''}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new ProxmoxApiError(
        'api',
        res.status,
        path,
        `GET ${path}: answer is not JSON (is ${base} a Proxmox VE API?)`,
      );
    }
    if (!parsed || typeof parsed !== 'object' || !('data' in parsed)) {
      throw new ProxmoxApiError(
        'api',
        res.status,
        path,
        `GET ${path}: answer has no "data" (is ${base} a Proxmox VE API?)`,
      );
    }
    return (parsed as { data: T }).data;
  }

  return { endpoint: base, get, close: () => http.close() };
}

/** A promise rejecting with the signal's reason once it aborts; `dispose` detaches it. */
function abandoned(signal: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let onAbort = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

function statusText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; errors?: unknown };
    if (typeof parsed.message === 'string') return parsed.message.trim().slice(0, 300);
    if (parsed.errors) return JSON.stringify(parsed.errors).slice(0, 300);
  } catch {
    // Not JSON: PVE's error pages are plain text; the status is enough.
  }
  return body.trim().slice(0, 200);
}
