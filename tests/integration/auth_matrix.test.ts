/**
 * Every registered API route × {no token, bad token, agent, viewer, scoped viewer, admin}: 401 without or
 * with a bad token, 403 for a role the route does not allow, and anything but 401/403 for
 * one it does. Also: every registered route is in the OpenAPI document and every
 * documented route exists.
 */
import { suite } from 'uvu';
import { Validator } from '@seriousme/openapi-schema-validator';
import * as assert from 'uvu/assert';
import { ApiDoc } from '../../server/http/api_doc.ts';
import { createToken } from '../../server/auth/tokens.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

const test = suite('authorization matrix and OpenAPI coverage');
let t: TestApp;
const doc = new ApiDoc();

let scoped: string;

test.before(async () => {
  t = await createTestApp('auth_matrix', { doc });
  // A viewer limited to one tenant's sources (per-source visibility): the same roles as a
  // viewer; what it sees is tests/integration/scoped_viewer.test.ts.
  scoped = (await createToken(t.db.sql, {
    name: 'scoped viewer',
    role: 'viewer',
    scope: ['tag:tenant=acme'],
  })).token;
});
test.after(() => t.close());

/** Registered API routes as Hono knows them (method, path), middleware and catch-alls left out. */
function registered(): { method: string; path: string }[] {
  const seen = new Set<string>();
  return t.app.routes
    .filter((r) => r.method !== 'ALL' && (r.path.startsWith('/api/v1/') || r.path === '/metrics'))
    .filter((r) => !r.path.endsWith('*'))
    .filter((r) => {
      const k = `${r.method} ${r.path}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .map((r) => ({ method: r.method, path: r.path }));
}

const fill = (path: string) =>
  path.replace(/:source\b/, '1').replace(/:key\b/, 'no-such-vm').replace(/:[A-Za-z_]+/g, '999999');

test('every registered route is documented and every documented route is registered', () => {
  const api = registered().filter((r) => r.path !== '/metrics');
  const documented = doc.routes.map((r) => `${r.method.toUpperCase()} /api/v1${r.path}`).sort();
  const actual = api.map((r) => `${r.method} ${r.path}`).sort();
  assert.equal(actual, documented);
  const openapi = doc.openapi({ title: 't', version: '1' });
  for (const r of doc.routes) {
    const p = '/api/v1' + r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    assert.ok(openapi.paths[p]?.[r.method], `${r.method} ${p} in the document`);
  }
});

/** The parts of the served OpenAPI document the next tests read. */
type Operation = {
  operationId?: string;
  parameters: { name: string }[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};
type OpenApiDocument = { openapi: string; paths: Record<string, Record<string, Operation>> };

test('GET /api/v1/openapi.json is a valid OpenAPI 3.1 document (a real validator says so)', async () => {
  const res = await t.call('/api/v1/openapi.json', { token: t.tokens.viewer });
  assert.is(res.status, 200);
  const body: OpenApiDocument = await res.json();
  const result = await new Validator().validate(structuredClone(body));
  assert.ok(result.valid, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
  assert.is(body.openapi, '3.1.0');
  assert.ok(body.paths['/api/v1/vms'].get.parameters.some((p) => p.name === 'q'));
  assert.ok(body.paths['/api/v1/captures'].post.requestBody);
});

test('the validator refuses a broken document (the check above can fail)', async () => {
  const body = await (await t.call('/api/v1/openapi.json', { token: t.tokens.viewer })).json();
  body.paths['/api/v1/vms'].get.responses = 'none';
  assert.not.ok((await new Validator().validate(body)).valid);
});

test('every operation has a unique operationId and a schema for each JSON answer', async () => {
  const res = await t.call('/api/v1/openapi.json', { token: t.tokens.viewer });
  const body: OpenApiDocument = await res.json();
  const ids: string[] = [];
  for (const [path, ops] of Object.entries(body.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      assert.ok(op.operationId, `${method} ${path} has an operationId`);
      ids.push(op.operationId!);
      for (const [status, reply] of Object.entries(op.responses)) {
        const json = reply.content?.['application/json'];
        if (json) assert.ok(json.schema, `${method} ${path} ${status}: JSON answer has a schema`);
      }
    }
  }
  assert.is(new Set(ids).size, ids.length, 'operationIds are unique');
  assert.is(ids.length, doc.routes.length);
});

test('the API reference page lists every route with its roles (login needed)', async () => {
  assert.is((await t.app.request('/api-reference')).status, 303);
  const login = await t.app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: t.tokens.viewer }).toString(),
  });
  const cookie = login.headers.get('set-cookie')!.split(';')[0];
  const res = await t.app.request('/api-reference', { headers: { cookie } });
  assert.is(res.status, 200);
  const page = await res.text();
  for (const r of doc.routes) {
    assert.ok(
      page.includes(`<code>/api/v1${r.path.replace(/:([A-Za-z_]+)/g, '{$1}')}</code>`),
      `${r.path} listed`,
    );
  }
  assert.ok(page.includes('agent, admin'), 'roles shown');
});

test('each route × each caller', async () => {
  const roles = new Map(
    doc.routes.map((r) => [`${r.method.toUpperCase()} /api/v1${r.path}`, r.roles]),
  );
  roles.set('GET /metrics', ['admin', 'metrics']);
  const callers: [string, string | null][] = [
    ['none', null],
    ['bad', 'vml_this_is_not_a_real_token_value_at_all_000'],
    ['agent', t.tokens.agent],
    ['viewer', t.tokens.viewer],
    ['scoped viewer', scoped],
    ['admin', t.tokens.admin],
  ];
  const problems: string[] = [];
  let checked = 0;
  for (const r of registered()) {
    const allowed = roles.get(`${r.method} ${r.path}`);
    assert.ok(allowed, `${r.method} ${r.path} has documented roles`);
    for (const [who, token] of callers) {
      const init: RequestInit & { token?: string | null } = { method: r.method, token };
      if (r.method !== 'GET' && r.method !== 'DELETE') {
        init.body = '{}';
        init.headers = { 'content-type': 'application/json' };
      }
      const res = await t.call(fill(r.path), init);
      await res.arrayBuffer();
      checked++;
      const as = who === 'scoped viewer' ? 'viewer' : who;
      const may = allowed!.some((role) => role === as || (role === 'viewer' && as === 'admin'));
      const expected = token === null || who === 'bad' ? '401' : may ? 'not 401/403' : '403';
      const ok = expected === '401'
        ? res.status === 401
        : expected === '403'
        ? res.status === 403
        : res.status !== 401 && res.status !== 403;
      if (!ok) {
        problems.push(`${r.method} ${r.path} as ${who}: ${res.status}, expected ${expected}`);
      }
    }
  }
  assert.ok(checked >= 5 * 15, `checked ${checked}`);
  assert.equal(problems, []);
});

test.run();
