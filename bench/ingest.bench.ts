/**
 * Ingest speed: the end-to-end time of a 10,000-VM capture (HTTP request to commit, gzip,
 * validation, facts, lifecycle, inventory, totals, v2 configuration history) next to a raw
 * COPY of the same fact rows (usage included) into an empty copy of the table, measured in
 * the same run; and sustained throughput for 20 such captures from 4 concurrent agents.
 *
 * Storage: the bytes (tables and indexes) each capture adds, for a capture whose
 * configuration is unchanged (only usage and other moving numbers differ) and for the demo
 * fleet's realistic hour-to-hour change, with the v2 capture and with its v1 equivalent
 * (the same VMs, hosts and datastores without the v2 details, clusters, pools, networks or
 * usage): what the change-only history costs over what a v1 capture always cost.
 *
 * `--pieces`: each round also ingests with each piece of the fast way switched off alone
 * (server/ingest/fast_path.ts), the ways in turns so that a slow spell hits all alike,
 * reporting each way's median, ratio to raw COPY and the process's CPU time per ingest.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { DatastoreDetails, HostDetails, VM_DETAIL_KEYS } from '../agent/capture/details.ts';
import { captureText } from '../agent/capture/capture_text.ts';
import { Capture } from '../agent/capture/schema.ts';
import { createApp } from '../server/app.ts';
import { createToken } from '../server/auth/tokens.ts';
import { fastPathOff } from '../server/ingest/fast_path.ts';
import { NO_USAGE, usageByKey } from '../server/ingest/vm_lines.ts';
import { listen } from '../server/runtime.ts';
import { benchCapture, validated } from './bench_capture.ts';
import { type BenchDatabase, openBenchDatabase } from './bench_db.ts';
import { type BenchReport, median, settledHeap } from './harness.ts';

const VMS = 10_000;
const REPEAT = 15;

const captureAt = (sourceId: string, at: Date): Capture => benchCapture(sourceId, at, VMS);

/** `c` as a v1 agent would have captured it: no v2 details, clusters, pools, networks, usage. */
function v1Equivalent(c: Capture): Capture {
  const without = <T extends object>(o: T, keys: readonly string[]): T =>
    Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k))) as T;
  return validated({
    ...c,
    vms: c.vms.map((vm) => without(vm, VM_DETAIL_KEYS)),
    hosts: c.hosts.map((h) => without(h, Object.keys(HostDetails))),
    datastores: c.datastores.map((d) => without(d, Object.keys(DatastoreDetails))),
    clusters: [],
    resourcePools: [],
    networks: [],
    usage: [],
  });
}

/**
 * `c` again `hours` later with its configuration unchanged: only what moves every capture
 * (VM usage, host usage, datastore free and uncommitted space) differs.
 */
function sameConfigLater(c: Capture, hours: number): Capture {
  const at = new Date(Date.parse(c.capturedAt) + hours * 3600_000).toISOString();
  const move = (v: number | null, by: number) => (v === null ? null : v + by);
  return {
    ...c,
    captureId: crypto.randomUUID(),
    capturedAt: at,
    usage: c.usage.map((u) => ({
      ...u,
      cpuUsageMhz: move(u.cpuUsageMhz, 17 * hours),
      hostMemoryMib: move(u.hostMemoryMib, hours),
    })),
    hosts: c.hosts.map((h) => ({ ...h, cpuUsageMhz: move(h.cpuUsageMhz, 100 * hours) })),
    datastores: c.datastores.map((d) => ({
      ...d,
      freeGib: move(d.freeGib, -hours),
      uncommittedGib: move(d.uncommittedGib, hours),
    })),
  };
}

/** Bytes of every table and index of the schema (a partitioned table's are its partitions'). */
async function storedBytes(sql: BenchDatabase['sql']): Promise<number> {
  const [{ bytes }] = await sql`
    select sum(pg_total_relation_size(c.oid))::float8 as bytes from pg_class c
    where c.relkind in ('r', 'm') and c.relnamespace = 'public'::regnamespace and c.relname <> 'bench_copy'`;
  return bytes;
}

