/**
 * A real OpenID Connect provider for the sign-in tests: npm `oidc-provider` (panva's
 * certified implementation) on 127.0.0.1 with its development login pages, behind a small
 * forwarding proxy that is the provider's issuer URL. The proxy lets a test:
 *   - rotate the signing keys: `rotate()` restarts the provider with a new key first (the old
 *     one still published), as a provider does at rotation;
 *   - alter the ID token in the token endpoint's answer (`idToken`): tamper with it, or re-sign
 *     it with the provider's own key after changing a claim (expired, wrong audience, another
 *     login's nonce) — what an attacker or a broken provider could send;
 *   - count JWKS fetches.
 * `browse(url, login)` plays the browser at the provider: login form, consent, back to the
 * client's redirect URI (returned, not followed).
 */
import { createSign, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { freePort } from '../../scripts/free_port.ts';

export const CLIENT_ID = 'vmledger';
export const CLIENT_SECRET = 'vmledger-client-secret-0123456789';

/** The people at the provider: their name and groups claim. */
export const PEOPLE: Record<string, { name: string; groups: string[] }> = {
  olivia: { name: 'Olivia Admin', groups: ['staff', 'vmledger-admins'] },
  victor: { name: 'Victor Viewer', groups: ['vmledger-viewers'] },
  nadia: { name: 'Nadia Nogroup', groups: ['staff'] },
  tara: { name: 'Tara Tenant', groups: ['acme-viewers'] },
};

type Key = { kid: string; privateKey: KeyObject; jwk: JsonWebKey };

function newKey(kid: string): Key {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    privateKey,
    jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' },
  };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const unb64 = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

/** Signs claims as RS256 with `key` (the provider's own key, so only the claims are wrong). */
export function signJwt(header: Record<string, unknown>, claims: unknown, key: Key): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const sig = createSign('RSA-SHA256').update(input).sign(key.privateKey).toString('base64url');
  return `${input}.${sig}`;
}

export type IdTokenChange = (
  token: string,
  parts: { header: Record<string, unknown>; claims: Record<string, unknown> },
  resign: (claims: Record<string, unknown>) => string,
) => string;

export type TestProvider = {
  issuer: string;
  /** Keys the provider publishes, newest first. */
  keys: Key[];
  jwksFetches: number;
  /** ID tokens the token endpoint answered, in order (as sent to the client). */
  idTokens: string[];
  /** When set, the next token answers carry the changed ID token. */
  idToken: IdTokenChange | null;
  rotate(): Promise<void>;
  browse(authorizationUrl: string, login: string): Promise<URL>;
  stop(): Promise<void>;
};

export async function startProvider(redirectUri: string): Promise<TestProvider> {
  const proxyPort = await freePort();
  const issuer = `http://127.0.0.1:${proxyPort}`;
  let backend: http.Server;
  let backendPort = 0;

  const start = async (keys: Key[]) => {
    const provider = new Provider(issuer, {
      clients: [{
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [redirectUri],
        post_logout_redirect_uris: [new URL('/login', redirectUri).href],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      }],
      jwks: { keys: keys.map((k) => k.jwk) } as never,
      pkce: { required: () => true },
      // The scope's claims go into the ID token too (the groups claim is read from it).
      conformIdTokenClaims: false,
      claims: { openid: ['sub'], profile: ['name'], groups: ['groups'] },
      cookies: { keys: ['test-cookie-key-0123456789'] },
      findAccount: (_ctx: unknown, id: string) => ({
        accountId: id,
        claims: () => ({ sub: id, name: PEOPLE[id]?.name ?? id, groups: PEOPLE[id]?.groups ?? [] }),
      }),
    } as never);
    // Over plain http on loopback: the provider must not insist on secure cookies.
    provider.proxy = true;
    backend = http.createServer(provider.callback());
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    backendPort = (backend.address() as AddressInfo).port;
  };

  const tp: TestProvider = {
    issuer,
    keys: [newKey('key-1')],
    jwksFetches: 0,
    idTokens: [],
    idToken: null,
    async rotate() {
      await new Promise((r) => backend.close(r));
      tp.keys = [newKey(`key-${tp.keys.length + 1}`), ...tp.keys];
      await start(tp.keys);
    },
    browse: (url, login) => browse(url, login, redirectUri),
    stop: async () => {
      await new Promise((r) => backend.close(r));
      await new Promise((r) => proxy.close(r));
    },
  };
  await start(tp.keys);

  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.url?.includes('jwks')) tp.jwksFetches++;
      const headers = { ...req.headers };
      const up = http.request({
        host: '127.0.0.1',
        port: backendPort,
        method: req.method,
        path: req.url,
        headers,
      }, (upRes) => {
        const body: Buffer[] = [];
        upRes.on('data', (c) => body.push(c));
        upRes.on('end', () => {
          let out = Buffer.concat(body);
          const outHeaders = { ...upRes.headers };
          if (req.url?.startsWith('/token') && upRes.statusCode === 200) {
            const answer = JSON.parse(out.toString('utf8'));
            if (answer.id_token && tp.idToken) {
              const [h, c] = answer.id_token.split('.');
              const header = unb64(h);
              const key = tp.keys.find((k) => k.kid === header.kid)!;
              answer.id_token = tp.idToken(
                answer.id_token,
                { header, claims: unb64(c) },
                (cl) => signJwt(header, cl, key),
              );
            }
            if (answer.id_token) tp.idTokens.push(answer.id_token);
            out = Buffer.from(JSON.stringify(answer));
            delete outHeaders['content-length'];
          }
          res.writeHead(upRes.statusCode ?? 502, outHeaders);
          res.end(out);
        });
      });
      up.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', r));
  return tp;
}

/** The browser at the provider: follows redirects with cookies, signs in as `login`, consents. */
async function browse(start: string, login: string, redirectUri: string): Promise<URL> {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
  };
  let url = new URL(start);
  let init: RequestInit = {};
  for (let step = 0; step < 20; step++) {
    if (url.href.startsWith(redirectUri)) return url;
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: cookieHeader() },
    });
    keep(res);
    init = {};
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url);
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) {
      throw new Error(`provider answered ${res.status}: ${html.slice(0, 300)}`);
    }
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`no form at ${url}: ${html.slice(0, 300)}`);
    const body = prompt === 'login'
      ? new URLSearchParams({ prompt, login, password: 'any' })
      : new URLSearchParams({ prompt });
    url = new URL(action, url);
    init = {
      method: 'POST',
      body: body.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
  }
  throw new Error('too many steps at the provider');
}
