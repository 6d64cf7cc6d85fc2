/** Picks the collector for a configured source. */
import type { SourceConfig } from '../config.ts';
import type { Logger } from '../../shared/log.ts';
import type { Collector } from './collector.ts';
import { createDemoCollector } from './demo/collector.ts';

/** Builds the collector for `source`; secrets are resolved by the collector at first use. */
export async function createCollector(source: SourceConfig, log: Logger): Promise<Collector> {
  switch (source.kind) {
    case 'demo':
      return createDemoCollector(source);
    case 'vcenter': {
      const { createVcenterCollector } = await import('./vcenter/collector.ts');
      return createVcenterCollector(source, log);
    }
    case 'proxmox': {
      const { createProxmoxCollector } = await import('./proxmox/collector.ts');
      return createProxmoxCollector(source, log);
    }
  }
}
