/**
 * Agent configuration: a JSON file validated with zod. Secrets are never written in the
 * file itself when avoidable: each has a `…File` and `…Env` variant, resolved here once.
 */
import { z } from 'zod';
import { getEnv, readTextFile } from './runtime/host.ts';

const secretFields = (name: string) => ({
  [name]: z.string().min(1).optional(),
  [`${name}File`]: z.string().min(1).optional(),
  [`${name}Env`]: z.string().min(1).optional(),
});

const SourceBase = z.object({
  name: z.string().min(1).max(100).regex(
    /^[A-Za-z0-9._-]+$/,
    'use letters, digits, dot, dash, underscore',
  ),
  intervalSeconds: z.number().int().min(60, 'must be at least 60 (one minute)').max(7 * 86400)
    .default(3600),
  timeoutSeconds: z.number().int().min(1).max(3600).default(300),
});

const TlsFields = {
  insecure: z.boolean().default(false),
  caFile: z.string().min(1).optional(),
  /** SHA-256 fingerprint of the server certificate, hex with or without colons. */
  thumbprint: z.string().regex(
    /^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/,
    'must be a SHA-256 fingerprint (64 hex digits)',
  ).optional(),
};

export const VcenterSourceConfig = SourceBase.extend({
  kind: z.literal('vcenter'),
  url: z.url(),
  username: z.string().min(1),
  ...secretFields('password'),
  ...TlsFields,
  /** Objects per RetrievePropertiesEx page; vCenter may return fewer. */
  pageSize: z.number().int().min(1).max(100_000).default(1000),
});

export const ProxmoxSourceConfig = SourceBase.extend({
  kind: z.literal('proxmox'),
  url: z.url(),
  /** USER@REALM!TOKENID */
  tokenId: z.string().regex(/^[^@\s]+@[^!\s]+![^=\s]+$/, 'must look like user@realm!tokenid'),
  ...secretFields('tokenSecret'),
  ...TlsFields,
});

export const DemoSourceConfig = SourceBase.extend({
  kind: z.literal('demo'),
  /** Total VMs of the synthetic fleet across both demo sources. */
  vms: z.number().int().min(1).max(1_000_000).default(500),
  seed: z.number().int().default(1),
  /** Which flavour this demo source imitates. */
  flavor: z.enum(['vcenter', 'proxmox']).default('vcenter'),
});

export const SourceConfig = z.discriminatedUnion('kind', [
  VcenterSourceConfig,
  ProxmoxSourceConfig,
  DemoSourceConfig,
]);

export const AgentConfigFile = z.object({
  server: z.object({
    url: z.url(),
    ...secretFields('token'),
  }),
  spoolDir: z.string().min(1),
  /** Spool size cap in bytes; at the cap new captures are refused (logged and reported). */
  spoolMaxBytes: z.number().int().min(1024 * 1024).default(1024 * 1024 * 1024),
  heartbeatSeconds: z.number().int().min(5).max(3600).default(30),
  sources: z.array(SourceConfig).min(1, 'at least one source is needed'),
}).superRefine((cfg, ctx) => {
  const names = new Set<string>();
  cfg.sources.forEach((s, i) => {
    if (names.has(s.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['sources', i, 'name'],
        message: `duplicate source name "${s.name}"`,
      });
    }
    names.add(s.name);
  });
});

export type AgentConfigFile = z.infer<typeof AgentConfigFile>;
export type SourceConfig = z.infer<typeof SourceConfig>;
export type VcenterSourceConfig = z.infer<typeof VcenterSourceConfig>;
export type ProxmoxSourceConfig = z.infer<typeof ProxmoxSourceConfig>;
export type DemoSourceConfig = z.infer<typeof DemoSourceConfig>;

/** A config problem; the CLI prints `message` and exits with code 2. */
export class AgentConfigError extends Error {
  override name = 'AgentConfigError';
}

/** Resolves a secret from its value, `…File` or `…Env` field; throws naming the field. */
export async function resolveSecret(
  obj: Record<string, unknown>,
  name: string,
  where: string,
  required = true,
): Promise<string | undefined> {
  if (typeof obj[name] === 'string') return obj[name] as string;
  const file = obj[`${name}File`];
  if (typeof file === 'string') {
    try {
      return (await readTextFile(file)).trim();
    } catch (err) {
      throw new AgentConfigError(
        `${where}.${name}File: cannot read ${file}: ${(err as Error).message}`,
      );
    }
  }
  const env = obj[`${name}Env`];
  if (typeof env === 'string') {
    const value = getEnv(env);
    if (!value) {
      throw new AgentConfigError(`${where}.${name}Env: environment variable ${env} is not set`);
    }
    return value;
  }
  if (required) {
    throw new AgentConfigError(`${where}: one of ${name}, ${name}File or ${name}Env is required`);
  }
  return undefined;
}

/** Parses a config object; errors name the field (`sources.0.url: Invalid URL`). */
export function parseAgentConfig(raw: unknown): AgentConfigFile {
  const parsed = AgentConfigFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.map(String).join('.') || '(root)';
    throw new AgentConfigError(`config ${where}: ${issue.message}`);
  }
  return parsed.data;
}

/** Reads and parses a config file. */
export async function loadAgentConfig(file: string): Promise<AgentConfigFile> {
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (err) {
    throw new AgentConfigError(`cannot read config ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AgentConfigError(`config ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseAgentConfig(raw);
}
