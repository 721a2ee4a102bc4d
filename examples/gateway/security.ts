/**
 * DNS-rebinding protection for a gateway on loopback: the `Host` header must name the gateway itself, and a
 * browser's `Origin` (when there is one) must be an allowed origin. A page on `http://evil.example` that
 * re-points its DNS name to 127.0.0.1 sends `Host: evil.example:<port>` and `Origin: http://evil.example`,
 * so both checks refuse it with 403 before any MCP handling (the MCP spec: servers MUST validate `Origin`).
 */
import { type IncomingMessage } from 'node:http';

export interface OriginPolicy {
  /** Accepted `Host` header values (`host:port`, lower case). */
  readonly allowedHosts: ReadonlySet<string>;
  /** Accepted `Origin` header values (`scheme://host:port`, lower case). Requests without `Origin` pass. */
  readonly allowedOrigins: ReadonlySet<string>;
}

/** The policy of a gateway listening on loopback `port`: `127.0.0.1`, `localhost` and `[::1]` on that port. */
export function loopbackPolicy(port: number, extra: { hosts?: readonly string[]; origins?: readonly string[] } = {}): OriginPolicy {
  const names = ['127.0.0.1', 'localhost', '[::1]'];
  return {
    allowedHosts: new Set([...names.map((name) => `${name}:${port}`), ...(extra.hosts ?? [])].map((h) => h.toLowerCase())),
    allowedOrigins: new Set(
      [...names.map((name) => `http://${name}:${port}`), ...(extra.origins ?? [])].map((o) => o.toLowerCase()),
    ),
  };
}

/** Why a request was refused, or `undefined` when it may go on. Never echoes the header values. */
export function checkHostAndOrigin(req: IncomingMessage, policy: OriginPolicy): string | undefined {
  const host = req.headers.host;
  if (typeof host !== 'string' || !policy.allowedHosts.has(host.toLowerCase())) return 'Invalid Host header';
  const origin = req.headers.origin;
  if (origin !== undefined && !policy.allowedOrigins.has(origin.toLowerCase())) return 'Invalid Origin header';
  return undefined;
}
