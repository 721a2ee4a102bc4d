/**
 * A bounded tail of a child's stderr: the last 64 lines and at most 8 KiB, whichever is smaller.
 *
 * @packageDocumentation
 */

/** Most lines kept. */
export const STDERR_TAIL_LINES = 64;

/** Most characters kept (lines and the unfinished last line together). */
export const STDERR_TAIL_CHARS = 8 * 1024;

/**
 * Splits a stream of stderr text into lines, reports each complete line, and keeps the newest ones within
 * {@link STDERR_TAIL_LINES} lines and {@link STDERR_TAIL_CHARS} characters. A single line longer than the
 * character bound keeps its end. Memory stays bounded whatever the child writes (a never-ending line too).
 *
 * @example
 * ```ts
 * const tail = new StderrTail((line) => console.error(line));
 * child.stderr.setEncoding('utf8').on('data', (text: string) => tail.push(text));
 * child.once('close', () => tail.end());
 * tail.text(); // 'last line\n…'
 * ```
 */
export class StderrTail {
  private readonly lines: string[] = [];
  private chars = 0;
  private partial = '';

  /** @param onLine - Called with each complete line (without its line ending), in order. */
  constructor(private readonly onLine: (line: string) => void = () => undefined) {}

  /** Adds a chunk of decoded stderr text. */
  push(text: string): void {
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      this.complete(this.partial + text.slice(start, newline));
      this.partial = '';
      start = newline + 1;
    }
    this.partial = clip(this.partial + text.slice(start));
  }

  /** Flushes an unfinished last line (the stream ended). */
  end(): void {
    if (this.partial === '') return;
    const last = this.partial;
    this.partial = '';
    this.complete(last);
  }

  /** The kept lines (and an unfinished last line), joined with `\n`; `''` when nothing was written. */
  text(): string {
    const all = this.partial === '' ? this.lines : [...this.lines, this.partial];
    return clip(all.join('\n'));
  }

  private complete(raw: string): void {
    const line = clip(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
    try {
      this.onLine(line);
    } catch {
      // A host's stderr callback must not break the child's plumbing.
    }
    this.lines.push(line);
    this.chars += line.length + 1;
    while (this.lines.length > STDERR_TAIL_LINES || (this.chars > STDERR_TAIL_CHARS && this.lines.length > 1)) {
      this.chars -= this.lines.shift()!.length + 1;
    }
  }
}

/** The last {@link STDERR_TAIL_CHARS} characters of `text`. */
function clip(text: string): string {
  return text.length > STDERR_TAIL_CHARS ? text.slice(text.length - STDERR_TAIL_CHARS) : text;
}
