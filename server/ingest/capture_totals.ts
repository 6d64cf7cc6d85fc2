/**
 * The source_totals row of a capture: VM and powered-on counts, vCPU, RAM and disk,
 * templates counted apart and excluded from sizing. Sums are exact: disk is summed in
 * thousandths of a GB (the stored precision), split so no partial sum passes 2^53.
 * With them, each cluster's allocation (cluster_allocation): its powered-on VMs, their vCPU
 * and memory.
 */
import type { VmDigest } from './vm_lines.ts';

/** Totals summed one VM at a time, as the VMs stream past. */
export class CaptureTotalsSum {
  #rows = 0;
  #vms = 0;
  #poweredOn = 0;
  #templates = 0;
  #vcpu = 0;
  #memoryMib = 0;
  #diskMillions = 0;
  #diskRest = 0;
  /** Powered-on VMs, vCPU and memory (MiB) by cluster ('' for none). */
  #clusters = new Map<string, [number, number, number]>();

  add(vm: VmDigest): void {
    this.#rows++;
    if (vm.isTemplate) {
      this.#templates++;
      return;
    }
    this.#vms++;
    if (vm.poweredOn) {
      this.#poweredOn++;
      const c = this.#clusters.get(vm.cluster ?? '');
      if (c) {
        c[0]++;
        c[1] += vm.vcpu;
        c[2] += vm.memoryMib;
      } else this.#clusters.set(vm.cluster ?? '', [1, vm.vcpu, vm.memoryMib]);
    }
    this.#vcpu += vm.vcpu;
    this.#memoryMib += vm.memoryMib;
    const disk = vm.diskThousandths;
    this.#diskMillions += Math.floor(disk / 1e6);
    this.#diskRest += disk % 1e6;
  }

  /** The row as ingest_apply_capture() reads it: the sums as decimal text, disk with three places. */
  result() {
    const disk = BigInt(this.#diskMillions) * 1_000_000n + BigInt(this.#diskRest);
    return {
      rows: this.#rows,
      vms: this.#vms,
      poweredOn: this.#poweredOn,
      templates: this.#templates,
      vcpu: String(this.#vcpu),
      memoryMib: String(this.#memoryMib),
      provisionedDiskGib: `${disk / 1000n}.${String(disk % 1000n).padStart(3, '0')}`,
      clusters: [...this.#clusters].map(([cluster, [vms, vcpu, memoryMib]]) => ({
        cluster,
        vms,
        vcpu,
        memoryMib,
      })),
    };
  }
}
