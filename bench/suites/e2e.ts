/**
 * End to end: median latency of one `tools/call` (`increment`) on a real SDK counter server over loopback
 * Streamable HTTP (server in a child process, so client and server each get a core):
 * - perCall: a fresh SDK session per call (connect + initialize, call, DELETE, close);
 * - reused: through the registry (`withSession`) with `createMcpSessionFactory()`, session reused;
 * - rawClient: a persistent SDK `Client` with no registry.
 * reused, rawClient and a second raw client (an A/A control: its ratio to rawClient shows the noise floor)
 * take turns call by call in rotating order, so drift hits all of them alike.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createMcpSessionFactory } from '../../src/mcp/v1/factory.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import { type SessionRequest } from '../../src/request.js';
import { type CounterServerMessage } from '../lib/counter-server.js';
import { median, nowNs, round, tick } from '../lib/stats.js';
import { type SuiteOptions } from './types.js';

/** Results of the end-to-end suite. */
export interface E2eResult {
  perCallMs: number;
  reusedMs: number;
  rawClientMs: number;
  reusedVsPerCall: number;
  overheadVsRawClient: number;
  /** perCall without its close (DELETE + client close): connect, initialize and the call only. */
  perCallExcludingCloseMs: number;
  /** Second raw client ÷ rawClient: an A/A control; far from 1 means the run was too noisy to trust. */
  rawControlRatio: number;
  perCallIterations: number;
  reusedIterations: number;
  /**
   * Process warnings emitted during the suite (collected, not printed). The SDK's Streamable HTTP transport
   * passes one long-lived AbortSignal to every fetch and undici only drops its abort listener when the
   * request is garbage-collected, so thousands of calls on one session can trip MaxListenersExceededWarning,
   * with or without the registry.
   */
  processWarnings: number;
  /** Distinct warning names and the first message of each kind. */
  processWarningKinds: string[];
  /** Upstream sessions still open on the server after everything was closed (must be 0). */
  serverSessionsLeft: number;
}

const CLIENT_INFO = { name: 'bench', version: '0.0.0' };

interface CallResult {
  content: { type: string; text?: string }[];
}

function counterValue(result: unknown): number {
  const first = (result as CallResult).content[0];
  return Number(first?.text);
}

