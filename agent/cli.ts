#!/usr/bin/env node
/**
 * vmledger-agent: the command line of the site agent.
 *
 *   vmledger-agent run --config FILE
 *   vmledger-agent capture-once --config FILE --source NAME [--out FILE|-] [--at ISO-TIME]
 *   vmledger-agent check --config FILE
 *   vmledger-agent --version | --help
 *
 * Exit codes: 0 success, 1 a source or delivery failed, 2 bad usage or configuration.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs as parseNodeArgs } from 'node:util';
import { Capture } from './capture/schema.ts';
import { describeIssues } from '../shared/issues.ts';
import { createCollector } from './collectors/index.ts';
import {
  AgentConfigError,
  type AgentConfigFile,
  loadAgentConfig,
  resolveSecret,
} from './config.ts';
import { createDelivery } from './delivery/delivery.ts';
import { checkServer } from './delivery/whoami.ts';
import { createLogger, type LogLevel } from '../shared/log.ts';
import { startAgent } from './agent.ts';
import { openSpool } from './spool/spool.ts';
import { AGENT_VERSION } from './version.ts';

const HELP =
  `vmledger-agent ${AGENT_VERSION}: captures VM inventory at a site and delivers it to a vmledger server

Usage:
  vmledger-agent run --config FILE            capture every source on its schedule and deliver
  vmledger-agent capture-once --config FILE --source NAME [--out FILE|-] [--at TIME]
                                              capture one source once; with --out write the
                                              capture JSON there, else spool and deliver it
  vmledger-agent check --config FILE          check the server and token, connect and
                                              authenticate each source, print its identity
  vmledger-agent --version                    print the version
  vmledger-agent --help                       this text

Options:
  --log-level debug|info|warn|error           default info (logs are JSON lines on stderr)

Exit codes: 0 success, 1 a source or delivery failed, 2 bad usage or configuration.
See docs/agent.md for the config file.`;

const USAGE = 'Usage: vmledger-agent run|capture-once|check --config FILE [options]';

class UsageError extends Error {}

const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];

type Opts = {
  config?: string;
  source?: string;
  out?: string;
  at?: string;
  'log-level'?: string;
  help?: boolean;
  version?: boolean;
};

/** The command line, strictly: an unknown or misspelt flag is refused, never ignored. */
function parseArgs(argv: string[]): { command: string | undefined; opts: Opts } {
  let parsed;
  try {
    parsed = parseNodeArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        source: { type: 'string' },
        out: { type: 'string' },
        at: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean' },
        version: { type: 'boolean' },
      },
    });
  } catch (err) {
    const message = (err as Error).message;
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    throw new UsageError(unknown ? `unknown option ${unknown[1]}` : message);
  }
  const [command, ...extra] = parsed.positionals;
  if (extra.length) throw new UsageError(`unexpected argument ${extra[0]}`);
  const opts: Opts = parsed.values;
  const level = opts['log-level'];
  if (level !== undefined && !LEVELS.includes(level)) {
    throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
  }
  return { command, opts };
}

function loadConfig(opts: Opts): Promise<AgentConfigFile> {
  if (!opts.config) throw new UsageError('--config FILE is required');
  return loadAgentConfig(opts.config);
}

