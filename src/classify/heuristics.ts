/**
 * The last recognizer: what an error's message or generic fields say when no recognizer knew its type — an
 * upstream saying it no longer knows the session, and a numeric `status` / `statusCode` of 400–599.
 *
 * @packageDocumentation
 */

import { finding, httpFinding, type ErrorFacts, type Finding } from './finding.js';

/**
 * An upstream saying it no longer knows the session: "Session not found", "session terminated", "Invalid or
 * missing session ID" (the conformance reference server's 400), "Bad Request: No valid session ID provided"
 * (the SDK examples' 400), "Mcp-Session-Id header is required", "Unknown session", "Session ID expired", and the SDK v1 server
 * transport's "Server not initialized" (a restarted single-session upstream that never saw this session).
 */
const SESSION_GONE_PARTS = [
  String.raw`session(?:[ -]?id)? (?:was |has been |is )?(?:not found|terminated|expired|unknown|invalid|missing)`,
  String.raw`(?:invalid|missing|unknown|expired|stale|no valid)(?: or (?:invalid|missing|unknown|expired|stale))? (?:mcp[ -])?session[ -]?id`,
  String.raw`(?:unknown|expired|terminated|stale) (?:mcp[ -])?session`,
  String.raw`mcp-session-id header is required`,
  String.raw`server not initialized`,
];
const SESSION_GONE = new RegExp(String.raw`\b(?:${SESSION_GONE_PARTS.join('|')})\b`, 'i');

const GONE = finding('not_found', { sessionGone: true });

/**
 * Tells whether a message says the upstream no longer knows the session (the wordings listed above). Every
 * recognizer reads this flag: an HTTP 400 with such a message ends the session like a 404.
 *
 * @param message - An error message.
 */
export function saysSessionGone(message: string): boolean {
  return message.length > 0 && SESSION_GONE.test(message);
}

/** Session-gone messages on any error type, then a generic HTTP `status` / `statusCode`. */
export function recognizeHeuristics(facts: ErrorFacts): Finding | undefined {
  if (facts.gone) return GONE;
  const { error } = facts;
  const status = typeof error.status === 'number' ? error.status : error.statusCode;
  if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599) {
    return httpFinding(status, false);
  }
  return undefined;
}
