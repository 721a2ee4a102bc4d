// The stdio transport itself: newline-delimited JSON-RPC over a child's stdin/stdout, usable by SDK v1 and
// SDK v2 clients alike, robust against a child that writes garbage, and closed exactly once.
import { afterEach, describe, expect, it } from 'vitest';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { createStdioTransport, type StdioTransport } from '../../src/mcp/stdio/index.js';
import { counterRequest, recordedPids, reap, rejectionOf, survivors, tempDir, textOf } from './helpers.js';

let dir = tempDir();
const transports: StdioTransport[] = [];

// Every test: once its transports are torn down, nothing it started may still run.
afterEach(async () => {
  const pids = transports.map((t) => t.pid).filter((pid): pid is number => pid !== null);
  await Promise.all(transports.splice(0).map((t) => t.terminate(AbortSignal.abort())));
  const left = await survivors([...pids, ...recordedPids(dir.file('pids')).servers]);
  reap(left);
  dir.cleanup();
  dir = tempDir();
  expect(left).toEqual([]);
});

function transportFor(request: ReturnType<typeof counterRequest> | { command: string; args: string[]; env?: Record<string, string> }) {
  const transport = createStdioTransport({
    downstreamSessionId: 'd-1',
    upstreamId: 'u',
    signal: new AbortController().signal,
    command: request.command,
    args: request.args ?? [],
    env: request.env ?? {},
  });
  transports.push(transport);
  return transport;
}

describe('StdioTransport', () => {
  it('carries an SDK v1 client', async () => {
    const transport = transportFor(counterRequest('d-1', dir.file('pids')));
    const client = new ClientV1({ name: 'test', version: '1.0.0' });
    await client.connect(transport);
    expect(textOf(await client.callTool({ name: 'increment' }))).toBe('1');
    expect(transport.protocolVersion).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    await client.close();
    expect(await survivors(recordedPids(dir.file('pids')).servers)).toEqual([]);
  });

  it('carries an SDK v2 client', async () => {
    const transport = transportFor(counterRequest('d-1', dir.file('pids')));
    const client = new ClientV2({ name: 'test', version: '1.0.0' });
    await client.connect(transport);
    expect(textOf(await client.callTool({ name: 'increment' }))).toBe('1');
    expect(textOf(await client.callTool({ name: 'increment' }))).toBe('2');
    await client.close();
    expect(await survivors(recordedPids(dir.file('pids')).servers)).toEqual([]);
  });

  it('reports lines that are not JSON-RPC objects without echoing them, and delivers the rest', async () => {
    const script = [
      "process.stdout.write('not json sk-secret-123\\n');",
      "process.stdout.write('[1,2]\\n\\n');",
      "process.stdout.write('{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}\\r\\n');",
      "setTimeout(() => {}, 100000);",
    ].join('');
    const transport = transportFor({ command: process.execPath, args: ['-e', script] });
    const errors: string[] = [];
    const messages: unknown[] = [];
    transport.onerror = (error) => errors.push(error.message);
    transport.onmessage = (message) => messages.push(message);
    await transport.start();
    await new Promise<void>((resolve) => {
      transport.onmessage = (message) => {
        messages.push(message);
        resolve();
      };
    });
    expect(messages).toEqual([{ jsonrpc: '2.0', method: 'notifications/x' }]);
    expect(errors).toHaveLength(2);
    expect(errors.join(' ')).not.toContain('sk-secret-123');
    const pid = transport.pid!;
    await transport.terminate(AbortSignal.abort());
    expect(await survivors([pid])).toEqual([]);
  });

  it('fires onclose once, also when closed before start; a later start is refused', async () => {
    const transport = transportFor(counterRequest('d-1', dir.file('pids')));
    let closes = 0;
    transport.onclose = () => closes++;
    await transport.close();
    await transport.close();
    expect(closes).toBe(1);
    expect(await transport.exited).toBeUndefined();
    await expect(rejectionOf(transport.start())).resolves.toMatchObject({ kind: 'process_exited' });
    expect(recordedPids(dir.file('pids')).servers).toEqual([]);
  });
});
