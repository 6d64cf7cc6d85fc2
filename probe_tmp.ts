import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool, ensureDatabase } from './server/db/connect.ts';
import { startEmbeddedPostgres } from './server/db/embedded.ts';
import { migrate } from './server/db/migrate.ts';
import { generateFacts } from './tests/support/synthetic_facts.ts';
import { addSiteFacts, addVmUsage } from './tests/support/synthetic_usage.ts';
import { freePort } from './scripts/free_port.ts';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vmledger-probe-'));
const pg = await startEmbeddedPostgres({ pgDir: path.join(tmp, 'pg'), port: await freePort() });
const sql = createPool(await ensureDatabase(pg.url, 'probe'), { max: 4 });
try {
  await migrate(sql);
  const [{ id }] = await sql`insert into sources (kind, external_id, name) values ('demo', 'p', 'p') returning id`;
  await generateFacts(sql, { sourceId: id, vms: Number(process.argv[2] ?? 5000), start: '2026-01-01T00:00:00Z', captures: 24, intervalSeconds: 3600, seed: 42 });
  await addVmUsage(sql, id, 42);
  await addSiteFacts(sql, { sourceId: id, hosts: 200, datastores: 1000, seed: 42 });
  await sql`vacuum analyze vm_hourly_stats`;
  for (let k = 0; k < 2; k++) {
    await sql.begin(async (tx) => {
      const r = await tx.unsafe(`explain (analyze, buffers) insert into vm_usage_hourly select * from vm_usage_hourly_rows(${id}, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')`);
      console.log(r.map((x) => x['QUERY PLAN']).join('\n'));
      const r2 = await tx.unsafe(`explain (analyze, buffers) select * from vm_usage_hourly_rows(${id}, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')`);
      console.log(r2.map((x) => x['QUERY PLAN']).join('\n'));
      let t = performance.now();
      await tx`select aggregate_usage_hourly(${id}, '2026-01-01', 'UTC')`;
      console.log('sql fn', performance.now() - t);
      throw new Error('rb');
    }).catch((e) => { if (e.message !== 'rb') throw e; });
  }
} finally {
  await sql.end();
  await pg.stop();
  rmSync(tmp, { recursive: true, force: true });
}
