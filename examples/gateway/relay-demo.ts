/**
 * The whole relay, end to end on 127.0.0.1: the example gateway in front of server-everything (the MCP
 * reference server, in its own Streamable HTTP mode) and of our counter. Two downstream SDK clients: A can
 * sample and elicit, B declares nothing, and A never opens a GET stream. Prints what each feature did.
 *
 * Run: `npx tsx examples/gateway/relay-demo.ts`.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { startGateway } from './gateway.js';
import { startCounterUpstream } from './upstream-counter.js';
import { startEverythingUpstream } from './upstream-everything.js';

const DEADLINE_MS = 30_000;
const watchdog = setTimeout(() => {
  console.error(`\nThe relay demo did not finish within ${DEADLINE_MS / 1000} s.`);
  process.exit(1);
}, DEADLINE_MS);
watchdog.unref();

async function connect(url: string, capabilities: ClientCapabilities, getStream: boolean) {
  const client = new Client({ name: 'downstream', version: '1.0.0' }, { capabilities });
  // A client that never opens a GET stream: its GETs are answered 405 ("not offered") before they leave.
  const fetchImpl = (input: string | URL, init?: RequestInit) =>
    !getStream && init?.method === 'GET' ? Promise.resolve(new Response(null, { status: 405 })) : fetch(input, init);
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: fetchImpl });
  await client.connect(transport);
  return { client, transport };
}

const text = (result: unknown): string =>
  ((result as { content?: { text?: string }[] }).content ?? []).map((part) => part.text ?? '').join(' ').replace(/\s+/g, ' ');

async function main(): Promise<void> {
  const [everything, counter] = await Promise.all([startEverythingUpstream(), startCounterUpstream()]);
  const gateway = await startGateway({ upstream: { id: 'everything', url: everything.url } });
  const counterGateway = await startGateway({ upstream: { id: 'counter', url: counter.url } });
  console.log(`server-everything ${everything.url} (pid ${everything.pid}), counter ${counter.url}`);
  console.log(`gateways ${gateway.url} and ${counterGateway.url}\n`);

  const a = await connect(gateway.url, { sampling: {}, elicitation: {} }, false);
  a.client.setRequestHandler(CreateMessageRequestSchema, () => ({
    role: 'assistant',
    model: 'demo',
    content: { type: 'text', text: 'a haiku from A' },
  }));
  a.client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { name: 'Ada' } }));
  const b = await connect(gateway.url, {}, true);

  console.log('Capabilities per downstream client');
  const toolsA = (await a.client.listTools()).tools.map((tool) => tool.name);
  const toolsB = (await b.client.listTools()).tools.map((tool) => tool.name);
  console.log(`  A (sampling, elicitation): ${toolsA.length} tools, trigger-sampling-request ${toolsA.includes('trigger-sampling-request') ? 'offered' : 'absent'}`);
  console.log(`  B (nothing):               ${toolsB.length} tools, trigger-sampling-request ${toolsB.includes('trigger-sampling-request') ? 'offered' : 'absent'}\n`);

  console.log('Prompts, resources, completion');
  const prompt = await a.client.getPrompt({ name: 'args-prompt', arguments: { city: 'Lima', state: 'Lima' } });
  console.log(`  prompts/get args-prompt → ${JSON.stringify(prompt.messages[0]?.content).slice(0, 70)}…`);
  const [resource] = (await a.client.listResources()).resources;
  if (resource !== undefined) {
    const read = await a.client.readResource({ uri: resource.uri });
    console.log(`  resources/read ${resource.uri} → ${read.contents.length} content item(s)`);
  }
  const completion = await a.client.complete({ ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'department', value: 'S' } });
  console.log(`  completion/complete department "S" → ${completion.completion.values.join(', ')}\n`);

  console.log('Progress (re-sent with the downstream token) and server requests (to the client that caused them)');
  const progress: string[] = [];
  await a.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } }, undefined, {
    onprogress: ({ progress: done, total }) => progress.push(`${done}/${total ?? '?'}`),
  });
  console.log(`  A's progress: ${progress.join(' ')}`);
  const sampled = await a.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'a haiku', maxTokens: 20 } });
  console.log(`  sampling → ${text(sampled).slice(0, 90)}…   (A has no GET stream: relayed on its call's stream)`);
  const elicited = await a.client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
  console.log(`  elicitation → ${text(elicited).includes('Ada') ? 'A answered "Ada"' : text(elicited).slice(0, 80)}\n`);

  console.log('Logging, cancellation, list_changed (counter upstream, per session)');
  const c = await connect(counterGateway.url, {}, true);
  const logged = new Promise<unknown>((resolve) => c.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => resolve(n.params.data)));
  const changed = new Promise<void>((resolve) => c.client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
  await c.client.setLoggingLevel('info');
  await c.client.callTool({ name: 'log', arguments: { level: 'info', text: 'hello from the counter' } });
  console.log(`  logging message → ${String(await logged)}`);
  const controller = new AbortController();
  const cancelled = new Promise<void>((resolve) => counter.events.once('wait-cancelled', () => resolve()));
  counter.events.once('wait-started', () => controller.abort());
  await c.client.callTool({ name: 'wait', arguments: {} }, undefined, { signal: controller.signal }).catch(() => undefined);
  await cancelled;
  console.log('  downstream cancel → the upstream call was cancelled');
  await c.client.callTool({ name: 'add-tool', arguments: { name: 'fresh' } });
  await changed;
  console.log(`  tools/list_changed → ${(await c.client.listTools()).tools.length} tools now\n`);

  console.log('DNS rebinding');
  const rebound = await fetch(gateway.url, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body: '{}' });
  console.log(`  a page from http://evil.example → HTTP ${rebound.status}\n`);

  await Promise.all([a.transport.terminateSession(), b.transport.terminateSession(), c.transport.terminateSession()]);
  await Promise.all([a.client.close(), b.client.close(), c.client.close()]);
  await Promise.all([gateway.close(), counterGateway.close()]);
  await Promise.all([everything.close(), counter.close()]);
  console.log('done');
}

main().then(
  () => clearTimeout(watchdog),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
