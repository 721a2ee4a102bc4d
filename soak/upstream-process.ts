/**
 * Entry point of one soak upstream child process: `fork('soak/upstream-process.ts', [id, seed])`.
 *
 * The upstreams run in their own processes so that the soak's heap figure measures the gateway side (the
 * registry and its MCP clients) and not the upstream servers' own per-session state. Starts a
 * {@link SoakUpstream}, reports `{ type: 'ready', url }`, then serves {@link UpstreamCommand}s until `close`
 * or until the parent goes away (IPC disconnect), and exits once everything is closed.
 */
import { type UpstreamCommand, type UpstreamMessage, type UpstreamStats } from './protocol.js';
import { Random } from './random.js';
import { SoakUpstream } from './upstream.js';

const [id = 'upstream', seed = '1'] = process.argv.slice(2);

function send(message: UpstreamMessage): void {
  if (process.connected) process.send?.(message);
}

function stats(upstream: SoakUpstream): UpstreamStats {
  return {
    liveSessions: upstream.liveSessions,
    sessionsCreated: upstream.initializeCount,
    bindingViolations: upstream.bindingViolations,
    restarts: upstream.restarts,
    expiries: upstream.expiries,
    delayedRequests: upstream.delayedRequests,
  };
}

async function run(upstream: SoakUpstream, command: UpstreamCommand): Promise<boolean | undefined> {
  switch (command.op) {
    case 'restart':
      await upstream.restart(command.downtimeMs);
      return undefined;
    case 'slowDown':
      upstream.slowDown(command.durationMs, command.probability, command.maxDelayMs);
      return undefined;
    case 'stopSlowDown':
      upstream.stopSlowDown();
      return undefined;
    case 'expireSession':
      return upstream.expireSession();
    case 'stats':
      return undefined;
    case 'close':
      await upstream.close();
      return undefined;
  }
}

const upstream = await SoakUpstream.start(id, new Random(Number(seed)));
let closing: Promise<void> | undefined;
const shutdown = (): Promise<void> => {
  closing ??= upstream.close().finally(() => {
    if (process.connected) process.disconnect();
  });
  return closing;
};

process.on('message', (command: UpstreamCommand) => {
  run(upstream, command).then(
    (result) => {
      send(result === undefined ? { type: 'reply', seq: command.seq, stats: stats(upstream) } : { type: 'reply', seq: command.seq, stats: stats(upstream), result });
      if (command.op === 'close') void shutdown();
    },
    (error: unknown) => send({ type: 'error', seq: command.seq, message: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => void shutdown());
send({ type: 'ready', url: upstream.url });
