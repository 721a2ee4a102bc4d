// Header and URL handling shared by both MCP SDK factories (no SDK import).
import { InvalidRequestError } from '../errors.js';
import { REMOVED_HEADERS } from '../request.js';

/** Parses the upstream URL and requires http or https. Never echoes the URL (it may carry credentials). */
export function httpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidRequestError('url', 'Expected `url` to be an absolute http or https URL; it does not parse');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidRequestError('url', `Expected \`url\` to use http: or https:, got \`${parsed.protocol}\``);
  }
  return parsed;
}

/** `decodeURIComponent`, keeping malformed escapes (`%zz`, which URL parsing lets through) as they are. */
function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * Moves `user:password@` out of the URL into an `authorization: Basic` header (unless one is already set):
 * `fetch` refuses URLs with credentials, and its error message would repeat them.
 */
export function takeUserinfo(url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  const credentials = `${decode(url.username)}:${decode(url.password)}`;
  url.username = '';
  url.password = '';
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}

/**
 * The headers sent on every upstream request: `requestInit.headers`, then the per-session headers over them,
 * lower-cased, without internal MCP and hop-by-hop headers (a stray `mcp-session-id` here would override the
 * transport's own).
 */
export function mergeHeaders(
  base: HeadersInit | undefined,
  session: Readonly<Record<string, string>>,
  basicAuth: string | undefined,
): Record<string, string> {
  const merged: Record<string, string> = {};
  new Headers(base).forEach((value, name) => {
    merged[name] = value;
  });
  Object.assign(merged, session);
  for (const name of Object.keys(merged)) {
    if (REMOVED_HEADERS.has(name)) delete merged[name];
  }
  if (basicAuth !== undefined) merged.authorization ??= basicAuth;
  return merged;
}

export function hasHeaders(headers: Record<string, string>): boolean {
  for (const _name in headers) return true;
  return false;
}
