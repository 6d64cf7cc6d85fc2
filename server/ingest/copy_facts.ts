/**
 * Writes a capture's VMs as COPY text: all of them as facts straight into the month's
 * partition (a newer capture), or all of them into capture_stage (the general path).
 * Either way each VM's state hash is computed from the same text.
 */
import type { Capture, CaptureVm } from '../../agent/capture/schema.ts';
import type { Sql } from '../db/connect.ts';
import type { CaptureComparison } from './source_state.ts';
import { copyInto, stageLines } from './stage.ts';
import { FACT_COLUMNS, factFields, stageLine, stateFields, stateHash } from './vm_lines.ts';

/**
 * COPYs every VM of `capture` into `partition` and returns the stage lines of the VMs
 * that `comparison` says must be staged. The facts stream in chunks, so building the
 * text overlaps PostgreSQL's inserting.
 */
export async function copyFactsPickingChanges(
  tx: Sql, partition: string, sourceId: number, capture: Capture, comparison: CaptureComparison,
): Promise<string[]> {
  const prefix = `${sourceId}\t${capture.capturedAt}\t${capture.captureId}\t`;
  const changed: string[] = [];
  const vms = capture.vms;
  function* chunks(): Generator<string> {
    for (let start = 0; start < vms.length; start += 1000) {
      let out = '';
      for (let i = start; i < Math.min(start + 1000, vms.length); i++) {
        const vm = vms[i];
        const facts = factFields(vm);
        const rest = stateFields(vm);
        const hash = stateHash(facts, rest);
        if (comparison.mustStage(vm.key, vm.sourceVmId, hash)) changed.push(stageLine(facts, rest, hash));
        out += `${prefix}${facts}\n`;
      }
      yield out;
    }
  }
  if (vms.length > 0) await copyInto(tx, partition, FACT_COLUMNS, chunks());
  return changed;
}

/** Stages every VM (the general path, where the routine also writes the facts). */
export async function stageAllVms(tx: Sql, vms: CaptureVm[]): Promise<void> {
  const lines = vms.map((vm) => {
    const facts = factFields(vm);
    const rest = stateFields(vm);
    return stageLine(facts, rest, stateHash(facts, rest));
  });
  await stageLines(tx, lines);
}
