/**
 * LDAP sign-in (docs/sign-in.md) with ldapts: a service bind, a user search, a bind as the
 * user with their password, then the user's groups (nested groups followed here, or by the
 * server with Active Directory's matching-rule-in-chain filter) mapped to a role.
 * Knows no HTTP; the caller audits the answer.
 */
import { Client, InvalidCredentialsError } from 'ldapts';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { type Access, accessFor, type RoleMap } from './role_map.ts';

export type LdapConfig = {
  /** ldap://host[:port] (StartTLS unless `startTls` is false) or ldaps://host[:port]. */
  url: string;
  startTls: boolean;
  /** TLS options (a CA file's text, rejectUnauthorized); tests on loopback use plain ldap://. */
  tls?: ConnectionOptions;
  bindDn: string;
  bindPassword: string;
  userBase: string;
  /** `{username}` is replaced by the escaped user name. */
  userFilter: string;
  groupBase: string;
  /** `{dn}` is replaced by the escaped DN of the user (then of each group, when nested). */
  groupFilter: string;
  /** Follow groups that are members of groups (not needed with AD's in-chain filter). */
  nestedGroups: boolean;
  /** Attribute shown as the person's name (default cn). */
  nameAttribute: string;
  roles: RoleMap;
  timeoutMs: number;
};

export type LdapOutcome =
  | { ok: true; dn: string; name: string; groups: string[] } & Access
  | {
    ok: false;
    reason: 'bad_credentials' | 'locked' | 'no_group' | 'unavailable';
    /** The DN, when the user was found. */
    dn?: string;
    detail?: string;
  };

/** RFC 4515 escaping of a value put into a filter. */
export function escapeFilterValue(value: string): string {
  return value.replace(
    /[\\*()\0]/g,
    (ch) => '\\' + ch.charCodeAt(0).toString(16).padStart(2, '0'),
  );
}

const text = (v: unknown): string =>
  Array.isArray(v) ? text(v[0]) : Buffer.isBuffer(v) ? v.toString('utf8') : String(v ?? '');

/**
 * Whether the entry says the account is locked or disabled: OpenLDAP's ppolicy
 * `pwdAccountLockedTime`, or Active Directory's `userAccountControl` ACCOUNTDISABLE bit (2)
 * or a `lockoutTime` other than 0.
 */
export function lockedEntry(entry: Record<string, unknown>): boolean {
  const get = (name: string) => {
    const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
    return key ? text(entry[key]) : '';
  };
  if (get('pwdAccountLockedTime')) return true;
  const uac = Number(get('userAccountControl') || 0);
  if (uac & 2) return true;
  const lockout = get('lockoutTime');
  return lockout !== '' && lockout !== '0';
}

async function connect(config: LdapConfig): Promise<Client> {
  const ldaps = config.url.startsWith('ldaps://');
  const client = new Client({
    url: config.url,
    timeout: config.timeoutMs,
    connectTimeout: config.timeoutMs,
    // ldapts opens TLS at once whenever tlsOptions are given: for ldaps:// only.
    tlsOptions: ldaps ? config.tls ?? {} : undefined,
  });
  if (!ldaps && config.startTls) {
    // The certificate is checked against the URL's host (ldapts would check "localhost").
    const host = new URL(config.url).hostname.replace(/^\[|\]$/g, '');
    await client.startTLS({ host, ...(isIP(host) ? {} : { servername: host }), ...config.tls });
  }
  return client;
}

/** The groups `dn` is in: directly, and through groups in groups when `nestedGroups`. */
async function groupsOf(client: Client, config: LdapConfig, dn: string): Promise<string[]> {
  const found = new Set<string>();
  let frontier = [dn];
  for (let depth = 0; depth < 10 && frontier.length; depth++) {
    const next: string[] = [];
    for (const member of frontier) {
      const { searchEntries } = await client.search(config.groupBase, {
        scope: 'sub',
        filter: config.groupFilter.replaceAll('{dn}', escapeFilterValue(member)),
        attributes: ['dn'],
      });
      for (const g of searchEntries) {
        if (!found.has(g.dn)) {
          found.add(g.dn);
          next.push(g.dn);
        }
      }
    }
    if (!config.nestedGroups) break;
    frontier = next;
  }
  return [...found];
}

/** Checks a user name and password against the directory; never throws. */
export async function ldapSignIn(
  config: LdapConfig,
  username: string,
  password: string,
): Promise<LdapOutcome> {
  // An empty password is an anonymous bind in LDAP: it would "succeed" for anyone.
  if (!username || !password || username.length > 256 || password.length > 1024) {
    return { ok: false, reason: 'bad_credentials' };
  }
  let service: Client | null = null;
  let user: Client | null = null;
  try {
    service = await connect(config);
    await service.bind(config.bindDn, config.bindPassword);
    const { searchEntries } = await service.search(config.userBase, {
      scope: 'sub',
      filter: config.userFilter.replaceAll('{username}', escapeFilterValue(username)),
      attributes: [
        config.nameAttribute,
        'pwdAccountLockedTime',
        'userAccountControl',
        'lockoutTime',
      ],
      sizeLimit: 2,
    });
    if (searchEntries.length !== 1) return { ok: false, reason: 'bad_credentials' };
    const entry = searchEntries[0];
    if (lockedEntry(entry)) return { ok: false, reason: 'locked', dn: entry.dn };
    user = await connect(config);
    try {
      await user.bind(entry.dn, password);
    } catch (err) {
      if (err instanceof InvalidCredentialsError) {
        return { ok: false, reason: 'bad_credentials', dn: entry.dn };
      }
      throw err;
    }
    const groups = await groupsOf(service, config, entry.dn);
    const access = accessFor(groups, config.roles);
    const name = text(entry[config.nameAttribute]) || username;
    if (!access) return { ok: false, reason: 'no_group', dn: entry.dn, detail: name };
    return { ok: true, dn: entry.dn, name, ...access, groups };
  } catch (err) {
    return { ok: false, reason: 'unavailable', detail: (err as Error).message };
  } finally {
    await user?.unbind().catch(() => {});
    await service?.unbind().catch(() => {});
  }
}
