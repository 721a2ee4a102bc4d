/**
 * stdio upstreams: one server process per downstream session (run with `npx tsx examples/stdio/main.ts`).
 *
 * Two "chat tabs" call a stateful stdio server. Each tab gets its own process (its own counter), reuses it
 * for every call, and `closeAll()` leaves no process behind. The gateway's own secrets (here a fake
 * `DATABASE_URL`) never reach a child: it gets a minimal environment, the `inheritEnv` names and the
 * request's `env`.
 */
import { fileURLToPath } from 'node:url';
import { UpstreamSessionRegistry, createMcpSessionFactory } from '../../src/index.js';
import { type StdioSessionRequest } from '../../src/types.js';

process.env.DATABASE_URL = 'postgres://gateway:secret@db/prod'; // the gateway's secret: children never see it

const server = fileURLToPath(new URL('./counter-server.ts', import.meta.url));
const registry = new UpstreamSessionRegistry({
  sessionFactory: createMcpSessionFactory({
    inheritEnv: ['NODE_OPTIONS'],
    onStderr: (key, line) => console.log(`  [${key.downstreamSessionId} stderr] ${line}`),
  }),
  // Process count = live sessions: bound it per upstream, and let idle processes go soon.
  maxSessionsPerUpstream: 20,
  idleTtlMs: 5 * 60_000,
  closeTimeoutMs: 2_000,
});

/** The request a gateway builds for one downstream session's calls to the stdio upstream. */
function counter(tab: string): StdioSessionRequest {
  return {
    downstreamSessionId: tab,
    upstreamId: 'counter',
    transport: 'stdio',
    command: process.execPath,
    args: ['--import', import.meta.resolve('tsx'), server],
    env: { COUNTER_OWNER: tab },
  };
}

async function increment(tab: string): Promise<string> {
  return registry.withSession(counter(tab), async (client) => {
    const result = await client.callTool({ name: 'increment' });
    return (result.content as { text: string }[])[0]?.text ?? '?';
  });
}

for (const tab of ['tab-A', 'tab-B', 'tab-A', 'tab-A']) console.log(`${tab} → ${await increment(tab)}`);
console.log('sessions:', registry.snapshot().entries.map((entry) => `${entry.key.downstreamSessionId}: ${entry.command} (${entry.useCount} uses)`));

await registry.closeAll();
console.log(`closed: ${registry.size} sessions, every process group terminated`);
