import { isDeepStrictEqual } from 'node:util';
import {
  CapacityError,
  CircuitOpenError,
  InMemoryAffinityStore,
  RegistryClosedError,
  SessionCreateError,
  SessionCreateTimeoutError,
  SessionEvictedError,
  UpstreamSessionRegistry,
  sanitizeUrl,
  type EvictReason,
  type NotificationEvent,
  type RegistryOptions,
  type RegistrySnapshot,
  type SessionCreateRequest,
  type SessionFactory,
  type SessionInfo,
  type SessionLease,
  type UpstreamListChangedEvent,
} from '../../src/index.js';
import { type SessionRequest } from '../../src/types.js';
import {
  FakeMcpError,
  FakeSessionFactory,
  FakeUpstreamClient,
  ManualClock,
  createConnectionClosedError,
  createSessionNotFoundError,
  type FakeCallToolResult,
  type FakeCloseBehavior,
  type FakeConnection,
  type FakeCreateBehavior,
  type FakeRequestBehavior,
  type ManualCreation,
} from '../../src/testing/index.js';
import { CapturingLogger, recordEvents, REGISTRY_EVENT_NAMES, type EventRecorder } from '../support/capture.js';
import { JumpClock } from '../support/harness.js';
import {
  WINDOWS,
  type Advance,
  type BodyOutcome,
  type Command,
  type CreateScript,
  type Fingerprint,
  type MethodScript,
  type ReleaseError,
  type RunConfig,
  type SignalMode,
  type Slot,
} from './commands.js';

/** An invariant the registry broke (or the model's expectation of it). Carries the recent trace. */
export class ModelViolation extends Error {
  override readonly name = 'ModelViolation';
}

/** A programming error scripted into a fake client: the probe chain must rethrow it, not reconnect. */
export class ModelProgrammingError extends TypeError {
  constructor() {
    super('model: scripted programming error in the upstream client');
  }
}

/** Counts process-level failures while the model runs (installed by the test file). */
export interface ProcessFailures {
  unhandledRejections: unknown[];
  uncaughtExceptions: unknown[];
}

/** What one run exercised (for the suite's coverage summary: `MODEL_STATS=1`). */
export type RunStats = Record<string, number>;

function bump(stats: RunStats, key: string, by = 1): void {
  stats[key] = (stats[key] ?? 0) + by;
}

/** Everything the model knows about one connection the factory made. */
interface ConnMeta {
  readonly client: FakeUpstreamClient;
  readonly request: SessionCreateRequest;
  readonly keyId: string;
  /** The registry had already given up on this creation when the connection arrived (an orphan). */
  readonly abortedAtDelivery: boolean;
  leases: number;
  retiredAt: number | undefined;
  closedSeenAt: number | undefined;
  conn: FakeConnection | undefined;
}

/** One `create` call the factory received. */
interface CreateRecord {
  readonly request: SessionCreateRequest;
  settled: boolean;
}

/** One acquire or withSession the model started. */
interface AcquireOp {
  readonly id: number;
  readonly kind: 'acquire' | 'withSession';
  readonly keyId: string;
  readonly url: string;
  readonly startStep: number;
  readonly signalMode: SignalMode;
  readonly closedAtStart: boolean;
  readonly controller: AbortController | undefined;
  readonly body: BodyOutcome | undefined;
  readonly hold: boolean;
  abortReason: unknown;
  abortedAtStep: number | undefined;
  /** Lease delivered (acquire) or body entered (withSession) or the call rejected. */
  acquirePhaseDone: boolean;
  bodyEntered: boolean;
  bodyResult: unknown;
  bodyThrown: unknown;
  bodyThrew: boolean;
  settled: boolean;
}

interface Held {
  readonly op: AcquireOp;
  readonly lease: SessionLease<FakeUpstreamClient>;
  readonly meta: ConnMeta;
}

interface ActiveBody {
  readonly op: AcquireOp;
  readonly meta: ConnMeta;
  open: (() => void) | undefined;
  opened: boolean;
}

interface EvictOp {
  readonly label: string;
  readonly calledAt: number;
  settledAt: number | undefined;
}

/** Reasons whose count the model predicts for every step. */
const CONSTRAINED: readonly EvictReason[] = ['evict', 'session', 'upstream', 'close-all', 'transport-error', 'transport-closed', 'idle'];

type Currentness = 'current' | 'not-current' | 'unknown';

const LIVE_STATES: ReadonlySet<string> = new Set(['ready', 'probing']);

function keyIdOf(downstreamSessionId: string, upstreamId: string): string {
  return `${downstreamSessionId} ${upstreamId}`;
}

function urlFor(u: Slot, variant: 0 | 1): string {
  return variant === 0 ? `http://u${u}.example.test/mcp` : `http://u${u}.example.test/mcp?v=2`;
}

/** Upstream `u2` is stdio-like (one process per session): its identity is its command, args and cwd. */
const STDIO_SLOT: Slot = 2;
const STDIO_COMMAND = '/opt/model/bin/mcp-u2';
const STDIO_FAILURE = Symbol.for('mcp-upstream-sessions.stdioFailure');

function stdioFailure(category: 'spawn_failed' | 'process_exited', message: string): Error {
  return Object.assign(new Error(message), { [STDIO_FAILURE]: category }, category === 'process_exited' ? { exitCode: 1 } : { code: 'ENOENT' });
}

function fingerprintFor(fp: Fingerprint, variant: 0 | 1): string | undefined {
  return fp === 0 ? undefined : `fp-${fp}-${variant}`;
}

/**
 * Whether a connection is an orphan (delivered after its creation was abandoned). A creation's signal is
 * aborted exactly when the registry abandons it, and never once it became a session, so the signal says it
 * even when the abandon came after the fake built the client.
 */
function isOrphan(meta: { readonly abortedAtDelivery: boolean; readonly request: SessionCreateRequest }): boolean {
  return meta.abortedAtDelivery || meta.request.signal.aborted;
}

function slotOf(id: string): Slot {
  const n = Number(id.slice(1));
  return n === 1 || n === 2 ? n : 0;
}

