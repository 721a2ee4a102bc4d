/**
 * The errors a stdio upstream process fails with: it could not be started (`spawn_failed`) or it ended
 * (`process_exited`). Their messages are safe to show: the command's base name, the number of args and the
 * child's stderr tail with every secret scrubbed (`redactText`: env values, args of 6 or more characters,
 * URL credentials, `Bearer …`) — never an arg, an env value or the command's full path.
 *
 * @packageDocumentation
 */

import { redactText } from '../../sanitize.js';

/**
 * The brand `classifyError` recognises (PREAMBLE contract 3): an error carrying this property, whose value is
 * the category, is a stdio failure. `Symbol.for`, so duplicate copies of the package agree.
 */
export const STDIO_FAILURE: unique symbol = Symbol.for('mcp-upstream-sessions.stdioFailure');

/** The two stdio failure categories. */
export type StdioFailureKind = 'spawn_failed' | 'process_exited';

/** Node error codes of a command that cannot be started at all. */
const SPAWN_FAILURE_CODES: ReadonlySet<string> = new Set(['ENOENT', 'EACCES', 'ENOTDIR', 'EPERM', 'ENOEXEC']);

/** How a stdio process ended: the leader's exit code, or the signal that killed it. */
export interface StdioExit {
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
}

/**
 * A stdio upstream process failed. Recognised by its {@link STDIO_FAILURE} brand (`classifyError` →
 * `spawn_failed` / `process_exited`); the registry wraps it in `SessionCreateError` as `cause`.
 *
 * @example
 * ```ts
 * if (error instanceof StdioProcessError && error.kind === 'process_exited') console.log(error.exitCode);
 * ```
 */
export class StdioProcessError extends Error {
  /** The failure category (also under the {@link STDIO_FAILURE} brand). */
  readonly kind: StdioFailureKind;
  /** The leader's exit code, when it exited by itself. */
  readonly exitCode: number | null;
  /** The signal that ended the leader, when a signal did. */
  readonly signalCode: NodeJS.Signals | null;
  /** The Node error code of a failed spawn (`ENOENT`, `EACCES`, …), else `undefined`. */
  readonly errno: string | undefined;
  /** The scrubbed stderr tail ('' when the child wrote nothing). */
  readonly stderrTail: string;
  declare readonly [STDIO_FAILURE]: StdioFailureKind;

  /** @param details - See {@link StdioFailureDetails}; the message is built from them. */
  constructor(kind: StdioFailureKind, details: StdioFailureDetails) {
    const tail = redactText(details.stderrTail, details.secrets);
    super(describe(kind, details, tail));
    this.name = 'StdioProcessError';
    this.kind = kind;
    this.exitCode = details.exit?.exitCode ?? null;
    this.signalCode = details.exit?.signalCode ?? null;
    this.errno = details.errno;
    this.stderrTail = tail;
    Object.defineProperty(this, STDIO_FAILURE, { value: kind, enumerable: false });
  }
}

/** What a {@link StdioProcessError} message is built from. */
export interface StdioFailureDetails {
  /** The command's base name (never its full path). */
  readonly commandName: string;
  readonly argCount: number;
  /** The raw stderr tail; scrubbed with `secrets` before use. */
  readonly stderrTail: string;
  /** Strings that must not appear (`requestSecrets` of the env values and args). */
  readonly secrets: readonly string[];
  readonly exit?: StdioExit;
  readonly errno?: string;
  /** What the process was doing, for the message (`'during initialize'`). */
  readonly phase?: string;
}

function describe(kind: StdioFailureKind, details: StdioFailureDetails, tail: string): string {
  const what = `stdio server \`${details.commandName}\` (${details.argCount} ${details.argCount === 1 ? 'arg' : 'args'})`;
  const phase = details.phase === undefined ? '' : ` ${details.phase}`;
  let head: string;
  if (kind === 'spawn_failed') head = `Failed to start ${what}: ${details.errno ?? 'spawn error'}`;
  else if (details.exit?.signalCode != null) head = `The ${what} was killed by ${details.exit.signalCode}${phase}`;
  else if (details.exit?.exitCode != null) head = `The ${what} exited with code ${details.exit.exitCode}${phase}`;
  else head = `The ${what} ended${phase}`;
  return tail === '' ? head : `${head}; stderr:\n${tail}`;
}

/**
 * Whether a spawn `error` means the command cannot be started (missing, not executable): `spawn_failed`.
 *
 * @param error - The child process's `error` event argument.
 * @returns The Node error code when it is such an error, else `undefined`.
 */
export function spawnFailureCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && SPAWN_FAILURE_CODES.has(code) ? code : undefined;
}
