/**
 * One stdio upstream process: spawned in its own process group, its stderr kept as a bounded tail, and torn
 * down exactly once — stdin closed, then SIGTERM and SIGKILL for the whole group — on every path.
 *
 * @packageDocumentation
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { type Clock } from '../../clock.js';
import { onAbort } from '../abort.js';
import { spawnFailureCode, StdioProcessError, type StdioExit } from './failure.js';
import { signalGroup } from './process-group.js';
import { StderrTail } from './stderr-tail.js';

/**
 * How long the group gets between SIGTERM and SIGKILL. Short: the server already had the whole grace
 * window after its stdin closed; this only lets it flush on SIGTERM.
 */
export const KILL_DELAY_MS = 200;

/**
 * Shortest SIGTERM → SIGKILL gap once the close signal fired. After the signal the gap is also at most half
 * of the grace window the signal ended (a registry with `closeTimeoutMs: 100` gets 50 ms), so the SIGKILL
 * lands well within the registry's second `closeTimeoutMs`.
 */
export const MIN_KILL_DELAY_MS = 10;

/** Everything {@link StdioChild.spawn} needs; `env` is final (see `buildChildEnvironment`). */
export interface StdioChildSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** The command's base name, for messages. */
  readonly commandName: string;
  /** Strings scrubbed from every message (env values, long args). */
  readonly secrets: readonly string[];
  /** Each complete stderr line, as it arrives. */
  readonly onStderr?: (line: string) => void;
  /** Timers of the teardown (the SIGKILL delay). */
  readonly clock: Clock;
  /** @default {@link KILL_DELAY_MS} */
  readonly killDelayMs?: number;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A spawned stdio server process.
 *
 * - {@link StdioChild.started} resolves once the OS started it, or rejects with a `spawn_failed`
 *   {@link StdioProcessError} (ENOENT, EACCES, …).
 * - {@link StdioChild.exited} resolves with the leader's exit (never rejects; `undefined` if it never ran).
 * - {@link StdioChild.ended} resolves when its pipes are closed and its group has been reaped: the stderr
 *   tail is then complete.
 * - {@link StdioChild.terminate} is the bounded teardown; when the leader exits by itself, its group is
 *   reaped at once (SIGTERM, SIGKILL shortly after) so no grandchild outlives it.
 *
 * @example
 * ```ts
 * const env = { PATH: '/usr/bin:/bin' };
 * const child = StdioChild.spawn({ command: 'node', args: ['server.js'], env, commandName: 'node', secrets: [], clock: systemClock });
 * await child.started;
 * child.onStdout((text) => void process.stdout.write(text));
 * await child.terminate(AbortSignal.timeout(5_000));
 * ```
 */
export class StdioChild {
  readonly started: Promise<void>;
  private readonly exit = deferred<StdioExit | undefined>();
  private readonly closed = deferred<undefined>();
  private readonly pipesClosed = deferred<undefined>();
  private readonly escalation = new AbortController();
  /** Clock times of the first `terminate` call and of the escalation (the close signal firing). */
  private terminateAt: number | undefined;
  private escalatedAt: number | undefined;
  private readonly tail: StderrTail;
  private exitInfo: StdioExit | undefined;
  private reaping: Promise<void> | undefined;
  private teardown: Promise<void> | undefined;
  private spawnError: StdioProcessError | undefined;
  private stdoutListener: ((text: string) => void) | undefined;

