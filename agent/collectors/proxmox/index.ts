/** The Proxmox VE collector: `createProxmoxCollector` is the entry the agent uses. */
export { createProxmoxCollector, type ProxmoxCollectorOptions } from './collector.ts';
export { parseGuestConfig, parseSize } from './config_parse.ts';
