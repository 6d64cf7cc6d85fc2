/**
 * The source_totals row of a capture: VM and powered-on counts, vCPU, RAM and disk,
 * templates counted apart and excluded from sizing. Sums are exact: disk is summed in
 * thousandths of a GB (the stored precision), split so no partial sum passes 2^53.
 */
import type { CaptureVm } from '../../agent/capture/schema.ts';
import { thousandths } from './vm_lines.ts';

export type CaptureTotals = {
  rows: number;
  vms: number;
  poweredOn: number;
  templates: number;
  vcpu: string;
  ramMb: string;
  /** Decimal text with three places. */
  provisionedDiskGb: string;
};

export function captureTotals(vms: CaptureVm[]): CaptureTotals {
  let count = 0, poweredOn = 0, templates = 0, vcpu = 0, ramMb = 0, diskMillions = 0, diskRest = 0;
  for (const vm of vms) {
    if (vm.isTemplate) {
      templates++;
      continue;
    }
    count++;
    if (vm.powerState === 'poweredOn') poweredOn++;
    vcpu += vm.vcpu;
    ramMb += vm.ramMb;
    const disk = thousandths(vm.provisionedDiskGb);
    diskMillions += Math.floor(disk / 1e6);
    diskRest += disk % 1e6;
  }
  const disk = BigInt(diskMillions) * 1_000_000n + BigInt(diskRest);
  return {
    rows: vms.length, vms: count, poweredOn, templates, vcpu: String(vcpu), ramMb: String(ramMb),
    provisionedDiskGb: `${disk / 1000n}.${String(disk % 1000n).padStart(3, '0')}`,
  };
}
