import fc from 'fast-check';

/**
 * The commands of the registry model test, as plain records (so fast-check prints and shrinks them well),
 * and their arbitraries. `pick` fields choose among what exists when the command runs (held leases, pending
 * acquires, connections…), modulo its count; a command with nothing to pick is a no-op.
 */

/** Index of a downstream session (`d0`–`d2`) or an upstream (`u0`–`u2`). */
export type Slot = 0 | 1 | 2;

/** How an acquire's `signal` is set up. */
export type SignalMode = 'none' | 'already-aborted' | 'abortable';

/** What a `withSession` body does with its client. */
export type BodyOutcome =
  | 'call-tool'
  | 'throw-tool-error'
  | 'return-is-error'
  | 'throw-connection-closed'
  | 'throw-session-not-found';

/** The error a lease is released with. */
export type ReleaseError = 'none' | 'tool-error' | 'is-error-result' | 'connection-closed' | 'session-not-found';

/** Symbolic clock advances, turned into milliseconds from the run's options. */
export type Advance =
  | { window: 'tick'; ms: number }
  /** Moves the registry's `now()` ahead without running any timer (a VM pause). */
  | { window: 'jump'; ms: number }
  | {
      window:
        | 'idle-validation'
        | 'probe-timeout'
        | 'create-timeout'
        | 'close-timeout'
        | 'idle-ttl'
        | 'max-age'
        | 'just-before-max-age'
        | 'circuit-reset';
    };

/** How the next factory `create` call behaves. */
export type CreateScript =
  | 'ok'
  | 'fail'
  | 'hang'
  | 'hang-ignoring-signal'
  | 'delay-ok'
  | 'delay-fail'
  | 'delay-past-timeout'
  | 'dies-at-once'
  /** A stdio-like spawn failure (ENOENT), as the stdio spawner reports it. */
  | 'spawn-failed'
  | 'manual';

/** How a connection's `close` behaves. */
export type CloseScript = 'ok' | 'fail' | 'hang' | 'hang-until-signal';

/** Client methods a command can script. */
export type ScriptedMethod = 'ping' | 'listTools' | 'listPrompts' | 'listResources' | 'callTool';

/** How a scripted client method answers. */
export type MethodScript =
  | 'ok'
  | 'method-not-found'
  | 'timeout'
  | 'broken'
  | 'session-not-found'
  | 'delay'
  | 'mcp-internal-error'
  | 'programming-error';

/** One step of a model run. */
export type Command =
  | { kind: 'acquire'; d: Slot; u: Slot; urlVariant: 0 | 1; fp: Fingerprint; signal: SignalMode }
  | { kind: 'withSession'; d: Slot; u: Slot; urlVariant: 0 | 1; fp: Fingerprint; signal: SignalMode; body: BodyOutcome; hold: boolean }
  | { kind: 'release'; pick: number; error: ReleaseError }
  | { kind: 'finishBody'; pick: number }
  | { kind: 'abort'; pick: number }
  | { kind: 'evict'; d: Slot; u: Slot }
  | { kind: 'evictSession'; d: Slot }
  | { kind: 'evictUpstream'; u: Slot }
  | { kind: 'advance'; by: Advance }
  | { kind: 'nextCreate'; script: CreateScript }
  | { kind: 'settleManual'; pick: number; outcome: 'resolve' | 'reject' }
  | { kind: 'closeBehavior'; pick: number | 'default'; script: CloseScript }
  | { kind: 'scriptClient'; pick: number; method: ScriptedMethod; script: MethodScript }
  | { kind: 'drop'; pick: number }
  | { kind: 'notify'; pick: number; method: string }
  /** The affinity store loses every claim and heartbeat (Redis restarted without persistence, FLUSHALL). */
  | { kind: 'storeLoss' }
  | { kind: 'route'; d: Slot }
  /** The next `session:evicted` or `session:created` listener call runs `closeAll()`. */
  | { kind: 'closeAllFromListener' }
  | { kind: 'closeAll' };

/**
 * A host-supplied fingerprint: 0 = none (the default identity), 1 or 2 = `fp-<n>-<urlVariant>` (so it still
 * determines the URL, and the model can check every lease talks to the endpoint it asked for).
 */
export type Fingerprint = 0 | 1 | 2;

/** Registry configuration of one run (small windows so clock advances cross them often). */
export interface RunConfig {
  closeTimeoutMs: number;
  idleTtlMs: number;
  maxAgeMs: number;
  /** `tight`: maxSessions 4, maxSessionsPerUpstream 2. */
  limits: 'none' | 'tight';
  circuitBreaker: boolean;
  probes: 'default' | 'short';
  /** A listener on every event that throws, and a logger that throws. */
  hostileObservers: boolean;
  /** Listeners that call back into the registry: re-warming acquires in `session:evicted`. */
  reentrant: boolean;
  /** An InMemoryAffinityStore (which `storeLoss` empties). */
  affinity: boolean;
}

/** Fixed windows of every run. */
export const WINDOWS = {
  idleValidationMs: 50,
  probeTimeoutMs: 20,
  createTimeoutMs: 100,
  notificationDebounceMs: 10,
  circuitResetMs: 200,
  createDelayMs: 30,
} as const;

const slot = fc.constantFrom<Slot>(0, 1, 2);
const pick = fc.nat({ max: 15 });