async function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(fileURLToPath(new URL('../lib/counter-server.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [message] = (await once(child, 'message')) as [CounterServerMessage];
  if (!('port' in message)) throw new Error('counter server did not report its port');
  return { child, url: `http://127.0.0.1:${message.port}/mcp` };
}

async function serverSessions(child: ChildProcess): Promise<number> {
  child.send('sessions');
  const [message] = (await once(child, 'message')) as [CounterServerMessage];
  return 'sessions' in message ? message.sessions : -1;
}

async function perCall(url: string): Promise<{ totalMs: number; openAndCallMs: number }> {
  const start = nowNs();
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client(CLIENT_INFO);
  await client.connect(transport);
  const value = counterValue(await client.callTool({ name: 'increment', arguments: { by: 1 } }));
  const called = nowNs();
  await transport.terminateSession();
  await client.close();
  const end = nowNs();
  if (value !== 1) throw new Error(`a fresh session must count from 1, got ${value}`);
  return { totalMs: (end - start) / 1e6, openAndCallMs: (called - start) / 1e6 };
}

/** Runs the suite. The counter server is killed if anything fails, so a failed run still exits. */
export async function runE2e(options: SuiteOptions): Promise<E2eResult> {
  const { child, url } = await startServer();
  try {
    return await measure(child, url, options);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}

async function measure(child: ChildProcess, url: string, { quick, log }: SuiteOptions): Promise<E2eResult> {
  const iterations = quick ? 150 : 1_200;
  const warmup = 20;

  log(`  counter server at ${url} (pid ${child.pid})`);
  const registry = new UpstreamSessionRegistry({ sessionFactory: createMcpSessionFactory({ clientInfo: CLIENT_INFO }) });
  const request: SessionRequest = { downstreamSessionId: 'bench-tab', upstreamId: 'counter', url };
  let warningCount = 0;
  const warningKinds = new Map<string, string>();
  const onWarning = (warning: Error): void => {
    warningCount += 1;
    if (!warningKinds.has(warning.name)) warningKinds.set(warning.name, `${warning.name}: ${warning.message}`);
  };
  // Collect instead of printing (thousands of identical lines would bury the report); restored below.
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', onWarning);
  const raw = new Client(CLIENT_INFO);
  const rawTransport = new StreamableHTTPClientTransport(new URL(url));
  await raw.connect(rawTransport);
  const control = new Client(CLIENT_INFO);
  const controlTransport = new StreamableHTTPClientTransport(new URL(url));
  await control.connect(controlTransport);

  let reusedCount = 0;
  let rawCount = 0;
  let controlCount = 0;
  const reusedCall = async (): Promise<number> => {
    const start = nowNs();
    const result = await registry.withSession(request, (client) => client.callTool({ name: 'increment', arguments: { by: 1 } }));
    const ms = (nowNs() - start) / 1e6;
    reusedCount += 1;
    if (counterValue(result) !== reusedCount) throw new Error('registry session lost its counter state');
    return ms;
  };
  const rawCall = async (): Promise<number> => {
    const start = nowNs();
    const result = await raw.callTool({ name: 'increment', arguments: { by: 1 } });
    const ms = (nowNs() - start) / 1e6;
    rawCount += 1;
    if (counterValue(result) !== rawCount) throw new Error('raw session lost its counter state');
    return ms;
  };

  const controlCall = async (): Promise<number> => {
    const start = nowNs();
    const result = await control.callTool({ name: 'increment', arguments: { by: 1 } });
    const ms = (nowNs() - start) / 1e6;
    controlCount += 1;
    if (counterValue(result) !== controlCount) throw new Error('control session lost its counter state');
    return ms;
  };

  const perCallMs: number[] = [];
  const perCallOpenMs: number[] = [];
  const samples = { reused: [] as number[], raw: [] as number[], control: [] as number[] };
  const calls = { reused: reusedCall, raw: rawCall, control: controlCall };
  const orders = [
    ['reused', 'raw', 'control'],
    ['raw', 'control', 'reused'],
    ['control', 'reused', 'raw'],
    ['reused', 'control', 'raw'],
    ['raw', 'reused', 'control'],
    ['control', 'raw', 'reused'],
  ] as const;
  // Fine-grained interleaving: every iteration measures one per-call session and then each of the six
  // orders of (reused, raw, control), so all four see the same machine load.
  for (let iteration = 0; iteration < warmup + iterations; iteration++) {
    const keep = iteration >= warmup;
    const { totalMs, openAndCallMs } = await perCall(url);
    if (keep) {
      perCallMs.push(totalMs);
      perCallOpenMs.push(openAndCallMs);
    }
    // Let the per-call session's background work (its GET stream closing, server cleanup) pass first.
    await new Promise((resolve) => setTimeout(resolve, 2));
    await tick();
    // Rotate which order comes first: the first call after the pause is the slowest of an iteration.
    for (let k = 0; k < orders.length; k++) {
      for (const name of orders[(iteration + k) % orders.length]!) {
        const ms = await calls[name]();
        if (keep) samples[name].push(ms);
      }
    }
  }

  await registry.closeAll();
  await rawTransport.terminateSession();
  await raw.close();
  await controlTransport.terminateSession();
  await control.close();
  process.off('warning', onWarning);
  for (const printer of printers) process.on('warning', printer);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const serverSessionsLeft = await serverSessions(child);
  child.send('close');
  await once(child, 'exit');

  const perCallMedian = median(perCallMs);
  const reusedMedian = median(samples.reused);
  const rawMedian = median(samples.raw);
  return {
    perCallMs: round(perCallMedian),
    reusedMs: round(reusedMedian, 4),
    rawClientMs: round(rawMedian, 4),
    reusedVsPerCall: round(perCallMedian / reusedMedian),
    overheadVsRawClient: round(reusedMedian / rawMedian, 4),
    perCallExcludingCloseMs: round(median(perCallOpenMs)),
    rawControlRatio: round(median(samples.control) / rawMedian, 4),
    perCallIterations: perCallMs.length,
    reusedIterations: samples.reused.length,
    serverSessionsLeft,
    processWarnings: warningCount,
    processWarningKinds: [...warningKinds.values()],
  };
}
