/**
 * The golden corpus: for every real error `capture.ts` produces (SDK v1 and SDK v2 against loopback servers),
 * what the library must say about it. A change in an SDK's errors shows up here as a failing case by name.
 *
 * `transport`: `isTransportError` (the registry evicts the session); `suspect`: `isSuspectError` (the next
 * acquire probes first); `category`: `classifyError`.
 */

import { type ErrorCategory } from '../../src/classify/index.js';

/** What one captured error must classify as. */
export interface Expected {
  readonly transport: boolean;
  readonly suspect: boolean;
  readonly category: ErrorCategory;
}

const refused: Expected = { transport: true, suspect: false, category: 'connection_refused' };
const reset: Expected = { transport: true, suspect: false, category: 'connection_reset' };
const sessionNotFound: Expected = { transport: true, suspect: true, category: 'not_found' };
const sessionGone400: Expected = { transport: true, suspect: true, category: 'http_error' };
const badRequest: Expected = { transport: false, suspect: true, category: 'http_error' };
const unauthorized: Expected = { transport: false, suspect: false, category: 'auth_unauthorized' };
const forbidden: Expected = { transport: false, suspect: false, category: 'auth_forbidden' };
const serverError: Expected = { transport: false, suspect: true, category: 'upstream_server_error' };
const requestTimeout: Expected = { transport: false, suspect: true, category: 'timeout' };

/** Both SDKs must agree on every case they share; only `connection-closed` is named differently by each. */
function shared(sdk: 'v1' | 'v2'): Record<string, Expected> {
  return {
    [`${sdk}.connection-refused`]: refused,
    [`${sdk}.reset`]: reset,
    [`${sdk}.session-404`]: sessionNotFound,
    [`${sdk}.session-gone-400-conformance`]: sessionGone400,
    [`${sdk}.session-gone-400-sdk-example`]: sessionGone400,
    [`${sdk}.bad-request-400`]: badRequest,
    [`${sdk}.unauthorized-401`]: unauthorized,
    [`${sdk}.forbidden-403`]: forbidden,
    [`${sdk}.server-error-500`]: serverError,
    [`${sdk}.bad-gateway-502`]: serverError,
    [`${sdk}.request-timeout`]: requestTimeout,
  };
}

/** Every case of the corpus, by the id `captureAll` gives it. */
export const CORPUS: Readonly<Record<string, Expected>> = {
  ...shared('v1'),
  ...shared('v2'),
  // v1: McpError -32000 ConnectionClosed; v2: SdkError CONNECTION_CLOSED.
  'v1.connection-closed': { transport: true, suspect: false, category: 'mcp_protocol_error' },
  'v2.connection-closed': { transport: true, suspect: false, category: 'network' },
  // SDK v2 `mode: 'auto'` probes with server/discover: the most specific cause wins over ERA_NEGOTIATION_FAILED
  // (a refused port during the probe is connection_refused; an auth wall or a 5xx keeps its status).
  'v2.auto-negotiation-connection-refused': refused,
  'v2.auto-negotiation-unauthorized-401': unauthorized,
  'v2.auto-negotiation-forbidden-403': forbidden,
  'v2.auto-negotiation-server-error-500': serverError,
  // SDK v2 pinned to 2026-07-28 against a legacy-only SDK v1 server: SdkError ERA_NEGOTIATION_FAILED.
  'v2.era-negotiation-modern-pinned-vs-legacy': { transport: false, suspect: false, category: 'era_negotiation' },
};
