/**
 * OpenID Connect sign-in (docs/sign-in.md) with openid-client: discovery, the authorization
 * code flow with PKCE (S256), state and nonce kept server-side (oidc_logins) and consumed by
 * the callback, and the ID token validated by the library (signature against the provider's
 * JWKS, issuer, audience, expiry, nonce). A groups claim (from the ID token, else from the
 * userinfo endpoint) is mapped to a role and maybe a scope.
 * Knows no HTTP beyond building the provider URL; the caller audits the answer.
 */
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type { Sql } from '../db/connect.ts';
import { type Access, accessFor, type RoleMap } from './role_map.ts';
import { hashSecret } from './tokens.ts';

export type OidcConfig = {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  /** This server's callback URL as registered at the provider (…/login/oidc/callback). */
  redirectUri: string;
  /** Where the provider sends the browser after logout (default: /login of the redirect URI's origin). */
  postLogoutRedirectUri?: string;
  scopes: string;
  /** The ID token claim holding groups or roles (a list or one string). */
  groupsClaim: string;
  /** The claim shown as the person's name. */
  nameClaim: string;
  roles: RoleMap;
};

export type OidcOutcome =
  | { ok: true; subject: string; name: string; next: string; idToken: string } & Access
  | {
    ok: false;
    reason: 'state' | 'id_token' | 'provider' | 'no_group' | 'unavailable';
    detail?: string;
    subject?: string;
  };

/** Minutes a started login may take at the provider. */
const LOGIN_MINUTES = 10;

const isLoopback = (u: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);

/**
 * One client per configuration: the provider's metadata discovered once (again after a
 * failure), and the JWKS cache carried between logins. A key the cache does not hold makes
 * the library fetch the JWKS again (the cache is always handed back as at least 60 s old),
 * so a provider's key rotation is followed at the first token signed with the new key.
 */
