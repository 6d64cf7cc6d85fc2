/**
 * Server configuration: every environment read happens here, once, at start.
 * A bad value stops the start with one line naming the setting (exit code 2).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isTimeZone } from './aggregate/period.ts';
import { isAddressOrCidr } from './addresses.ts';
import type { LdapConfig } from './auth/ldap.ts';
import type { OidcConfig } from './auth/oidc.ts';
import { groupList, splitGrant } from './auth/role_map.ts';
import { SELECTOR } from './auth/scope.ts';

const flag = z
  .enum(['0', '1', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const Env = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).default(8080),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  DATABASE_READ_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  VMLEDGER_DATA_DIR: z.string().min(1).default('./data'),
  VMLEDGER_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  VMLEDGER_DEMO: flag.default(true),
  VMLEDGER_DEMO_BACKFILL_DAYS: z.coerce.number().int().min(0).max(400).default(21),
  VMLEDGER_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  VMLEDGER_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
  VMLEDGER_INGEST_MEMO_VMS: z.coerce.number().int().min(0).max(100_000_000).default(100_000),
  VMLEDGER_INGEST_MEMO_MB: z.coerce.number().int().min(0).max(1_000_000).default(512),
  VMLEDGER_LIST_MODEL_MAX_VMS: z.coerce.number().int().min(0).max(10_000_000).default(300_000),
  VMLEDGER_INGEST_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(2),
  VMLEDGER_SESSION_HOURS: z.coerce.number().min(0.01).max(24 * 90).default(12),
  VMLEDGER_SESSION_IDLE_MINUTES: z.coerce.number().min(0).max(60 * 24 * 90).default(60),
  // Sign-in with the directory (docs/sign-in.md).
  VMLEDGER_LDAP_URL: z.string().regex(
    /^ldaps?:\/\/[^/]+\/?$/,
    'must be ldap://host[:port] or ldaps://host[:port]',
  )
    .optional(),
  VMLEDGER_LDAP_STARTTLS: flag.default(true),
  VMLEDGER_LDAP_CA_FILE: z.string().optional(),
  VMLEDGER_LDAP_BIND_DN: z.string().default(''),
  VMLEDGER_LDAP_BIND_PASSWORD: z.string().default(''),
  VMLEDGER_LDAP_USER_BASE: z.string().default(''),
  VMLEDGER_LDAP_USER_FILTER: z.string().includes('{username}', {
    message: 'must contain {username}',
  })
    .default('(&(objectClass=person)(uid={username}))'),
  VMLEDGER_LDAP_GROUP_BASE: z.string().optional(),
  VMLEDGER_LDAP_GROUP_FILTER: z.string().includes('{dn}', { message: 'must contain {dn}' })
    .default('(member={dn})'),
  VMLEDGER_LDAP_NESTED_GROUPS: flag.default(true),
  VMLEDGER_LDAP_NAME_ATTRIBUTE: z.string().default('cn'),
  VMLEDGER_LDAP_ADMIN_GROUPS: z.string().default(''),
  VMLEDGER_LDAP_VIEWER_GROUPS: z.string().default(''),
  VMLEDGER_OIDC_ISSUER: z.url({ protocol: /^https?$/, error: 'must be the issuer URL' }).optional(),
  VMLEDGER_OIDC_CLIENT_ID: z.string().default(''),
  VMLEDGER_OIDC_CLIENT_SECRET: z.string().optional(),
  VMLEDGER_OIDC_REDIRECT_URI: z.url({
    error: "must be this server's https://…/login/oidc/callback",
  })
    .optional(),
  VMLEDGER_OIDC_SCOPES: z.string().default('openid profile email'),
  VMLEDGER_OIDC_GROUPS_CLAIM: z.string().default('groups'),
  VMLEDGER_OIDC_NAME_CLAIM: z.string().default('name'),
  VMLEDGER_OIDC_ADMIN_GROUPS: z.string().default(''),
  VMLEDGER_OIDC_VIEWER_GROUPS: z.string().default(''),
  VMLEDGER_OIDC_LABEL: z.string().default('single sign-on'),
  VMLEDGER_OIDC_POST_LOGOUT_REDIRECT_URI: z.url({ error: "must be this server's https://…/login" })
    .optional(),
  VMLEDGER_REPORT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  VMLEDGER_RETENTION_MONTHS: z.coerce.number().int().min(0).max(1200).default(25),
  VMLEDGER_USAGE_RAW_DAYS: z.coerce.number().int().min(0).max(3650).default(7),
  VMLEDGER_USAGE_HOURLY_DAYS: z.coerce.number().int().min(0).max(3650).default(90),
  VMLEDGER_USAGE_DAILY_DAYS: z.coerce.number().int().min(0).max(36500).default(0),
  VMLEDGER_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  VMLEDGER_REPORT_TZ: z
    .string()
    .refine((tz) => isTimeZone(tz), 'must be an IANA time zone name such as UTC or Europe/Berlin')
    .default('UTC'),
  VMLEDGER_AGG_ENGINE: z.enum(['sql', 'ts']).default('sql'),
  VMLEDGER_AGG_DAILY_AT: z.string().regex(
    /^([01]\d|2[0-3]):[0-5]\d$/,
    'must be HH:MM (24-hour clock)',
  ).default('00:30'),
  VMLEDGER_JOBS: flag.default(true),
  VMLEDGER_JOB_HEARTBEAT_SECONDS: z.coerce.number().int().min(10).max(3600).default(60),
  VMLEDGER_JOB_SUPERVISE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  VMLEDGER_JOB_RETRY_DELAY_SECONDS: z.coerce.number().int().min(1).max(86400).optional(),
  VMLEDGER_TRUSTED_PROXIES: z.string().transform((v) =>
    v.split(',').map((s) => s.trim()).filter((s) => s !== '')
  ).refine(
    (list) => list.every(isAddressOrCidr),
    'must be a comma-separated list of IP addresses or CIDRs (e.g. 10.0.0.5,192.168.0.0/16)',
  ).default([]),
});

/** The resolved configuration (see `loadServerConfig` for what each setting means). */
export type ServerConfig = ReturnType<typeof loadServerConfig>;

