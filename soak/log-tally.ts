/**
 * A {@link Logger} for the registry under soak: counts warnings and errors by message (debug and info are
 * dropped) and keeps a few distinct `error` fields of each, for the report. An error-level log means the
 * registry met something it treats as a bug (a probe that threw a non-transport error, a listener that
 * threw): the soak counts those as unexpected.
 */
import { type LogFields, type Logger } from '../src/index.js';

const EXAMPLES_PER_MESSAGE = 3;

/** Counts of one log message. */
export interface LogCount {
  count: number;
  /** Distinct `error` fields seen with it (at most three). */
  examples: string[];
}

/** The counting logger. */
export class LogTally implements Logger {
  readonly warnings = new Map<string, LogCount>();
  readonly errors = new Map<string, LogCount>();

  debug(): void {}

  info(): void {}

  warn(message: string, fields?: LogFields): void {
    this.#add(this.warnings, message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.#add(this.errors, message, fields);
  }

  #add(into: Map<string, LogCount>, message: string, fields: LogFields | undefined): void {
    let entry = into.get(message);
    if (entry === undefined) {
      entry = { count: 0, examples: [] };
      into.set(message, entry);
    }
    entry.count += 1;
    const error = fields?.error;
    if (typeof error === 'string' && entry.examples.length < EXAMPLES_PER_MESSAGE && !entry.examples.includes(error)) {
      entry.examples.push(error);
    }
  }
}