  private constructor(
    private readonly spec: StdioChildSpec,
    private readonly child: ChildProcess,
  ) {
    this.tail = new StderrTail(spec.onStderr);
    this.started = new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (error) => {
        if (child.pid !== undefined && this.spawnError === undefined) return; // a late error of a started child
        this.spawnError = this.failure('spawn_failed', { errno: spawnFailureCode(error) ?? errnoOf(error) });
        this.exit.resolve(undefined);
        this.closed.resolve(undefined);
        reject(this.spawnError);
      });
    });
    this.started.catch(() => undefined);
    child.on('error', () => undefined); // errors after spawn (a failed kill) are not fatal here
    child.once('exit', (exitCode, signalCode) => {
      this.exitInfo = { exitCode, signalCode };
      this.exit.resolve(this.exitInfo);
      // The leader is gone: whatever it started must go too.
      this.reaping ??= this.reapGroup().catch(() => undefined);
    });
    child.once('close', () => this.pipesClosed.resolve(undefined));
    child.stdin?.on('error', () => undefined); // EPIPE after the child exited: the exit reports it
    child.stdout?.setEncoding('utf8').on('data', (text: string) => this.stdoutListener?.(text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => this.tail.push(text));
  }

  /**
   * Spawns `spec.command` with `spec.args` in a new process group, stdio piped, and exactly `spec.env`.
   *
   * @param spec - See {@link StdioChildSpec}.
   * @returns The child; await {@link StdioChild.started} before writing.
   */
  static spawn(spec: StdioChildSpec): StdioChild {
    const child = spawn(spec.command, [...spec.args], {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...spec.env },
      shell: false,
      windowsHide: true,
      ...(spec.cwd !== undefined && { cwd: spec.cwd }),
    });
    return new StdioChild(spec, child);
  }

  /** The leader's pid (`undefined` when the spawn failed). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves with the leader's exit; `undefined` when it never started. Never rejects. */
  get exited(): Promise<StdioExit | undefined> {
    return this.exit.promise;
  }

  /** Resolves when the child's pipes are closed and its group reaped (the stderr tail is complete). */
  get ended(): Promise<void> {
    return this.closed.promise;
  }

  /** How the leader ended, once it has. */
  get exitStatus(): StdioExit | undefined {
    return this.exitInfo;
  }

  /** Whether {@link StdioChild.terminate} was called. */
  get terminating(): boolean {
    return this.teardown !== undefined;
  }

  /** Receives decoded stdout text (one listener). */
  onStdout(listener: (text: string) => void): void {
    this.stdoutListener = listener;
  }

  /**
   * Writes to the child's stdin, honouring backpressure.
   * @throws A `process_exited` {@link StdioProcessError} when stdin is no longer writable.
   */
  async write(text: string): Promise<void> {
    const stdin = this.child.stdin;
    if (stdin === null || !stdin.writable || this.exitInfo !== undefined || this.teardown !== undefined) {
      throw this.failure('process_exited', {});
    }
    if (!stdin.write(text)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stdin.off('drain', done);
          stdin.off('close', done);
          resolve();
        };
        stdin.on('drain', done);
        stdin.on('close', done);
      });
    }
  }

  /**
   * The error describing how this process failed: its spawn failure, or `process_exited` with its exit and
   * the scrubbed stderr tail.
   *
   * @param phase - Appended to the message (`'during initialize'`).
   */
  describeFailure(phase?: string): StdioProcessError {
    return this.spawnError ?? this.failure('process_exited', phase === undefined ? {} : { phase });
  }

  /**
   * Tears the process down, once, however often it is called: closes stdin and waits for the leader to
   * exit; when it has (or, at the latest, when a given `signal` fires) the whole group gets SIGTERM and,
   * {@link KILL_DELAY_MS} later if anything is left, SIGKILL. Resolves when the leader has exited and the
   * group was signalled. Every call's `signal` can end the wait early.
   *
   * @param signal - Fires when the grace window ends (an aborted signal: kill at once); without one, the
   *   call only joins the teardown under way (or waits for the leader to exit by itself).
   */
  terminate(signal?: AbortSignal): Promise<void> {
    this.terminateAt ??= this.spec.clock.now();
    if (signal !== undefined && !this.escalation.signal.aborted) {
      onAbort(signal, () => {
        this.escalatedAt ??= this.spec.clock.now();
        this.escalation.abort();
      });
    }
    this.teardown ??= this.runTeardown();
    return this.teardown;
  }

  private async runTeardown(): Promise<void> {
    const ran = await this.started.then(
      () => true,
      () => false,
    );
    if (!ran) return;
    try {
      this.child.stdin?.end();
    } catch {
      // Already closed.
    }
    if (this.exitInfo === undefined && !this.escalation.signal.aborted) {
      await new Promise<void>((resolve) => {
        const stop = onAbort(this.escalation.signal, resolve);
        void this.exit.promise.then(() => {
          stop();
          resolve();
        });
      });
    }
    this.reaping ??= this.reapGroup().catch(() => undefined);
    await this.reaping;
  }

  /**
   * SIGTERM the group; SIGKILL it {@link StdioChild.killDelay} later if anything is left (sooner once the
   * close signal fires); wait for the leader.
   */
  private async reapGroup(): Promise<void> {
    try {
      if (signalGroup(this.child, 'SIGTERM')) {
        const termAt = this.spec.clock.now();
        // The clock's timers may be unref'd: keep the process alive until the SIGKILL is sent, so a gateway
        // that exits right after `closeAll()` still kills what ignored SIGTERM.
        const keepAlive = setTimeout(() => undefined, KILL_DELAY_MS + 1_000);
        try {
          const escalated = this.escalation.signal.aborted;
          const fired = new Promise<void>((resolve) => onAbort(this.escalation.signal, resolve));
          await this.settle(Promise.race([this.exit.promise, ...(escalated ? [] : [fired])]), this.killDelay());
          if (signalGroup(this.child, 0)) {
            const remaining = termAt + this.killDelay() - this.spec.clock.now();
            if (remaining > 0) await this.settle(new Promise<never>(() => undefined), remaining);
            signalGroup(this.child, 'SIGKILL');
          }
        } finally {
          clearTimeout(keepAlive);
        }
      }
      await this.exit.promise;
      // Let the pipes drain (stderr written just before the exit is still in flight), briefly.
      await this.settle(this.pipesClosed.promise, this.killDelay());
    } finally {
      // A helper outside the group may still hold the pipes; do not wait for it.
      this.child.stdout?.destroy();
      this.child.stderr?.destroy();
      this.child.stdin?.destroy();
      this.tail.end();
      this.closed.resolve(undefined);
    }
  }

  /**
   * The SIGTERM → SIGKILL gap: `killDelayMs` ({@link KILL_DELAY_MS}); once the close signal fired, at most
   * half of the grace window it ended, and at least {@link MIN_KILL_DELAY_MS}.
   */
  private killDelay(): number {
    const delay = this.spec.killDelayMs ?? KILL_DELAY_MS;
    if (this.escalatedAt === undefined || this.terminateAt === undefined) return delay;
    return Math.min(delay, Math.max(MIN_KILL_DELAY_MS, (this.escalatedAt - this.terminateAt) / 2));
  }

  /** Waits for `promise`, at most `ms` (a clock timer, kept alive by a real one). */
  private async settle(promise: Promise<unknown>, ms: number): Promise<void> {
    let handle: unknown;
    const keepAlive = setTimeout(() => undefined, ms + 1_000);
    try {
      await Promise.race([promise, new Promise<void>((resolve) => (handle = this.spec.clock.setTimeout(resolve, ms)))]);
    } finally {
      this.spec.clock.clearTimeout(handle);
      clearTimeout(keepAlive);
    }
  }

  private failure(
    kind: 'spawn_failed' | 'process_exited',
    extra: { errno?: string | undefined; phase?: string },
  ): StdioProcessError {
    return new StdioProcessError(kind, {
      commandName: this.spec.commandName,
      argCount: this.spec.args.length,
      stderrTail: this.tail.text(),
      secrets: this.spec.secrets,
      ...(this.exitInfo !== undefined && { exit: this.exitInfo }),
      ...(extra.errno !== undefined && { errno: extra.errno }),
      ...(extra.phase !== undefined && { phase: extra.phase }),
    });
  }
}

function errnoOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code) ? code : undefined;
}
