/**
 * The VM list's answer cache (server/inventory/list_cache.ts): an answer read together with
 * its generation is kept under that generation only, and never over a newer one.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GenerationCache } from '../../server/inventory/list_cache.ts';

const test = suite('list cache: answers put with the generation they were read at');

const never = () => Promise.reject(new Error('computed, not reused'));

test('kept under its generation, reused there, dropped by a newer one', async () => {
  const cache = new GenerationCache(100);
  cache.put(5, 'a', 'five', 1);
  assert.ok(cache.has('a'));
  assert.is(await cache.get(5, 'a', never, () => 1), 'five');
  // A newer generation read by another request: the old answer is not served.
  assert.is(await cache.get(6, 'a', () => Promise.resolve('six'), () => 1), 'six');
  assert.is(await cache.get(6, 'a', never, () => 1), 'six');
  assert.equal({ hits: cache.hits, misses: cache.misses }, { hits: 2, misses: 2 });
});

test('an answer read at an older generation, or without one, is not kept', async () => {
  const cache = new GenerationCache(100);
  assert.is(await cache.get(7, 'b', () => Promise.resolve('seven'), () => 1), 'seven');
  cache.put(6, 'c', 'six', 1);
  cache.put(undefined, 'd', 'none', 1);
  assert.not.ok(cache.has('c'));
  assert.not.ok(cache.has('d'));
  // Nor does it replace an answer already kept for the key.
  cache.put(7, 'b', 'other', 1);
  assert.is(await cache.get(7, 'b', never, () => 1), 'seven');
  assert.is(cache.misses, 4);
});

test('bounded by weight like computed answers', () => {
  const cache = new GenerationCache(10);
  cache.put(1, 'x', 'x', 6);
  cache.put(1, 'y', 'y', 6);
  assert.not.ok(cache.has('x'));
  assert.ok(cache.has('y'));
});

test.run();
