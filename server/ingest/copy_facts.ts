/**
 * Writes a capture's VMs as COPY text: all of them as facts straight into the month's
 * partition (a newer capture), picking those to stage; the text and state hash come from each
 * VM's digest (vm_lines.ts).
 */
import type { CaptureHead } from '../../agent/capture/schema.ts';
import type { Sql } from '../db/connect.ts';
import type { CaptureTotalsSum } from './capture_totals.ts';
import type { CaptureComparison } from './source_state.ts';
import { copyInto } from './stage.ts';
import { FACT_COLUMNS, stageLine, type VmDigest } from './vm_lines.ts';

/**
 * COPYs every VM of `parts` into `partition`, adding each to `totals`, and returns the
 * stage lines of the VMs that `comparison` says must be staged. The facts stream part by
 * part, so parsing, validating and building the text of a part overlap PostgreSQL's
 * inserting the previous one.
 */
export async function copyFactsPickingChanges(
  tx: Sql,
  partition: string,
  sourceId: number,
  capture: CaptureHead,
  parts: Iterable<VmDigest[]>,
  comparison: CaptureComparison,
  totals: CaptureTotalsSum,
): Promise<string[]> {
  const prefix = `${sourceId}\t${capture.capturedAt}\t${capture.captureId}\t`;
  const changed: string[] = [];
  function* chunks(): Generator<string> {
    for (const part of parts) {
      let out = '';
      for (const vm of part) {
        totals.add(vm);
        if (comparison.mustStage(vm.key, vm.sourceVmId, vm.hash)) {
          changed.push(stageLine(vm.facts, vm.state, vm.hash));
        }
        out += `${prefix}${vm.facts}\n`;
      }
      yield out;
    }
  }
  await copyInto(tx, partition, FACT_COLUMNS, chunks());
  return changed;
}
