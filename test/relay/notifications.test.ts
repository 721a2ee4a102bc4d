// Upstream notifications reach the downstream client of the session that sent them: logging messages
// (filtered by that client's logging/setLevel), tools/list_changed, resources/updated for its subscriptions.
import {
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../examples/gateway/gateway.js';
import { startCounterUpstream, type CounterUpstream } from '../../examples/gateway/upstream-counter.js';
import { startEverythingUpstream, type EverythingUpstream } from '../../examples/gateway/upstream-everything.js';
import { connectDownstream, Opened, type Downstream } from './fixtures.js';

let everything: EverythingUpstream;
let counter: CounterUpstream;
let viaEverything: Gateway;
let viaCounter: Gateway;
const opened = new Opened();

beforeAll(async () => {
  [everything, counter] = await Promise.all([startEverythingUpstream(), startCounterUpstream()]);
  viaEverything = await startGateway({ upstream: { id: 'everything', url: everything.url } });
  viaCounter = await startGateway({ upstream: { id: 'counter', url: counter.url } });
});
afterEach(() => opened.closeAll());
afterAll(async () => {
  await viaEverything?.close();
  await viaCounter?.close();
  await everything?.close();
  await counter?.close();
});

/** Collects what a downstream client receives; `next()` resolves with the next item (queued or future). */
class Inbox<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((item: T) => void)[] = [];
  readonly all: T[] = [];

  push = (item: T): void => {
    this.all.push(item);
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(item);
    else this.#items.push(item);
  };

  next(): Promise<T> {
    const item = this.#items.shift();
    return item !== undefined ? Promise.resolve(item) : new Promise<T>((resolve) => this.#waiters.push(resolve));
  }
}

async function listening(url: string): Promise<Downstream> {
  const downstream = await connectDownstream(url, opened);
  await downstream.getStreamOpen; // notifications outside a call travel on the GET stream
  return downstream;
}

describe('logging', () => {
  it('forwards logging/setLevel per client and each logging message to its own client only', async () => {
    const a = await connectDownstream(viaCounter.url, opened, { getStream: false });
    const b = await connectDownstream(viaCounter.url, opened, { getStream: false });
    const inboxA = new Inbox<LoggingMessageNotification['params']>();
    const inboxB = new Inbox<LoggingMessageNotification['params']>();
    a.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => inboxA.push(n.params));
    b.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => inboxB.push(n.params));
    await a.client.setLoggingLevel('debug');
    await b.client.setLoggingLevel('error');

    const log = (client: Downstream, level: string, text: string) => client.client.callTool({ name: 'log', arguments: { level, text } });
    await log(a, 'info', 'first for A');
    await log(b, 'info', 'dropped: below B’s level');
    await log(b, 'error', 'first for B');
    await log(a, 'info', 'second for A');

    expect(await inboxA.next()).toMatchObject({ level: 'info', data: 'first for A' });
    expect(await inboxA.next()).toMatchObject({ level: 'info', data: 'second for A' });
    expect(await inboxB.next()).toMatchObject({ level: 'error', data: 'first for B' });
    expect(inboxA.all.map((m) => m.data)).toEqual(['first for A', 'second for A']);
  });
});

describe('a rebuilt upstream session', () => {
  it('gets the client’s log level back before its first relayed request', async () => {
    const a = await connectDownstream(viaCounter.url, opened, { getStream: false });
    const inbox = new Inbox<LoggingMessageNotification['params']>();
    a.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => inbox.push(n.params));
    await a.client.setLoggingLevel('error');
    const created = counter.initializeCount;
    // The upstream session goes away (an upstream restart, a transport error, a failed probe…).
    expect(await viaCounter.registry.evict({ downstreamSessionId: a.transport.sessionId ?? '', upstreamId: 'counter' })).toBe(true);

    const log = (level: string, text: string) => a.client.callTool({ name: 'log', arguments: { level, text } });
    await log('info', 'dropped: below the level the client set');
    await log('error', 'kept');
    expect(counter.initializeCount).toBe(created + 1); // a fresh upstream session…
    expect(await inbox.next()).toMatchObject({ level: 'error', data: 'kept' }); // …with the client's level
  });
});

describe('list_changed', () => {
  it('tells only the client whose upstream session changed its tools, and that client sees the new tool', async () => {
    const a = await listening(viaCounter.url);
    const b = await listening(viaCounter.url);
    const changedA = new Inbox<string>();
    const changedB = new Inbox<string>();
    a.client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => changedA.push(n.method));
    b.client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => changedB.push(n.method));

    await a.client.callTool({ name: 'add-tool', arguments: { name: 'only-for-a' } });
    expect(await changedA.next()).toBe('notifications/tools/list_changed');
    expect((await a.client.listTools()).tools.map((tool) => tool.name)).toContain('only-for-a');
    expect((await b.client.listTools()).tools.map((tool) => tool.name)).not.toContain('only-for-a');

    await b.client.callTool({ name: 'add-tool', arguments: { name: 'only-for-b' } });
    await changedB.next();
    expect(changedB.all).toHaveLength(1); // B's own change, not A's
    expect(changedA.all).toHaveLength(1);
  });
});

describe('resource subscriptions', () => {
  it('subscribes and unsubscribes upstream, and each client gets updates for its own subscriptions', async () => {
    const a = await listening(viaEverything.url);
    const b = await listening(viaEverything.url);
    const { resources } = await a.client.listResources();
    const [first, second] = resources;
    if (first === undefined || second === undefined) throw new Error('server-everything lists at least two resources');
    const updatesA = new Inbox<string>();
    const updatesB = new Inbox<string>();
    a.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updatesA.push(n.params.uri));
    b.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updatesB.push(n.params.uri));

    expect(await a.client.subscribeResource({ uri: first.uri })).toEqual({});
    expect(await b.client.subscribeResource({ uri: second.uri })).toEqual({});
    // server-everything sends one update at once for each of the session's subscriptions, then every 5 s.
    await a.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
    await b.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
    expect(await updatesA.next()).toBe(first.uri);
    expect(await updatesB.next()).toBe(second.uri);

    expect(await a.client.unsubscribeResource({ uri: first.uri })).toEqual({});
    expect(await b.client.unsubscribeResource({ uri: second.uri })).toEqual({});
    await a.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} }); // stop the timers
    await b.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
    expect(updatesA.all.every((uri) => uri === first.uri)).toBe(true);
    expect(updatesB.all.every((uri) => uri === second.uri)).toBe(true);
  });
});
