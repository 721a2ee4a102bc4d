import { ManualClock } from '../../src/testing/index.js';
import { readFileSync } from 'node:fs';
import { type FixtureTransport } from './fixtures/counter-server.js';
import { type FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError, InvalidRequestError } from '../../src/errors.js';
import { createMcpSessionFactory, DEFAULT_CLIENT_INFO } from '../../src/mcp/v1/factory.js';
import { createSessionCreateRequest } from '../../src/request.js';
import { createRequest, text, useUpstreams } from './fixtures/factory-helpers.js';
import { Gate, recordEvents, Recorder, within } from './fixtures/wait.js';

const { upstream, track } = useUpstreams();

interface Hold {
  match: (body: string) => boolean;
  gate: Gate;
  /** Hold the request before it is sent, or its response after the upstream answered. */
  when: 'request' | 'response';
}

/** Wraps the global fetch, recording each request's HTTP method and JSON-RPC method; can hold one request. */
function spyFetch(hold?: Hold): { fetch: FetchLike; calls: Recorder<string> } {
  const calls = new Recorder<string>();
  const fetch: FetchLike = async (url, init) => {
    const body = typeof init?.body === 'string' ? init.body : '';
    calls.push(`${init?.method ?? 'GET'} ${body === '' ? '' : ((JSON.parse(body) as { method?: string }).method ?? 'response')}`.trim());
    const held = hold !== undefined && hold.match(body);
    if (held && hold.when === 'request') await hold.gate.wait(init?.signal);
    const response = await globalThis.fetch(url, init);
    if (held && hold.when === 'response') await hold.gate.wait(init?.signal);
    return response;
  };
  return { fetch, calls };
}

describe.each<FixtureTransport>(['streamable-http', 'sse'])('createMcpSessionFactory over %s', (transport) => {
  it('creates a working upstream session with one initialize, reused for every call', async () => {
    const server = await upstream({ transport });
    const connection = track(await createMcpSessionFactory().create(createRequest(server), recordEvents().events));

    for (let i = 1; i <= 10; i++) {
      expect(text(await connection.client.callTool({ name: 'increment', arguments: {} }))).toBe(String(i));
    }
    expect(server.initializeCount).toBe(1);
    expect(server.liveSessions).toBe(1);
  });

  it('sends the session headers merged over requestInit.headers, never internal MCP headers', async () => {
    const server = await upstream({ transport });
    const factory = createMcpSessionFactory({
      requestInit: { headers: { 'X-Base': 'base', 'x-override': 'from-requestInit', 'Mcp-Session-Id': 'forged', 'mcp-protocol-version': '1999-01-01' } },
    });
    const request = createRequest(server, { headers: { 'X-Override': 'from-session', Authorization: 'Bearer t0k3n', 'mcp-session-id': 'forged-too' } });
    track(await factory.create(request, recordEvents().events));

    const headers = server.initializeHeaders[0]!;
    expect(headers['x-base']).toBe('base');
    expect(headers['x-override']).toBe('from-session');
    expect(headers.authorization).toBe('Bearer t0k3n');
    expect(headers['mcp-session-id']).toBeUndefined();
    expect(headers['mcp-protocol-version']).toBeUndefined();
  });

  it('turns credentials in the URL into Basic authorization instead of sending them in the URL', async () => {
    const server = await upstream({ transport });
    const url = server.url.replace('http://', 'http://gate%20way:p%40ss@');
    track(await createMcpSessionFactory().create(createRequest({ url, transport }), recordEvents().events));

    expect(server.initializeHeaders[0]?.authorization).toBe(`Basic ${Buffer.from('gate way:p@ss').toString('base64')}`);
  });

  it('keeps an explicit authorization header over credentials in the URL', async () => {
    const server = await upstream({ transport });
    const url = server.url.replace('http://', 'http://user:pass@');
    const request = createRequest({ url, transport }, { headers: { authorization: 'Bearer explicit' } });
    track(await createMcpSessionFactory().create(request, recordEvents().events));

    expect(server.initializeHeaders[0]?.authorization).toBe('Bearer explicit');
  });

  it('announces the default clientInfo, matching the package version', async () => {
    const server = await upstream({ transport });
    track(await createMcpSessionFactory().create(createRequest(server), recordEvents().events));

    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    expect(server.clientInfos[0]).toMatchObject({ name: pkg.name, version: pkg.version });
    expect(DEFAULT_CLIENT_INFO).toEqual({ name: pkg.name, version: pkg.version });
  });

  it('announces a custom clientInfo and capabilities', async () => {
    const server = await upstream({ transport });
    const factory = createMcpSessionFactory({ clientInfo: { name: 'my-gateway', version: '9.9.9' }, capabilities: { roots: { listChanged: false } } });
    track(await factory.create(createRequest(server), recordEvents().events));

    expect(server.clientInfos[0]).toMatchObject({ name: 'my-gateway', version: '9.9.9' });
    expect(server.clientCapabilities[0]).toEqual({ roots: { listChanged: false } });
  });

  it('makes every upstream HTTP request through the custom fetch', async () => {
    const server = await upstream({ transport });
    const spy = spyFetch();
    const connection = track(await createMcpSessionFactory({ fetch: spy.fetch }).create(createRequest(server), recordEvents().events));
    await connection.client.ping();

    expect(spy.calls.items).toContain('POST initialize');
    expect(spy.calls.items).toContain('POST ping');
  });

  it('rejects with signal.reason, without any network I/O, when the signal is already aborted', async () => {
    const server = await upstream({ transport });
    const spy = spyFetch();
    const controller = new AbortController();
    const reason = new Error('gave up');
    controller.abort(reason);

    await expect(createMcpSessionFactory({ fetch: spy.fetch }).create(createRequest(server, {}, controller.signal), recordEvents().events)).rejects.toBe(reason);
    expect(spy.calls.items).toEqual([]);
  });

  it('rejects with signal.reason at once when aborted mid-connect, and closes what the late initialize opens', async () => {
    const server = await upstream({ transport });
    const gate = new Gate();
    const spy = spyFetch({ match: (body) => body.includes('"initialize"'), gate, when: 'request' });
    const controller = new AbortController();
    const creating = createMcpSessionFactory({ fetch: spy.fetch }).create(createRequest(server, {}, controller.signal), recordEvents().events);

    await spy.calls.find((call) => call === 'POST initialize', 'the initialize request');
    const reason = new Error('create timed out');
    controller.abort(reason);

    await expect(within(creating, 'the aborted create')).rejects.toBe(reason);
    expect(server.initializeCount).toBe(0);

    gate.open(); // the initialize leaves late; whatever it opens upstream is closed again
    await server.waitFor(
      () => server.initializeCount === 1 && server.liveSessions === 0 && (transport === 'sse' || server.deleteCount === 1),
      'the late session to be closed',
    );
  });
});

