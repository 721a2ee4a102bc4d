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
 * An absolute `scheme://` URL, or a relative path with a query (`/mcp?api_key=…`, as an upstream that echoes the
 * request line writes it), inside free text. Stops at whitespace, quotes, angle brackets and backticks, so a URL
 * in JSON (`"url":"https://…"`) or markup ends where it should. A relative path counts only where it starts a
 * token (not inside a word or another path).
 */
const URL_OR_PATH_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+|(?<![\w/.:%-])\/[^\s"'<>`?#]*\?[^\s"'<>`]+/gi;

/**
 * `Authorization`-style credentials in free text: `Bearer <token>`, `Basic <base64>` and friends. The scheme
 * is kept; the credential is replaced.
 */
const CREDENTIAL_IN_TEXT = /\b([Bb]earer|BEARER|Basic|BASIC|Digest|DPoP)(\s+)[A-Za-z0-9\-._~+/=:]+/g;

/** Secrets shorter than this are scrubbed only where they stand alone, never inside a longer word or number. */
const MIN_EMBEDDED_SECRET_LENGTH = 6;

/** The stdio args shorter than this are not secrets (flags such as `-y`, `--port`). */
const MIN_ARG_SECRET_LENGTH = 6;

/** Most secrets one call scrubs: bounds the work on hostile inputs (a request with thousands of headers). */
const MAX_SECRETS = 256;

/** Sanitizes a relative `path?query#fragment`: query values redacted, names kept, fragment dropped. */
function sanitizeRelativePath(path: string): string {
  const hash = path.indexOf('#');
  const noFragment = hash === -1 ? path : path.slice(0, hash);
  const question = noFragment.indexOf('?');
  if (question === -1) return noFragment;
  return noFragment.slice(0, question) + redactQuery(noFragment.slice(question));
}

/**
 * Sanitizes every URL embedded in free text, leaving the rest of the text as it is: each absolute `scheme://`
 * URL (`http`, `https`, `ws`, `wss`, but also `redis://` and the like) with {@link sanitizeUrl}, and each
 * relative path with a query (`/mcp?api_key=abc`, as an upstream that echoes the request line writes it) with
 * its query values redacted. Use it on messages that came from upstreams (e.g. an SDK error that quotes the
 * endpoint) before they reach logs or events. Trailing sentence punctuation after a URL is kept outside it.
 * Never throws.
 *
 * @param text - Any text.
 * @returns The text with each embedded URL sanitized.
 * @example
 * ```ts
 * redactUrlsInText('POST to https://u:p@up.example/mcp?token=abc failed.');
 * // 'POST to https://***:***@up.example/mcp?token=*** failed.'
 * redactUrlsInText('Cannot POST /mcp?api_key=abc');
 * // 'Cannot POST /mcp?api_key=***'
 * ```
 */
export function redactUrlsInText(text: string): string {
  if (!text.includes('://') && !text.includes('?')) return text;
  return text.replace(URL_OR_PATH_IN_TEXT, (match) => {
    const trailing = TRAILING_PUNCTUATION.exec(match)?.[0] ?? '';
    const url = trailing === '' ? match : match.slice(0, -trailing.length);
    return (url.startsWith('/') ? sanitizeRelativePath(url) : sanitizeUrl(url)) + trailing;
  });
}

/**
 * Replaces the credential of every `Bearer …` / `bearer …`, `Basic …` (and `Digest`, `DPoP`) in free
 * text with `***`, keeping the scheme name, so an upstream error such as `token expired: Bearer eyJ…` says
 * which kind of credential failed without repeating it. Never throws.
 *
 * @param text - Any text.
 * @returns The text with each credential redacted.
 * @example
 * ```ts
 * redactCredentialsInText('401: token expired: Bearer eyJhbGciOi.x.y'); // '401: token expired: Bearer ***'
 * ```
 */
export function redactCredentialsInText(text: string): string {
  return text.replace(CREDENTIAL_IN_TEXT, (_match, scheme: string, space: string) => `${scheme}${space}${REDACTED}`);
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces every occurrence of each secret value in `text` with `***`. Longer secrets are replaced first (so a
 * secret that contains another is removed whole). A secret of 6 or more characters is replaced wherever it
 * occurs; a shorter one only where it stands alone (not inside a longer word or number), so a header value
 * `eu` does not turn `queue` into `qu***`. Empty strings are ignored. Never throws.
 *
 * @param text - Any text, e.g. an upstream error message.
 * @param secrets - The values that must not appear, e.g. from {@link requestSecrets}.
 * @returns The text with every secret replaced.
 * @example
 * ```ts
 * scrubSecrets('rejected key sk-live-123 for tenant eu', ['sk-live-123', 'eu']);
 * // 'rejected key *** for tenant ***'
 * ```
 */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  const unique = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret === 'string' && secret.length > 0) unique.add(secret);
    if (unique.size >= MAX_SECRETS) break;
  }
  if (unique.size === 0 || text.length === 0) return text;
  let out = text;
  for (const secret of [...unique].sort((a, b) => b.length - a.length)) {
    if (!out.includes(secret)) continue;
    if (secret.length >= MIN_EMBEDDED_SECRET_LENGTH) {
      out = out.split(secret).join(REDACTED);
    } else {
      out = out.replace(new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(secret)}(?![A-Za-z0-9])`, 'g'), REDACTED);
    }
  }
  return out;
}

/** The parts of a session request that may hold secrets (any of them may be absent). */
export interface SecretSource {
  /** HTTP headers: every value is a secret. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** stdio environment: every value is a secret. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** stdio arguments: each of 6 or more characters is a secret. */
  readonly args?: readonly string[] | undefined;
}

/**
 * Lists the values of a request that no library-built message or log may contain: every header value (and, for
 * an `Authorization`-style value `Bearer abc…`, the credential alone too, since upstreams often echo only the
 * token), every env value, and every arg of 6 or more characters. Pass the result to {@link scrubSecrets} or
 * {@link redactText}. Never throws.
 *
 * @param source - A `SessionRequest` or `SessionCreateRequest` (HTTP or stdio), or any object with those fields.
 * @returns The secret values, without empty strings or duplicates.
 * @example
 * ```ts
 * requestSecrets({ headers: { authorization: 'Bearer tok-123456' }, args: ['-y', '--api-key=sk-abcdef'] });
 * // ['Bearer tok-123456', 'tok-123456', '--api-key=sk-abcdef']
 * ```
 */
export function requestSecrets(source: SecretSource): string[] {
  const out = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value.length > 0 && out.size < MAX_SECRETS) out.add(value);
  };
  try {
    for (const value of Object.values(source.headers ?? {})) {
      add(value);
      if (typeof value === 'string') {
        const space = value.indexOf(' ');
        if (space > 0) add(value.slice(space + 1).trim());
      }
    }
    for (const value of Object.values(source.env ?? {})) add(value);
    for (const arg of source.args ?? []) {
      if (typeof arg === 'string' && arg.length >= MIN_ARG_SECRET_LENGTH) {
        add(arg);
        // `--api-key=sk-abc…`: the value alone may be echoed too.
        const eq = arg.indexOf('=');
        if (eq > 0 && arg.length - eq - 1 >= MIN_ARG_SECRET_LENGTH) add(arg.slice(eq + 1));
      }
    }
  } catch {
    // A hostile getter: keep what was collected.
  }
  return [...out];
}

/**
 * Makes free text safe for a message or log the library builds: scrubs the given secret values (see
 * {@link scrubSecrets}), then sanitizes embedded URLs and relative paths with queries ({@link redactUrlsInText})
 * and `Bearer …` / `Basic …` credentials ({@link redactCredentialsInText}). Never throws.
 *
 * @param text - Any text, e.g. an upstream error message that may echo the request back.
 * @param secrets - Values that must not appear, e.g. {@link requestSecrets}`(request)`.
 * @returns The redacted text.
 * @example
 * ```ts
 * redactText('upstream said: bad key sk-123456 at /mcp?api_key=sk-123456, Bearer abcdef', ['sk-123456']);
 * // 'upstream said: bad key *** at /mcp?api_key=***, Bearer ***'
 * ```
 */
export function redactText(text: string, secrets: Iterable<string> = []): string {
  return redactCredentialsInText(redactUrlsInText(scrubSecrets(text, secrets)));
}
