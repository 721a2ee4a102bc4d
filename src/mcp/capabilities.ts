// The client capabilities announced upstream for one session (no SDK import; shared by both MCP factories).
import { SERVER_REQUEST_CAPABILITIES } from './server-request.js';

/** Capabilities whose requests only the host's `onServerRequest` can answer. */
const RELAYED: ReadonlySet<string> = new Set(Object.keys(SERVER_REQUEST_CAPABILITIES));

/**
 * What a factory announces upstream in `initialize` for one session (SPEC §11 "Capabilities per session").
 *
 * - With `requested` (the downstream client's declared capabilities, `SessionCreateRequest.clientCapabilities`):
 *   those, minus `sampling`, `elicitation` and `roots` when the host relays no server→client requests
 *   (`relays` false), so an upstream never offers a downstream client a feature that cannot reach it. Other
 *   keys (`experimental`, `tasks`, …) pass as given.
 * - Without it: the factory-level `capabilities`, or sampling/elicitation/roots when the host relays and set
 *   none, or nothing.
 *
 * @param requested - The request's `clientCapabilities`, if any.
 * @param factoryLevel - The factory's `capabilities` option, if set.
 * @param relays - Whether the factory has an `onServerRequest` handler.
 * @returns A fresh, deep-copied object the SDK may keep.
 * @example
 * ```ts
 * announcedCapabilities({ sampling: {}, experimental: { x: {} } }, undefined, false); // { experimental: { x: {} } }
 * ```
 */
export function announcedCapabilities(
  requested: Readonly<Record<string, unknown>> | undefined,
  factoryLevel: Readonly<Record<string, unknown>> | undefined,
  relays: boolean,
): Record<string, unknown> {
  if (requested === undefined) return structuredClone({ ...(factoryLevel ?? (relays ? SERVER_REQUEST_CAPABILITIES : {})) });
  const announced: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(requested)) {
    if (value === undefined || (RELAYED.has(name) && !relays)) continue;
    announced[name] = structuredClone(value);
  }
  return announced;
}
