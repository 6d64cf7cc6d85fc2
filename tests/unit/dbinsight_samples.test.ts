/**
 * Sample parameters (issue 24): which column each `$n` of a normalised statement is compared
 * to, and the relations and aliases it reads, parsed from pg_stat_statements' text.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { argumentList, parameterUses, relationsOf } from '../../server/dbinsight/samples.ts';

const test = suite('dbinsight: sample parameters, parsed');

test('each comparison form names its column; limit and offset are known', () => {
  const q = `select /* vmledger:inventory */ v.id from vm_inventory v
    join sources s on s.id = v.source_id
   where v.name like $1 and s.id = any($2) and v.cpu > $3 and $4 = v.power_state
     and v.memory_mb between $5 and $6 and v.os in ($7, $8) and lower(v.name) = $9
   order by v.id limit $10 offset $11`;
  const uses = new Map(parameterUses(q).map((u) => [u.n, u]));
  assert.is(uses.get(1)?.column, 'v.name');
  assert.is(uses.get(2)?.column, 's.id');
  assert.equal([uses.get(3)?.column, uses.get(3)?.range], ['v.cpu', true]);
  assert.equal([uses.get(4)?.column, uses.get(4)?.range], ['v.power_state', false]);
  assert.equal([uses.get(5)?.column, uses.get(6)?.column], ['v.memory_mb', 'v.memory_mb']);
  assert.equal([uses.get(7)?.column, uses.get(8)?.column], ['v.os', 'v.os']);
  assert.is(uses.get(9), undefined, 'an expression is not a column');
  assert.is(uses.get(10)?.kind, 'limit');
  assert.is(uses.get(11)?.kind, 'offset');
  assert.equal([...relationsOf(q)], [
    ['vm_inventory', 'vm_inventory'],
    ['v', 'vm_inventory'],
    ['sources', 'sources'],
    ['s', 'sources'],
  ]);
});

test('a comment or a string holding "= $1" is not a use; keywords are not aliases', () => {
  const q = `select id from captures where /* x = $9 */ note = 'a = $8' and source_id = $1`;
  assert.equal(parameterUses(q).map((u) => [u.n, u.column]), [[1, 'source_id']]);
  assert.equal([...relationsOf('select * from captures where id = $1')], [
    ['captures', 'captures'],
  ]);
});

test('samples become quoted literals, nulls stay null', () => {
  assert.is(argumentList([]), '');
  assert.is(argumentList(["o'k", null, '5']), "('o''k', null, '5')");
});

test.run();