describe('createMcpSessionFactory over streamable-http, abandoned once the upstream opened a session', () => {
  it.each([
    ['the initialize response is still on its way', { match: (body: string) => body.includes('"initialize"'), when: 'response' as const }],
    ['notifications/initialized is in flight', { match: (body: string) => body.includes('notifications/initialized'), when: 'request' as const }],
  ])('rejects at once and terminates that session (HTTP DELETE) when %s', async (_, hold) => {
    const server = await upstream();
    const gate = new Gate();
    const spy = spyFetch({ ...hold, gate });
    const controller = new AbortController();
    const creating = createMcpSessionFactory({ fetch: spy.fetch }).create(createRequest(server, {}, controller.signal), recordEvents().events);

    await server.waitFor(() => server.liveSessions === 1, 'the upstream session');
    const reason = new Error('evicted while creating');
    controller.abort(reason);
    await expect(within(creating, 'the aborted create')).rejects.toBe(reason);

    gate.open(); // the upstream's answer lands after the caller gave up
    await server.waitFor(() => server.deleteCount === 1 && server.liveSessions === 0, 'the DELETE of the abandoned session');
  });
});

describe('createMcpSessionFactory input rules', () => {
  it.each([
    ['ftp://127.0.0.1/mcp', 'ftp:'],
    ['file:///etc/passwd', 'file:'],
    ['ws://127.0.0.1/mcp', 'ws:'],
  ])('rejects %s with InvalidRequestError before any network I/O', async (url, protocol) => {
    const spy = spyFetch();
    const request = createSessionCreateRequest({ downstreamSessionId: 'd', upstreamId: 'u', url }, 'streamable-http', new AbortController().signal);

    const error = await createMcpSessionFactory({ fetch: spy.fetch }).create(request, recordEvents().events).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', field: 'url' });
    expect((error as Error).message).toContain(protocol);
    expect(spy.calls.items).toEqual([]);
  });

  it('never echoes the URL (it may carry credentials) in its error', async () => {
    const request = createSessionCreateRequest(
      { downstreamSessionId: 'd', upstreamId: 'u', url: 'ftp://user:secret@127.0.0.1/mcp?token=abc' },
      'streamable-http',
      new AbortController().signal,
    );
    const error = (await createMcpSessionFactory().create(request, recordEvents().events).catch((e: unknown) => e)) as Error;
    expect(error.message).not.toMatch(/secret|abc|user/);
  });

  it.each([
    [{ nope: true }, 'nope'],
    [{ fetch: 'fetch' }, 'fetch'],
    [{ onServerRequest: 42 }, 'onServerRequest'],
    [{ clientInfo: { name: 'x' } }, 'clientInfo'],
    [{ capabilities: null }, 'capabilities'],
    [{ requestInit: 'yes' }, 'requestInit'],
    [{ clock: { now: () => 0 } }, 'clock'],
    [{ clock: null }, 'clock'],
  ])('rejects invalid options %j with InvalidOptionsError naming the option', (options, option) => {
    expect(() => createMcpSessionFactory(options as never)).toThrow(InvalidOptionsError);
    expect(() => createMcpSessionFactory(options as never)).toThrow(expect.objectContaining({ option }) as Error);
  });

  it('accepts the registry clock (every timer the factory keeps runs on it)', () => {
    expect(() => createMcpSessionFactory({ clock: new ManualClock() })).not.toThrow();
  });
});
