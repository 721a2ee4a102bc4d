/**
 * `npm run demo`: a stateful counter upstream, the gateway from ./gateway.ts, and two downstream MCP clients
 * (think: two chat tabs of one user), all on 127.0.0.1. Shows that each downstream session gets its own
 * upstream session (A=5, B=3: ContextForge #4205 cannot happen), that calls reuse it, that a downstream
 * DELETE evicts it, and a few lines of the gateway's `/metrics`. The whole relay: `relay-demo.ts`.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startGateway } from './gateway.js';
import { startCounterUpstream } from './upstream-counter.js';

const DEADLINE_MS = 10_000;
const watchdog = setTimeout(() => {
  console.error(`\nThe demo did not finish within ${DEADLINE_MS / 1000} s.`);
  process.exit(1);
}, DEADLINE_MS);
watchdog.unref();

const short = (id: string | undefined): string => (id === undefined ? '?' : `${id.slice(0, 8)}…`);

async function connect(name: string, url: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: `downstream-${name}`, version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

async function call(client: Client, tool: 'increment' | 'get'): Promise<string> {
  const result = await client.callTool({ name: tool, arguments: {} });
  const [first] = result.content as { type: string; text?: string }[];
  return first?.text ?? '?';
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const upstream = await startCounterUpstream();
  const gateway = await startGateway({ upstream: { id: 'counter', url: upstream.url } });
  const { registry } = gateway;
  registry.on('session:evicted', ({ key, reason }) =>
    console.log(`  registry: evicted ${short(key.downstreamSessionId)} → ${key.upstreamId} (reason: ${reason})`),
  );

  console.log('mcp-upstream-sessions demo\n');
  console.log(`  upstream  ${upstream.url}   stateful counter: one count per MCP session`);
  console.log(`  gateway   ${gateway.url}   one upstream session per downstream session\n`);

  console.log('Two downstream clients connect to the gateway (two chat tabs of one user)');
  const a = await connect('A', gateway.url);
  const b = await connect('B', gateway.url);
  console.log(`  A  Mcp-Session-Id ${short(a.transport.sessionId)}`);
  console.log(`  B  Mcp-Session-Id ${short(b.transport.sessionId)}`);
  const { tools } = await a.client.listTools();
  console.log(`  tools via the gateway: ${tools.map((tool) => tool.name).join(', ')}\n`);

  console.log('A calls increment 5 times, B calls it 3 times');
  const fromA: string[] = [];
  for (let i = 0; i < 5; i++) fromA.push(await call(a.client, 'increment'));
  const fromB: string[] = [];
  for (let i = 0; i < 3; i++) fromB.push(await call(b.client, 'increment'));
  console.log(`  A → ${fromA.join(' ')}`);
  console.log(`  B → ${fromB.join(' ')}`);
  const countA = await call(a.client, 'get');
  const countB = await call(b.client, 'get');
  const isolated = countA === '5' && countB === '3';
  console.log(`  A reads ${countA}, B reads ${countB}   ${isolated ? 'isolated ✓ (a shared upstream session would read 8)' : 'LEAKED ✗'}\n`);

  const snapshot = registry.snapshot();
  console.log('Registry snapshot');
  console.log(
    `  sessions ${snapshot.sessions}   creates ${snapshot.counters.creates}   reuses ${snapshot.counters.reuses}   ` +
      `upstream initialize calls ${upstream.initializeCount}`,
  );
  console.log('  downstream    upstream  uses  state');
  for (const entry of snapshot.entries) {
    console.log(
      `  ${short(entry.key.downstreamSessionId).padEnd(13)} ${entry.key.upstreamId.padEnd(9)} ${String(entry.useCount).padEnd(5)} ${entry.state}`,
    );
  }

  console.log('\nB disconnects: HTTP DELETE to the gateway (answered at once; the upstream close runs after)');
  const before = upstream.liveSessions;
  const upstreamClosed = new Promise<void>((resolve) => upstream.events.once('session-closed', () => resolve()));
  await b.transport.terminateSession();
  await upstreamClosed;
  console.log(`  upstream live sessions: ${before} → ${upstream.liveSessions}\n`);

  console.log(`The gateway's /metrics (a few lines)`);
  const metrics = await fetch(new URL('/metrics', gateway.url));
  const lines = (await metrics.text()).split('\n').filter((line) => /^mcp_upstream_session_(creates|reuses|evictions)/.test(line));
  for (const line of lines.slice(0, 6)) console.log(`  ${line}`);
  if (lines.length === 0) console.log(`  (HTTP ${metrics.status}: no metrics yet)`);
  console.log('');

  console.log('Shutting down');
  await Promise.all([a.client.close(), b.client.close()]);
  await gateway.close();
  await upstream.close();
  console.log(`  upstream live sessions: ${upstream.liveSessions}   done in ${Date.now() - startedAt} ms`);

  if (!isolated || snapshot.sessions !== 2 || upstream.initializeCount !== 2) process.exitCode = 1;
}

main().then(
  () => clearTimeout(watchdog),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
