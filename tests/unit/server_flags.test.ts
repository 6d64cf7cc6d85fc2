/**
 * The server's V8 flags (server/runtime.ts SERVER_V8_FLAGS) are the ones every documented way
 * of starting it passes: `npm start`, `deno task server`, and docs/operations.md's commands
 * for Node and Deno. The tests' and benchmarks' server processes take them from the constant.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SERVER_V8_FLAGS } from '../../server/runtime.ts';

const read = (file: string) =>
  readFileSync(fileURLToPath(new URL(`../../${file}`, import.meta.url)), 'utf8');

const test = suite('server V8 flags');

test('npm start passes them to node', () => {
  const start = JSON.parse(read('package.json')).scripts.start as string;
  assert.ok(
    start.includes(`node ${SERVER_V8_FLAGS.join(' ')} scripts/start.ts`),
    `package.json start: ${start}`,
  );
});

test('deno task server passes them to V8', () => {
  const task = JSON.parse(read('deno.json')).tasks.server as string;
  assert.ok(task.includes(`--v8-flags=${SERVER_V8_FLAGS.join(',')}`), `deno.json server: ${task}`);
  assert.ok(task.endsWith('server/main.ts'), task);
});

test('docs/operations.md starts the server with them under Node and Deno', () => {
  const doc = read('docs/operations.md');
  assert.ok(doc.includes(`node ${SERVER_V8_FLAGS.join(' ')} server/main.ts`), 'the Node command');
  assert.ok(
    doc.includes(`--v8-flags=${SERVER_V8_FLAGS.join(',')} server/main.ts`),
    'the Deno command',
  );
});

test.run();
