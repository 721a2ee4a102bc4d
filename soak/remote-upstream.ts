/**
 * The soak run's handle on one upstream child process (see upstream-process.ts): starts it, sends it
 * commands over IPC and waits for the replies, and stops it (killing it if it does not exit in time).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type UpstreamCommand, type UpstreamMessage, type UpstreamStats } from './protocol.js';

const ENTRY = fileURLToPath(new URL('./upstream-process.ts', import.meta.url));
/** Bound on starting a child and on each command's reply. */
const COMMAND_TIMEOUT_MS = 15_000;
/** How long a closing child gets to exit before it is killed. */
const EXIT_TIMEOUT_MS = 5_000;

type Command = UpstreamCommand extends infer T ? (T extends { seq: number } ? Omit<T, 'seq'> : never) : never;

interface Pending {
  resolve(message: Extract<UpstreamMessage, { type: 'reply' }>): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

const EMPTY_STATS: UpstreamStats = {
  liveSessions: 0,
  sessionsCreated: 0,
  bindingViolations: 0,
  restarts: 0,
  expiries: 0,
  delayedRequests: 0,
};

/** One upstream running in a child process. */
export class RemoteUpstream {
  /** The last stats the child reported (every reply carries them). */
  stats: UpstreamStats = EMPTY_STATS;
  /** Set if the child exited without being asked to. */
  crash: string | undefined;

  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<void>;
  #seq = 0;
  #restarting: Promise<void> | undefined;
  #closing = false;

  private constructor(
    readonly id: string,
    readonly url: string,
    child: ChildProcess,
    exited: Promise<void>,
  ) {
    this.#child = child;
    this.#exited = exited;
    child.on('message', (message: UpstreamMessage) => this.#onMessage(message));
    void exited.then(() => {
      if (!this.#closing) this.crash = `upstream ${id} exited unexpectedly (code ${child.exitCode}, signal ${child.signalCode})`;
      for (const pending of this.#pending.values()) {
        clearTimeout(pending.timer);
        pending.reject(new Error(`upstream ${id} exited`));
      }
      this.#pending.clear();
    });
  }

  /** Starts the child process and waits until it listens. */
  static async start(id: string, seed: number): Promise<RemoteUpstream> {
    const child = fork(ENTRY, [id, String(seed)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`upstream ${id} did not start within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      child.once('message', (message: UpstreamMessage) => {
        clearTimeout(timer);
        if (message.type === 'ready') resolve(message.url);
        else reject(new Error(`upstream ${id} sent ${message.type} before ready`));
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`upstream ${id} exited while starting`));
      });
    });
    return new RemoteUpstream(id, url, child, exited);
  }

  /** Whether a restart is in progress. */
  get restarting(): boolean {
    return this.#restarting !== undefined;
  }

  /** Restarts the upstream (see {@link SoakUpstream.restart}); a restart in progress is joined. */
  restart(downtimeMs: number): Promise<void> {
    this.#restarting ??= this.#command({ op: 'restart', downtimeMs })
      .then(() => undefined)
      .finally(() => {
        this.#restarting = undefined;
      });
    return this.#restarting;
  }

  /** Opens a slow window (see {@link SoakUpstream.slowDown}). */
  async slowDown(durationMs: number, probability: number, maxDelayMs: number): Promise<void> {
    await this.#command({ op: 'slowDown', durationMs, probability, maxDelayMs });
  }

  /** Ends any slow window. */
  async stopSlowDown(): Promise<void> {
    await this.#command({ op: 'stopSlowDown' });
  }

  /** Forgets one random session upstream; resolves whether there was one. */
  async expireSession(): Promise<boolean> {
    return (await this.#command({ op: 'expireSession' })).result === true;
  }

  /** Fetches fresh stats. */
  async refreshStats(): Promise<UpstreamStats> {
    await this.#command({ op: 'stats' });
    return this.stats;
  }

  /** Closes the upstream and waits for the child to exit (killing it after {@link EXIT_TIMEOUT_MS}). */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#closing = true;
    await this.#command({ op: 'close' }).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#exited,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.#child.kill('SIGKILL');
          resolve();
        }, EXIT_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    await this.#exited;
  }

  #command(command: Command): Promise<Extract<UpstreamMessage, { type: 'reply' }>> {
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new Error(`upstream ${this.id}: no reply to ${command.op} within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.#pending.set(seq, { resolve, reject, timer });
      this.#child.send({ ...command, seq } satisfies UpstreamCommand, (error) => {
        if (error === null) return;
        clearTimeout(timer);
        this.#pending.delete(seq);
        reject(error);
      });
    });
  }

  #onMessage(message: UpstreamMessage): void {
    if (message.type === 'ready') return;
    const pending = this.#pending.get(message.seq);
    if (pending === undefined) return;
    this.#pending.delete(message.seq);
    clearTimeout(pending.timer);
    if (message.type === 'error') {
      pending.reject(new Error(`upstream ${this.id}: ${message.message}`));
      return;
    }
    this.stats = message.stats;
    pending.resolve(message);
  }
}
