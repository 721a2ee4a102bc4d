/**
 * The modern-era demo: a 2026-07-28 upstream (`createMcpHandler` from `@modelcontextprotocol/server`, modern
 * only) on 127.0.0.1, and a registry on the SDK v2 factory (`mcp-upstream-sessions/sdk-v2`) serving two
 * downstream sessions ("tabs") of one user. It prints what the upstream saw at each step:
 * - the first session probes the era once (`server/discover`); every later session of that user connects
 *   with zero round trips from the cached verdict;
 * - an elicitation the upstream asks for (MRTR `input_required`) reaches the tab whose call caused it;
 * - one shared `subscriptions/listen` stream carries a tools list_changed to every tab, and
 *   `upstream:list-changed` fires once;
 * - `closeAll` sends no DELETE (there are no sessions in the modern era).
 *
 * Run: `npx tsx examples/gateway/demo-modern.ts`.
 */
import { type Client } from '@modelcontextprotocol/client';
import { createMcpHandler, type InMemoryServerEventBus } from '@modelcontextprotocol/server';
import { createSdkV2SessionFactory } from '../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../src/index.js';
import { serveOnLoopback, weatherServer } from './upstream-modern.js';

const DEADLINE_MS = 15_000;
const watchdog = setTimeout(() => {
  console.error(`\nThe demo did not finish within ${DEADLINE_MS / 1000} s.`);
  process.exit(1);
}, DEADLINE_MS);
watchdog.unref();

/** What the upstream received, by JSON-RPC method (and DELETEs). */
const seen: string[] = [];

async function startUpstream(): Promise<{ url: string; notifyToolsChanged: () => void; listening: () => number; close: () => Promise<void> }> {
  const handler = createMcpHandler(() => weatherServer(), { legacy: 'reject', keepAliveMs: 0 });
  const { server: http, url } = await serveOnLoopback(handler, seen);
  return {
    url,
    notifyToolsChanged: () => handler.notify.toolsChanged(),
    listening: () => (handler.bus as InMemoryServerEventBus).listenerCount,
    close: async () => {
      await handler.close();
      http.closeAllConnections();
      await new Promise((done) => http.close(done));
    },
  };
}

function text(result: unknown): string {
  return ((result as { content?: { text?: string }[] }).content ?? []).map((block) => block.text ?? '').join('');
}

/** Prints what the upstream saw since the last call. */
function wire(step: string): void {
  console.log(`  upstream saw ${step}: ${seen.length === 0 ? 'nothing' : seen.join(', ')}`);
  seen.length = 0;
}

async function waitFor(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !predicate(); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function main(): Promise<void> {
  const upstream = await startUpstream();
  const registry = new UpstreamSessionRegistry<Client>({
    notificationDebounceMs: 50,
    sessionFactory: createSdkV2SessionFactory({
      clientInfo: { name: 'demo-gateway', version: '1.0.0' },
      // Relays the upstream's input requests to the downstream tab whose call caused them.
      onServerRequest: (key, request) => {
        const message = (request.params as { message?: string } | undefined)?.message;
        console.log(`  ${key.downstreamSessionId} is asked (${request.method}): ${message ?? ''}`);
        return { action: 'accept', content: { date: key.downstreamSessionId === 'tab-a' ? '2026-09-01' : '2026-10-15' } };
      },
    }),
  });
  const notified = new Set<string>();
  registry.on('notification', ({ key, notification }) => notified.add(`${key.downstreamSessionId} ← ${notification.method}`));
  let listChanged = 0;
  registry.on('upstream:list-changed', ({ upstreamId, kinds }) => {
    listChanged += 1;
    console.log(`  upstream:list-changed ${upstreamId} [${kinds.join(', ')}]`);
  });
  const request = (tab: string) => ({ downstreamSessionId: tab, upstreamId: 'weather', url: upstream.url, principal: 'user-1', clientCapabilities: { elicitation: {} } });

  console.log('1. The first session probes the era once:');
  await registry.withSession(request('tab-a'), async (client, info) => {
    console.log(`  tab-a: era ${info.era}, protocol ${info.protocolVersion}; ${text(await client.callTool({ name: 'forecast', arguments: { city: 'Lisbon' } }))}`);
  });
  await waitFor(() => upstream.listening() === 1);
  wire('for tab-a');

  console.log('2. A second tab of the same user connects from the cached verdict, with zero round trips:');
  const lease = await registry.acquire(request('tab-b'));
  wire('while tab-b connected');
  console.log(`  tab-b: era ${lease.info.era}; ${text(await lease.client.callTool({ name: 'forecast', arguments: { city: 'Oslo' } }))}`);
  lease.release();
  wire('for its first call');

  console.log('3. Input requests (MRTR) reach the tab whose call caused them:');
  const [a, b] = await Promise.all(
    ['tab-a', 'tab-b'].map((tab) => registry.withSession(request(tab), (client) => client.callTool({ name: 'book-trip', arguments: { city: tab === 'tab-a' ? 'Rome' : 'Kyoto' } }))),
  );
  console.log(`  tab-a: ${text(a)}; tab-b: ${text(b)}`);
  wire('(each call in two rounds)');

  console.log('4. One shared listen stream carries a tools list_changed to both tabs:');
  upstream.notifyToolsChanged();
  await waitFor(() => notified.size === 2 && listChanged === 1);
  for (const line of [...notified].sort()) console.log(`  ${line}`);
  wire('for the notification');

  console.log('5. closeAll: no DELETE in the modern era:');
  await registry.closeAll();
  wire('on closeAll');
  await upstream.close();
}

main().then(
  () => {
    clearTimeout(watchdog);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
