/** Structured log fields. The registry never puts header values or unsanitized URLs in them. */
export type LogFields = Record<string, unknown>;

/** A minimal structured logger (pino, winston, bunyan and `console` adapters fit). */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const noop = (): void => undefined;

/** The default logger: discards everything. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
