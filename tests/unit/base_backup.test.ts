/**
 * The physical backup's parts that need no server (scripts/base_backup.ts): which WAL segments
 * a backup spans, and a restore refusing a file that is not one of its backups — an entry
 * climbing out of the data folder, a link, a cut-off or foreign file — before it writes
 * anything, leaving the data folder as it was.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { isBaseBackup, restoreBaseBackup, segmentsBetween } from '../../scripts/base_backup.ts';

const test = suite('physical backup: WAL span and refused files');

test('the WAL segments from start to stop, across a log boundary, on one timeline', () => {
  const mb16 = 16 * 1024 * 1024;
  assert.equal(segmentsBetween('000000010000000000000003', '000000010000000000000003', mb16), [
    '000000010000000000000003',
  ]);
  assert.equal(segmentsBetween('0000000100000002000000FE', '000000010000000300000001', mb16), [
    '0000000100000002000000FE',
    '0000000100000002000000FF',
    '000000010000000300000000',
    '000000010000000300000001',
  ]);
  // 1 GB segments: four per log file.
  assert.equal(
    segmentsBetween('000000010000000000000003', '000000010000000100000000', 1024 ** 3),
    ['000000010000000000000003', '000000010000000100000000'],
  );
  assert.throws(
    () => segmentsBetween('000000010000000000000003', '000000020000000000000004', mb16),
    /spans timelines/,
  );
});

async function tarGz(entries: { name: string; body?: string; type?: 'symlink' }[]) {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: '/etc' });
    else pack.entry({ name: e.name }, e.body ?? '');
  }
  pack.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}

test('a file that is not a physical backup is refused and nothing is written', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-basebackup-'));
  try {
    const data = path.join(dir, 'data');
    mkdirSync(data);
    const cases: [string, Buffer, RegExp][] = [
      [
        'escape',
        await tarGz([{ name: 'pg/PG_VERSION', body: '18\n' }, { name: 'pg/../../evil' }]),
        /not a vmledger physical backup: it holds "pg\/\.\.\/\.\.\/evil"/,
      ],
      ['outside', await tarGz([{ name: 'etc/passwd' }]), /not a vmledger physical backup/],
      [
        'link',
        await tarGz([{ name: 'pg/base', type: 'symlink' }]),
        /"pg\/base" is a symlink/,
      ],
      [
        'no manifest',
        await tarGz([{ name: 'pg/PG_VERSION', body: '18\n' }]),
        /incomplete: it ends before its vmledger-backup\.json/,
      ],
      [
        'cut off',
        (await tarGz([{ name: 'pg/PG_VERSION', body: '18\n' }])).subarray(0, 30),
        /damaged or cut off/,
      ],
    ];
    for (const [label, bytes, error] of cases) {
      const file = path.join(dir, `${label}.backup`);
      writeFileSync(file, bytes);
      assert.ok(isBaseBackup(file), label);
      let thrown: Error | null = null;
      try {
        await restoreBaseBackup(file, path.join(data, 'pg'), { replace: false });
      } catch (err) {
        thrown = err as Error;
      }
      assert.ok(thrown, `${label}: refused`);
      assert.match(thrown!.message, error, label);
      assert.equal(readdirSync(data), [], `${label}: nothing left in the data folder`);
      assert.not.ok(existsSync(path.join(dir, 'evil')), label);
    }
    const dump = path.join(dir, 'custom.dump');
    writeFileSync(dump, 'PGDMP\x01\x0e\x00');
    assert.not.ok(isBaseBackup(dump));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
