/**
 * Notification channels: where messages go (a generic webhook, a Slack- or Teams-compatible
 * incoming webhook, e-mail over SMTP). The zod schemas of what a client sends and of what it
 * gets back, and the rows. Secrets (the webhook's signing secret, the SMTP password, and the
 * Slack/Teams URL, which is itself the credential) are written and never read back: the view
 * says only whether one is set.
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { iso } from '../db/connect.ts';
import { AppError } from '../errors.ts';

export const CHANNEL_KINDS = ['webhook', 'slack', 'teams', 'email'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

const Name = z.string().trim().min(1).max(100);
const HttpUrl = z.url({ protocol: /^https?$/ }).max(2000)
  .describe('http or https URL');
const Secret = z.string().min(16).max(500).describe('at least 16 characters');
const Email = z.email().max(254);

/** A channel as a client writes it; on update a missing secret keeps the stored one. */
function channelBody(update: boolean) {
  const need = <T extends z.ZodType>(s: T) => (update ? s.optional() : s);
  return z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('webhook'),
      name: Name,
      enabled: z.boolean().default(true),
      url: HttpUrl,
      secret: need(Secret).describe('HMAC-SHA256 key; never returned'),
    }),
    z.strictObject({
      kind: z.literal('slack'),
      name: Name,
      enabled: z.boolean().default(true),
      url: need(HttpUrl).describe('the incoming webhook URL; a credential, never returned'),
    }),
    z.strictObject({
      kind: z.literal('teams'),
      name: Name,
      enabled: z.boolean().default(true),
      url: need(HttpUrl).describe('the incoming webhook URL; a credential, never returned'),
    }),
    z.strictObject({
      kind: z.literal('email'),
      name: Name,
      enabled: z.boolean().default(true),
      host: z.string().trim().min(1).max(253).regex(/^[A-Za-z0-9.:-]+$/, 'a host name or address'),
      port: z.number().int().min(1).max(65535).default(587),
      tls: z.enum(['starttls', 'tls', 'none']).default('starttls')
        .describe('starttls (required upgrade), tls (implicit, port 465) or none'),
      user: z.string().max(200).optional(),
      password: z.string().max(500).optional().describe('never returned'),
      from: Email,
      to: z.array(Email).min(1).max(50),
      ca: z.string().max(20_000).regex(/-----BEGIN CERTIFICATE-----/, 'a PEM certificate')
        .optional().describe("PEM certificate to trust for the server's TLS certificate"),
    }),
  ]);
}

export const ChannelCreate = channelBody(false);
export type ChannelCreate = z.infer<typeof ChannelCreate>;
export const ChannelUpdate = channelBody(true);
export type ChannelUpdate = z.infer<typeof ChannelUpdate>;

/** What is stored in `config` (nothing secret). */
export type ChannelConfig = {
  url?: string;
  host?: string;
  port?: number;
  tls?: 'starttls' | 'tls' | 'none';
  user?: string;
  from?: string;
  to?: string[];
  ca?: string;
};

export const ChannelView = z.object({
  id: z.number().int(),
  name: z.string(),
  kind: z.enum(CHANNEL_KINDS),
  enabled: z.boolean(),
  /** Where it goes, as can be shown: the webhook URL, Slack/Teams host only, SMTP and addresses. */
  target: z.string(),
  config: z.object({
    url: z.string().optional(),
    host: z.string().optional(),
    port: z.number().int().optional(),
    tls: z.enum(['starttls', 'tls', 'none']).optional(),
    user: z.string().optional(),
    from: z.string().optional(),
    to: z.array(z.string()).optional(),
    hasCa: z.boolean().optional(),
  }),
  hasSecret: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string().nullable(),
});
export type ChannelView = z.infer<typeof ChannelView>;

/** A channel with its secret, for delivery only (never leaves the server). */
export type Channel = {
  id: number;
  name: string;
  kind: ChannelKind;
  enabled: boolean;
  config: ChannelConfig;
  secret: string | null;
};

/** Splits a written channel into its shown config and its secret (null: keep the stored one). */
export function splitChannel(b: ChannelCreate | ChannelUpdate): {
  config: ChannelConfig;
  secret: string | null;
} {
  switch (b.kind) {
    case 'webhook':
      return { config: { url: b.url }, secret: b.secret ?? null };
    case 'slack':
    case 'teams':
      return { config: {}, secret: b.url ?? null };
    case 'email': {
      const { host, port, tls, user, from, to, ca } = b;
      return { config: { host, port, tls, user, from, to, ca }, secret: b.password ?? null };
    }
  }
}