async function main(argv: string[]): Promise<number> {
  const { command, opts } = parseArgs(argv);
  if (opts.version || command === 'version') {
    console.log(AGENT_VERSION);
    return 0;
  }
  if (argv.length === 0 || opts.help || command === 'help') {
    console.log(HELP);
    return argv.length === 0 ? 2 : 0;
  }
  const log = createLogger({
    level: (opts['log-level'] as LogLevel) ?? 'info',
    base: { app: 'agent' },
  });

  switch (command) {
    case 'run': {
      const config = await loadConfig(opts);
      const agent = await startAgent(config, log);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await agent.stop();
      return 0;
    }
    case 'check': {
      const config = await loadConfig(opts);
      const token =
        (await resolveSecret(config.server as Record<string, unknown>, 'token', 'server'))!;
      const server = await checkServer({
        serverUrl: config.server.url,
        token,
        userAgent: `vmledger-agent/${AGENT_VERSION}`,
      });
      console.log(`${server.ok ? 'ok  ' : 'FAIL'} server ${config.server.url}: ${server.message}`);
      const who = server.whoami;
      if (who?.allowedSources) {
        console.log(`     the token may post only for: ${who.allowedSources.join(', ')}`);
      }
      if (who?.sources.length) {
        console.log(
          `     sources this token owns: ${
            who.sources.map((s) => `${s.kind}:${s.externalId} (${s.name})`).join(', ')
          }`,
        );
      }
      let failures = server.ok ? 0 : 1;
      const identities: string[] = [];
      for (const source of config.sources) {
        const collector = await createCollector(source, log.child({ source: source.name }));
        try {
          const r = await collector.check(AbortSignal.timeout(source.timeoutSeconds * 1000));
          const mark = r.ok ? 'ok  ' : r.warning ? 'WARN' : 'FAIL';
          console.log(`${mark} ${source.name} (${source.kind}): ${r.message}`);
          if (!r.ok) failures++;
          if (r.identity) {
            const id = `${r.identity.kind}:${r.identity.id}`;
            identities.push(id);
            console.log(`     source identity (for token binding): ${id}`);
            if (who?.allowedSources && !who.allowedSources.includes(id)) {
              console.log(`FAIL ${source.name}: the token is not bound to ${id}`);
              failures++;
            }
          }
        } catch (err) {
          console.log(`FAIL ${source.name} (${source.kind}): ${(err as Error).message}`);
          failures++;
        }
      }
      if (identities.length) {
        console.log(
          `To bind a new agent token to these sources, on the server: npm run token -- create ` +
            `--role agent --name NAME --sources ${identities.join(',')}`,
        );
      }
      return failures ? 1 : 0;
    }
    case 'capture-once': {
      const config = await loadConfig(opts);
      const source = config.sources.find((s) => s.name === opts.source);
      if (!opts.source) throw new UsageError('--source NAME is required');
      if (!source) {
        throw new UsageError(
          `no source named ${opts.source} in the config (have: ${
            config.sources.map((s) => s.name).join(', ')
          })`,
        );
      }
      const at = opts.at ? new Date(opts.at) : undefined;
      if (at && Number.isNaN(at.getTime())) throw new UsageError(`--at ${opts.at} is not a time`);
      const collector = await createCollector(source, log.child({ source: source.name }));
      const raw = await collector.capture({
        signal: AbortSignal.timeout(source.timeoutSeconds * 1000),
        since: null,
        at,
      });
      const parsed = Capture.safeParse(raw);
      if (!parsed.success) {
        const first = describeIssues(parsed.error)[0];
        console.error(
          `vmledger-agent: collector produced an invalid capture: ${first.path}: ${first.message}`,
        );
        return 1;
      }
      if (opts.out) {
        const text = JSON.stringify(parsed.data, null, 2) + '\n';
        if (opts.out === '-') process.stdout.write(text);
        else await writeFile(opts.out, text);
        console.error(
          `captured ${parsed.data.vms.length} VMs from ${source.name} (complete: ${parsed.data.complete})`,
        );
        return 0;
      }
      const spool = await openSpool(config.spoolDir, { maxBytes: config.spoolMaxBytes, log });
      await spool.put(parsed.data);
      const token =
        (await resolveSecret(config.server as Record<string, unknown>, 'token', 'server'))!;
      const delivery = createDelivery({
        serverUrl: config.server.url,
        token,
        spool,
        log,
        userAgent: `vmledger-agent/${AGENT_VERSION}`,
      });
      const retry = await delivery.drain();
      console.error(
        `captured ${parsed.data.vms.length} VMs from ${source.name}; ` +
          (retry === null
            ? 'delivered'
            : `not delivered yet (${delivery.state.lastError}); it stays in the spool`),
      );
      return retry === null ? 0 : 1;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || err instanceof AgentConfigError) {
    console.error(`vmledger-agent: ${err.message}`);
    if (err instanceof UsageError) {
      console.error(USAGE);
      console.error('Try vmledger-agent --help');
    }
    process.exitCode = 2;
  } else {
    console.error(`vmledger-agent: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
