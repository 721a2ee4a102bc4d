// #4205 on stdio (SPEC §9): every downstream session gets its own server process, and reuses it.
import { createRequire } from 'node:module';
import { afterEach, expect, it } from 'vitest';
import { UpstreamSessionRegistry, createMcpSessionFactory } from '../../src/index.js';
import { type StdioSessionRequest } from '../../src/types.js';
import { counterRequest, recordedPids, reap, survivors, tempDir, textOf } from './helpers.js';

const MEMORY_SERVER = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-memory/dist/index.js');

let dir = tempDir();
const registries: UpstreamSessionRegistry[] = [];

// Every test: once its registries are closed, nothing it started may still run.
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.closeAll()));
  const { servers, grandchildren } = recordedPids(dir.file('pids'));
  const left = await survivors([...servers, ...grandchildren]);
  reap(left);
  dir.cleanup();
  dir = tempDir();
  expect(left).toEqual([]);
});

function registry(): UpstreamSessionRegistry {
  const created = new UpstreamSessionRegistry({ sessionFactory: createMcpSessionFactory(), closeTimeoutMs: 1_000 });
  registries.push(created);
  return created;
}

it('two downstream sessions get two processes with their own counters; one session reuses its process (#4205)', async () => {
  const sessions = registry();
  const pidFile = dir.file('pids');
  const increment = (downstreamSessionId: string) =>
    sessions.withSession(counterRequest(downstreamSessionId, pidFile), async (client) => textOf(await client.callTool({ name: 'increment' })));

  const last: Record<string, string | undefined> = {};
  for (const id of ['A', 'B', 'A', 'B', 'A', 'B', 'A', 'A']) last[id] = await increment(id);
  expect(last).toEqual({ A: '5', B: '3' });
  expect(recordedPids(pidFile).servers).toHaveLength(2);

  for (let i = 0; i < 10; i++) await increment('C');
  expect(await sessions.withSession(counterRequest('C', pidFile), async (client) => textOf(await client.callTool({ name: 'pid' })))).toBe(
    String(recordedPids(pidFile).servers[2]),
  );
  const { servers } = recordedPids(pidFile);
  expect(servers).toHaveLength(3);
  expect(sessions.snapshot().entries.map((entry) => entry.command)).toEqual(['node', 'node', 'node']);

  await sessions.closeAll();
  expect(await survivors(servers)).toEqual([]);
});

it('a third-party stateful stdio server (server-memory) keeps each downstream session to its own graph', async () => {
  const sessions = registry();
  const pidFile = dir.file('pids');
  // `sh` records its pid, then becomes the server (exec), so the test knows which processes to check.
  const memory = (downstreamSessionId: string): StdioSessionRequest => ({
    downstreamSessionId,
    upstreamId: 'memory',
    transport: 'stdio',
    command: 'sh',
    args: ['-c', 'echo "$$ 0" >> "$PID_FILE"; exec "$0" "$1"', process.execPath, MEMORY_SERVER],
    env: { PID_FILE: pidFile, MEMORY_FILE_PATH: dir.file(`memory-${downstreamSessionId}.jsonl`) },
  });
  const entity = (name: string) => ({ entities: [{ name, entityType: 'note', observations: [`${name} was here`] }] });
  const graphOf = (id: string) =>
    sessions.withSession(memory(id), async (client) => {
      const result = await client.callTool({ name: 'read_graph', arguments: {} });
      return (result.structuredContent as { entities: { name: string }[] }).entities.map((e) => e.name).sort();
    });

  await sessions.withSession(memory('tab-1'), (client) => client.callTool({ name: 'create_entities', arguments: entity('alpha') }));
  await sessions.withSession(memory('tab-2'), (client) => client.callTool({ name: 'create_entities', arguments: entity('beta') }));
  await sessions.withSession(memory('tab-1'), (client) => client.callTool({ name: 'create_entities', arguments: entity('gamma') }));

  expect(await graphOf('tab-1')).toEqual(['alpha', 'gamma']);
  expect(await graphOf('tab-2')).toEqual(['beta']);
  const { servers } = recordedPids(pidFile);
  expect(servers).toHaveLength(2);

  await sessions.closeAll();
  expect(await survivors(servers)).toEqual([]);
});
