/**
 * The running agent: collectors on their schedules, the spool, delivery and heartbeat,
 * wired together. `startAgent` is what `vmledger-agent run` and `npm start` call.
 */
import os from 'node:os';
import type { AgentConfigFile } from './config.ts';
import { resolveSecret } from './config.ts';
import { createCollector } from './collectors/index.ts';
import { createDelivery } from './delivery/delivery.ts';
import { sendHeartbeat } from './delivery/heartbeat.ts';
import type { Logger } from '../shared/log.ts';
import { createScheduler } from './scheduler/scheduler.ts';
import { openSpool } from './spool/spool.ts';
import { AGENT_VERSION } from './version.ts';

export type RunningAgent = {
  scheduler: ReturnType<typeof createScheduler>;
  delivery: ReturnType<typeof createDelivery>;
  spool: Awaited<ReturnType<typeof openSpool>>;
  stop(): Promise<void>;
};

/**
 * Starts every configured source, delivery and heartbeat; `stop` ends them cleanly. With
 * `scheduled: false` no source captures on its own (not at start, not at its aligned times):
 * the caller runs each capture (`scheduler.runSource`), as the drills do, whose counts of
 * captures an hourly source's run at the top of the hour would otherwise change.
 */
export async function startAgent(
  config: AgentConfigFile,
  log: Logger,
  options: { scheduled?: boolean } = {},
): Promise<RunningAgent> {
  const token = (await resolveSecret(config.server as Record<string, unknown>, 'token', 'server'))!;
  const spool = await openSpool(config.spoolDir, { maxBytes: config.spoolMaxBytes, log });
  const delivery = createDelivery({
    serverUrl: config.server.url,
    token,
    spool,
    log,
    userAgent: `vmledger-agent/${AGENT_VERSION}`,
  });
  const sources = await Promise.all(
    config.sources.map(async (s) => ({
      config: s,
      collector: await createCollector(s, log.child({ source: s.name })),
    })),
  );
  const scheduler = createScheduler({
    sources,
    log,
    store: async (capture) => {
      await spool.put(capture);
      delivery.nudge();
    },
    // Collectors that can stream (vCenter) write into the spool page by page.
    stream: () => spool.stream(),
    streamed: () => delivery.nudge(),
  });

  const stopping = new AbortController();
  const delivering = delivery.run(stopping.signal);
  if (options.scheduled ?? true) scheduler.start({ immediately: true });

  const beat = async () =>
    sendHeartbeat({
      serverUrl: config.server.url,
      token,
      scheduler,
      log,
      body: {
        agentVersion: AGENT_VERSION,
        hostname: os.hostname?.() ?? null,
        sentAt: new Date().toISOString(),
        sources: scheduler.health(),
        spool: await spool.stats(),
        delivery: delivery.state,
      },
    });
  const heartbeat = setInterval(() => void beat(), config.heartbeatSeconds * 1000);
  void beat();

  log.info('agent started', {
    version: AGENT_VERSION,
    sources: config.sources.map((s) => s.name),
    spool: config.spoolDir,
  });
  return {
    scheduler,
    delivery,
    spool,
    async stop() {
      clearInterval(heartbeat);
      scheduler.stop();
      stopping.abort();
      await delivering;
      log.info('agent stopped');
    },
  };
}
