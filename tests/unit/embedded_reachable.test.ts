/** The embedded PostgreSQL's folders: the postgres user may pass only where it must. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeReachable } from '../../server/db/embedded.ts';

const test = suite('embedded PostgreSQL: makeReachable');
const mode = (d: string) => (statSync(d).mode & 0o777).toString(8);

function tree(modes: number[]): { root: string; dirs: string[] } {
  const root = mkdtempSync(path.join(tmpdir(), 'vml-reach-'));
  const dirs = [root];
  for (let i = 1; i < modes.length; i++) dirs.push(path.join(dirs[i - 1], `d${i}`));
  mkdirSync(dirs[dirs.length - 1], { recursive: true });
  dirs.forEach((d, i) => chmodSync(d, modes[i]));
  return { root, dirs };
}

test('a stranger to the folders: o+x only where other may not pass', () => {
  const { root, dirs } = tree([0o700, 0o701, 0o750, 0o700]);
  try {
    const changed = makeReachable(path.join(dirs[3], 'pg'), {
      uid: 2_000_000_001,
      gid: 2_000_000_001,
    });
    assert.ok(changed.includes(dirs[0]) && changed.includes(dirs[2]) && changed.includes(dirs[3]));
    assert.not.ok(changed.includes(dirs[1]), 'already passable: untouched');
    assert.equal(dirs.map(mode), ['701', '701', '751', '701'], 'search only, never read');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a member of the folders' group: the group bit decides, o+x would not help", () => {
  const { root, dirs } = tree([0o710, 0o701, 0o700]);
  try {
    const changed = makeReachable(path.join(dirs[2], 'pg'), {
      uid: 2_000_000_001,
      gid: process.getgid!(),
    });
    assert.not.ok(changed.includes(dirs[0]), 'the group may pass: untouched');
    assert.equal(dirs.map(mode), ['710', '711', '710']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
