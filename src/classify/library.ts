/**
 * Recognizer for this library's own errors, by their stable `code` (never `instanceof`, so classification
 * does not depend on `errors.ts`): timeouts (`CREATE_TIMEOUT`, `PROBE_TIMEOUT`, `STORE_TIMEOUT`), a
 * `SessionCreateError` (`CREATE_FAILED`) by its `category`, and the stdio spawner's failures, branded with
 * `Symbol.for('mcp-upstream-sessions.stdioFailure')` = `'spawn_failed'` | `'process_exited'`.
 *
 * @packageDocumentation
 */

import { ERROR_CATEGORIES, finding, type ErrorCategory, type ErrorFacts, type Finding } from './finding.js';

/** The brand the stdio spawner puts on its failure errors (PREAMBLE contract 3). */
export const STDIO_FAILURE = Symbol.for('mcp-upstream-sessions.stdioFailure');

const CATEGORIES: ReadonlySet<string> = new Set(ERROR_CATEGORIES);
const CREATE_TIMEOUT = finding('timeout');
const PROBE_TIMEOUT = finding('timeout', { suspect: true });
const SPAWN_FAILED = finding('spawn_failed', { sessionGone: true });
const PROCESS_EXITED = finding('process_exited', { sessionGone: true });

/** Library errors and stdio failures. */
export function recognizeLibrary(facts: ErrorFacts): Finding | undefined {
  const { error, code } = facts;
  const stdio = error[STDIO_FAILURE];
  if (stdio === 'spawn_failed') return SPAWN_FAILED;
  if (stdio === 'process_exited') return PROCESS_EXITED;
  if (code === 'CREATE_TIMEOUT' || code === 'STORE_TIMEOUT') return CREATE_TIMEOUT;
  if (code === 'PROBE_TIMEOUT' || facts.name === 'ProbeTimeoutError') return PROBE_TIMEOUT;
  if (code === 'CREATE_FAILED' && typeof error.category === 'string' && CATEGORIES.has(error.category)) {
    return finding(error.category as ErrorCategory);
  }
  return undefined;
}
