/**
 * The shared test harness: a registry over a `FakeSessionFactory` on a `ManualClock` (wrapped so tests can
 * also move `now()` without running timers, as after a VM pause), recording every event, with a shutdown that
 * drives the clock through the close bound and checks nothing leaked and nothing was closed twice.
 *
 * @example
 * ```ts
 * const h = harness({ idleTtlMs: 1_000 });
 * await h.registry.withSession(h.request('A'), () => undefined);
 * await h.shutdown();
 * ```
 * @packageDocumentation
 */
import { expect } from 'vitest';
import {
  UpstreamSessionRegistry,
  type Clock,
  type EvictReason,
  type Logger,
  type RegistryOptions,
  type SessionFactory,
  type SessionKey,
  type SessionRequest,
} from '../../src/index.js';
import { FakeSessionFactory, ManualClock, type FakeConnection, type FakeUpstreamClient } from '../../src/testing/index.js';
import { type HttpSessionRequest } from '../../src/types.js';
import { CapturingLogger, recordEvents, type EventRecord, type EventRecorder, type LogRecord } from './capture.js';

/** Registry options a test may set (the harness owns the factory and the clock). */
export type Tuning = Omit<RegistryOptions<FakeUpstreamClient>, 'sessionFactory' | 'clock'>;

/**
 * A {@link Clock} over a {@link ManualClock} whose `now()` can also jump ahead without running any timer
 * ({@link JumpClock.jump}): what a host sees after a VM pause or a suspended laptop, when `Date.now()` moved
 * and timers have not fired yet.
 */
export class JumpClock implements Clock {
  #offset = 0;
  /** @param inner - Runs the timers. */
  constructor(readonly inner: ManualClock) {}
  now(): number {
    return this.inner.now() + this.#offset;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    return this.inner.setTimeout(fn, ms);
  }
  clearTimeout(handle: unknown): void {
    this.inner.clearTimeout(handle);
  }
  /** Moves `now()` ahead by `ms` without running timers. */
  jump(ms: number): void {
    this.#offset += ms;
  }
  /** Moves time ahead by `ms`, running due timers (see `ManualClock.advance`). */
  advance(ms: number): Promise<void> {
    return this.inner.advance(ms);
  }
  /** Lets pending promise chains settle. */
  flush(): Promise<void> {
    return this.inner.flush();
  }
}

/** Extra settings of {@link harness}. */
export interface HarnessSetup {
  /** Wraps the fake factory (e.g. to decorate its connections). */
  sessionFactory?: (fake: FakeSessionFactory) => SessionFactory<FakeUpstreamClient>;
  /** The registry's logger. @default a {@link CapturingLogger} whose records are {@link Harness.logs} */
  logger?: Logger;
  /** Where {@link Harness.events} records (share one array to capture several registries). @default a new array */
  eventSink?: EventRecord[];
  /** Records a `structuredClone` of each event payload (see `recordEvents`). @default false */
  clonePayloads?: boolean;
  /** Subscribes listeners ahead of the harness's recorder (e.g. throwing ones it must not be hurt by). */
  listenFirst?: (registry: UpstreamSessionRegistry<FakeUpstreamClient>) => void;
}

/** What {@link harness} returns. */
export interface Harness {
  readonly clock: JumpClock;
  readonly manual: ManualClock;
  readonly factory: FakeSessionFactory;
  readonly registry: UpstreamSessionRegistry<FakeUpstreamClient>;
  readonly events: EventRecorder;
  readonly closeTimeoutMs: number;
  /** What the default {@link CapturingLogger} recorded (always empty when {@link HarnessSetup.logger} is set). */
  readonly logs: LogRecord[];
  /** Every error {@link Harness.rejection} returned, in order (e.g. to scan them for secrets). */
  readonly errors: unknown[];
  /** Whatever a test collects to check at the end (snapshots, session infos…); the harness only holds it. */
  readonly snapshots: unknown[];
  /** Awaits `promise`, which must reject; records the error in {@link Harness.errors} and returns it. */
  rejection(promise: Promise<unknown>): Promise<unknown>;
  /** A request for one key, with a URL per upstream. */
  request(downstreamSessionId: string, upstreamId?: string): HttpSessionRequest;
  /** `down/up:reason` of every eviction so far. */
  evictions(): string[];
  /** Key and reason of every eviction so far. */
  evicted(): { key: SessionKey; reason: EvictReason }[];
  /** Uses one session briefly (creating it if needed); returns its current connection. */
  use(request: SessionRequest): Promise<FakeConnection>;
  /** {@link Harness.use} for each request, in order: one idle session each; returns their connections. */
  open(...requests: SessionRequest[]): Promise<FakeConnection[]>;
  /** Closes the registry within its bound; checks nothing leaked and nothing was closed twice. */
  shutdown(): Promise<void>;
}

/** Builds a {@link Harness}. */
export function harness(tuning: Tuning = {}, setup: HarnessSetup = {}): Harness {
  const manual = new ManualClock();
  const clock = new JumpClock(manual);
  const factory = new FakeSessionFactory({ clock });
  const closeTimeoutMs = tuning.closeTimeoutMs ?? 5_000;
  const capturing = new CapturingLogger();
  const registry = new UpstreamSessionRegistry<FakeUpstreamClient>({
    ...tuning,
    logger: setup.logger ?? capturing,
    sessionFactory: setup.sessionFactory?.(factory) ?? factory,
    clock,
  });
  setup.listenFirst?.(registry);
  const events = recordEvents(registry, {
    clock,
    clone: setup.clonePayloads ?? false,
    ...(setup.eventSink === undefined ? {} : { sink: setup.eventSink }),
  });
  const errors: unknown[] = [];
  async function use(r: SessionRequest): Promise<FakeConnection> {
    await registry.withSession(r, () => undefined);
    const connection = factory.connectionsFor(r).at(-1);
    if (connection === undefined) throw new Error(`no connection for ${r.downstreamSessionId}/${r.upstreamId}`);
    return connection;
  }
  return {
    clock,
    manual,
    factory,
    registry,
    events,
    closeTimeoutMs,
    logs: capturing.records,
    errors,
    snapshots: [],
    async rejection(promise) {
      const error = await promise.then(
        () => {
          throw new Error('expected a rejection');
        },
        (e: unknown) => e,
      );
      errors.push(error);
      return error;
    },
    request: (downstreamSessionId, upstreamId = 'counter') => ({
      downstreamSessionId,
      upstreamId,
      url: `http://127.0.0.1:9/${upstreamId}/mcp`,
    }),
    evictions: () =>
      events.payloads('session:evicted').map((e) => `${e.key.downstreamSessionId}/${e.key.upstreamId}:${e.reason}`),
    evicted: () => events.payloads('session:evicted').map(({ key, reason }) => ({ key, reason })),
    use,
    async open(...requests) {
      const connections: FakeConnection[] = [];
      for (const r of requests) connections.push(await use(r));
      return connections;
    },
    async shutdown() {
      const done = registry.closeAll();
      await manual.advance(3 * closeTimeoutMs);
      await done;
      expect(factory.open).toBe(0);
      expect(factory.doubleClosed).toEqual([]);
    },
  };
}