function pickFrom<T>(list: readonly T[], pick: number): T | undefined {
  return list.length === 0 ? undefined : list[pick % list.length];
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/**
 * Interprets one sequence of {@link Command}s against a fresh registry (FakeSessionFactory + ManualClock) and
 * checks the invariants after every step and at the end. Throws {@link ModelViolation} on the first broken
 * invariant. Every loop is bounded; nothing waits on a promise that might never settle.
 */
export class ModelRunner {
  /** Runs the timers; the bounds of closeAll and evictions are measured on it. */
  readonly clock = new ManualClock();
  /** The registry's clock: `clock` plus jumps of `now()` that run no timer (VM pauses). */
  readonly time = new JumpClock(this.clock);
  /** Total of every jump so far: how far timers may lag behind `time.now()`. */
  #jumped = 0;
  readonly store: InMemoryAffinityStore;
  #reentrantBudget = 3;
  #closeAllFromListener = false;
  readonly factory: FakeSessionFactory<FakeUpstreamClient>;
  readonly registry: UpstreamSessionRegistry<FakeUpstreamClient>;
  readonly logger: CapturingLogger;
  readonly events: EventRecorder;

  readonly #config: RunConfig;
  readonly #closeTimeoutMs: number;
  readonly #failures: ProcessFailures;
  readonly #failuresAtStart: { rejections: number; exceptions: number };

  readonly #metas: ConnMeta[] = [];
  readonly #metaByClient = new Map<FakeUpstreamClient, ConnMeta>();
  readonly #creates: CreateRecord[] = [];
  readonly #ops: AcquireOp[] = [];
  readonly #held: Held[] = [];
  readonly #bodies: ActiveBody[] = [];
  readonly #manuals: ManualCreation<FakeUpstreamClient>[] = [];
  /** Parallel to the factory's nextCreate queue: whether that creation's transport dies as it is delivered. */
  readonly #diesAtOnce: boolean[] = [];
  readonly #evicts: EvictOp[] = [];
  readonly #trace: string[] = [];

  #step = 0;
  #nextOpId = 1;
  /** What this run exercised. */
  readonly stats: RunStats = {};
  #notifications = 0;
  #programmingErrorScripted = false;
  #closeAll: Promise<void> | undefined;
  #closeAllCalledAt = 0;
  #closeAllSettledAt: number | undefined;
  #closeAllRejected: unknown;
  /** Minimum and extra allowed eviction count per constrained reason in the current step. */
  #exact = new Map<EvictReason, number>();
  #slack = new Map<EvictReason, number>();
  /** Connections the model expects this step to evict (two leases failing at once evict once). */
  #evictingThisStep = new Set<ConnMeta>();
  #checkedEvents = 0;
  #eventsAtCloseAll = Infinity;
  /** A violation noticed inside a promise callback; thrown by the next check. */
  #deferred: ModelViolation | undefined;

  constructor(config: RunConfig, failures: ProcessFailures) {
    this.#config = config;
    this.#closeTimeoutMs = config.closeTimeoutMs;
    this.#failures = failures;
    this.#failuresAtStart = { rejections: failures.unhandledRejections.length, exceptions: failures.uncaughtExceptions.length };
    const clock = this.time;
    this.store = new InMemoryAffinityStore({ clock });
    this.factory = new FakeSessionFactory<FakeUpstreamClient>({
      clock,
      createClient: (request) => this.#newClient(request),
    });
    const tracked: SessionFactory<FakeUpstreamClient> = {
      create: (request, events) => {
        const record: CreateRecord = { request, settled: false };
        this.#creates.push(record);
        const diesAtOnce = this.#diesAtOnce.shift() ?? false;
        const creating = this.factory.create(request, events).then((conn) => {
          if (diesAtOnce) this.#dieOnDelivery(conn);
          return conn;
        });
        void creating.then(
          () => {
            record.settled = true;
          },
          () => {
            record.settled = true;
          },
        );
        return creating;
      },
    };
    this.logger = new CapturingLogger(config.hostileObservers ? { throwError: new Error('model: logger is broken') } : {});
    const options: RegistryOptions<FakeUpstreamClient> = {
      sessionFactory: tracked,
      clock,
      logger: this.logger,
      workerId: 'model-worker',
      ...(config.affinity ? { affinity: this.store } : {}),
      idleValidationMs: WINDOWS.idleValidationMs,
      probeTimeoutMs: WINDOWS.probeTimeoutMs,
      createTimeoutMs: WINDOWS.createTimeoutMs,
      closeTimeoutMs: config.closeTimeoutMs,
      idleTtlMs: config.idleTtlMs,
      maxAgeMs: config.maxAgeMs,
      notificationDebounceMs: WINDOWS.notificationDebounceMs,
      circuitBreaker: config.circuitBreaker ? { failureThreshold: 3, resetMs: WINDOWS.circuitResetMs } : false,
      probes: config.probes === 'short' ? ['tools/list', 'skip'] : ['ping', 'tools/list', 'prompts/list', 'resources/list', 'skip'],
      ...(config.limits === 'tight' ? { maxSessions: 4, maxSessionsPerUpstream: 2 } : {}),
    };
    this.registry = new UpstreamSessionRegistry(options);
    this.events = recordEvents(this.registry, { clock });
    if (config.reentrant) {
      // Listeners that call back into the registry: re-warm an evicted key (a tracked acquire, held until
      // released like any other), and, when armed, shut the registry down from inside a listener.
      this.registry.on('session:evicted', ({ key, reason }) => {
        if (reason === 'close-all' || this.#reentrantBudget <= 0) return;
        this.#reentrantBudget -= 1;
        const u = slotOf(key.upstreamId);
        this.#startAcquire({ kind: 'acquire', d: slotOf(key.downstreamSessionId), u, urlVariant: 0, fp: 0, signal: 'none' });
      });
    }
    const fromListener = (): void => {
      if (!this.#closeAllFromListener) return;
      this.#closeAllFromListener = false;
      this.#callCloseAll();
    };
    this.registry.on('session:evicted', fromListener);
    this.registry.on('session:created', fromListener);
    if (config.hostileObservers) {
      const emitter = this.registry as unknown as { on(event: string, fn: () => unknown): void };
      for (const event of REGISTRY_EVENT_NAMES) {
        emitter.on(event, () => {
          throw new Error(`model: ${event} listener is broken`);
        });
        emitter.on(event, () => Promise.reject(new Error(`model: async ${event} listener is broken`)));
      }
    }
  }

  /** Steps executed so far. */
  get steps(): number {
    return this.#step;
  }

  /** Runs every command, then shuts down and checks the end state. */
  async run(commands: readonly Command[]): Promise<void> {
    for (const command of commands) await this.#runStep(command);
    await this.#finish();
  }

  // -------------------------------------------------------------------------------------------------------
  // Steps

  async #runStep(command: Command): Promise<void> {
    this.#step += 1;
    this.#exact = new Map();
    this.#slack = new Map();
    this.#evictingThisStep = new Set();
    const before = this.registry.snapshot();
    const createsBefore = this.#creates.length;
    this.#trace.push(`#${this.#step} t=${this.clock.now()} ${JSON.stringify(command)}`);
    await this.#execute(command);
    await this.clock.flush();
    if (command.kind === 'acquire' || command.kind === 'withSession') {
      const op = this.#ops.at(-1);
      if (op !== undefined && op.signalMode === 'already-aborted' && this.#creates.length !== createsBefore) {
        this.#fail('an acquire with an already-aborted signal started a creation');
      }
    }
    this.#check(before, command.kind === 'advance');
  }

  async #execute(command: Command): Promise<void> {
    switch (command.kind) {
      case 'acquire':
      case 'withSession':
        this.#startAcquire(command);
        return;
      case 'release':
        this.#release(command.pick, command.error);
        return;
      case 'finishBody': {
        const body = pickFrom(
          this.#bodies.filter((b) => b.open !== undefined && !b.opened),
          command.pick,
        );
        if (body !== undefined) {
          body.opened = true;
          body.open?.();
        }
        return;
      }
      case 'abort':
        this.#abort(command.pick);
        return;
      case 'evict':
      case 'evictSession':
      case 'evictUpstream':
        this.#evict(command);
        return;
      case 'advance':
        if (command.by.window === 'jump') {
          this.time.jump(command.by.ms);
          this.#jumped += command.by.ms;
          return;
        }
        await this.#advance(this.#advanceMs(command.by));
        return;
      case 'nextCreate':
        this.#scriptCreate(command.script);
        return;
      case 'settleManual': {
        const manual = pickFrom(
          this.#manuals.filter((m) => m.started && !m.settled),
          command.pick,
        );
        if (manual === undefined) return;
        if (command.outcome === 'resolve') manual.resolve();
        else manual.reject();
        return;
      }
      case 'closeBehavior': {
        const behavior: FakeCloseBehavior = command.script;
        if (command.pick === 'default') {
          this.factory.script.close = behavior;
          return;
        }
        const conn = this.#pickConn(command.pick);
        if (conn !== undefined) conn.closeBehavior = behavior;
        return;
      }
      case 'scriptClient': {
        const conn = this.#pickConn(command.pick);
        if (conn !== undefined) conn.client.script[command.method] = this.#methodBehavior(command.script);
        return;
      }
      case 'drop':
        this.#drop(command.pick);
        return;
      case 'notify':
        this.#notify(command.pick, command.method);
        return;
      case 'closeAll':
        this.#callCloseAll();
        return;
      case 'closeAllFromListener':
        this.#closeAllFromListener = true;
        return;
      case 'storeLoss':
        this.store.clear();
        return;
      case 'route': {
        const id = `d${command.d}`;
        void this.registry.route(id).then(
          (decision) =>
            this.#guard(() => {
              if (!decision.local || decision.owner !== 'model-worker') this.#fail(`route(${id}) with one worker said ${JSON.stringify(decision)}`);
            }),
          (error: unknown) => this.#guard(() => this.#fail(`route(${id}) rejected: ${describeError(error)}`)),
        );
        return;
      }
    }
  }

  #startAcquire(command: Extract<Command, { kind: 'acquire' | 'withSession' }>): void {
    const downstreamSessionId = `d${command.d}`;
    const upstreamId = `u${command.u}`;
    const stdio = command.u === STDIO_SLOT;
    const url = stdio ? `stdio:v${command.urlVariant}` : urlFor(command.u, command.urlVariant);
    const fingerprint = fingerprintFor(command.fp, command.urlVariant);
    const controller = command.signal === 'none' ? undefined : new AbortController();
    const op: AcquireOp = {
      id: this.#nextOpId++,
      kind: command.kind,
      keyId: keyIdOf(downstreamSessionId, upstreamId),
      url,
      startStep: this.#step,
      signalMode: command.signal,
      closedAtStart: this.#closeAll !== undefined,
      controller,
      body: command.kind === 'withSession' ? command.body : undefined,
      hold: command.kind === 'withSession' && command.hold,
      abortReason: undefined,
      abortedAtStep: undefined,
      acquirePhaseDone: false,
      bodyEntered: false,
      bodyResult: undefined,
      bodyThrown: undefined,
      bodyThrew: false,
      settled: false,
    };
    this.#ops.push(op);
    if (controller !== undefined && command.signal === 'already-aborted') {
      op.abortReason = new Error(`model: caller ${op.id} gave up before asking`);
      op.abortedAtStep = this.#step;
      controller.abort(op.abortReason);
    }
    const common = {
      downstreamSessionId,
      upstreamId,
      ...(fingerprint === undefined ? {} : { fingerprint }),
      ...(controller === undefined ? {} : { signal: controller.signal }),
    };
    const request: SessionRequest = stdio
      ? { ...common, transport: 'stdio', command: STDIO_COMMAND, args: ['--variant', `v${command.urlVariant}`], env: { TOKEN: `model-token-${op.id}` } }
      : { ...common, url, headers: { authorization: `Bearer model-token-${op.id}` } };
    if (command.kind === 'acquire') {
      void this.registry.acquire(request).then(
        (lease) =>
          this.#guard(() => {
            op.acquirePhaseDone = true;
            op.settled = true;
            const meta = this.#onLeaseDelivered(op, lease.client, lease.info);
            this.#held.push({ op, lease, meta });
          }),
        (error: unknown) =>
          this.#guard(() => {
            op.acquirePhaseDone = true;
            op.settled = true;
            this.#checkRejection(op, error);
          }),
      );
      return;
    }
    void this.registry.withSession(request, (client, info) => this.#body(op, client, info)).then(
      (value) =>
        this.#guard(() => {
          op.settled = true;
          if (!op.bodyEntered) this.#fail(`withSession #${op.id} resolved without running its body`);
          if (op.bodyThrew || value !== op.bodyResult) this.#fail(`withSession #${op.id} resolved with something its body did not return`);
        }),
      (error: unknown) =>
        this.#guard(() => {
          op.settled = true;
          op.acquirePhaseDone = true;
          if (op.bodyEntered) {
            if (!op.bodyThrew || error !== op.bodyThrown) {
              this.#fail(`withSession #${op.id} rejected with ${describeError(error)}, not what its body threw`);
            }
            return;
          }
          this.#checkRejection(op, error);
        }),
    );
  }

  /** Runs a check inside a promise callback: a violation is kept for the next step's check, never left unhandled. */
  #guard(check: () => void): void {
    try {
      check();
    } catch (error) {
      this.#deferred ??= error instanceof ModelViolation ? error : new ModelViolation(`model bug: ${describeError(error)}`);
    }
  }

  async #body(op: AcquireOp, client: FakeUpstreamClient, info: SessionInfo): Promise<unknown> {
    op.acquirePhaseDone = true;
    op.bodyEntered = true;
    let meta = this.#metaByClient.get(client);
    this.#guard(() => {
      meta = this.#onLeaseDelivered(op, client, info);
    });
    if (meta === undefined) throw new ModelViolation('withSession body got a client the model did not make');
    const active: ActiveBody = { op, meta, open: undefined, opened: false };
    this.#bodies.push(active);
    try {
      if (op.hold) {
        await new Promise<void>((resolve) => {
          active.open = resolve;
        });
      }
      const result = await this.#bodyOutcome(op.body ?? 'call-tool', client);
      op.bodyResult = result;
      return result;
    } catch (error) {
      op.bodyThrew = true;
      op.bodyThrown = error;
      // The registry evicts on a transport error: predict it for this step.
      const transport =
        op.body === 'throw-connection-closed' || op.body === 'throw-session-not-found'
          ? true
          : op.body === 'throw-tool-error'
            ? false
            : undefined;
      const holder = meta;
      this.#guard(() => this.#expectTransportError(holder, transport));
      throw error;
    } finally {
      this.#bodies.splice(this.#bodies.indexOf(active), 1);
    }
  }

  async #bodyOutcome(outcome: BodyOutcome, client: FakeUpstreamClient): Promise<unknown> {
    switch (outcome) {
      case 'call-tool':
        return client.callTool({ name: 'increment' });
      case 'throw-tool-error':
        throw new Error('model: tool "increment" failed: bad arguments');
      case 'return-is-error': {
        const result: FakeCallToolResult = { content: [{ type: 'text', text: 'no such counter' }], isError: true };
        return result;
      }
      case 'throw-connection-closed':
        throw createConnectionClosedError();
      case 'throw-session-not-found':
        throw createSessionNotFoundError();
    }
  }

  #release(pick: number, errorKind: ReleaseError): void {
    const held = pickFrom(this.#held, pick);
    if (held === undefined) return;
    this.#held.splice(this.#held.indexOf(held), 1);
    const error = this.#releaseError(errorKind);
    const transport = errorKind === 'connection-closed' || errorKind === 'session-not-found';
    this.#expectTransportError(held.meta, transport);
    if (errorKind === 'none' && pick % 2 === 1) {
      void held.lease[Symbol.asyncDispose]();
    } else if (error === undefined) {
      held.lease.release();
    } else {
      held.lease.release(error);
    }
    // Idempotent: a second release changes nothing (the inFlight check after this step would catch it).
    held.lease.release(error);
  }

  #releaseError(kind: ReleaseError): unknown {
    switch (kind) {
      case 'none':
        return undefined;
      case 'tool-error':
        return new Error('model: tool "increment" failed');
      case 'is-error-result':
        return { content: [{ type: 'text', text: 'tool error' }], isError: true };
      case 'connection-closed':
        return createConnectionClosedError();
      case 'session-not-found':
        return createSessionNotFoundError();
    }
  }

  /** A transport error on `meta`'s lease evicts its session iff that session is still current. */
  #expectTransportError(meta: ConnMeta, transport: boolean | undefined): void {
    if (transport === false) return;
    if (transport === undefined) {
      this.#allow('transport-error', 1);
      return;
    }
    meta.retiredAt ??= this.#step;
    const currentness = this.#currentness(meta);
    bump(this.stats, `predicted:transport-error:${currentness}`);
    if (currentness === 'current') this.#require('transport-error', 1);
    else if (currentness === 'unknown') this.#allow('transport-error', 1);
  }

  #abort(pick: number): void {
    const op = pickFrom(
      this.#ops.filter((o) => !o.acquirePhaseDone && o.controller !== undefined && !o.controller.signal.aborted),
      pick,
    );
    if (op === undefined || op.controller === undefined) return;
    // Abort reasons need not be Errors: alternate between an Error and a plain value.
    op.abortReason = pick % 2 === 0 ? new Error(`model: caller ${op.id} gave up`) : { gaveUp: op.id };
    op.abortedAtStep = this.#step;
    op.controller.abort(op.abortReason);
  }

  #evict(command: Extract<Command, { kind: 'evict' | 'evictSession' | 'evictUpstream' }>): void {
    const before = this.registry.snapshot();
    const matchesKey = (downstreamSessionId: string, upstreamId: string): boolean =>
      (command.kind === 'evictUpstream' || downstreamSessionId === `d${command.d}`) &&
      (command.kind === 'evictSession' || upstreamId === `u${command.u}`);
    const matches = (info: SessionInfo): boolean => matchesKey(info.key.downstreamSessionId, info.key.upstreamId);
    const current = before.entries.filter((info) => info.state !== 'draining' && matches(info));
    const live = current.filter((info) => LIVE_STATES.has(info.state)).length;
    for (const meta of this.#metas) {
      if (matchesKey(meta.request.downstreamSessionId, meta.request.upstreamId)) meta.retiredAt ??= this.#step;
    }
    const op: EvictOp = { label: `${command.kind} #${this.#step}`, calledAt: this.clock.now(), settledAt: undefined };
    this.#evicts.push(op);
    const settle = (result: number | boolean, expected: number | boolean): void =>
      this.#guard(() => {
        op.settledAt = this.clock.now();
        if (result !== expected) this.#fail(`${op.label} returned ${String(result)}, expected ${String(expected)}`);
      });
    const rejected = (error: unknown): void =>
      this.#guard(() => {
        op.settledAt = this.clock.now();
        this.#fail(`${op.label} rejected with ${describeError(error)} (close errors must never reach the evicting caller)`);
      });
    switch (command.kind) {
      case 'evict':
        this.#require('evict', live);
        void this.registry
          .evict({ downstreamSessionId: `d${command.d}`, upstreamId: `u${command.u}` })
          .then((result) => settle(result, current.length > 0), rejected);
        break;
      case 'evictSession':
        this.#require('session', live);
        void this.registry.evictSession(`d${command.d}`).then((result) => settle(result, current.length), rejected);
        break;
      case 'evictUpstream':
        this.#require('upstream', live);
        void this.registry.evictUpstream(`u${command.u}`).then((result) => settle(result, current.length), rejected);
        break;
    }
    const after = this.registry.snapshot();
    // (A re-entrant listener may re-warm the key at once: then a new creation is expected.)
    if (!this.#config.reentrant && after.entries.some((info) => info.state !== 'draining' && matches(info))) {
      this.#fail(`${op.label} left a current entry for a key it evicts (removal must be immediate)`);
    }
  }

  #advanceMs(by: Advance): number {
    switch (by.window) {
      case 'tick':
      case 'jump':
        return by.ms;
      case 'idle-validation':
        return WINDOWS.idleValidationMs + 1;
      case 'probe-timeout':
        return WINDOWS.probeTimeoutMs;
      case 'create-timeout':
        return WINDOWS.createTimeoutMs;
      case 'close-timeout':
        return this.#closeTimeoutMs + 1;
      case 'idle-ttl':
        return (this.#config.idleTtlMs || 300) + 1;
      case 'max-age':
        return (this.#config.maxAgeMs || 500) + 1;
      case 'just-before-max-age':
        return (this.#config.maxAgeMs || 500) - 10;
      case 'circuit-reset':
        return WINDOWS.circuitResetMs + 1;
    }
  }

  async #advance(ms: number): Promise<void> {
    try {
      await this.clock.advance(ms);
    } catch (error) {
      this.#fail(`a registry timer callback threw: ${describeError(error)}`);
    }
  }

  #scriptCreate(script: CreateScript): void {
    this.#diesAtOnce.push(script === 'dies-at-once');
    if (script === 'manual') {
      this.#manuals.push(this.factory.nextCreate('manual'));
      return;
    }
    const behaviors: Record<Exclude<CreateScript, 'manual'>, FakeCreateBehavior> = {
      ok: 'ok',
      fail: 'fail',
      hang: 'hang',
      'hang-ignoring-signal': 'hang-ignoring-signal',
      'delay-ok': { delayMs: WINDOWS.createDelayMs },
      'delay-fail': { delayMs: WINDOWS.createDelayMs, outcome: 'fail' },
      'delay-past-timeout': { delayMs: WINDOWS.createTimeoutMs + 50 },
      'dies-at-once': 'ok',
      'spawn-failed': stdioFailure('spawn_failed', 'spawn mcp-u2 ENOENT (2 args)'),
    };
    this.factory.nextCreate(behaviors[script]);
  }

  #methodBehavior(script: MethodScript): FakeRequestBehavior {
    switch (script) {
      case 'delay':
        return { delayMs: 15 };
      case 'mcp-internal-error':
        return new FakeMcpError(-32603, 'Internal error');
      case 'programming-error':
        this.#programmingErrorScripted = true;
        return new ModelProgrammingError();
      default:
        return script;
    }
  }

  /** Even picks prefer connections the registry has not closed; odd picks choose among all. */
  #pickConn(pick: number): FakeConnection | undefined {
    const open = this.factory.created.filter((conn) => !conn.closed);
    return pickFrom(pick % 2 === 0 && open.length > 0 ? open : this.factory.created, pick >> 1);
  }

  /** The transport of a connection ends before the registry sees it: it must never be handed out. */
  #dieOnDelivery(conn: FakeConnection): void {
    this.#guard(() => {
      const meta = this.#meta(conn);
      meta.retiredAt ??= this.#step;
      // With re-entrant listeners the creation may still be abandoned before the registry sees the connection.
      if (!isOrphan(meta)) {
        if (this.#config.reentrant) this.#allow('transport-closed', 1);
        else this.#require('transport-closed', 1);
      }
      this.#evictingThisStep.add(meta);
      conn.dropTransport(new Error('model: died at once'));
    });
  }

  #drop(pick: number): void {
    const conn = this.#pickConn(pick);
    if (conn === undefined) return;
    const meta = this.#meta(conn);
    meta.retiredAt ??= this.#step;
    if (!conn.dropped) {
      const currentness = this.#currentness(meta);
      bump(this.stats, `predicted:transport-closed:${currentness}`);
      if (currentness === 'current') this.#require('transport-closed', 1);
      else if (currentness === 'unknown') this.#allow('transport-closed', 1);
    }
    conn.dropTransport(
      pick % 3 === 0
        ? new Error('model: socket hang up')
        : pick % 3 === 1
          ? stdioFailure('process_exited', 'mcp-u2 exited with code 1 (2 args); stderr: model: exiting')
          : undefined,
    );
  }

  #notify(pick: number, method: string): void {
    const conn = this.#pickConn(pick);
    if (conn === undefined) return;
    const expected = !conn.closed;
    const before = this.events.records.length;
    conn.notify(method, pick % 2 === 0 ? { pick } : undefined);
    const fresh = this.events.records.slice(before).filter((record) => record.event === 'notification');
    if (expected) this.#notifications += 1;
    if (fresh.length !== (expected ? 1 : 0)) {
      this.#fail(`notify on connection ${conn.id} (closed: ${String(conn.closed)}) emitted ${fresh.length} notification events`);
    }
    for (const record of fresh) {
      const payload = record.payload as NotificationEvent;
      if (keyIdOf(payload.key.downstreamSessionId, payload.key.upstreamId) !== this.#meta(conn).keyId) {
        this.#fail(`a notification from connection ${conn.id} was reported for another key`);
      }
      if (payload.notification.method !== method) this.#fail('a notification was reported with another method');
    }
  }

  #callCloseAll(): void {
    if (this.#closeAll !== undefined) {
      const again = this.#step % 2 === 0 ? this.registry.closeAll() : this.registry[Symbol.asyncDispose]();
      if (again !== this.#closeAll) this.#fail('a second closeAll() did not return the same promise');
      return;
    }
    const before = this.registry.snapshot();
    this.#require('close-all', before.entries.filter((info) => LIVE_STATES.has(info.state)).length);
    for (const meta of this.#metas) meta.retiredAt ??= this.#step;
    this.#closeAllCalledAt = this.clock.now();
    this.#eventsAtCloseAll = this.events.records.length;
    this.#closeAll = this.registry.closeAll();
    void this.#closeAll.then(
      () => {
        this.#closeAllSettledAt = this.clock.now();
      },
      (error: unknown) => {
        this.#closeAllSettledAt = this.clock.now();
        this.#closeAllRejected = error ?? new Error('closeAll rejected with undefined');
      },
    );
    if (!this.registry.closed) this.#fail('closeAll() did not set `closed` synchronously');
    const after = this.registry.snapshot();
    if (after.entries.some((info) => info.state !== 'draining')) this.#fail('closeAll() left current entries behind');
  }

  // -------------------------------------------------------------------------------------------------------
  // Bookkeeping

  #newClient(request: SessionCreateRequest): FakeUpstreamClient {
    const client = new FakeUpstreamClient({ clock: this.clock });
    const meta: ConnMeta = {
      client,
      request,
      keyId: keyIdOf(request.downstreamSessionId, request.upstreamId),
      abortedAtDelivery: request.signal.aborted,
      leases: 0,
      retiredAt: undefined,
      closedSeenAt: undefined,
      conn: undefined,
    };
    this.#metas.push(meta);
    this.#metaByClient.set(client, meta);
    return client;
  }

  #meta(conn: FakeConnection): ConnMeta {
    const meta = this.#metaByClient.get(conn.client);
    if (meta === undefined) this.#fail(`connection ${conn.id} has a client the model did not make`);
    meta.conn = conn;
    return meta;
  }

  #connOf(meta: ConnMeta): FakeConnection | undefined {
    if (meta.conn !== undefined) return meta.conn;
    const conn = this.factory.created.find((c) => c.client === meta.client);
    meta.conn = conn;
    return conn;
  }

  /** Whether `meta`'s connection is the registry's current session for its key, as far as the model can tell. */
  #currentness(meta: ConnMeta): Currentness {
    const conn = this.#connOf(meta);
    if (conn === undefined || conn.closed || conn.dropped || this.#evictingThisStep.has(meta)) return 'not-current';
    const entries = this.registry.snapshot().entries.filter((info) => keyIdOf(info.key.downstreamSessionId, info.key.upstreamId) === meta.keyId);
    const live = entries.filter((info) => LIVE_STATES.has(info.state)).length;
    if (live === 0) return 'not-current';
    const open = this.factory.created.filter((c) => !c.closed && this.#meta(c).keyId === meta.keyId).length;
    if (live !== 1 || open !== 1) return 'unknown';
    this.#evictingThisStep.add(meta);
    return 'current';
  }

  #require(reason: EvictReason, count: number): void {
    this.#exact.set(reason, (this.#exact.get(reason) ?? 0) + count);
  }

  #allow(reason: EvictReason, count: number): void {
    this.#slack.set(reason, (this.#slack.get(reason) ?? 0) + count);
  }

  #onLeaseDelivered(op: AcquireOp, client: FakeUpstreamClient, info: SessionInfo): ConnMeta {
    const meta = this.#metaByClient.get(client);
    if (meta === undefined) this.#fail(`${op.kind} #${op.id} got a client no factory connection carries`);
    meta.leases += 1;
    bump(this.stats, `lease:${op.kind}`);
    const conn = this.#connOf(meta);
    if (meta.keyId !== op.keyId) {
      this.#fail(`${op.kind} #${op.id} for "${op.keyId}" got the connection made for "${meta.keyId}" (a session served two keys)`);
    }
    if (op.closedAtStart) this.#fail(`${op.kind} #${op.id} started after closeAll() and still got a lease`);
    if (isOrphan(meta)) this.#fail(`${op.kind} #${op.id} got an orphaned connection (delivered after its creation was abandoned)`);
    if (conn === undefined || conn.closed) this.#fail(`${op.kind} #${op.id} got a connection the registry already closed`);
    if (conn.dropped) this.#fail(`${op.kind} #${op.id} got connection ${conn.id}, whose transport had died`);
    if (meta.retiredAt !== undefined && meta.retiredAt < op.startStep) {
      this.#fail(`${op.kind} #${op.id} (started at step ${op.startStep}) got connection ${conn.id}, retired at step ${meta.retiredAt}`);
    }
    if (meta.closedSeenAt !== undefined && meta.closedSeenAt < op.startStep) {
      this.#fail(`${op.kind} #${op.id} got connection ${conn.id}, closed at step ${meta.closedSeenAt}`);
    }
    if (keyIdOf(info.key.downstreamSessionId, info.key.upstreamId) !== op.keyId) this.#fail(`lease info of #${op.id} names another key`);
    const stdio = op.url.startsWith('stdio:');
    const endpointOk = stdio
      ? info.transport === 'stdio' && info.command === 'mcp-u2' && info.url === undefined
      : info.url === sanitizeUrl(op.url) && info.transport === 'streamable-http' && info.command === undefined;
    if (!endpointOk) this.#fail(`lease info of #${op.id} has the wrong url, command or transport`);
    if (stdio && meta.request.transport === 'stdio' && meta.request.args[1] !== op.url.slice('stdio:'.length)) {
      this.#fail(`#${op.id} asked for ${op.url} and got a process started with other args`);
    }
    if (!stdio && meta.request.transport !== 'stdio' && meta.request.url !== op.url) this.#fail(`#${op.id} asked for ${op.url} and got a session on another endpoint`);
    if (op.abortedAtStep !== undefined && op.signalMode === 'already-aborted') this.#fail(`#${op.id} had an aborted signal and got a lease`);
    return meta;
  }

  #checkRejection(op: AcquireOp, error: unknown): void {
    bump(this.stats, `rejected:${error instanceof Error ? error.name : typeof error}`);
    const what = `${op.kind} #${op.id} rejected with ${describeError(error)}`;
    if (op.closedAtStart) {
      if (!(error instanceof RegistryClosedError)) this.#fail(`${what}; after closeAll() it must be RegistryClosedError`);
      return;
    }
    if (op.signalMode === 'already-aborted') {
      if (error !== op.abortReason) this.#fail(`${what}; with an aborted signal it must be signal.reason`);
      return;
    }
    if (op.abortReason !== undefined && error === op.abortReason) return;
    if (error instanceof RegistryClosedError) {
      if (this.#closeAll === undefined) this.#fail(`${what} although closeAll() was never called`);
      return;
    }
    if (error instanceof SessionCreateError || error instanceof SessionCreateTimeoutError || error instanceof SessionEvictedError) return;
    if (error instanceof CapacityError && this.#config.limits === 'tight') return;
    if (error instanceof CircuitOpenError && this.#config.circuitBreaker) return;
    if (error instanceof ModelProgrammingError && this.#programmingErrorScripted) return;
    this.#fail(`${what}: not an error acquire may reject with here`);
  }

  // -------------------------------------------------------------------------------------------------------
  // Invariants

  #check(before: RegistrySnapshot, advanced: boolean): void {
    if (this.#deferred !== undefined) throw this.#deferred;
    const s = this.registry.snapshot();
    const step = this.#step;

    const failures = this.#failures;
    if (failures.unhandledRejections.length > this.#failuresAtStart.rejections) {
      this.#fail(`unhandled rejection: ${describeError(failures.unhandledRejections.at(-1))}`);
    }
    if (failures.uncaughtExceptions.length > this.#failuresAtStart.exceptions) {
      this.#fail(`uncaught exception: ${describeError(failures.uncaughtExceptions.at(-1))}`);
    }

    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(s)), s)) this.#fail('snapshot() is not plain JSON-serializable data');
    if (s.sessions !== this.registry.size) this.#fail(`snapshot.sessions ${s.sessions} !== registry.size ${this.registry.size}`);
    if (s.closed !== (this.#closeAll !== undefined) || s.closed !== this.registry.closed) this.#fail('snapshot.closed is wrong');

    // Entries: at most one current (creating/ready/probing) entry per key.
    const perKey = new Map<string, { current: number; live: number; creating: number; draining: number; inFlight: number }>();
    const perUpstream = new Map<string, { sessions: number; pending: number; inFlight: number }>();
    for (const info of s.entries) {
      const keyId = keyIdOf(info.key.downstreamSessionId, info.key.upstreamId);
      const k = perKey.get(keyId) ?? { current: 0, live: 0, creating: 0, draining: 0, inFlight: 0 };
      perKey.set(keyId, k);
      const up = perUpstream.get(info.key.upstreamId) ?? { sessions: 0, pending: 0, inFlight: 0 };
      perUpstream.set(info.key.upstreamId, up);
      k.inFlight += info.inFlight;
      if (info.state === 'draining') {
        k.draining += 1;
        continue;
      }
      if (info.state === 'creating') {
        k.creating += 1;
        up.pending += 1;
      } else if (LIVE_STATES.has(info.state)) {
        k.live += 1;
        up.sessions += 1;
      } else {
        this.#fail(`snapshot lists an entry in state ${info.state}`);
      }
      k.current += 1;
      up.inFlight += info.inFlight;
      if (k.current > 1) this.#fail(`two current upstream sessions for key "${keyId}"`);
    }
    const sum = (pick: (k: { live: number; creating: number; draining: number }) => number): number =>
      [...perKey.values()].reduce((n, k) => n + pick(k), 0);
    if (s.sessions !== sum((k) => k.live)) this.#fail('snapshot.sessions disagrees with its entries');
    if (s.pending !== sum((k) => k.creating)) this.#fail('snapshot.pending disagrees with its entries');
    if (s.draining !== sum((k) => k.draining)) this.#fail('snapshot.draining disagrees with its entries');

    // Freshness: an idle ready session never outlives idleTtlMs, nor (once idle) maxAgeMs — by more than the
    // clock jumped without running timers (acquires never hand such a session out: checked on delivery).
    const now = this.time.now();
    const lag = this.#jumped;
    for (const info of s.entries) {
      if (info.state !== 'ready' || info.inFlight > 0) continue;
      const keyId = keyIdOf(info.key.downstreamSessionId, info.key.upstreamId);
      if (this.#config.idleTtlMs > 0 && now - info.lastUsedAt >= this.#config.idleTtlMs + lag) {
        this.#fail(`session "${keyId}" idle since t=${info.lastUsedAt} outlived idleTtlMs ${this.#config.idleTtlMs}`);
      }
      if (this.#config.maxAgeMs > 0 && now - info.createdAt >= this.#config.maxAgeMs + lag) {
        this.#fail(`idle session "${keyId}" created at t=${info.createdAt} outlived maxAgeMs ${this.#config.maxAgeMs}`);
      }
    }

    // Per upstream breakdown.
    for (const up of s.upstreams) {
      const expected = perUpstream.get(up.upstreamId) ?? { sessions: 0, pending: 0, inFlight: 0 };
      if (up.sessions !== expected.sessions || up.pending !== expected.pending || up.inFlight !== expected.inFlight) {
        this.#fail(`snapshot.upstreams[${up.upstreamId}] ${JSON.stringify(up)} disagrees with entries ${JSON.stringify(expected)}`);
      }
      perUpstream.delete(up.upstreamId);
    }
    for (const [upstreamId, expected] of perUpstream) {
      if (expected.sessions + expected.pending > 0) this.#fail(`snapshot.upstreams lacks ${upstreamId}, which has sessions`);
    }

    // Creations in progress, from the factory's side: unsettled and not abandoned. One per key at most.
    const creatingPerKey = new Map<string, number>();
    for (const record of this.#creates) {
      if (record.settled || record.request.signal.aborted) continue;
      const keyId = keyIdOf(record.request.downstreamSessionId, record.request.upstreamId);
      const n = (creatingPerKey.get(keyId) ?? 0) + 1;
      creatingPerKey.set(keyId, n);
      if (n > 1) this.#fail(`two creations in progress for key "${keyId}" (concurrent acquires must share one)`);
    }
    const creating = [...creatingPerKey.values()].reduce((n, x) => n + x, 0);
    if (s.pending !== creating) this.#fail(`snapshot.pending ${s.pending}, but ${creating} factory creations are in progress`);

    // Connections: closed at most once; orphans closed at once; open ones are exactly the live + draining entries.
    const openPerKey = new Map<string, number>();
    const heldOpenPerKey = new Map<string, number>();
    let orphans = 0;
    for (const conn of this.factory.created) {
      const meta = this.#meta(conn);
      if (conn.closeCalls > 1) this.#fail(`connection ${conn.id} closed ${conn.closeCalls} times`);
      if (isOrphan(meta)) orphans += 1;
      if (conn.closed) {
        meta.closedSeenAt ??= step;
        continue;
      }
      if (isOrphan(meta)) this.#fail(`orphaned connection ${conn.id} was not closed at once`);
      openPerKey.set(meta.keyId, (openPerKey.get(meta.keyId) ?? 0) + 1);
    }
    for (const [keyId, open] of openPerKey) {
      const k = perKey.get(keyId);
      const expected = (k?.live ?? 0) + (k?.draining ?? 0);
      if (open !== expected) this.#fail(`key "${keyId}" has ${open} open connections but ${expected} live or draining sessions`);
    }
    for (const [keyId, k] of perKey) {
      if (k.live + k.draining > 0 && (openPerKey.get(keyId) ?? 0) === 0) {
        this.#fail(`key "${keyId}" has a live or draining session whose connection is closed`);
      }
    }

    // Leases: the snapshot's inFlight is exactly what the model holds.
    const holders = [...this.#held.map((h) => h.meta), ...this.#bodies.map((b) => b.meta)];
    if (s.inFlight !== holders.length) this.#fail(`snapshot.inFlight ${s.inFlight}, but the model holds ${holders.length} leases`);
    for (const meta of holders) {
      if (this.#connOf(meta)?.closed === false) heldOpenPerKey.set(meta.keyId, (heldOpenPerKey.get(meta.keyId) ?? 0) + 1);
    }
    for (const [keyId, k] of perKey) {
      if (k.inFlight !== (heldOpenPerKey.get(keyId) ?? 0)) {
        this.#fail(`key "${keyId}": entries report ${k.inFlight} leases, the model holds ${heldOpenPerKey.get(keyId) ?? 0} on open connections`);
      }
    }

    // Counters agree with the model and with the events.
    const c = s.counters;
    const sessionsMade = this.factory.created.length - orphans;
    if (c.creates !== sessionsMade) this.#fail(`counters.creates ${c.creates}, but ${sessionsMade} connections became sessions`);
    const reuses = this.#metas.reduce((n, meta) => n + Math.max(0, meta.leases - 1), 0);
    if (c.reuses !== reuses) this.#fail(`counters.reuses ${c.reuses}, but the model saw ${reuses} reuses`);
    const byReason = Object.values(s.evictionsByReason).reduce((n, x) => n + x, 0);
    if (c.evictions !== byReason) this.#fail(`counters.evictions ${c.evictions} !== sum of evictionsByReason ${byReason}`);
    if (c.evictions !== this.events.count('session:evicted')) this.#fail('counters.evictions disagrees with session:evicted events');
    if (c.createFailures !== this.events.count('session:create-failed')) this.#fail('counters.createFailures disagrees with events');
    if (c.notifications !== this.#notifications || c.notifications !== this.events.count('notification')) {
      this.#fail(`counters.notifications ${c.notifications}, model ${this.#notifications}, events ${this.events.count('notification')}`);
    }
    if (c.closeTimeouts !== this.events.count('close:timeout')) this.#fail('counters.closeTimeouts disagrees with events');
    if (c.probeFailures > c.probes) this.#fail('more probe failures than probes');
    if (c.creates !== this.events.count('session:created')) this.#fail('counters.creates disagrees with session:created events');

    // Evictions by reason: the reasons the model can predict changed by exactly what it predicted.
    for (const reason of CONSTRAINED) {
      // Idle evictions also happen on acquire once the clock jumped past a sweep that has not run yet.
      if (reason === 'idle' && (advanced || this.#jumped > 0)) continue;
      const delta = s.evictionsByReason[reason] - before.evictionsByReason[reason];
      const min = this.#exact.get(reason) ?? 0;
      const max = min + (this.#slack.get(reason) ?? 0);
      if (delta < min || delta > max) {
        this.#fail(`evictionsByReason["${reason}"] changed by ${delta} in this step; the model expected ${min === max ? min : `${min}..${max}`}`);
      }
    }

    // Events emitted since the last check.
    for (const [offset, record] of this.events.records.slice(this.#checkedEvents).entries()) {
      if (record.event === 'upstream:list-changed') {
        const { kinds } = record.payload as UpstreamListChangedEvent;
        if (kinds.length === 0 || new Set(kinds).size !== kinds.length) this.#fail('upstream:list-changed with empty or repeated kinds');
        if (this.#checkedEvents + offset >= this.#eventsAtCloseAll) this.#fail('upstream:list-changed emitted after closeAll()');
      }
    }
    this.#checkedEvents = this.events.records.length;

    // Waiting callers: an abort releases its caller at once; closeAll releases everyone.
    for (const op of this.#ops) {
      if (op.acquirePhaseDone) continue;
      if (op.abortedAtStep !== undefined) this.#fail(`${op.kind} #${op.id} is still waiting after its signal aborted`);
      if (this.#closeAll !== undefined) this.#fail(`${op.kind} #${op.id} is still waiting after closeAll()`);
    }

    // Bounded shutdown and eviction, in clock time.
    if (this.#closeAll !== undefined) {
      const bound = this.#closeAllCalledAt + 2 * this.#closeTimeoutMs;
      if ((this.#closeAllSettledAt ?? this.clock.now()) > bound) {
        this.#fail(`closeAll() called at t=${this.#closeAllCalledAt} has not settled by t=${bound} (2 × closeTimeoutMs)`);
      }
      if (this.#closeAllRejected !== undefined) this.#fail(`closeAll() rejected: ${describeError(this.#closeAllRejected)}`);
    }
    for (const op of this.#evicts) {
      const bound = op.calledAt + 3 * this.#closeTimeoutMs;
      if ((op.settledAt ?? this.clock.now()) > bound) this.#fail(`${op.label} called at t=${op.calledAt} has not settled by t=${bound} (drain + 2 × closeTimeoutMs)`);
    }
    if (this.factory.doubleClosed.length > 0) this.#fail('factory.doubleClosed is not empty');
  }

  // -------------------------------------------------------------------------------------------------------
  // End of run

  async #finish(): Promise<void> {
    if (this.#closeAll === undefined) await this.#runStep({ kind: 'closeAll' });
    // Walk the clock in 1 ms steps and note when closeAll settles.
    const bound = this.#closeAllCalledAt + 2 * this.#closeTimeoutMs;
    while (this.#closeAllSettledAt === undefined && this.clock.now() <= bound) {
      this.#trace.push(`end t=${this.clock.now()} advance 1`);
      await this.#advance(1);
    }
    if (this.#closeAllSettledAt === undefined || this.#closeAllSettledAt > bound) {
      this.#fail(`closeAll() called at t=${this.#closeAllCalledAt} settled at t=${String(this.#closeAllSettledAt)}, after its bound t=${bound}`);
    }
    // Let go of everything: leases, bodies, late manual creations, waiting callers.
    this.#trace.push('end: release every lease, finish every body, deliver every manual creation');
    this.#exact = new Map();
    this.#slack = new Map();
    const beforeRelease = this.registry.snapshot();
    for (const [index, held] of [...this.#held].entries()) {
      held.lease.release(index % 3 === 0 ? createConnectionClosedError() : undefined);
    }
    this.#held.length = 0;
    for (const body of this.#bodies) {
      body.opened = true;
      body.open?.();
    }
    for (const manual of this.#manuals) if (manual.started && !manual.settled) manual.resolve();
    for (const op of this.#ops) if (!op.acquirePhaseDone) op.controller?.abort(new Error('model: end of run'));
    for (let i = 0; i < 10; i += 1) await this.#advance(WINDOWS.createTimeoutMs + 4 * this.#closeTimeoutMs + 100);
    this.#check(beforeRelease, true);

    const s = this.registry.snapshot();
    for (const conn of this.factory.created) {
      if (conn.closeCalls !== 1) this.#fail(`connection ${conn.id} was closed ${conn.closeCalls} times by the end (must be exactly once)`);
    }
    if (this.factory.open !== 0) this.#fail(`factory.open is ${this.factory.open} after closeAll()`);
    if (s.sessions !== 0 || s.pending !== 0 || s.inFlight !== 0 || s.draining !== 0 || s.entries.length !== 0) {
      this.#fail(`snapshot after closeAll() is not empty: ${JSON.stringify({ ...s, upstreams: undefined })}`);
    }
    const unsettled = this.#ops.filter((op) => !op.settled);
    if (unsettled.length > 0) this.#fail(`${unsettled.length} acquire/withSession calls never settled`);
    if (this.#evicts.some((op) => op.settledAt === undefined)) this.#fail('an evict call never settled');
    if (this.clock.pendingTimers !== 0) this.#fail(`${this.clock.pendingTimers} registry timers still pending after closeAll()`);

    for (const [name, value] of Object.entries(s.counters)) bump(this.stats, `counter:${name}`, value);
    for (const [reason, value] of Object.entries(s.evictionsByReason)) bump(this.stats, `evicted:${reason}`, value);
    bump(this.stats, `closeAll:ms=${(this.#closeAllSettledAt ?? 0) - this.#closeAllCalledAt}/${2 * this.#closeTimeoutMs}`);
    bump(this.stats, 'connections', this.factory.created.length);
    bump(this.stats, 'orphans', this.#metas.filter(isOrphan).length);
    bump(this.stats, 'aborted-waits', this.#ops.filter((op) => op.abortedAtStep !== undefined && op.signalMode === 'abortable').length);
    bump(this.stats, 'bodies', this.#ops.filter((op) => op.bodyEntered).length);
  }

  #fail(message: string): never {
    const trace = this.#trace.slice(-30).join('\n  ');
    throw new ModelViolation(`step ${this.#step} (t=${this.clock.now()}): ${message}\n  recent steps:\n  ${trace}`);
  }
}
