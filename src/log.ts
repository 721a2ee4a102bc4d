import { type Entry } from './entry.js';
import { type LogFields, type Logger } from './logger.js';
import { redactText } from './sanitize.js';

/** The log levels of a {@link Logger}. */
export type LogLevel = keyof Logger;

/**
 * The text of an error (or any thrown value) made safe for a library-built message or log: `secrets` (the
 * request's header values, env values, long args) scrubbed, URLs and relative paths with queries sanitized,
 * `Bearer …` credentials redacted. Never throws, even for a hostile error object.
 * @example
 * ```ts
 * errorText(new Error('401 at https://u:p@up.example/mcp?key=k'), []); // '401 at https://***:***@up.example/mcp?key=***'
 * ```
 */
export function errorText(error: unknown, secrets: readonly string[] = []): string {
  let text: string;
  try {
    text = error instanceof Error ? error.message : String(error);
  } catch {
    text = 'unprintable error';
  }
  return redactText(typeof text === 'string' ? text : 'unprintable error', secrets);
}

function safeFields(fields: LogFields | undefined, secrets: readonly string[]): LogFields | undefined {
  if (fields === undefined) return undefined;
  const out: LogFields = {};
  for (const name of Object.keys(fields)) {
    const value = fields[name];
    if (value === undefined) continue;
    out[name] = typeof value === 'string' ? redactText(value, secrets) : value instanceof Error ? errorText(value, secrets) : value;
  }
  return out;
}

/**
 * The one logger every part of the registry writes through, built once around the host's {@link Logger}: each
 * call is isolated (a throwing logger never changes what the registry does), and every string field is
 * redacted (URLs sanitized, credentials and the given secrets scrubbed; `Error` values become their redacted
 * message). It is itself a `Logger`, so it can be handed to parts that take one (the ownership port).
 * @example
 * ```ts
 * const safeLog = new SafeLog(log); // the host's logger (or a silent one)
 * safeLog.warn('store failed', { error }); // never throws; the store URL is sanitized
 * ```
 */
export class SafeLog implements Logger {
  /** @param logger - The host's logger (may throw; may be slow: it is called synchronously). */
  constructor(private readonly logger: Logger) {}

  /** Writes one record; `secrets` are scrubbed from the message and every string field. Never throws. */
  write(level: LogLevel, message: string, fields?: LogFields, secrets: readonly string[] = []): void {
    try {
      this.logger[level](redactText(message, secrets), safeFields(fields, secrets));
    } catch {
      // Logging is best-effort: a broken logger must not break the registry.
    }
  }

  /** A debug record. */
  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }

  /** An info record. */
  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }

  /** A warning. */
  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }

  /** An error record. */
  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields);
  }
}

/**
 * Writes one record about a session: its key and sanitized endpoint (URL or command base name) added to
 * `fields`, and the session's request secrets scrubbed from everything.
 * @example
 * ```ts
 * import { type Entry } from './entry.js';
 * declare const entry: Entry<FakeUpstreamClient>;
 * logEntry(new SafeLog(log), 'debug', 'upstream session evicted', entry, { reason: 'idle' });
 * ```
 */
export function logEntry<C>(log: SafeLog, level: LogLevel, message: string, entry: Entry<C>, fields?: LogFields): void {
  log.write(
    level,
    message,
    { downstreamSessionId: entry.key.downstreamSessionId, upstreamId: entry.upstreamId, ...entry.display, ...fields },
    entry.secrets,
  );
}