/** How many captures after the first are measured for the bytes each adds. */
const BYTES_CAPTURES = 6;

/**
 * The bodies of the sustained run (4 agents × 5 captures) and of the bytes-per-capture
 * scenarios (a new source each: its first capture, then BYTES_CAPTURES more, hour after hour).
 */
function prepareBodies(base: number) {
  const sustained = [0, 1, 2, 3].map((a) =>
    Array.from(
      { length: 5 },
      (_, i) => requestBody(`site-${a + 1}`, new Date(base + (10 + i) * 3600_000)),
    )
  );
  const steady = captureAt('bytes-v2-same', new Date(base + 100 * 3600_000));
  const steadyV1 = v1Equivalent({ ...steady, source: { ...steady.source, id: 'bytes-v1-same' } });
  const realistic = (id: string, i: number) => captureAt(id, new Date(base + (200 + i) * 3600_000));
  const scenarios: { name: string; sourceId: string; capture: (i: number) => Capture }[] = [
    {
      name: 'v1Unchanged',
      sourceId: 'bytes-v1-same',
      capture: (i) => sameConfigLater(steadyV1, i),
    },
    { name: 'v2Unchanged', sourceId: 'bytes-v2-same', capture: (i) => sameConfigLater(steady, i) },
    {
      name: 'v1Realistic',
      sourceId: 'bytes-v1-real',
      capture: (i) => v1Equivalent(realistic('bytes-v1-real', i)),
    },
    {
      name: 'v2Realistic',
      sourceId: 'bytes-v2-real',
      capture: (i) => realistic('bytes-v2-real', i),
    },
  ];
  const bytes = scenarios.map(({ name, sourceId, capture }) => ({
    name,
    sourceId,
    bodies: Array.from(
      { length: BYTES_CAPTURES + 1 },
      (_, i) => gzipSync(captureText(capture(i))),
    ),
  }));
  return { sustained, bytes };
}

/** What an agent sends: the capture as JSON in the agents' layout (VMs last), gzip'd. */
function requestBody(sourceId: string, at: Date): Buffer {
  return gzipSync(captureText(captureAt(sourceId, at)));
}

/**
 * The capture's fact rows as COPY text, exactly as the ingest stores them: the VM's columns,
 * then its usage (whole MHz and MiB, and the guest file systems' free space as jsonb).
 */
function factLines(c: Capture): string {
  const usage = usageByKey(c.usage);
  return c.vms.map((v) =>
    [
      1,
      v.key,
      c.capturedAt,
      c.captureId,
      v.sourceVmId,
      v.name,
      v.powerState,
      v.isTemplate ? 't' : 'f',
      v.vcpu,
      v.memoryMib,
      v.provisionedDiskGib.toFixed(3),
      v.usedDiskGib === null ? '\\N' : v.usedDiskGib.toFixed(3),
      v.datacenter ?? '\\N',
      v.cluster ?? '\\N',
      v.host ?? '\\N',
      v.resourcePool ?? '\\N',
      v.folder ?? '\\N',
      v.guestOs ?? '\\N',
      usage.get(v.key) ?? NO_USAGE,
    ].join('\t')
  ).join('\n') + '\n';
}

type Piece = keyof typeof fastPathOff;
/** The ways measured side by side with `--pieces`: the whole fast way, then each piece off alone. */
const WAYS: { name: string; off: Piece[] }[] = [
  { name: 'allOn', off: [] },
  ...(Object.keys(fastPathOff) as Piece[]).map((p) => ({ name: `${p}Off`, off: [p] })),
];

function switchTo(off: Piece[]): void {
  for (const piece of Object.keys(fastPathOff) as Piece[]) fastPathOff[piece] = off.includes(piece);
}

