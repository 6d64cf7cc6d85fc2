/**
 * The server half of `vmledger-agent check`: `GET /api/v1/whoami` with the agent's token.
 * Says in one plain sentence whether the server is reachable and the token valid, or what
 * is wrong (nothing listening, https against an http port, an untrusted certificate, a
 * wrong token). Uses the agent's node:http(s) client, so Node and Deno word errors alike.
 */
import { createHttpClient } from '../runtime/http_client.ts';

export type WhoAmI = {
  id: number;
  name: string;
  role: string;
  allowedSources: string[] | null;
  sources: { id: number; kind: string; externalId: string; name: string }[];
};

export type ServerCheck = { ok: boolean; message: string; whoami?: WhoAmI };

/** Roles whose tokens may post captures. */
const POSTING_ROLES = ['agent', 'admin'];

export async function checkServer(options: {
  serverUrl: string;
  token: string;
  userAgent: string;
  timeoutMs?: number;
}): Promise<ServerCheck> {
  const url = new URL('/api/v1/whoami', options.serverUrl);
  const where = `vmledger server ${new URL(options.serverUrl).origin}`;
  const http = createHttpClient({});
  let res;
  try {
    res = await http.request(url.toString(), {
      headers: {
        authorization: `Bearer ${options.token}`,
        accept: 'application/json',
        'user-agent': options.userAgent,
      },
      timeoutMs: options.timeoutMs ?? 15_000,
    });
  } catch (err) {
    return { ok: false, message: `${where} not reachable: ${(err as Error).message}` };
  } finally {
    http.close();
  }
  const body = new TextDecoder().decode(res.body);
  if (res.status === 401) {
    return {
      ok: false,
      message: `${where} is reachable but rejected the token (401: invalid, expired or revoked): ` +
        'check server.token, tokenFile or tokenEnv in the config',
    };
  }
  if (res.status === 429) {
    return {
      ok: false,
      message: `${where} is reachable but refuses this address for now after too many failed ` +
        `authentications (429; retry in ${res.headers['retry-after'] ?? 'a few'} s)`,
    };
  }
  if (res.status === 404) {
    return {
      ok: false,
      message: `${where} answered 404 for /api/v1/whoami: is server.url the vmledger server's ` +
        'base URL (no path), and is the server up to date?',
    };
  }
  if (res.status !== 200) {
    return { ok: false, message: `${where} answered HTTP ${res.status} to /api/v1/whoami` };
  }
  let who: WhoAmI;
  try {
    who = JSON.parse(body) as WhoAmI;
    if (typeof who.role !== 'string' || typeof who.name !== 'string') throw new Error('shape');
  } catch {
    return { ok: false, message: `${where} answered, but not as a vmledger server (no whoami)` };
  }
  const summary = `server reachable, token valid (role ${who.role}, name ${who.name})`;
  if (!POSTING_ROLES.includes(who.role)) {
    return {
      ok: false,
      whoami: who,
      message: `${summary}, but a ${who.role} token cannot post captures: use an agent token`,
    };
  }
  return { ok: true, whoami: who, message: summary };
}
