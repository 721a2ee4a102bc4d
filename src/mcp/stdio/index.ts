/**
 * stdio upstreams (SPEC §9): one child process per upstream session, shared by both MCP factories.
 *
 * - {@link createStdioTransport} builds the process's transport from a stdio `SessionCreateRequest`.
 * - {@link connectStdioSession} is the whole `create` of a factory for a stdio request: transport,
 *   connection, connect, failure reporting.
 * - {@link validateStdioFactoryOptions} checks the `inheritEnv` and `onStderr` factory options.
 *
 * Nothing here imports an MCP SDK: the transport matches both SDKs' `Transport` structurally.
 *
 * @packageDocumentation
 */

import { systemClock, type Clock } from '../../clock.js';
import { InvalidOptionsError } from '../../errors.js';
import { type ConnectionEvents } from '../../factory.js';
import { commandBaseName, type SessionKey } from '../../request.js';
import { requestSecrets } from '../../sanitize.js';
import { StdioConnection, type StdioClientDriver } from './connection.js';
import { buildChildEnvironment, validateInheritEnv } from './environment.js';
import { StdioTransport } from './transport.js';

export { StdioConnection, type StdioClientDriver } from './connection.js';
export { baseEnvironmentNames, buildChildEnvironment, validateInheritEnv } from './environment.js';
export { STDIO_FAILURE, StdioProcessError, type StdioExit, type StdioFailureKind } from './failure.js';
export { STDERR_TAIL_CHARS, STDERR_TAIL_LINES } from './stderr-tail.js';
export { StdioTransport } from './transport.js';

/**
 * The stdio parts of a `SessionCreateRequest` (`StdioSessionCreateRequest` satisfies it): what the process
 * is, and the creation's signal.
 */
