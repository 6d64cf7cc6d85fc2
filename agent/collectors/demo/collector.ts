/** The `demo` collector: serves the deterministic synthetic fleet of ./fleet.ts. */
import type { DemoSourceConfig } from '../../config.ts';
import type { Collector } from '../collector.ts';
import { demoCapture, demoSourceId, slotsFor } from './fleet.ts';

/** A collector for one demo source (its `flavor` picks the vCenter-like or Proxmox-like half). */
export function createDemoCollector(config: DemoSourceConfig): Collector {
  return {
    check() {
      return Promise.resolve({
        ok: true,
        message: `demo ${config.flavor} fleet (seed ${config.seed}), up to ${
          slotsFor(config.flavor, config.vms)
        } VMs`,
        identity: { kind: 'demo', id: demoSourceId(config.flavor, config.seed) },
      });
    },
    capture({ since, at }) {
      // Whole seconds: captured-at is part of the capture's identity on the server.
      const when = new Date(Math.floor((at ?? new Date()).getTime() / 1000) * 1000);
      return Promise.resolve(demoCapture({
        flavor: config.flavor,
        seed: config.seed,
        totalVms: config.vms,
        at: when,
        since,
        sourceName: config.name,
      }));
    },
  };
}
