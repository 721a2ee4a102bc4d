/**
 * Recognizer for Node and undici errors: system and undici `code`s (socket, DNS, TLS), `AbortError` /
 * `TimeoutError`, and `TypeError: fetch failed` / `terminated` from undici's fetch.
 *
 * @packageDocumentation
 */

import { finding, type ErrorFacts, type Finding } from './finding.js';

const REFUSED = finding('connection_refused', { transport: true });
const RESET = finding('connection_reset', { transport: true });
const TIMEOUT_TRANSPORT = finding('timeout', { transport: true, suspect: true });
const SLOW_RESPONSE = finding('timeout', { suspect: true });
const ABORTED = finding('timeout');
const DNS = finding('dns');
const TLS = finding('tls');
const NETWORK = finding('network', { transport: true });

/**
 * Node system and undici error codes. DNS and TLS failures are deliberately *not* transport errors: they say
 * nothing about the upstream session (the server may still hold it), and rebuilding cannot succeed until
 * resolution or the certificate is fixed. `UND_ERR_HEADERS_TIMEOUT` / `UND_ERR_BODY_TIMEOUT` are slow
 * responses, not dead connections, so they are (suspect) timeouts but not transport errors either.
 */
const SYSTEM_CODES: ReadonlyMap<string, Finding> = new Map([
  ['ECONNREFUSED', REFUSED],
  ['ECONNRESET', RESET],
  ['EPIPE', RESET],
  ['ECONNABORTED', RESET],
  ['UND_ERR_SOCKET', RESET],
  ['ETIMEDOUT', TIMEOUT_TRANSPORT],
  ['ESOCKETTIMEDOUT', TIMEOUT_TRANSPORT],
  ['UND_ERR_CONNECT_TIMEOUT', TIMEOUT_TRANSPORT],
  ['UND_ERR_HEADERS_TIMEOUT', SLOW_RESPONSE],
  ['UND_ERR_BODY_TIMEOUT', SLOW_RESPONSE],
  ['ENOTFOUND', DNS],
  ['EAI_AGAIN', DNS],
  ['EAI_FAIL', DNS],
  ['EAI_NONAME', DNS],
  ['EAI_NODATA', DNS],
  ['EHOSTUNREACH', NETWORK],
  ['EHOSTDOWN', NETWORK],
  ['ENETUNREACH', NETWORK],
  ['ENETDOWN', NETWORK],
  ['ENETRESET', NETWORK],
  ['EADDRNOTAVAIL', NETWORK],
  ['UND_ERR_CLOSED', NETWORK],
  ['UND_ERR_DESTROYED', NETWORK],
  ['UND_ERR_SOCKET_CLOSED', NETWORK],
]);

const TLS_CODE =
  /^(?:CERT_|ERR_TLS_|ERR_SSL_|ERR_OSSL_|UNABLE_TO_(?:GET|VERIFY|DECRYPT|DECODE)_|(?:DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED|EPROTO)$)/;
/** A system error code inside a flattened message, e.g. `SSE error: TypeError: fetch failed: connect ECONNREFUSED …`. */
const CODE_IN_MESSAGE = /\b(?:E[A-Z][A-Z_]{2,}|UND_ERR_[A-Z_]+|CERT_[A-Z_]+|ERR_TLS_[A-Z_]+|ERR_SSL_[A-Z_]+)\b/g;
/** Most candidate codes read from one message. */
const MAX_CODES_IN_MESSAGE = 8;

/** What a Node system or undici error code says, if it is one we know. */
export function systemCodeFinding(code: string): Finding | undefined {
  return SYSTEM_CODES.get(code) ?? (TLS_CODE.test(code) ? TLS : undefined);
}

/** The first known system error code named in a flattened message. */
export function codeInMessage(message: string): Finding | undefined {
  let seen = 0;
  for (const match of message.matchAll(CODE_IN_MESSAGE)) {
    const found = systemCodeFinding(match[0]);
    if (found !== undefined || ++seen >= MAX_CODES_IN_MESSAGE) return found;
  }
  return undefined;
}

/**
 * Node and undici errors. An `AbortError` is a timeout that says nothing about the upstream (the caller gave
 * up); a `TimeoutError` (`AbortSignal.timeout`) is a request timeout and makes the session suspect.
 */
export function recognizeNode(facts: ErrorFacts): Finding | undefined {
  const { name, message, code } = facts;
  if (name === 'AbortError') return ABORTED;
  if (name === 'TimeoutError') return SLOW_RESPONSE;
  if (typeof code === 'string') {
    const found = systemCodeFinding(code);
    if (found !== undefined) return found;
  }
  if (name === 'TypeError' && (message === 'fetch failed' || message === 'terminated')) return NETWORK;
  return undefined;
}
