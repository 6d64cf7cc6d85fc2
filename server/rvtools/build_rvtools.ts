/**
 * Writes the RVTools workbook (tabs.ts) to a report writer, every tab streamed from its
 * query, all as of one scope: each source's newest capture at or before the as-of instant.
 * Reads through `tx`, one read-only snapshot, so the tabs agree with each other.
 */
import type { Sql } from '../db/connect.ts';
import type { Row, TableSpec } from '../reports/columns.ts';
import type { ReportWriter } from '../reports/report_writer.ts';
import { vHealthRows } from './health_rows.ts';
import { resolveScope, type Scope } from './scope.ts';
import {
  dvPortRows,
  dvSwitchRows,
  vClusterRows,
  vDatastoreRows,
  vHostRows,
  vNicRows,
  vPortRows,
  vRpRows,
  vSwitchRows,
} from './site_rows.ts';
import * as tabs from './tabs.ts';
import {
  vCdRows,
  vCpuRows,
  vDiskRows,
  vInfoRows,
  vMemoryRows,
  vNetworkRows,
  vPartitionRows,
  vSnapshotRows,
  vToolsRows,
} from './vm_rows.ts';

/** What a workbook shows: one source (or all, null) as of an instant. */
export type RvtoolsRequest = { asOf: Date; sourceId: number | null; generatedAt: Date };

type Rows = (sql: Sql, scope: Scope) => AsyncIterable<Row[]> | Iterable<Row[]>;

/** vSource: one row per source with the capture shown. */
function sourceRows(_sql: Sql, scope: Scope): Row[][] {
  return [scope.sources.map((s) => ({
    name: s.name,
    api_type: s.kind === 'vcenter' ? 'VirtualCenter' : s.kind === 'proxmox' ? 'Proxmox VE' : s.kind,
    version: s.version,
    endpoint: s.endpoint,
    captured_at: s.capturedAt,
    capture_id: s.captureId,
    complete: s.complete,
    schema_version: s.schemaVersion,
    vm_count: s.vmCount,
    source: s.name,
    source_uuid: s.externalId,
  }))];
}

/** Each tab and where its rows come from, in workbook order. */
function plan(generatedAt: Date): [TableSpec, Rows][] {
  return [
    [tabs.V_INFO, vInfoRows],
    [tabs.V_CPU, vCpuRows],
    [tabs.V_MEMORY, vMemoryRows],
    [tabs.V_DISK, vDiskRows],
    [tabs.V_PARTITION, vPartitionRows],
    [tabs.V_NETWORK, vNetworkRows],
    [tabs.V_CD, vCdRows],
    [tabs.V_SNAPSHOT, vSnapshotRows],
    [tabs.V_TOOLS, vToolsRows],
    [tabs.V_RP, vRpRows],
    [tabs.V_CLUSTER, vClusterRows],
    [tabs.V_HOST, vHostRows],
    [tabs.V_NIC, vNicRows],
    [tabs.V_SWITCH, vSwitchRows],
    [tabs.V_PORT, vPortRows],
    [tabs.DV_SWITCH, dvSwitchRows],
    [tabs.DV_PORT, dvPortRows],
    [tabs.V_DATASTORE, vDatastoreRows],
    [tabs.V_SOURCE, sourceRows],
    [tabs.V_HEALTH, vHealthRows],
    [tabs.V_METADATA, (_sql, scope) => [scope.sources.map((s) => ({
      generator: 'vmledger',
      created: generatedAt,
      as_of: scope.asOf,
      server: s.name,
      captured_at: s.capturedAt,
      capture_id: s.captureId,
    }))]],
  ];
}

/** Writes every tab; returns the vInfo row count (the workbook's VMs). */
export async function buildRvtools(
  tx: Sql,
  writer: ReportWriter,
  r: RvtoolsRequest,
): Promise<number> {
  const scope = await resolveScope(tx, { asOf: r.asOf, sourceId: r.sourceId });
  let vms = 0;
  for (const [spec, rows] of plan(r.generatedAt)) {
    const n = await writer.table(spec, rows(tx, scope));
    if (spec === tabs.V_INFO) vms = n;
  }
  return vms;
}