export interface StdioSpawnRequest {
  readonly downstreamSessionId: string;
  readonly upstreamId: string;
  readonly signal: AbortSignal;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/**
 * Receives each line a stdio upstream writes to stderr, with the session it belongs to. Lines are raw:
 * they may contain whatever the server prints (its own arguments and environment included).
 */
export type StdioStderrHandler = (key: SessionKey, line: string) => void;

/** The stdio options of both MCP factories. */
export interface StdioFactoryOptions {
  /**
   * Names of gateway environment variables passed through to every stdio child, on top of the minimal
   * environment (PATH, HOME, USER, LOGNAME, SHELL, TERM, LANG, TMPDIR and the platform's equivalents). The
   * request's `env` wins over them. The gateway's other variables are never passed.
   * @default []
   */
  inheritEnv?: readonly string[];
  /** Streams every stderr line of every stdio child to the host, with its session key. */
  onStderr?: StdioStderrHandler;
}

/** Options of {@link createStdioTransport}. */
export interface StdioTransportOptions {
  /** Validated names (see {@link validateStdioFactoryOptions}). @default [] */
  readonly inheritEnv?: readonly string[];
  readonly onStderr?: StdioStderrHandler | undefined;
  /** The session the process belongs to, for `onStderr`. @default the request's key */
  readonly key?: SessionKey;
  /** Timers of the teardown. @default systemClock */
  readonly clock?: Clock;
  /** The gateway's environment the minimal set and `inheritEnv` are read from. @default process.env */
  readonly parentEnv?: Readonly<Record<string, string | undefined>>;
}

/**
 * Validates the stdio factory options (`inheritEnv`, `onStderr`) of an options object.
 *
 * @param options - The factory's options object (other keys are ignored).
 * @returns The validated stdio options (`inheritEnv` frozen).
 * @throws {@link InvalidOptionsError} naming the option.
 * @example
 * ```ts
 * const stdio = validateStdioFactoryOptions({ inheritEnv: ['NODE_OPTIONS'] }); // { inheritEnv: readonly string[], onStderr? }
 * ```
 */
export function validateStdioFactoryOptions(options: {
  readonly inheritEnv?: unknown;
  readonly onStderr?: unknown;
}): { inheritEnv: readonly string[]; onStderr?: StdioStderrHandler } {
  const inheritEnv = validateInheritEnv(options.inheritEnv);
  const onStderr = options.onStderr;
  if (onStderr === undefined) return { inheritEnv };
  if (typeof onStderr !== 'function') {
    throw new InvalidOptionsError('onStderr', `Expected \`onStderr\` to be a function, got ${onStderr === null ? 'null' : typeof onStderr}`);
  }
  return { inheritEnv, onStderr: onStderr as StdioStderrHandler };
}

/**
 * Builds the transport of one stdio upstream session: nothing is spawned until `start()` (which the SDK's
 * `client.connect` calls). The child gets the minimal environment, `inheritEnv` and the request's `env`.
 *
 * @param request - A stdio `SessionCreateRequest` (validated and frozen by the registry).
 * @param options - See {@link StdioTransportOptions}.
 * @returns The transport; `terminate(signal)` is its bounded teardown, `exited` its exit.
 * @example
 * ```ts
 * declare const spawnRequest: StdioSpawnRequest;
 * declare const sdkClient: { connect(transport: StdioTransport): Promise<void> };
 * const transport = createStdioTransport(spawnRequest, { inheritEnv: ['NODE_OPTIONS'], clock });
 * await sdkClient.connect(transport);
 * await transport.terminate(AbortSignal.timeout(5_000));
 * ```
 */
export function createStdioTransport(request: StdioSpawnRequest, options: StdioTransportOptions = {}): StdioTransport {
  const inheritEnv = options.inheritEnv ?? [];
  const parent = options.parentEnv ?? process.env;
  const env = buildChildEnvironment({ parent, inheritEnv, requestEnv: request.env });
  const inherited: Record<string, string> = {};
  for (const name of inheritEnv) if (env[name] !== undefined && !Object.hasOwn(request.env, name)) inherited[name] = env[name];
  const key: SessionKey = options.key ?? { downstreamSessionId: request.downstreamSessionId, upstreamId: request.upstreamId };
  const onStderr = options.onStderr;
  const clock = options.clock ?? systemClock;
  return new StdioTransport(
    {
      command: request.command,
      args: request.args,
      env,
      ...(request.cwd !== undefined && { cwd: request.cwd }),
      commandName: commandBaseName(request.command),
      secrets: requestSecrets({ env: { ...inherited, ...request.env }, args: request.args }),
      ...(onStderr !== undefined && { onStderr: (line: string) => onStderr(key, line) }),
      clock,
    },
    clock,
  );
}

/**
 * The whole `create` of an MCP factory for a stdio request: builds the transport, connects `client` through
 * `driver`, and returns the connection. Honours `request.signal` (the process is killed at once when it
 * fires during the creation).
 *
 * @param client - The SDK client, already configured (capabilities, server-request handlers).
 * @param request - A stdio `SessionCreateRequest`.
 * @param events - The registry's callbacks.
 * @param driver - How to connect and close `client` (see {@link StdioClientDriver}).
 * @param options - See {@link StdioTransportOptions}.
 * @returns The open connection.
 * @throws `request.signal.reason` when aborted; a `StdioProcessError` (`spawn_failed` / `process_exited`,
 *   recognised by `classifyError`) when the process cannot start or ends during the handshake; else the
 *   client's error.
 * @example
 * ```ts
 * declare const spawnRequest: StdioSpawnRequest;
 * declare const events: ConnectionEvents;
 * declare const sdkClient: { connect(transport: StdioTransport): Promise<void>; close(): Promise<void> };
 * const connection = await connectStdioSession(sdkClient, spawnRequest, events, {
 *   connect: (t) => sdkClient.connect(t),
 *   close: () => sdkClient.close(),
 * });
 * ```
 */
export async function connectStdioSession<C>(
  client: C,
  request: StdioSpawnRequest,
  events: ConnectionEvents,
  driver: StdioClientDriver,
  options: StdioTransportOptions = {},
): Promise<StdioConnection<C>> {
  request.signal.throwIfAborted();
  const transport = createStdioTransport(request, options);
  const connection = new StdioConnection(client, transport, events, driver);
  await connection.connect(request.signal);
  return connection;
}
