/** The error catalogue (server/errors.ts) and its table in docs/errors.md say the same. */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AppError, ERROR_CATALOGUE } from '../../server/errors.ts';
import { errorResponse } from '../../server/http/errors.ts';

const test = suite('error catalogue');

test('docs/errors.md lists every code with its status, and no other', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const listed = [...doc.matchAll(/^\| `([a-z_]+)` +\| (\d{3}) +\|/gm)].map((m) => [m[1], +m[2]]);
  const declared = Object.entries(ERROR_CATALOGUE).map(([code, [status]]) => [code, status]);
  assert.equal(listed, declared);
});

test('an AppError answers with its catalogued status, code, message and details', async () => {
  const res = errorResponse(
    new AppError('body_too_large', 'too big', { maxBytes: 10 }, { 'retry-after': '1' }),
  );
  assert.is(res.status, 413);
  assert.is(res.headers.get('retry-after'), '1');
  assert.equal(await res.json(), {
    error: { code: 'body_too_large', message: 'too big', maxBytes: 10 },
  });
});

test.run();
