/**
 * Groups to roles: a directory person's groups (LDAP group DNs, or the values of an OIDC
 * groups claim) give them admin or viewer by configuration. Admin wins; no mapped group:
 * no role (the sign-in is refused with a clear message).
 */
export type RoleMap = { admin: string[]; viewer: string[] };

/** A DN or group name compared case-insensitively, without spaces around `,` and `=`. */
export function normalGroup(value: string): string {
  return value.trim().replace(/\s*([,=])\s*/g, '$1').toLowerCase();
}

/** Splits a configured list: `;` separated (DNs contain commas). */
export function groupList(value: string | undefined): string[] {
  return (value ?? '').split(';').map((s) => s.trim()).filter(Boolean);
}

/**
 * A configured viewer group may be limited to some sources (per-source visibility,
 * ./scope.ts): `group|selector selector…`, e.g. `cn=acme,ou=groups,dc=example,dc=com|tag:tenant=acme`
 * or `acme-viewers|tag:tenant=acme vcenter:vc-acme`. Selectors are separated by spaces or commas.
 */
export function splitGrant(entry: string): { group: string; scope: string[] | null } {
  const bar = entry.indexOf('|');
  if (bar < 0) return { group: entry, scope: null };
  const scope = entry.slice(bar + 1).split(/[\s,]+/).filter(Boolean);
  return { group: entry.slice(0, bar), scope };
}

/** What the groups give: a role, and for a viewer the sources they see (null: every one). */
export type Access = { role: 'admin' | 'viewer'; scope: string[] | null };

/**
 * The access the groups give, or null when none of them is mapped. Admin wins (a scoped
 * admin is not a thing); a viewer group without a scope gives every source; otherwise the
 * scopes of every matching viewer group add up.
 */
export function accessFor(groups: string[], map: RoleMap): Access | null {
  const have = new Set(groups.map(normalGroup));
  if (map.admin.some((g) => have.has(normalGroup(splitGrant(g).group)))) {
    return { role: 'admin', scope: null };
  }
  const grants = map.viewer.map(splitGrant).filter((g) => have.has(normalGroup(g.group)));
  if (!grants.length) return null;
  if (grants.some((g) => g.scope === null)) return { role: 'viewer', scope: null };
  return { role: 'viewer', scope: [...new Set(grants.flatMap((g) => g.scope!))].sort() };
}

/** The role the groups give, or null when none of them is mapped. */
export function roleFor(groups: string[], map: RoleMap): 'admin' | 'viewer' | null {
  return accessFor(groups, map)?.role ?? null;
}
