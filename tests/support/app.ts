/**
 * An in-process server for a suite: a fresh migrated database, the Hono app, and tokens
 * of each role. Requests go through `app.request()` (no socket needed).
 */
import { type AppOptions, createApp, type SignInSettings } from '../../server/app.ts';
import { createToken } from '../../server/auth/tokens.ts';
import { ApiDoc, ErrorBody } from '../../server/http/api_doc.ts';
import type { Jobs } from '../../server/jobs/boss.ts';
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
  options: {
    maxBodyBytes?: number;
    authFailureLimit?: number;
    doc?: ApiDoc;
    /** Directory sign-in (LDAP, OIDC) for the pages. */
    signIn?: SignInSettings;
    /** Admission of captures (server/ingest/admission.ts), narrowed to drive its refusals. */
    ingestGate?: AppOptions['ingestGate'];
    /** Starts jobs on the suite's database for the app (stopped by `close`). */
    jobs?: (db: TestDatabase) => Promise<Jobs>;
    /** The VM list's in-memory model (inventory/list_model.ts): 0 for the database only. */
    listModelMaxVms?: number;
  } = {},
): Promise<TestApp> {
  const db = await createTestDatabase(suite);
  const jobs = await options.jobs?.(db);
  const doc = options.doc ?? new ApiDoc();
  const app = createApp(db.sql, {
    maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
    sessionHours: 1,
    signIn: options.signIn,
    authFailureLimit: options.authFailureLimit ?? 1000,
    doc,
    jobs,
    ingestGate: options.ingestGate,
    listModelMaxVms: options.listModelMaxVms,
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
      const method = init.method ?? 'GET';
      return Promise.resolve(app.request(path, { ...init, headers }))
        .then((res) => checkDeclaredReply(doc, method, path, res));
    },
    close: async () => {
      await jobs?.stop();
      await db.drop();
    },
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

/**
 * Every JSON answer of the API must match the schema its route declares for that status
 * (errors: ErrorBody), so a declaration cannot drift from what the route does. Throws —
 * failing the test — naming the route, the status and the first mismatches.
 */
async function checkDeclaredReply(
  doc: ApiDoc,
  method: string,
  path: string,
  res: Response,
): Promise<Response> {
  const pathname = new URL(path, 'http://x').pathname;
  if (!pathname.startsWith('/api/v1/')) return res;
  if (!res.headers.get('content-type')?.includes('application/json')) return res;
  const route = doc.find(method, pathname);
  const where = `${method} ${pathname} → ${res.status}`;
  if (route && res.status < 400 && !(res.status in route.responses)) {
    throw new Error(`${where}: status not declared by ${route.operationId}`);
  }
  const schema = route ? ApiDoc.replySchema(route, res.status) : ErrorBody;
  if (!schema) throw new Error(`${where}: ${route!.operationId} declares no schema`);
  const parsed = schema.safeParse(await res.clone().json());
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(
      `${where}: the body does not match its declared schema\n  ${issues.join('\n  ')}`,
    );
  }
  return res;
}