export function oidcClient(config: OidcConfig) {
  let server: oidc.ServerMetadata | null = null;
  let jwks: oidc.ExportedJWKSCache | undefined;

  async function configuration(): Promise<oidc.Configuration> {
    const issuer = new URL(config.issuer);
    // http is allowed for a provider on this machine only (tests, a local development IdP).
    const insecure = issuer.protocol === 'http:' && isLoopback(issuer);
    if (!server) {
      const found = await oidc.discovery(
        issuer,
        config.clientId,
        config.clientSecret,
        undefined,
        insecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
      );
      server = found.serverMetadata();
    }
    const c = new oidc.Configuration(structuredClone(server), config.clientId, config.clientSecret);
    if (insecure) oidc.allowInsecureRequests(c);
    // The ID token's signature is checked against the provider's JWKS even though it came
    // straight from the token endpoint (the library skips that by default, as OIDC allows).
    oidc.enableNonRepudiationChecks(c);
    if (jwks) {
      oidc.setJwksCache(c, {
        ...jwks,
        uat: Math.min(jwks.uat, Math.floor(Date.now() / 1000) - 60),
      });
    }
    return c;
  }

  return {
    /** Starts a login: the provider URL to send the browser to, and the state (for a cookie). */
    async start(sql: Sql, next: string): Promise<{ url: string; state: string }> {
      const c = await configuration();
      const verifier = oidc.randomPKCECodeVerifier();
      const state = randomBytes(24).toString('base64url');
      const nonce = randomBytes(24).toString('base64url');
      await sql`
        insert into oidc_logins (state_hash, nonce, code_verifier, next_path, expires_at)
        values (${hashSecret(state)}, ${nonce}, ${verifier}, ${next},
                now() + make_interval(mins => ${LOGIN_MINUTES}))`;
      await sql`delete from oidc_logins where expires_at < now()`;
      const url = oidc.buildAuthorizationUrl(c, {
        redirect_uri: config.redirectUri,
        scope: config.scopes,
        response_type: 'code',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url: url.href, state };
    },

    /**
     * Finishes a login from the callback URL. `cookieState` is the state this browser started
     * with: a callback for a login started elsewhere is refused.
     */
    async finish(sql: Sql, callbackUrl: URL, cookieState: string): Promise<OidcOutcome> {
      const state = callbackUrl.searchParams.get('state') ?? '';
      if (!state || state !== cookieState) {
        return { ok: false, reason: 'state', detail: 'the login was not started in this browser' };
      }
      // Consumed here: a replayed callback (same state and nonce) finds nothing.
      const [pending] = await sql`
        delete from oidc_logins where state_hash = ${hashSecret(state)} and expires_at > now()
        returning nonce, code_verifier, next_path`;
      if (!pending) {
        return { ok: false, reason: 'state', detail: 'unknown, expired or already used login' };
      }
      const error = callbackUrl.searchParams.get('error');
      if (error) {
        return { ok: false, reason: 'provider', detail: error.slice(0, 200) };
      }
      let claims: oidc.IDToken;
      let idToken = '';
      /** The groups from the userinfo endpoint, when the ID token has no groups claim. */
      let fromUserinfo: unknown;
      try {
        const c = await configuration();
        // The registered redirect URI with the callback's parameters (this server may sit
        // behind a proxy: the URL it was asked under is not the one the provider knows).
        const answer = new URL(config.redirectUri);
        answer.search = callbackUrl.search;
        const tokens = await oidc.authorizationCodeGrant(c, answer, {
          pkceCodeVerifier: pending.code_verifier,
          expectedState: state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
        jwks = oidc.getJwksCache(c) ?? jwks;
        claims = tokens.claims()!;
        idToken = tokens.id_token ?? '';
        // Providers that keep groups out of the ID token (large groups lists, Entra ID's
        // overage, Keycloak without "Add to ID token") give them at the userinfo endpoint;
        // the library checks its answer is for the same subject.
        if (claims[config.groupsClaim] === undefined && c.serverMetadata().userinfo_endpoint) {
          const info = await oidc.fetchUserInfo(c, tokens.access_token, claims.sub);
          fromUserinfo = info[config.groupsClaim];
        }
      } catch (err) {
        return { ok: false, ...explain(err) };
      }
      const subject = `${claims.iss}|${claims.sub}`;
      const raw = claims[config.groupsClaim] ?? fromUserinfo;
      const groups = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
      const name = String(claims[config.nameClaim] ?? claims.email ?? claims.sub);
      const access = accessFor(groups, config.roles);
      if (!access) return { ok: false, reason: 'no_group', subject, detail: name };
      return { ok: true, subject, name, ...access, next: pending.next_path, idToken };
    },

    /**
     * RP-initiated logout: the provider's end_session_endpoint with the session's ID token
     * as the hint and where to come back to, or null when the provider offers none (or
     * cannot be reached: the local logout stands on its own).
     */
    async endSessionUrl(idToken: string): Promise<string | null> {
      try {
        const c = await configuration();
        if (!c.serverMetadata().end_session_endpoint) return null;
        return oidc.buildEndSessionUrl(c, {
          id_token_hint: idToken,
          post_logout_redirect_uri: config.postLogoutRedirectUri ??
            new URL('/login', config.redirectUri).href,
        }).href;
      } catch {
        return null;
      }
    },
  };
}

export type OidcClient = ReturnType<typeof oidcClient>;

/**
 * Why the code exchange or the ID token failed, for the audit row: the library's error code
 * and message, the claim it names (iss, aud, exp, nonce…), and its cause's message. An
 * answer from the provider that did not validate is `id_token`; no answer is `unavailable`.
 */
function explain(err: unknown): { reason: 'id_token' | 'unavailable'; detail: string } {
  const e = err as Error & { code?: string; cause?: unknown };
  const cause = e.cause as { claim?: string; message?: string } | undefined;
  const parts = [`${e.code ?? e.name}: ${e.message}`];
  if (cause?.claim) parts.push(`claim ${cause.claim}`);
  if (cause instanceof Error) parts.push(cause.message);
  const detail = parts.join('; ').slice(0, 400);
  const code = e.code ?? '';
  const fromProvider = code.startsWith('OAUTH_') && !/RESPONSE_BODY_ERROR|TIMEOUT/.test(code);
  return { reason: fromProvider ? 'id_token' : 'unavailable', detail };
}
