/**
 * The client's address and whether it came over TLS. By default both come from the socket
 * alone ("local" for in-process requests): X-Forwarded-For and X-Forwarded-Proto are
 * ignored, since any client can send them. Only when the socket's peer is a configured
 * trusted proxy (VMLEDGER_TRUSTED_PROXIES: addresses or CIDRs) are they read: the client
 * is the right-most X-Forwarded-For entry that is not itself a trusted proxy, and TLS is
 * the first X-Forwarded-Proto value.
 */
import { BlockList, isIP } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';

export type ClientInfo = { ip: string; https: boolean };
export type ClientVariables = { client?: ClientInfo };

/** One address without an IPv4-mapped IPv6 prefix or brackets. */
function plain(address: string): string {
  const a = address.trim().replace(/^\[(.*)\]$/, '$1');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return mapped ? mapped[1] : a;
}

/** Whether `entry` is an address or a CIDR (`10.0.0.0/8`, `fd00::/8`). */
export function isAddressOrCidr(entry: string): boolean {
  const [address, bits, extra] = entry.trim().split('/');
  const family = isIP(plain(address ?? ''));
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** A matcher for trusted proxies; throws on an entry that is not an address or a CIDR. */
export function trustedProxies(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    if (!isAddressOrCidr(entry)) throw new Error(`not an address or CIDR: ${entry}`);
    const [address, bits] = entry.trim().split('/');
    const a = plain(address);
    const type = isIP(a) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(a, type);
    else list.addSubnet(a, Number(bits), type);
  }
  return (address) => {
    const a = plain(address);
    const family = isIP(a);
    return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
}

function socketAddress(c: Context): string | null {
  const env = c.env as {
    incoming?: { socket?: { remoteAddress?: string } };
    remoteAddr?: { hostname?: string };
  } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? env?.remoteAddr?.hostname ?? null;
}

/** Works out the client of a request, trusting forwarded headers only from `trusted` peers. */
export function resolveClient(c: Context, trusted: (address: string) => boolean): ClientInfo {
  const peer = socketAddress(c);
  const direct: ClientInfo = {
    ip: peer ? plain(peer) : 'local',
    https: new URL(c.req.url).protocol === 'https:',
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
  const isTrusted = trustedProxies(trusted);
  return async function clientInfo(c, next) {
    c.set('client', resolveClient(c, isTrusted));
    await next();
  };
}

const nobody = () => false;

/** The client of a request: from `clientInfo` when installed, else the socket's address. */
export function requestClient(c: Context): ClientInfo {
  const known: ClientInfo | undefined = c.get('client');
  return known ?? resolveClient(c, nobody);
}

/** The client's address (see `requestClient`). */
export function clientIp(c: Context): string {
  return requestClient(c).ip;
}
