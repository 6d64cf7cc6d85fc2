/**
 * An in-process server for a suite: a fresh migrated database, the Hono app, and tokens
 * of each role. Requests go through `app.request()` (no socket needed).
 */
import { createApp } from '../../server/app.ts';
import { createToken } from '../../server/auth/tokens.ts';
import type { ApiDoc } from '../../server/http/api_doc.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export type TestApp = {
  db: TestDatabase;
  app: ReturnType<typeof createApp>;
  tokens: { admin: string; viewer: string; agent: string; agent2: string };
  /** app.request with a Bearer token. */
  call(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  close(): Promise<void>;
};

export async function createTestApp(
  suite: string,
  options: { maxBodyBytes?: number; authFailureLimit?: number; doc?: ApiDoc } = {},
): Promise<TestApp> {
  const db = await createTestDatabase(suite);
  const app = createApp(db.sql, {
    maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
    sessionHours: 1,
    authFailureLimit: options.authFailureLimit ?? 1000,
    doc: options.doc,
  });
  const tokens = {
    admin: (await createToken(db.sql, { name: 'test admin', role: 'admin' })).token,
    viewer: (await createToken(db.sql, { name: 'test viewer', role: 'viewer' })).token,
    agent: (await createToken(db.sql, { name: 'test agent', role: 'agent' })).token,
    agent2: (await createToken(db.sql, { name: 'other agent', role: 'agent' })).token,
  };
  return {
    db,
    app,
    tokens,
    call(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.token) headers.set('authorization', `Bearer ${init.token}`);
      return Promise.resolve(app.request(path, { ...init, headers }));
    },
    close: () => db.drop(),
  };
}

/** JSON body helper for POSTs. */
export function json(
  body: unknown,
  extra: Record<string, string> = {},
): { method: string; headers: Record<string, string>; body: string } {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...extra },
    body: JSON.stringify(body),
  };
}
