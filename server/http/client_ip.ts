/**
 * The client's address and whether it came over TLS. By default both come from the socket
 * alone ("local" for in-process requests): X-Forwarded-For and X-Forwarded-Proto are
 * ignored, since any client can send them. Only when the socket's peer is a configured
 * trusted proxy (VMLEDGER_TRUSTED_PROXIES: addresses or CIDRs) are they read: the client
 * is the right-most X-Forwarded-For entry that is not itself a trusted proxy, and TLS is
 * the first X-Forwarded-Proto value.
 */
import { isIP } from 'node:net';
import { plain, trustedProxies } from '../addresses.ts';
import type { Context, MiddlewareHandler } from 'hono';

export type ClientInfo = { ip: string; https: boolean };
export type ClientVariables = { client?: ClientInfo };

function socketAddress(c: Context): string | null {
  const env = c.env as {
    incoming?: { socket?: { remoteAddress?: string } };
    remoteAddr?: { hostname?: string };
  } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? env?.remoteAddr?.hostname ?? null;
}

/** Works out the client of a request, trusting forwarded headers only from `trusted` peers. */
function resolveClient(c: Context, trusted: (address: string) => boolean): ClientInfo {
  const peer = socketAddress(c);
  const direct: ClientInfo = {
    ip: peer ? plain(peer) : 'local',
    https: c.req.url.startsWith('https:'),
  };
  if (!peer || !trusted(peer)) return direct;
  let ip = direct.ip;
  const forwarded = (c.req.header('x-forwarded-for') ?? '').split(',').map((s) => plain(s))
    .filter((s) => s !== '');
  for (let i = forwarded.length - 1; i >= 0; i--) {
    if (!isIP(forwarded[i])) break;
    ip = forwarded[i];
    if (!trusted(forwarded[i])) break;
  }
  const proto = (c.req.header('x-forwarded-proto') ?? '').split(',')[0].trim().toLowerCase();
  return { ip, https: direct.https || proto === 'https' };
}

/** Middleware: sets `c.var.client` once per request (the app installs it first). */
export function clientInfo(
  trusted: readonly string[] = [],
): MiddlewareHandler<{ Variables: ClientVariables }> {
  // No proxy configured (the default): no address check per request.
  const isTrusted = trusted.length ? trustedProxies(trusted) : () => false;
  return async function clientInfo(c, next) {
    c.set('client', resolveClient(c, isTrusted));
    await next();
  };
}

/** The client of a request: from `clientInfo` when installed, else the socket's address. */
export function requestClient(c: Context): ClientInfo {
  return (c.get('client') as ClientInfo | undefined) ?? resolveClient(c, () => false);
}

/** The client's address (see `requestClient`). */
export function clientIp(c: Context): string {
  return requestClient(c).ip;
}
