/**
 * An MCP transport over a stdio child's stdin/stdout (newline-delimited JSON-RPC), usable by SDK v1 and
 * SDK v2 alike: it matches both SDKs' `Transport` shape structurally and imports neither.
 *
 * @packageDocumentation
 */

import { type Clock } from '../../clock.js';
import { StdioChild, type StdioChildSpec } from './child.js';
import { StdioProcessError, type StdioExit } from './failure.js';

/** Most bytes of one unfinished stdout line kept before the child is declared broken (as the SDKs do). */
export const MAX_LINE_LENGTH = 10 * 1024 * 1024;

/**
 * Grace window of a `close()` that the SDK starts on its own (for example after a failed `initialize`),
 * when no teardown with the registry's signal is under way.
 */
export const DEFAULT_CLOSE_GRACE_MS = 2_000;

/** A JSON-RPC message as the transport sees it: a parsed JSON object. */
export type JsonRpcMessageLike = object;

/**
 * One stdio upstream process as an MCP `Transport`.
 *
 * - `start()` spawns the process (in its own group, with the environment it was built with); it rejects
 *   with a `spawn_failed` {@link StdioProcessError} when the command cannot be started.
 * - `send()` writes one JSON line to stdin; `onmessage` gets each JSON object line of stdout. A line that is
 *   not a JSON object is reported to `onerror` and skipped.
 * - `onclose` fires once, when the process is gone and its pipes are closed (or when `close()` is called
 *   before `start()`).
 * - `close()` starts the teardown with a {@link DEFAULT_CLOSE_GRACE_MS} grace window unless
 *   {@link StdioTransport.terminate} already started it with the registry's signal; both return the same
 *   teardown.
 * - `pid` and `stderr` exist so SDK v2 recognises a stdio transport (`stderr` is always `null`: the stderr
 *   pipe feeds the bounded tail and `onStderr`).
 *
 * @example
 * ```ts
 * import { createStdioTransport, type StdioSpawnRequest } from './index.js';
 * declare const spawnRequest: StdioSpawnRequest;
 * declare const sdkClient: { connect(transport: StdioTransport): Promise<void> };
 * const transport = createStdioTransport(spawnRequest, { onStderr: (key, line) => log.debug(line, { upstream: key.upstreamId }) });
 * await sdkClient.connect(transport);
 * // …
 * await transport.terminate(AbortSignal.timeout(5_000));
 * ```
 */
export class StdioTransport {
  onmessage?: ((message: JsonRpcMessageLike) => void) | undefined;
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  /**
   * Sees every parsed message before `onmessage` (the connection forwards notifications from here, so it
   * does not depend on an SDK's handler registry).
   */
  tap?: ((message: JsonRpcMessageLike) => void) | undefined;

  /** The protocol version the SDK negotiated (set through `setProtocolVersion` after the handshake). */
  protocolVersion: string | undefined;

  private child: StdioChild | undefined;
  private buffer = '';
  private closedEarly = false;
  private closeNotified = false;
  private readonly exitedDeferred = deferred<StdioExit | undefined>();
  private readonly endedDeferred = deferred<undefined>();

  /**
   * @param spec - The process to spawn on `start()`.
   * @param clock - Timers of the default grace window.
   */
  constructor(
    private readonly spec: StdioChildSpec,
    private readonly clock: Clock,
  ) {}

  /** The leader's pid once started (`null` before, or when the spawn failed). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Always `null` (see the class notes); present for SDK v2's stdio detection. */
  get stderr(): null {
    return null;
  }

  /** Resolves with the leader's exit; `undefined` when it never ran. Never rejects. */
  get exited(): Promise<StdioExit | undefined> {
    return this.exitedDeferred.promise;
  }

  /** Resolves when the process is gone and its pipes closed, or the transport closed before `start()`. */
  get ended(): Promise<void> {
    return this.endedDeferred.promise;
  }

  /** How the leader ended, once it has. */
  get exitStatus(): StdioExit | undefined {
    return this.child?.exitStatus;
  }

