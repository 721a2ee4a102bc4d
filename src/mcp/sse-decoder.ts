// An incremental Server-Sent Events decoder (no SDK import, no streams): text in, events out.

/** One dispatched event, as the SSE processing model defines it. */
export interface SseEvent {
  /** The `event` field, or undefined for the default type (`message`). */
  readonly event: string | undefined;
  /** The `data` lines joined with `\n`. */
  readonly data: string;
  /** The last event id at dispatch time (it persists across events), or undefined if none was ever set. */
  readonly id: string | undefined;
}

/** What {@link SseDecoder} reports. */
export interface SseHandlers {
  /** A complete event (one with at least one `data` line). */
  readonly event: (event: SseEvent) => void;
  /** A valid `retry` field: the reconnection delay the server asks for, in milliseconds. */
  readonly retry?: (ms: number) => void;
  /** An `id` field (also for events without data, such as a priming event). */
  readonly id?: (id: string) => void;
}

const BOM = '\uFEFF';

/** Whether a `content-type` header names `text/event-stream` (parameters and case ignored). */
export function isEventStreamType(contentType: string | null): boolean {
  return (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() === 'text/event-stream';
}

/**
 * Decodes an `text/event-stream` body fed as text chunks of any size, following the WHATWG processing model:
 * lines end with CRLF, LF or CR (a CRLF split across chunks counts once); `:` starts a comment; a field's
 * value loses one leading space; `data` lines accumulate; a blank line dispatches; `id` persists (unless it
 * contains NUL); `retry` takes ASCII digits only; unknown fields are ignored. Holds only the unfinished line
 * and the event being built, so a long-lived stream costs a few small strings.
 *
 * @example
 * ```ts
 * const decoder = new SseDecoder({ event: (e) => console.log(e.event ?? 'message', e.data) });
 * decoder.push('event: ping\ndata: {"a"');
 * decoder.push(':1}\n\n'); // logs: ping {"a":1}
 * ```
 */
export class SseDecoder {
  readonly #handlers: SseHandlers;
  #buffer = '';
  #started = false;
  /** The previous chunk ended with CR: an LF starting this one belongs to that line ending. */
  #afterCr = false;
  #data: string[] = [];
  #type: string | undefined;
  #lastId: string | undefined;

  /** @param handlers - See {@link SseHandlers}. */
  constructor(handlers: SseHandlers) {
    this.#handlers = handlers;
  }

  /** The last event id seen (to resume with `Last-Event-ID`). */
  get lastEventId(): string | undefined {
    return this.#lastId;
  }

  /** Feeds the next chunk of the body. */
  push(chunk: string): void {
    if (chunk === '') return; // an empty chunk must not forget a CR that ended the previous one
    let text = chunk;
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.startsWith(BOM)) text = text.slice(1);
    }
    if (this.#afterCr && text.startsWith('\n')) text = text.slice(1);
    this.#afterCr = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.#buffer + text.slice(start, i);
      this.#buffer = '';
      if (c === 13) {
        if (i + 1 === text.length) this.#afterCr = true;
        else if (text.charCodeAt(i + 1) === 10) i += 1;
      }
      start = i + 1;
      this.#line(line);
    }
    this.#buffer += text.slice(start);
  }

  #line(line: string): void {
    if (line === '') {
      this.#dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.#data.push(value);
        break;
      case 'event':
        this.#type = value;
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.#lastId = value;
          this.#handlers.id?.(value);
        }
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.#handlers.retry?.(Number(value));
        break;
      default:
        break;
    }
  }

  #dispatch(): void {
    const data = this.#data;
    const type = this.#type;
    this.#data = [];
    this.#type = undefined;
    if (data.length === 0) return;
    this.#handlers.event({ event: type === '' ? undefined : type, data: data.join('\n'), id: this.#lastId });
  }
}
