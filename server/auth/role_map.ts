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

/** The role the groups give, or null when none of them is mapped. */
export function roleFor(groups: string[], map: RoleMap): 'admin' | 'viewer' | null {
  const have = new Set(groups.map(normalGroup));
  if (map.admin.some((g) => have.has(normalGroup(g)))) return 'admin';
  if (map.viewer.some((g) => have.has(normalGroup(g)))) return 'viewer';
  return null;
}
