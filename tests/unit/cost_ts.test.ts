/**
 * The TypeScript costing engine's exact helpers: half-up integer ratios in doubles (checked
 * against BigInt, at ties and near 2^53), the pool a day is charged to (rollup_row.ts, stored
 * by the daily engines) and first-match tiers.
 */
import { Buffer } from 'node:buffer';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { productRatio, roundRatio, tagText, tierOf } from '../../server/aggregate/cost_ts.ts';
import { byteOrderLess, dayPool } from '../../server/aggregate/rollup_row.ts';

const test = suite('cost_ts helpers');
const ref = (n: bigint, d: bigint) => (2n * n + d) / (2n * d);

test('roundRatio rounds half up and equals the BigInt result', () => {
  assert.is(roundRatio(1, 2), 1, '0.5 → 1');
  assert.is(roundRatio(3, 2), 2, '1.5 → 2');
  assert.is(roundRatio(5, 4), 1, '1.25 → 1');
  assert.is(roundRatio(0, 7), 0);
  // Pseudo-random values across the double range, up to and past 2^53.
  let x = 12345;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648);
  for (let i = 0; i < 20000; i++) {
    const scale = 2 ** (i % 52);
    const n = Math.floor((next() / 2147483648) * scale * 4096);
    const d = 1 + (next() % (i % 3 === 0 ? 9 : 2304 * 288));
    if (!Number.isSafeInteger(n)) continue;
    assert.is(BigInt(roundRatio(n, d)), ref(BigInt(n), BigInt(d)), `${n} / ${d}`);
  }
  const big = Number.MAX_SAFE_INTEGER;
  assert.is(BigInt(roundRatio(big, 3)), ref(BigInt(big), 3n), 'past 2^53 through BigInt');
});

test('productRatio is exact when the product passes 2^53', () => {
  const a = 12_582_912; // 2 samples × 6 TB in MiB
  assert.is(
    BigInt(productRatio(a, 86400, 625, 2304 * 3)),
    ref(BigInt(a) * 86400n * 625n, 2304n * 3n),
  );
  assert.is(productRatio(4, 86400, 2500, 9), 96_000_000, '4 vCPU for a day: 96 h in millionths');
});

const pools = (o: Record<string, number>) => Object.entries(o);
test('dayPool: most samples; a tie goes to the first name in byte order; none: null', () => {
  assert.is(dayPool(pools({ Gold: 3, Silver: 20 })), 'Silver');
  assert.is(dayPool(pools({ b: 5, a: 5, c: 1 })), 'a');
  assert.is(dayPool(pools({ 'pool-Z': 2, 'pool-a': 2 })), 'pool-Z', 'uppercase before lowercase');
  assert.is(
    dayPool(pools({ 'pool-\u{1F600}': 2, 'pool-\uFF21': 2 })),
    'pool-\uFF21',
    'U+FF21 < U+1F600',
  );
  assert.is(dayPool(pools({})), null);
});

test('byteOrderLess is the order of code points (UTF-8 bytes), not of UTF-16 code units', () => {
  const words = ['', 'a', 'ab', 'b', 'Z', '\uFF21', '\u{1F600}', '\uE000', '\u{10000}x', 'é'];
  for (const a of words) {
    for (const b of words) {
      const bytes = Buffer.compare(Buffer.from(a), Buffer.from(b));
      assert.is(byteOrderLess(a, b), bytes < 0, `${JSON.stringify(a)} < ${JSON.stringify(b)}`);
    }
  }
});

test('tierOf: first match in order, on the pool or a tag; unmatched is unassigned', () => {
  const rules = [
    { field: 'pool', match: 'exact', pattern: 'Gold', tier: 'Gold', re: null },
    { field: 'tag', match: 'regex', pattern: '^tier:silver$', tier: 'Silver', re: /^tier:silver$/ },
    { field: 'pool', match: 'prefix', pattern: 'Gold', tier: 'GoldPrefix', re: null },
    {
      field: 'pool',
      match: 'regex',
      pattern: '^bronze-[0-9]+$',
      tier: 'Bronze',
      re: /^bronze-[0-9]+$/,
    },
    { field: 'tag', match: 'exact', pattern: 'gold', tier: 'Gold', re: null },
  ];
  assert.is(tierOf('Gold', [], rules), 'Gold');
  assert.is(tierOf('Gold-2', [], rules), 'GoldPrefix');
  assert.is(tierOf('Gold-2', ['x', 'tier:silver'], rules), 'Silver', 'an earlier tag rule wins');
  assert.is(tierOf('bronze-12', ['gold'], rules), 'Bronze', 'an earlier pool rule wins');
  assert.is(tierOf('bronze-x', [], rules), 'unassigned');
  assert.is(tierOf('(none)', ['gold'], rules), 'Gold');
  assert.is(tierOf('(none)', ['Gold'], rules), 'unassigned', 'tags are case-sensitive');
  assert.is(tierOf(null, ['gold'], rules), 'Gold', 'no pool: only tag rules can match');
});

test('tagText: the name, "category:name" for a vSphere tag', () => {
  assert.is(tagText({ name: 'prod' }), 'prod');
  assert.is(tagText({ category: 'Tier', name: 'Gold' }), 'Tier:Gold');
  assert.is(tagText({ category: null, name: 'prod' }), 'prod');
  assert.is(tagText({ category: 'x' }), null);
});

test.run();