/** A setting that cannot be used; `main` prints `message` and exits with code 2. */
/** Viewer groups, each maybe limited to sources (`group|tag:tenant=acme`): selectors checked. */
function viewerGrants(name: string, value: string | undefined): string[] {
  const list = groupList(value);
  for (const entry of list) {
    const bad = splitGrant(entry).scope?.find((s) => !SELECTOR.test(s));
    if (bad !== undefined || splitGrant(entry).scope?.length === 0) {
      throw new ConfigError(
        `${name}: "${
          bad ?? ''
        }" in "${entry}" is not source:<id>, <kind>:<id> or tag:<key>=<value>`,
      );
    }
  }
  return list;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads `*_FILE` variants (secrets from files) into their plain names. */
function withFileSecrets(env: Record<string, string | undefined>) {
  const out = { ...env };
  for (
    const name of [
      'DATABASE_URL',
      'DATABASE_READ_URL',
      'VMLEDGER_ADMIN_TOKEN',
      'VMLEDGER_LDAP_BIND_PASSWORD',
      'VMLEDGER_OIDC_CLIENT_SECRET',
    ]
  ) {
    const file = env[`${name}_FILE`];
    if (file && !out[name]) {
      try {
        out[name] = readFileSync(file, 'utf8').trim();
      } catch (err) {
        throw new ConfigError(`${name}_FILE: cannot read ${file}: ${(err as Error).message}`);
      }
    }
  }
  return out;
}

function required(name: string, value: string | undefined): string {
  if (!value) {
    throw new ConfigError(`${name}: required when the sign-in it belongs to is configured`);
  }
  return value;
}

/** LDAP and OIDC settings (docs/sign-in.md); each is off unless its URL/issuer is set. */
function signInConfig(e: z.infer<typeof Env>) {
  let ldap: LdapConfig | undefined;
  if (e.VMLEDGER_LDAP_URL) {
    let ca: string | undefined;
    if (e.VMLEDGER_LDAP_CA_FILE) {
      try {
        ca = readFileSync(e.VMLEDGER_LDAP_CA_FILE, 'utf8');
      } catch (err) {
        throw new ConfigError(`VMLEDGER_LDAP_CA_FILE: cannot read: ${(err as Error).message}`);
      }
    }
    const userBase = required('VMLEDGER_LDAP_USER_BASE', e.VMLEDGER_LDAP_USER_BASE);
    ldap = {
      url: e.VMLEDGER_LDAP_URL,
      startTls: e.VMLEDGER_LDAP_STARTTLS,
      tls: ca ? { ca } : undefined,
      bindDn: e.VMLEDGER_LDAP_BIND_DN,
      bindPassword: e.VMLEDGER_LDAP_BIND_PASSWORD,
      userBase,
      userFilter: e.VMLEDGER_LDAP_USER_FILTER,
      groupBase: e.VMLEDGER_LDAP_GROUP_BASE ?? userBase,
      groupFilter: e.VMLEDGER_LDAP_GROUP_FILTER,
      nestedGroups: e.VMLEDGER_LDAP_NESTED_GROUPS,
      nameAttribute: e.VMLEDGER_LDAP_NAME_ATTRIBUTE,
      roles: {
        admin: groupList(e.VMLEDGER_LDAP_ADMIN_GROUPS),
        viewer: viewerGrants('VMLEDGER_LDAP_VIEWER_GROUPS', e.VMLEDGER_LDAP_VIEWER_GROUPS),
      },
      timeoutMs: 10_000,
    };
  }
  let oidc: (OidcConfig & { label: string }) | undefined;
  if (e.VMLEDGER_OIDC_ISSUER) {
    oidc = {
      issuer: e.VMLEDGER_OIDC_ISSUER,
      clientId: required('VMLEDGER_OIDC_CLIENT_ID', e.VMLEDGER_OIDC_CLIENT_ID),
      clientSecret: e.VMLEDGER_OIDC_CLIENT_SECRET,
      redirectUri: required('VMLEDGER_OIDC_REDIRECT_URI', e.VMLEDGER_OIDC_REDIRECT_URI),
      postLogoutRedirectUri: e.VMLEDGER_OIDC_POST_LOGOUT_REDIRECT_URI,
      scopes: e.VMLEDGER_OIDC_SCOPES,
      groupsClaim: e.VMLEDGER_OIDC_GROUPS_CLAIM,
      nameClaim: e.VMLEDGER_OIDC_NAME_CLAIM,
      roles: {
        admin: groupList(e.VMLEDGER_OIDC_ADMIN_GROUPS),
        viewer: viewerGrants('VMLEDGER_OIDC_VIEWER_GROUPS', e.VMLEDGER_OIDC_VIEWER_GROUPS),
      },
      label: e.VMLEDGER_OIDC_LABEL,
    };
  }
  return { ldap, oidc, idleMinutes: e.VMLEDGER_SESSION_IDLE_MINUTES };
}

/** Parses the environment into a resolved config, or throws ConfigError naming the setting. */
export function loadServerConfig(env: Record<string, string | undefined> = process.env) {
  const cleaned = Object.fromEntries(
    Object.entries(withFileSecrets(env)).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = Env.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    throw new ConfigError(`${name}=${JSON.stringify(cleaned[name] ?? '')}: ${issue.message}`);
  }
  const e = parsed.data;
  return {
    host: e.HOST,
    port: e.PORT,
    /** Undefined: start the embedded PostgreSQL under `dataDir/pg`. */
    databaseUrl: e.DATABASE_URL,
    /** A streaming replica for list and detail reads (server/db/reads.ts); writes stay on databaseUrl. */
    databaseReadUrl: e.DATABASE_READ_URL,
    dataDir: path.resolve(e.VMLEDGER_DATA_DIR),
    adminToken: e.VMLEDGER_ADMIN_TOKEN,
    demo: e.VMLEDGER_DEMO,
    /** Days of hourly demo history loaded at first start (0: none). */
    demoBackfillDays: e.VMLEDGER_DEMO_BACKFILL_DAYS,
    logLevel: e.VMLEDGER_LOG_LEVEL,
    maxBodyBytes: e.VMLEDGER_MAX_BODY_BYTES,
    /** VMs whose previous capture text ingest keeps on this node (~1.2 kB each; 0: none). */
    ingestMemoVms: e.VMLEDGER_INGEST_MEMO_VMS,
    /** And at most this many MiB of them (vm_text_memo.ts). */
    ingestMemoMb: e.VMLEDGER_INGEST_MEMO_MB,
    /**
     * Live and deleted VMs up to which the VM list keeps an in-memory model of the present
     * (~1 kB each, rebuilt after each capture when asked; 0: none, the database answers).
     */
    listModelMaxVms: e.VMLEDGER_LIST_MODEL_MAX_VMS,
    /** Captures ingested at once on this node; more wait, unread (server/ingest/admission.ts). */
    ingestConcurrency: e.VMLEDGER_INGEST_CONCURRENCY,
    sessionHours: e.VMLEDGER_SESSION_HOURS,
    /** Directory sign-in: LDAP and/or OIDC when configured, and the idle timeout. */
    signIn: signInConfig(e),
    embeddedPgPort: e.VMLEDGER_PG_PORT,
    /** Months of per-capture facts kept (whole months before the current one); 0 keeps them forever. Rollups are always kept. */
    retentionMonths: e.VMLEDGER_RETENTION_MONTHS,
    /**
     * Usage history retention in days per tier (0: forever): per-capture usage in the facts,
     * hourly and daily tiers (server/aggregate/usage_retention.ts).
     */
    usageRetention: {
      rawDays: e.VMLEDGER_USAGE_RAW_DAYS,
      hourlyDays: e.VMLEDGER_USAGE_HOURLY_DAYS,
      dailyDays: e.VMLEDGER_USAGE_DAILY_DAYS,
    },
    /** Days a generated report is kept. */
    reportRetentionDays: e.VMLEDGER_REPORT_RETENTION_DAYS,
    /** Calendar days of rollups are days in this zone. */
    reportTz: e.VMLEDGER_REPORT_TZ,
    /** Engine of scheduled aggregation (sql is faster per bench/aggregate.bench.ts; docs/aggregation.md). */
    aggEngine: e.VMLEDGER_AGG_ENGINE,
    /** Local time (reportTz) at which the previous day is aggregated, HH:MM. */
    aggDailyAt: e.VMLEDGER_AGG_DAILY_AT,
    /** Start pg-boss (queues, schedules, workers) with the server. */
    jobs: e.VMLEDGER_JOBS,
    /**
     * A running job's heartbeat (pg-boss): its worker refreshes it every half of this; a job
     * whose heartbeat is older (its node was killed or lost the database) is failed and
     * retried by a live node's supervisor, which looks every `jobSuperviseSeconds`. A killed
     * node's job is retried after at most about the sum of the two (+ the queue's retry delay).
     */
    jobHeartbeatSeconds: e.VMLEDGER_JOB_HEARTBEAT_SECONDS,
    jobSuperviseSeconds: e.VMLEDGER_JOB_SUPERVISE_SECONDS,
    /** Every queue's retry delay instead of its own (drills shorten it); unset: each queue's. */
    jobRetryDelaySeconds: e.VMLEDGER_JOB_RETRY_DELAY_SECONDS,
    /** Proxies whose X-Forwarded-For/-Proto are believed; none by default (socket address only). */
    trustedProxies: e.VMLEDGER_TRUSTED_PROXIES,
  };
}
