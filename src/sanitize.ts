/**
 * Pure redaction of URLs for snapshots, events, logs and error messages: credentials and query values never
 * leave the library.
 *
 * @packageDocumentation
 */

/** What replaces each redacted part (userinfo, query value, opaque URL body). */
const REDACTED = '***';

/** What {@link sanitizeUrl} returns for input that does not parse as a URL (the input is never echoed). */
export const INVALID_URL_PLACEHOLDER = '[invalid url]';

/**
 * Absolute `scheme://` URLs inside free text (http, https, ws, wss, and any other such as `redis://`). Stops at
 * whitespace, quotes and angle brackets, so a URL in JSON (`"url":"https://…"`) or markup ends where it should.
 */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;
/** Sentence punctuation that usually follows a URL in prose rather than belonging to it. */
const TRAILING_PUNCTUATION = /[.,;:!?)\]}]+$/;

function redactQuery(search: string): string {
  if (search.length <= 1) return '';
  const parts = search.slice(1).split('&');
  let out = '';
  for (const part of parts) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    // A segment without `=` may be a bare token (`?sk-abc123`), so it is redacted whole.
    const redacted = eq === -1 ? REDACTED : `${part.slice(0, eq)}=${REDACTED}`;
    out += out === '' ? `?${redacted}` : `&${redacted}`;
  }
  return out;
}

/**
 * Returns a URL that is safe to log: userinfo replaced by `***:***` (or `***` when there is no password),
 * every query-parameter value replaced by `***` with the names kept, and the fragment dropped. Scheme, host,
 * port and path are kept. An opaque URL with no host (`mailto:`, `data:`) keeps only its scheme.
 *
 * Input that does not parse as a URL is never echoed: the result is {@link INVALID_URL_PLACEHOLDER}.
 * Never throws.
 *
 * @param url - Any string.
 * @returns The sanitized URL, or `'[invalid url]'`.
 * @example
 * ```ts
 * sanitizeUrl('https://alice:s3cret@mcp.example.com/mcp?api_key=abc&region=eu#frag');
 * // 'https://***:***@mcp.example.com/mcp?api_key=***&region=***'
 * sanitizeUrl('not a url'); // '[invalid url]'
 * ```
 */
export function sanitizeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return INVALID_URL_PLACEHOLDER;
  }
  if (parsed.host === '' && !parsed.pathname.startsWith('/')) return `${parsed.protocol}${REDACTED}`;
  if (parsed.password !== '') {
    parsed.username = REDACTED;
    parsed.password = REDACTED;
  } else if (parsed.username !== '') {
    parsed.username = REDACTED;
  }
  parsed.hash = '';
  parsed.search = redactQuery(parsed.search);
  return parsed.href;
}

/**
 * Sanitizes every absolute `scheme://` URL (`http`, `https`, `ws`, `wss`, but also `redis://` and the like)
 * embedded in free text with {@link sanitizeUrl}, leaving the rest of the text as it is. Use it on messages that came from upstreams (e.g. an SDK error
 * that quotes the endpoint) before they reach logs or events. Trailing sentence punctuation after a URL is
 * kept outside it. Never throws.
 *
 * @param text - Any text.
 * @returns The text with each embedded URL sanitized.
 * @example
 * ```ts
 * redactUrlsInText('POST to https://u:p@up.example/mcp?token=abc failed.');
 * // 'POST to https://***:***@up.example/mcp?token=*** failed.'
 * ```
 */
export function redactUrlsInText(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (match) => {
    const trailing = TRAILING_PUNCTUATION.exec(match)?.[0] ?? '';
    const url = trailing === '' ? match : match.slice(0, -trailing.length);
    return sanitizeUrl(url) + trailing;
  });
}
