/**
 * The first admin token. VMLEDGER_ADMIN_TOKEN sets it explicitly; otherwise, when no admin
 * token exists yet, one is created, printed once and written to `dataDir/admin-token` (0600).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Sql } from './db/connect.ts';
import { createToken, ensureToken, hasAdminToken } from './auth/tokens.ts';

export type AdminTokenOutcome =
  | { kind: 'from-env' }
  | { kind: 'created'; token: string; file: string }
  | { kind: 'existing'; file: string | null };

/** Makes sure an admin can log in; says how. */
export async function ensureAdminToken(
  sql: Sql,
  options: { dataDir: string; adminToken?: string },
): Promise<AdminTokenOutcome> {
  const file = path.join(options.dataDir, 'admin-token');
  if (options.adminToken) {
    await ensureToken(sql, {
      name: 'admin (VMLEDGER_ADMIN_TOKEN)',
      role: 'admin',
      value: options.adminToken,
      breakGlass: true,
    });
    return { kind: 'from-env' };
  }
  if (await hasAdminToken(sql)) return { kind: 'existing', file: existsSync(file) ? file : null };
  const { token } = await createToken(sql, {
    name: 'admin (first start)',
    role: 'admin',
    breakGlass: true,
  });
  mkdirSync(options.dataDir, { recursive: true });
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return { kind: 'created', token, file };
}
