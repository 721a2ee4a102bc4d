import { createHash } from 'node:crypto';

/** What identifies an upstream for era verdicts: its URL, or for stdio the command line that starts it. */
export type EraTarget =
  | { readonly transport: 'streamable-http' | 'sse'; readonly url: string }
  | { readonly transport: 'stdio'; readonly command: string; readonly args: readonly string[]; readonly cwd?: string };

/** Who is asking: the request's `principal`, and its `authorization` header used when there is no principal. */
export interface EraIdentity {
  readonly principal?: string | undefined;
  readonly authorization?: string | undefined;
}

/**
 * The era-store key of an upstream for one authorization context: SHA-256 (hex) over the target (the URL,
 * or for stdio the command, args and cwd) and the identity (the request's `principal`, else its
 * `authorization` header, else none). Pure and injective over its inputs (they are JSON-encoded, tagged,
 * before hashing), so a store never sees a URL — which may carry userinfo or an `?api_key=` — nor a
 * credential.
 *
 * @param target - The upstream.
 * @param identity - The authorization context; `{}` for an anonymous one.
 * @returns 64 lower-case hex characters.
 * @example
 * ```ts
 * eraKey({ transport: 'streamable-http', url: 'https://mcp.example.com/mcp' }, { principal: 'tenant-42' }); // '3f1c…'
 * ```
 */
export function eraKey(target: EraTarget, identity: EraIdentity): string {
  // 'sse' and 'streamable-http' share a key: the era is a property of the server at that URL.
  const subject = target.transport === 'stdio' ? ['stdio', target.command, [...target.args], target.cwd ?? null] : ['http', target.url];
  const who =
    identity.principal !== undefined ? ['principal', identity.principal] : identity.authorization !== undefined ? ['authorization', identity.authorization] : null;
  return createHash('sha256')
    .update(JSON.stringify([subject, who]))
    .digest('hex');
}
