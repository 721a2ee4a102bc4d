import { describe, expect, it } from 'vitest';
import { createMcpSessionFactory } from '../../src/mcp/v1/factory.js';
import { createRequest, useUpstreams } from '../integration/fixtures/factory-helpers.js';
import { recordEvents, within } from '../integration/fixtures/wait.js';

const { upstream } = useUpstreams();
const open = (): AbortSignal => new AbortController().signal;

describe('closing a session (factory)', () => {
  it('ends the event stream before it sends the DELETE', async () => {
    const server = await upstream();
    const streamSignals: AbortSignal[] = [];
    const streamsEndedAtDelete: boolean[] = [];
    const fetch = (url: string | URL, init?: RequestInit): Promise<Response> => {
      if (init?.method === 'GET' && init.signal) streamSignals.push(init.signal);
      if (init?.method === 'DELETE') streamsEndedAtDelete.push(streamSignals.every((signal) => signal.aborted));
      return globalThis.fetch(url, init);
    };
    const connection = await createMcpSessionFactory({ fetch }).create(createRequest(server), recordEvents().events);
    await server.waitFor(() => server.openStreams === 1, 'the event stream');

    await connection.close(open());

    expect(streamSignals).toHaveLength(1);
    expect(streamsEndedAtDelete).toEqual([true]);
    expect(server.liveSessions).toBe(0);
  });

  it('runs at most closeConcurrency DELETEs at once; one still queued when its grace window ends is never sent and rejects', async () => {
    const server = await upstream();
    const factory = createMcpSessionFactory({ closeConcurrency: 2, eventStream: false });
    const connections = [];
    for (let i = 0; i < 5; i++) connections.push(await factory.create(createRequest(server, { downstreamSessionId: `down-${i}` }), recordEvents().events));
    server.hangDeletes = true;
    const grace = new AbortController();

    const closings = connections.map((connection) => connection.close(grace.signal).then(() => 'resolved', (error: unknown) => error));
    await server.waitFor(() => server.deleteCount === 2, 'two DELETEs');
    const reason = new Error('grace window over');
    grace.abort(reason);

    const outcomes = await within(Promise.all(closings), 'every close to settle');
    expect(outcomes).toEqual([reason, reason, reason, reason, reason]);
    // A later close goes through the same queue: once it is done, nothing queued earlier can still start.
    server.hangDeletes = false;
    const later = await factory.create(createRequest(server, { downstreamSessionId: 'later' }), recordEvents().events);
    await later.close(open());
    expect(server.deleteCount).toBe(3);
    expect(server.maxConcurrentDeletes).toBe(2);
  });

  it('rejects when the upstream answers the DELETE with an error status', async () => {
    const server = await upstream();
    const connection = await createMcpSessionFactory().create(createRequest(server), recordEvents().events);
    server.failWith = 500;

    await expect(connection.close(open())).rejects.toMatchObject({ code: 500 });
    expect(connection.client.transport).toBeUndefined();
  });
});
