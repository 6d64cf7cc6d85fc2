/**
 * Schema installer. Numbered migrations in sql/migrations are applied in order, each in
 * its own transaction, and recorded with a checksum; a changed applied file is refused.
 * Routines in sql/routines (one object per file, CREATE OR REPLACE) are re-applied when
 * their text changes. An advisory lock makes concurrent starts take turns.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from './connect.ts';

const SQL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../sql');
const LOCK_ID = 0x766d6c; // "vml": one fixed key for the whole installer

export class MigrationError extends Error {
  override name = 'MigrationError';
}

type SqlFile = { name: string; text: string; checksum: string };

function readSqlFiles(dir: string): SqlFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => {
      const text = readFileSync(path.join(dir, name), 'utf8');
      return { name, text, checksum: createHash('sha256').update(text).digest('hex') };
    });
}

export type MigrationResult = { applied: string[]; routines: string[] };

/** Applies pending migrations and changed routines; returns what it applied. */
export async function migrate(sql: Sql, sqlDir = SQL_DIR): Promise<MigrationResult> {
  const migrations = readSqlFiles(path.join(sqlDir, 'migrations'));
  const routines = readSqlFiles(path.join(sqlDir, 'routines'));
  const misnamed = migrations.find((m) => !/^\d{4}_[a-z0-9_]+\.sql$/.test(m.name));
  if (misnamed) {
    throw new MigrationError(
      `sql/migrations/${misnamed.name}: name must look like 0001_what_it_does.sql`,
    );
  }
  const conn = await sql.reserve();
  const result: MigrationResult = { applied: [], routines: [] };
  try {
    await conn`select pg_advisory_lock(${LOCK_ID})`;
    await conn.unsafe(`
      create table if not exists schema_migrations (
        name text primary key, checksum text not null, applied_at timestamptz not null default now());
      create table if not exists schema_routines (
        name text primary key, checksum text not null, applied_at timestamptz not null default now());`);
    // Migrations are applied once and never change; routines are re-applied when they do.
    const kinds = [
      { files: migrations, table: 'schema_migrations', label: '', applied: result.applied },
      { files: routines, table: 'schema_routines', label: 'routines/', applied: result.routines },
    ];
    for (const { files, table, label, applied } of kinds) {
      const rows = await conn`select name, checksum from ${conn(table)}`;
      const known = new Map(rows.map((r) => [r.name, r.checksum]));
      for (const f of files) {
        if (known.get(f.name) === f.checksum) continue;
        if (known.has(f.name) && files === migrations) {
          throw new MigrationError(
            `sql/migrations/${f.name} was changed after it was applied (checksum differs); ` +
              'migrations are never edited: add a new numbered file instead',
          );
        }
        await conn`begin`;
        try {
          await conn.unsafe(f.text);
          await conn`insert into ${conn(table)} (name, checksum) values (${f.name}, ${f.checksum})
            on conflict (name) do update set checksum = excluded.checksum, applied_at = now()`;
          await conn`commit`;
        } catch (err) {
          await conn`rollback`.catch(() => {});
          throw new MigrationError(`${label}${f.name}: ${(err as Error).message}`);
        }
        applied.push(f.name);
      }
    }
  } finally {
    await conn`select pg_advisory_unlock(${LOCK_ID})`.catch(() => {});
    conn.release();
  }
  return result;
}