  /**
   * Spawns the process (the SDK's `client.connect` calls this).
   * @throws A `spawn_failed` {@link StdioProcessError} when the command cannot be started; a
   *   `process_exited` one when the transport was closed before.
   */
  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error('StdioTransport already started');
    if (this.closedEarly) throw new StdioProcessError('process_exited', this.details('before start'));
    let child: StdioChild;
    try {
      child = StdioChild.spawn(this.spec);
    } catch (error) {
      // Synchronous spawn errors carry the arguments in their message: describe them safely instead.
      this.exitedDeferred.resolve(undefined);
      this.notifyClose();
      throw new StdioProcessError('spawn_failed', { ...this.details(), errno: errorCode(error) ?? 'invalid spawn arguments' });
    }
    this.child = child;
    child.onStdout((text) => this.read(text));
    void child.exited.then((exit) => this.exitedDeferred.resolve(exit));
    void child.ended.then(() => this.notifyClose());
    await child.started;
  }

  /**
   * Writes one message as a JSON line to the child's stdin (waits for `drain` under backpressure).
   * @throws `Error('Not connected')` before `start()`; a `process_exited` {@link StdioProcessError} once the
   *   process is exiting or gone.
   */
  async send(message: JsonRpcMessageLike, _options?: unknown): Promise<void> {
    const child = this.child;
    if (child === undefined) throw new Error('Not connected');
    await child.write(`${JSON.stringify(message)}\n`);
  }

  /** Called by both SDKs once the protocol version is known. */
  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  /** Closes the transport (the SDK calls this from `client.close()`); see the class notes. */
  close(): Promise<void> {
    if (this.child === undefined) {
      this.closedEarly = true;
      this.exitedDeferred.resolve(undefined);
      this.notifyClose();
      return Promise.resolve();
    }
    // A teardown under way keeps its own bound (the registry's signal); the SDK's close only joins it.
    if (this.child.terminating) return this.child.terminate();
    return this.child.terminate(timeoutSignal(this.clock, DEFAULT_CLOSE_GRACE_MS, this.child));
  }

  /**
   * The bounded teardown (SPEC §9): close stdin, wait for the leader, then SIGTERM and SIGKILL the group; at
   * the latest when `signal` fires. Idempotent: every call returns the same teardown, and each call's
   * `signal` can shorten it.
   *
   * @param signal - Fires when the grace window ends; an aborted signal kills at once.
   */
  terminate(signal: AbortSignal): Promise<void> {
    if (this.child === undefined) return this.close();
    return this.child.terminate(signal);
  }

  /**
   * The safe error for how this process failed — its spawn failure, or `process_exited` with the exit and
   * the scrubbed stderr tail.
   *
   * @param phase - Appended to the message (`'during initialize'`).
   */
  describeFailure(phase?: string): StdioProcessError {
    return this.child?.describeFailure(phase) ?? new StdioProcessError('process_exited', this.details(phase));
  }

  private details(phase?: string): ConstructorParameters<typeof StdioProcessError>[1] {
    return {
      commandName: this.spec.commandName,
      argCount: this.spec.args.length,
      stderrTail: '',
      secrets: this.spec.secrets,
      ...(phase !== undefined && { phase }),
    };
  }

  private read(text: string): void {
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      const line = this.buffer + text.slice(start, newline);
      this.buffer = '';
      start = newline + 1;
      this.deliver(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    this.buffer += text.slice(start);
    if (this.buffer.length > MAX_LINE_LENGTH) {
      this.buffer = '';
      this.onerror?.(new Error(`stdio server output line exceeded ${MAX_LINE_LENGTH} bytes; closing`));
      void this.close();
    }
  }

  private deliver(line: string): void {
    if (line.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      // The line is not echoed: a server may print secrets it was given.
      this.onerror?.(new Error(`stdio server wrote a line that is not JSON (${line.length} characters)`));
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.onerror?.(new Error('stdio server wrote JSON that is not a JSON-RPC message object'));
      return;
    }
    try {
      this.tap?.(message);
    } catch {
      // A forwarding hook must not break message delivery.
    }
    this.onmessage?.(message);
  }

  private notifyClose(): void {
    if (this.closeNotified) return;
    this.closeNotified = true;
    this.endedDeferred.resolve(undefined);
    this.onclose?.();
  }
}

/** A signal that aborts after `ms` on `clock`, or never once `child` has exited. */
function timeoutSignal(clock: Clock, ms: number, child: StdioChild): AbortSignal {
  const controller = new AbortController();
  const handle = clock.setTimeout(() => controller.abort(), ms);
  void child.exited.then(() => clock.clearTimeout(handle));
  return controller.signal;
}

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : undefined;
}