export default async function benchIngest(args: string[] = []): Promise<BenchReport> {
  const ways = args.includes('--pieces') ? WAYS : WAYS.slice(0, 1);
  const base = Date.UTC(2026, 5, 1, 0);
  // Bodies posted back to back are made first: making them takes minutes on a busy machine,
  // and a pause that long between requests outlives the server's keep-alive (65 s) while
  // the client, its event loop busy, still counts on the connection (ECONNRESET).
  const prepared = prepareBodies(base);
  const db = await openBenchDatabase('ingest');
  const app = createApp(db.sql, { maxBodyBytes: 256 * 1024 * 1024, sessionHours: 1 });
  const server = await listen(app.fetch, '127.0.0.1', 0);
  const url = `http://127.0.0.1:${server.port}`;
  try {
    const tokens = await Promise.all(
      [0, 1, 2, 3].map((i) => createToken(db.sql, { name: `agent ${i}`, role: 'agent' })),
    );
    const post = (body: Buffer, token: string) =>
      fetch(`${url}/api/v1/captures`, {
        method: 'POST',
        body,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
      }).then(async (r) => {
        if (r.status !== 201) throw new Error(`ingest answered ${r.status}: ${await r.text()}`);
      });

    // Warm up: the first capture creates the partition and the inventory and history rows;
    // then the statistics autovacuum gathers within a minute or so of a new source's first
    // capture (of every table it wrote: with none, the routine reads the source's whole
    // configuration history to update the few VMs that changed); then one newer capture, so
    // the code of the usual path has run once. The end-to-end figure is a known source's
    // steady state (the sustained run below starts four new sources cold).
    await post(requestBody('site-0', new Date(base - 3600_000)), tokens[0].token);
    await db.sql`analyze`;
    await post(requestBody('site-0', new Date(base)), tokens[0].token);

    // The client shares the server's process: request bodies and COPY text are made
    // beforehand and the heap is collected before each sample, so neither building them
    // nor collecting their garbage is timed. The two are measured in turns, so a slow
    // spell of this shared machine hits both alike.
    await db.sql`create table bench_copy (like vm_hourly_stats including all)`;
    const e2e = ways.map((): number[] => []);
    const copy = ways.map((): number[] => []);
    const cpu = ways.map((): number[] => []);
    let hour = 1;
    for (let i = 1; i <= REPEAT; i++) {
      // With --pieces, each round takes every way once, starting with another each round.
      for (let k = 0; k < ways.length; k++) {
        const w = (i + k) % ways.length;
        switchTo(ways[w].off);
        const at = new Date(base + hour++ * 3600_000);
        const body = requestBody('site-0', at);
        const lines = factLines(captureAt('site-0', at));

        await settledHeap();
        const cpu0 = process.cpuUsage();
        let t0 = performance.now();
        const r = await fetch(`${url}/api/v1/captures`, {
          method: 'POST',
          body,
          headers: {
            authorization: `Bearer ${tokens[0].token}`,
            'content-type': 'application/json',
            'content-encoding': 'gzip',
          },
        });
        await r.text();
        e2e[w].push(performance.now() - t0);
        const used = process.cpuUsage(cpu0);
        cpu[w].push((used.user + used.system) / 1000);
        if (r.status !== 201) throw new Error(`ingest answered ${r.status}`);

        await db.sql`truncate bench_copy`;
        await settledHeap();
        t0 = performance.now();
        const wr = await db
          .sql`copy bench_copy (source_id, vm_key, snapshot_time, capture_id, source_vm_id, name, power_state,
          is_template, vcpu, ram_mb, provisioned_disk_gb, used_disk_gb, datacenter, cluster, host, resource_pool, folder, guest_os,
          cpu_usage_mhz, guest_memory_mib, host_memory_mib, guest_disk_free) from stdin`
          .writable();
        await pipeline(Readable.from([lines]), wr);
        copy[w].push(performance.now() - t0);
        if (ways[w].off.includes('cut')) {
          // The memo is made only from text read in parts: give the next way one to start from.
          switchTo([]);
          await post(requestBody('site-0', new Date(base + hour++ * 3600_000)), tokens[0].token);
        }
      }
    }
    switchTo([]);

    // Sustained: 4 agents (one source each) × 5 captures, the agents running concurrently.
    const agents = prepared.sustained;
    const t0 = performance.now();
    await Promise.all(agents.map(async (list, a) => {
      for (const body of list) await post(body, tokens[a].token);
    }));
    const sustainedMs = performance.now() - t0;

    // Bytes per capture: a new source each, its first capture not counted (it writes every
    // VM's history and inventory), then BYTES_CAPTURES more, hour after hour.
    const bytes: Record<string, number> = {};
    const configRows = async (id: string) => {
      const [r] = await db.sql`
        select (select count(*)::int from vm_config_history h where h.source_id = s.id) as vms,
               (select count(*)::int from site_object_history h where h.source_id = s.id) as sites
        from sources s where s.external_id = ${id}`;
      return r ? r.vms + r.sites : 0;
    };
    for (const { name, sourceId, bodies: [first, ...bodies] } of prepared.bytes) {
      await post(first, tokens[0].token);
      const rows0 = await configRows(sourceId);
      const before = await storedBytes(db.sql);
      for (const body of bodies) await post(body, tokens[0].token);
      const added = (await storedBytes(db.sql)) - before;
      bytes[`${name}BytesPerCapture`] = Math.round(added / BYTES_CAPTURES);
      bytes[`${name}HistoryRowsPerCapture`] = Number(
        (((await configRows(sourceId)) - rows0) / BYTES_CAPTURES).toFixed(1),
      );
    }
    bytes.v2OverV1Unchanged = Number(
      (bytes.v2UnchangedBytesPerCapture / bytes.v1UnchangedBytesPerCapture).toFixed(2),
    );
    bytes.v2OverV1Realistic = Number(
      (bytes.v2RealisticBytesPerCapture / bytes.v1RealisticBytesPerCapture).toFixed(2),
    );

    const e2eMs = median(e2e[0]);
    const copyMs = median(copy[0]);
    const ratio = e2eMs / copyMs;
    const pieces: Record<string, number | string> = {};
    for (let w = 1; w < ways.length; w++) {
      const name = ways[w].name;
      pieces[`${name}MedianMs`] = Math.round(median(e2e[w]));
      pieces[`${name}RawCopyMedianMs`] = Math.round(median(copy[w]));
      pieces[`${name}Ratio`] = Number((median(e2e[w]) / median(copy[w])).toFixed(2));
      pieces[`${name}SamplesMs`] = e2e[w].map((ms) => Math.round(ms)).join(' ');
      pieces[`${name}CpuMedianMs`] = Math.round(median(cpu[w]));
      pieces[`${name}CpuSamplesMs`] = cpu[w].map((ms) => Math.round(ms)).join(' ');
    }
    return {
      name: 'ingest',
      title: `Ingest of a ${VMS.toLocaleString('en-US')}-VM capture: end to end vs raw COPY`,
      goal: 'end-to-end ≤ 2× raw COPY of the same rows',
      met: ratio <= 2,
      metrics: {
        endToEndMedianMs: Math.round(e2eMs),
        rawCopyMedianMs: Math.round(copyMs),
        endToEndSamplesMs: e2e[0].map((ms) => Math.round(ms)).join(' '),
        rawCopySamplesMs: copy[0].map((ms) => Math.round(ms)).join(' '),
        ratio: Number(ratio.toFixed(2)),
        cpuMedianMs: Math.round(median(cpu[0])),
        cpuSamplesMs: cpu[0].map((ms) => Math.round(ms)).join(' '),
        ...pieces,
        sustainedCaptures: 20,
        sustainedAgents: 4,
        sustainedSeconds: Number((sustainedMs / 1000).toFixed(2)),
        sustainedCapturesPerSecond: Number((20 / (sustainedMs / 1000)).toFixed(2)),
        sustainedVmRowsPerSecond: Math.round((20 * VMS) / (sustainedMs / 1000)),
        ...bytes,
      },
      notes: `median of ${REPEAT}; end to end = gzip'd POST over loopback until the 201 after ` +
        `commit; bytes per capture = table and index bytes added per capture, mean of ` +
        `${BYTES_CAPTURES} after a source's first, no vacuum in between; v1 = the same capture ` +
        `without v2 details, clusters, pools, networks or usage`,
    };
  } finally {
    await server.close();
    await db.close();
  }
}
