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
import { Capture, describeIssues } from './capture/schema.ts';
import { createCollector } from './collectors/index.ts';
import {
  AgentConfigError,
  type AgentConfigFile,
  loadAgentConfig,
  resolveSecret,
} from './config.ts';
import { createDelivery } from './delivery/delivery.ts';
import { createLogger, type LogLevel } from './log.ts';
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
  vmledger-agent check --config FILE          connect and authenticate each source
  vmledger-agent --version                    print the version
  vmledger-agent --help                       this text

Options:
  --log-level debug|info|warn|error           default info (logs are JSON lines on stderr)

Exit codes: 0 success, 1 a source or delivery failed, 2 bad usage or configuration.
See docs/agent.md for the config file.`;

class UsageError extends Error {}

function parseArgs(argv: string[]) {
  const [command, ...rest] = argv;
  const opts: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument ${a}`);
    const name = a.slice(2);
    const value = rest[i + 1];
    if (value === undefined || (value.startsWith('--') && value !== '-')) {
      throw new UsageError(`--${name} needs a value`);
    }
    opts[name] = value;
    i++;
  }
  return { command, opts };
}

function loadConfig(opts: Record<string, string>): Promise<AgentConfigFile> {
  if (!opts.config) throw new UsageError('--config FILE is required');
  return loadAgentConfig(opts.config);
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--version') || argv[0] === 'version') {
    console.log(AGENT_VERSION);
    return 0;
  }
  if (argv.length === 0 || argv.includes('--help') || argv[0] === 'help') {
    console.log(HELP);
    return argv.length === 0 ? 2 : 0;
  }
  const { command, opts } = parseArgs(argv);
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
      let failures = 0;
      for (const source of config.sources) {
        const collector = await createCollector(source, log.child({ source: source.name }));
        try {
          const r = await collector.check(AbortSignal.timeout(source.timeoutSeconds * 1000));
          console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${source.name} (${source.kind}): ${r.message}`);
          if (!r.ok) failures++;
        } catch (err) {
          console.log(`FAIL ${source.name} (${source.kind}): ${(err as Error).message}`);
          failures++;
        }
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
    if (err instanceof UsageError) console.error('Try vmledger-agent --help');
    process.exitCode = 2;
  } else {
    console.error(`vmledger-agent: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
