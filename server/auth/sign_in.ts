/**
 * Signing in to the pages, whichever way: the audit rows (success and failure, with the
 * method) and the principal a session is created for. Shared by the login routes; knows no
 * HTTP.
 */
import { audit } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { log } from '../log.ts';
import { directoryPrincipal } from './directory_people.ts';
import { type LdapConfig, ldapSignIn } from './ldap.ts';
import type { OidcClient } from './oidc.ts';
import type { SignInMethod } from './sessions.ts';
import type { TokenInfo } from './tokens.ts';

export type SignedIn = { ok: true; principalId: number; name: string; method: SignInMethod };
export type Refused = { ok: false; status: 401 | 403 | 503; message: string };

const MESSAGES = {
  bad_credentials: 'Wrong user name or password.',
  locked: 'This account is locked or disabled in the directory.',
  unavailable: 'The sign-in service could not be reached. Try again, or sign in with a token.',
  state:
    'That sign-in could not be finished (it was not started here, expired, or was used already). Start again.',
  id_token: 'The identity provider’s answer was not valid. Start again.',
  provider: 'The identity provider refused the sign-in.',
  revoked: 'This account was disabled in vmledger by an administrator.',
} as const;

/** A refused sign-in: 403 in no mapped group, 503 when the directory or provider is unreachable, else 401. */
function refusal(
  reason: Exclude<keyof typeof MESSAGES, 'revoked'> | 'no_group',
  detail?: string,
): Refused {
  if (reason === 'no_group') return { ok: false, status: 403, message: noGroup(detail!) };
  return { ok: false, status: reason === 'unavailable' ? 503 : 401, message: MESSAGES[reason] };
}

/**
 * A person the directory (`dn`) or the provider (its subject, given as `dn`) vouched for:
 * their principal and the audit row, or 403 when an administrator disabled them.
 */
async function signedInAs(
  sql: Sql,
  ip: string | null,
  method: 'ldap' | 'oidc',
  who: {
    dn: string;
    name: string;
    role: Parameters<typeof directoryPrincipal>[1]['role'];
    scope: string[] | null;
  },
  details: Record<string, unknown>,
): Promise<SignedIn | Refused> {
  const principal = await directoryPrincipal(sql, {
    kind: method,
    subject: who.dn,
    name: who.name,
    role: who.role,
    scope: who.scope,
  });
  if (!principal) {
    await failed(sql, ip, method, 'revoked', { [method === 'ldap' ? 'dn' : 'subject']: who.dn });
    return { ok: false, status: 403, message: MESSAGES.revoked };
  }
  const p: SignedIn = { ok: true, principalId: principal.id, name: who.name, method };
  await succeeded(sql, ip, p, details);
  return p;
}

function noGroup(name: string) {
  return `Signed in as ${name}, but you are in none of the groups that give a vmledger role (viewer or admin). Ask an administrator to add you to one.`;
}

async function failed(
  sql: Sql,
  ip: string | null,
  method: SignInMethod,
  reason: string,
  extra: Record<string, unknown> = {},
) {
  log.warn('login failed', { ip, method, reason });
  await audit(sql, {
    action: 'auth.failure',
    ip,
    target: 'POST /login',
    detail: { kind: 'login', method, reason, ...extra },
  });
}

async function succeeded(sql: Sql, ip: string | null, p: SignedIn, extra = {}) {
  await audit(sql, {
    action: 'auth.login',
    actorId: p.principalId,
    actorName: p.name,
    ip,
    target: 'POST /login',
    detail: { method: p.method, ...extra },
  });
}

/** A token sign-in that passed verifyToken: audited; the break-glass admin token says so. */
export async function tokenSignedIn(sql: Sql, ip: string | null, info: TokenInfo) {
  const p: SignedIn = { ok: true, principalId: info.id, name: info.name, method: 'token' };
  await succeeded(sql, ip, p, info.breakGlass ? { breakGlass: true } : {});
  if (info.breakGlass) log.warn('break-glass admin token used to sign in', { ip });
  return p;
}

/** A token sign-in that failed (audited as before, now with the method). */
export function tokenRefused(sql: Sql, ip: string | null) {
  return failed(sql, ip, 'token', 'bad_token');
}

/** LDAP: the directory's answer, a principal for the person, the audit row. */
export async function ldapSignInAction(
  sql: Sql,
  config: LdapConfig,
  form: { username: string; password: string },
  ip: string | null,
): Promise<SignedIn | Refused> {
  const r = await ldapSignIn(config, form.username, form.password);
  if (!r.ok) {
    await failed(sql, ip, 'ldap', r.reason, {
      username: form.username.slice(0, 256),
      ...(r.dn ? { dn: r.dn } : {}),
      ...(r.reason === 'unavailable' ? { error: r.detail } : {}),
    });
    return refusal(r.reason, r.detail);
  }
  return await signedInAs(sql, ip, 'ldap', r, {
    dn: r.dn,
    role: r.role,
    ...(r.scope ? { scope: r.scope } : {}),
  });
}

/** OIDC callback: the validated ID token, a principal for the person, the audit row. */
export async function oidcSignInAction(
  sql: Sql,
  client: OidcClient,
  callbackUrl: URL,
  cookieState: string,
  ip: string | null,
): Promise<(SignedIn & { next: string; idToken: string }) | Refused> {
  const r = await client.finish(sql, callbackUrl, cookieState);
  if (!r.ok) {
    await failed(sql, ip, 'oidc', r.reason, {
      ...(r.subject ? { subject: r.subject } : {}),
      ...(r.detail ? { error: r.detail } : {}),
    });
    return refusal(r.reason, r.detail);
  }
  const p = await signedInAs(sql, ip, 'oidc', { ...r, dn: r.subject }, {
    subject: r.subject,
    role: r.role,
    ...(r.scope ? { scope: r.scope } : {}),
  });
  return p.ok ? { ...p, next: r.next, idToken: r.idToken } : p;
}
