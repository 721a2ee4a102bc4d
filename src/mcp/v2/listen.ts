import { Client, StreamableHTTPClientTransport, type DiscoverResult, type FetchLike, type Implementation, type SubscriptionFilter } from '@modelcontextprotocol/client';
import { type UpstreamNotification } from '../../factory.js';
import { type ListenOpener, type ListenStream } from '../listen-hub.js';

/** The list_changed notifications a listen stream can carry, by filter field. */
const LIST_KINDS = [
  { capability: 'tools', filter: 'toolsListChanged', method: 'notifications/tools/list_changed' },
  { capability: 'prompts', filter: 'promptsListChanged', method: 'notifications/prompts/list_changed' },
  { capability: 'resources', filter: 'resourcesListChanged', method: 'notifications/resources/list_changed' },
] as const;

/**
 * The listen filter for the list kinds a server advertises with `listChanged: true` in its
 * `DiscoverResult`, or `undefined` when it advertises none (then no stream is opened at all).
 */
export function listChangedFilter(discover: DiscoverResult | undefined): SubscriptionFilter | undefined {
  const capabilities = (discover as { capabilities?: Record<string, unknown> } | undefined)?.capabilities;
  if (capabilities === undefined) return undefined;
  const filter: Record<string, boolean> = {};
  for (const kind of LIST_KINDS) {
    const advertised = capabilities[kind.capability] as { listChanged?: unknown } | undefined;
    if (advertised?.listChanged === true) filter[kind.filter] = true;
  }
  return Object.keys(filter).length > 0 ? (filter) : undefined;
}

/** How to reach the upstream with one member connection's identity. */
export interface ListenTarget {
  readonly url: URL;
  readonly info: Implementation;
  readonly discover: DiscoverResult;
  readonly filter: SubscriptionFilter;
  readonly requestInit: RequestInit | undefined;
  readonly fetch: FetchLike | undefined;
}

/**
 * An opener for the shared `subscriptions/listen` stream: a dedicated client (zero round trips, from the
 * member's `DiscoverResult`, with the member's headers) that opens one listen stream and forwards every
 * notification on it. Closing the stream closes that client.
 */
export function listenOpener(target: ListenTarget): ListenOpener {
  return async (deliver: (notification: UpstreamNotification) => void): Promise<ListenStream> => {
    const client = new Client(target.info, { capabilities: {} });
    const forward = (notification: { method: string; params?: unknown }): Promise<void> => {
      deliver(notification.params === undefined ? { method: notification.method } : { method: notification.method, params: notification.params });
      return Promise.resolve();
    };
    for (const kind of LIST_KINDS) client.setNotificationHandler(kind.method, forward);
    client.fallbackNotificationHandler = forward;
    const transport = new StreamableHTTPClientTransport(target.url, {
      ...(target.requestInit !== undefined && { requestInit: target.requestInit }),
      ...(target.fetch !== undefined && { fetch: target.fetch }),
    });
    try {
      await client.connect(transport, { prior: { kind: 'modern', discover: target.discover } });
      const subscription = await client.listen(target.filter);
      const closed = subscription.closed.then(async (reason) => {
        await client.close().catch(() => undefined);
        return reason;
      });
      return {
        closed,
        async close(): Promise<void> {
          await subscription.close().catch(() => undefined);
          await client.close().catch(() => undefined);
        },
      };
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
  };
}