type Row = Record<string, unknown>;

function targetOf(kind: ChannelKind, c: ChannelConfig, secret: string | null): string {
  if (kind === 'webhook') return c.url ?? '';
  if (kind === 'email') return `${(c.to ?? []).join(', ')} via ${c.host}:${c.port}`;
  try {
    return secret ? `${new URL(secret).host}/…` : '';
  } catch {
    return '';
  }
}

function view(r: Row): ChannelView {
  const kind = r.kind as ChannelKind;
  const c = r.config as ChannelConfig;
  const { ca, ...shown } = c;
  return {
    id: Number(r.id),
    name: r.name as string,
    kind,
    enabled: r.enabled as boolean,
    target: targetOf(kind, c, r.secret as string | null),
    config: kind === 'email' ? { ...shown, hasCa: !!ca } : shown,
    hasSecret: r.secret != null && r.secret !== '',
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    updatedBy: (r.updated_by as string | null) ?? null,
  };
}

/** Every channel, by name. */
export async function listChannels(sql: Sql): Promise<ChannelView[]> {
  return (await sql`select * from notification_channels order by name, id`).map(view);
}

/** One channel as shown; not_found without it. */
export async function channelView(sql: Sql, id: number): Promise<ChannelView> {
  const [r] = await sql`select * from notification_channels where id = ${id}`;
  if (!r) throw new AppError('not_found', `no channel ${id}`);
  return view(r);
}

/** One channel with its secret, for delivery; null without it. */
export async function channelForDelivery(sql: Sql, id: number): Promise<Channel | null> {
  const [r] = await sql`select id, name, kind, enabled, config, secret
    from notification_channels where id = ${id}`;
  return r
    ? {
      id: Number(r.id),
      name: r.name,
      kind: r.kind,
      enabled: r.enabled,
      config: r.config,
      secret: r.secret,
    }
    : null;
}

/** Inserts a channel; a name in use is `invalid_body` naming `name`. */
export async function insertChannel(sql: Sql, b: ChannelCreate, by: string | null) {
  const { config, secret } = splitChannel(b);
  const [r] = await sql`
    insert into notification_channels (name, kind, enabled, config, secret, updated_by)
    values (${b.name}, ${b.kind}, ${b.enabled}, ${sql.json(config)}, ${secret}, ${by})
    on conflict (name) do nothing
    returning *`;
  if (!r) throw nameTaken(b.name);
  return view(r);
}

/** Replaces a channel's settings (kind included); a missing secret keeps the stored one. */
export async function updateChannel(sql: Sql, id: number, b: ChannelUpdate, by: string | null) {
  const { config, secret } = splitChannel(b);
  const [old] = await sql`select kind, secret from notification_channels where id = ${id}`;
  if (!old) throw new AppError('not_found', `no channel ${id}`);
  // A kind change cannot carry the old kind's secret over (a Slack URL is no HMAC key).
  if (secret == null && old.kind !== b.kind && b.kind !== 'email') {
    const field = b.kind === 'webhook' ? 'secret' : 'url';
    throw new AppError('invalid_body', `${field}: required when the kind changes`, {
      issues: [{ path: field, message: 'required when the kind changes' }],
    });
  }
  const keep = secret == null && old.kind === b.kind;
  const [clash] = await sql`select 1 from notification_channels
    where name = ${b.name} and id <> ${id}`;
  if (clash) throw nameTaken(b.name);
  const [r] = await sql`
    update notification_channels set
      name = ${b.name}, kind = ${b.kind}, enabled = ${b.enabled}, config = ${sql.json(config)},
      secret = ${keep ? sql`secret` : secret}, updated_at = now(), updated_by = ${by}
    where id = ${id}
    returning *`;
  return view(r);
}

/** Deletes a channel with its routes and deliveries; not_found without it. */
export async function deleteChannel(sql: Sql, id: number): Promise<ChannelView> {
  const [r] = await sql`delete from notification_channels where id = ${id} returning *`;
  if (!r) throw new AppError('not_found', `no channel ${id}`);
  return view(r);
}

function nameTaken(name: string) {
  return new AppError('invalid_body', `name: a channel named ${JSON.stringify(name)} exists`, {
    issues: [{ path: 'name', message: 'a channel with this name exists' }],
  });
}
