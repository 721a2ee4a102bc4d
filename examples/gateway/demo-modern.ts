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
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type Client } from '@modelcontextprotocol/client';
import { acceptedContent, createMcpHandler, inputRequired, McpServer, type InMemoryServerEventBus } from '@modelcontextprotocol/server';
import * as z from 'zod/v4';
import { createSdkV2SessionFactory } from '../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../src/index.js';

const DEADLINE_MS = 15_000;
const watchdog = setTimeout(() => {
  console.error(`\nThe demo did not finish within ${DEADLINE_MS / 1000} s.`);
  process.exit(1);
}, DEADLINE_MS);
watchdog.unref();

/** What the upstream received, by JSON-RPC method (and DELETEs). */
const seen: string[] = [];

function startUpstream(): Promise<{ url: string; notifyToolsChanged: () => void; listening: () => number; close: () => Promise<void> }> {
  const handler = createMcpHandler(
    () => {
      const server = new McpServer({ name: 'weather', version: '1.0.0' });
      server.registerTool('forecast', { description: 'Forecast for a city', inputSchema: z.object({ city: z.string() }) }, ({ city }) => ({
        content: [{ type: 'text', text: `${city}: sunny` }],
      }));
      server.registerTool('book-trip', { description: 'Books a trip after asking for a date', inputSchema: z.object({ city: z.string() }) }, ({ city }, ctx) => {
        const answer = acceptedContent(ctx.mcpReq.inputResponses, 'date', z.object({ date: z.string() }));
        if (answer === undefined) {
          return inputRequired({
            inputRequests: {
              date: inputRequired.elicit({ message: `When do you travel to ${city}?`, requestedSchema: { type: 'object', properties: { date: { type: 'string' } }, required: ['date'] } }),
            },
          });
        }
        return { content: [{ type: 'text', text: `Booked ${city} on ${answer.date}` }] };
      });
      return server;
    },
    { legacy: 'reject', keepAliveMs: 0 },
  );
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const method = body.length > 0 ? (JSON.parse(body.toString('utf8')) as { method?: string }).method : undefined;
      seen.push(method ?? req.method ?? '?');
      const controller = new AbortController();
      res.on('close', () => controller.abort());
      const init: RequestInit = { method: req.method ?? 'GET', headers: req.headers as Record<string, string>, signal: controller.signal };
      if (body.length > 0) init.body = new Uint8Array(body);
      const response = await handler.fetch(new Request(`http://127.0.0.1${req.url ?? '/'}`, init));
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      res.writeHead(response.status, headers);
      const reader = response.body?.getReader();
      for (let chunk = await reader?.read(); chunk !== undefined && !chunk.done; chunk = await reader?.read()) res.write(chunk.value);
      res.end();
    })().catch(() => res.destroy());
  });
  return new Promise((resolve) => {
    http.listen(0, '127.0.0.1', () => {
      const { port } = http.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/mcp`,
        notifyToolsChanged: () => handler.notify.toolsChanged(),
        listening: () => (handler.bus as InMemoryServerEventBus).listenerCount,
        close: async () => {
          await handler.close();
          http.closeAllConnections();
          await new Promise((done) => http.close(done));
        },
      });
    });
  });
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
