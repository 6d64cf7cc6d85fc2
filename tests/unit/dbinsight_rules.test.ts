/**
 * Database insight without a database: which statements EXPLAIN refuses, the columns a
 * plan's filter names, the plan tree's chips, the redundant-index rule.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type PlanNode, planTree, refusal } from '../../server/dbinsight/explain.ts';
import { filterColumns, redundantIndexes } from '../../server/dbinsight/rules.ts';
import { moduleOf } from '../../server/dbinsight/stats.ts';
import type { IndexRow } from '../../server/dbinsight/stats.ts';

const test = suite('dbinsight: refusals, filters, chips, redundant indexes');

test('EXPLAIN takes one plain read and refuses writes, locks and several statements', () => {
  for (
    const q of [
      'select id from t where a = $1',
      'with x as (select 1) select * from x',
      "select 'insert into t' as text_not_a_write",
      '/* vmledger:x */ select 1;',
      'values (1)',
    ]
  ) assert.is(refusal(q), null, q);
  for (
    const [q, why] of [
      ['insert into t values ($1)', /only reads/],
      ['update t set a = $1', /only reads/],
      ['with d as (delete from t returning *) select * from d', /"delete"/],
      ['select * from t for update', /for update/],
      ['select 1; drop table t', /more than one/],
      ["select nextval('s')", /nextval/],
      ['copy t to stdout', /only reads/],
    ] as const
  ) assert.match(refusal(q) ?? '', why, q);
});

test('filter columns: equality first; an outer alias is not the relation', () => {
  const cols = new Set(['id', 'owner', 'status', 'region', 'name']);
  assert.equal(filterColumns('((region > $2) AND (status = $1))', cols), ['status', 'region']);
  assert.equal(filterColumns('((name)::text = $1)', cols), ['name']);
  assert.equal(filterColumns('(b.owner = o.id)', cols, 'b'), ['owner']);
});

test('plan tree chips: seq scan size, estimate off, spill, reads, subplan', () => {
  const plan: PlanNode = {
    'Node Type': 'Sort',
    'Plan Rows': 10,
    'Total Cost': 100,
    'Actual Rows': 5000,
    'Actual Loops': 1,
    'Sort Method': 'external merge',
    'Sort Space Type': 'Disk',
    Plans: [{
      'Node Type': 'Seq Scan',
      'Relation Name': 'big',
      'Plan Rows': 10,
      'Total Cost': 90,
      'Shared Read Blocks': 1200,
      Filter: '(owner = $1)',
    }, {
      'Node Type': 'Index Scan',
      'Plan Rows': 1,
      'Total Cost': 1,
      'Parent Relationship': 'SubPlan',
      'Subplan Name': 'SubPlan 1',
    }],
  };
  const tree = planTree(plan, new Map([['big', 1_000_000]]));
  assert.equal(tree.chips.map((c) => c.text), ['row estimate off by ×500', 'sort spilled to disk']);
  assert.equal(tree.children[0].chips.map((c) => c.text), [
    'seq scan on 1.0 M rows',
    '1200 buffers read',
  ]);
  assert.equal(tree.children[1].chips.map((c) => c.kind), ['subplan']);
});

test('redundant indexes: a prefix, not a constraint, not an expression', () => {
  const ix = (name: string, columns: string[], extra: Partial<IndexRow> = {}): IndexRow => ({
    name,
    table: 't',
    columns,
    definition: '',
    bytes: 8192,
    scans: 0,
    unique: false,
    primary: false,
    constraint: false,
    partial: false,
    method: 'btree',
    ...extra,
  });
  const found = redundantIndexes([
    ix('t_a', ['a']),
    ix('t_a_b', ['a', 'b']),
    ix('t_pkey', ['id'], { unique: true, primary: true, constraint: true }),
    ix('t_id_a', ['id', 'a']),
    ix('t_expr', ['(expression)']),
    ix('t_expr_b', ['(expression)', 'b']),
  ]);
  assert.equal(found.map((f) => f.ddl), ['drop index concurrently t_a;']);
  assert.is(moduleOf('select /* vmledger:changes */ 1'), 'changes');
  assert.is(moduleOf('select 1'), null);
});

test.run();