const signalMode = fc.oneof(
  { weight: 6, arbitrary: fc.constant<SignalMode>('none') },
  { weight: 1, arbitrary: fc.constant<SignalMode>('already-aborted') },
  { weight: 3, arbitrary: fc.constant<SignalMode>('abortable') },
);

/** Mostly the usual URL; now and then another one, which replaces the session (fingerprint-changed). */
const urlVariant = fc.oneof({ weight: 8, arbitrary: fc.constant<0>(0) }, { weight: 1, arbitrary: fc.constant<1>(1) });

/** Mostly no fingerprint; now and then one of two, so fingerprints change while creations are in flight. */
const fingerprint = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Fingerprint>(0) },
  { weight: 1, arbitrary: fc.constantFrom<Fingerprint>(1, 2) },
);

const acquire = fc.record({
  kind: fc.constant('acquire' as const),
  d: slot,
  u: slot,
  urlVariant,
  fp: fingerprint,
  signal: signalMode,
});

const withSession = fc.record({
  kind: fc.constant('withSession' as const),
  d: slot,
  u: slot,
  urlVariant,
  fp: fingerprint,
  signal: signalMode,
  body: fc.constantFrom<BodyOutcome>(
    'call-tool',
    'call-tool',
    'call-tool',
    'call-tool',
    'throw-tool-error',
    'return-is-error',
    'throw-connection-closed',
    'throw-session-not-found',
  ),
  hold: fc.boolean(),
});

const release = fc.record({
  kind: fc.constant('release' as const),
  pick,
  error: fc.oneof(
    { weight: 10, arbitrary: fc.constant<ReleaseError>('none') },
    { weight: 1, arbitrary: fc.constantFrom<ReleaseError>('tool-error', 'is-error-result', 'connection-closed', 'session-not-found') },
  ),
});

const advance = fc.record({
  kind: fc.constant('advance' as const),
  by: fc.oneof(
    { weight: 3, arbitrary: fc.record({ window: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 12 }) }) },
    { weight: 1, arbitrary: fc.record({ window: fc.constant('jump' as const), ms: fc.constantFrom(51, 301, 501, 2_000) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        window: fc.constantFrom(
          'idle-validation' as const,
          'idle-validation' as const,
          'probe-timeout' as const,
          'create-timeout' as const,
          'close-timeout' as const,
          'idle-ttl' as const,
          'max-age' as const,
          'just-before-max-age' as const,
          'circuit-reset' as const,
        ),
      }),
    },
  ),
});

const nextCreate = fc.record({
  kind: fc.constant('nextCreate' as const),
  script: fc.constantFrom<CreateScript>(
    'ok',
    'fail',
    'fail',
    'hang',
    'hang-ignoring-signal',
    'delay-ok',
    'delay-fail',
    'delay-past-timeout',
    'dies-at-once',
    'spawn-failed',
    'manual',
    'manual',
  ),
});

const scriptClient = fc.record({
  kind: fc.constant('scriptClient' as const),
  pick,
  method: fc.constantFrom<ScriptedMethod>('ping', 'ping', 'listTools', 'listPrompts', 'listResources', 'callTool'),
  script: fc.constantFrom<MethodScript>(
    'ok',
    'method-not-found',
    'timeout',
    'broken',
    'session-not-found',
    'delay',
    'mcp-internal-error',
    'programming-error',
  ),
});

/**
 * One random command, weighted towards acquires, releases and time. `closeAll` is rare (about one run in
 * four calls it before the end), so most of a run exercises an open registry; the end of every run closes it.
 */
export const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { weight: 40, arbitrary: acquire },
  { weight: 24, arbitrary: withSession },
  { weight: 32, arbitrary: release },
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('finishBody' as const), pick }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('evict' as const), d: slot, u: slot }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('evictSession' as const), d: slot }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('evictUpstream' as const), u: slot }) },
  { weight: 36, arbitrary: advance },
  { weight: 16, arbitrary: nextCreate },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('settleManual' as const),
      pick,
      outcome: fc.constantFrom('resolve' as const, 'resolve' as const, 'reject' as const),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('closeBehavior' as const),
      pick: fc.oneof(pick, fc.constant('default' as const)),
      script: fc.constantFrom<CloseScript>('ok', 'fail', 'hang', 'hang-until-signal'),
    }),
  },
  { weight: 12, arbitrary: scriptClient },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('notify' as const),
      pick,
      method: fc.constantFrom(
        'notifications/tools/list_changed',
        'notifications/prompts/list_changed',
        'notifications/resources/list_changed',
        'notifications/message',
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'storeLoss' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('route' as const), d: slot }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'closeAllFromListener' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'closeAll' as const }) },
);

/** Registry configuration of one run. */
export const configArbitrary: fc.Arbitrary<RunConfig> = fc.record({
  closeTimeoutMs: fc.constantFrom(25, 25, 40, 0),
  idleTtlMs: fc.constantFrom(0, 300),
  maxAgeMs: fc.constantFrom(0, 500),
  limits: fc.constantFrom('none' as const, 'none' as const, 'tight' as const),
  circuitBreaker: fc.boolean(),
  probes: fc.constantFrom('default' as const, 'short' as const),
  hostileObservers: fc.boolean(),
  reentrant: fc.boolean(),
  affinity: fc.boolean(),
});
