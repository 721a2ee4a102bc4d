/**
 * Error bookkeeping of the soak run. Every failed request is counted under a category:
 * - a library error by its `code` (`CIRCUIT_OPEN`, `EVICTED`, …), a `SessionCreateError` as
 *   `CREATE_FAILED/<classifyError category>`;
 * - anything else (what the SDK client threw inside `withSession`) by `classifyError`.
 *
 * Under restarts, expiries, slow responses and evictions these are *expected*: a transport error evicts the
 * session and the next call rebuilds it. What is *unexpected* (and fails the run) is an error nobody can
 * classify, a tool result with `isError`, or a library error that should not happen while the registry is open
 * (invalid input, capacity, registry closed).
 */
import { inspect } from 'node:util';
import { classifyError, UpstreamSessionError, SessionCreateError } from '../src/index.js';

/** Library error codes the chaos of a soak run legitimately produces. */
const EXPECTED_CODES: ReadonlySet<string> = new Set(['CREATE_FAILED', 'CREATE_TIMEOUT', 'EVICTED', 'CIRCUIT_OPEN']);

/** A tool call that came back with `isError: true` (the counter upstream never does that). */
export class ToolResultError extends Error {
  override readonly name = 'ToolResultError';
}

/** Counts errors by category and keeps a few unexpected ones for the report. */
export class ErrorTally {
  readonly byCategory = new Map<string, number>();
  /** The first error seen in each category, described on one line. */
  readonly examples = new Map<string, string>();
  unexpected = 0;
  readonly unexpectedSamples: string[] = [];

  /** Records one failed request. */
  record(error: unknown): void {
    const { category, expected } = categorize(error);
    this.byCategory.set(category, (this.byCategory.get(category) ?? 0) + 1);
    if (!this.examples.has(category)) this.examples.set(category, describe(error));
    if (!expected) this.#unexpected(category, error);
  }

  /** Records a failure outside any request (a chaos action, a listener). Always unexpected. */
  recordUnexpected(where: string, error: unknown): void {
    this.#unexpected(where, error);
  }

  get total(): number {
    let total = 0;
    for (const n of this.byCategory.values()) total += n;
    return total;
  }

  /** Categories sorted by count, most frequent first. */
  sorted(): [string, number][] {
    return [...this.byCategory].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  }

  #unexpected(category: string, error: unknown): void {
    this.unexpected += 1;
    if (this.unexpectedSamples.length < 5) this.unexpectedSamples.push(`${category}: ${describe(error)}`);
  }
}

/** The category of one error and whether a soak run expects it. */
export function categorize(error: unknown): { category: string; expected: boolean } {
  if (error instanceof ToolResultError) return { category: 'tool_error', expected: false };
  if (error instanceof SessionCreateError) return { category: `CREATE_FAILED/${error.category}`, expected: true };
  if (error instanceof UpstreamSessionError) return { category: error.code, expected: EXPECTED_CODES.has(error.code) };
  const category = classifyError(error);
  return { category, expected: category !== 'unknown' };
}

/** A one-line description of an error and its causes. */
export function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    parts.push(current instanceof Error ? `${current.name}: ${current.message}` : inspect(current, { depth: 1, breakLength: Infinity }));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(' <- ');
}
