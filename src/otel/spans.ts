/**
 * Spans for session creations and health probes (SPEC §10), started from the diagnostics channels' `start`
 * (published in the async context of the caller that triggered the operation, so the span's parent is the
 * span active around that `acquire`) and ended on `asyncEnd`. A shared creation is one span.
 *
 * @packageDocumentation
 */

import { context, SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import { type CreateDiagnosticsContext, type ProbeDiagnosticsContext } from '../diagnostics.js';
import { ATTR, type AttributeCache } from './attributes.js';

/** The span names the instrumentation starts. */
export const SPAN_NAMES = Object.freeze({
  create: 'mcp_upstream.session.create',
  probe: 'mcp_upstream.session.probe',
} as const);

/** A short, secret-free status message: the library error's `code` (messages are left to the error itself). */
function statusMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { code } = error as { code?: unknown };
    if (typeof code === 'string') return code;
  }
  return 'error';
}

/** `error.type` of a failed operation: its category, else the library error's code, else `_OTHER`. */
function errorType(category: string | undefined, error: unknown): string {
  if (category !== undefined) return category;
  const code = statusMessage(error);
  return code === 'error' ? '_OTHER' : code;
}

/**
 * Starts and ends the spans of one instrumented registry.
 *
 * @example
 * ```ts
 * import { AttributeCache } from './attributes.js';
 * declare const ctx: CreateDiagnosticsContext;
 * const spans = new SessionSpans(tracerProvider.getTracer('mcp-upstream-sessions'), new AttributeCache({}));
 * spans.createStarted(ctx); // create channel `start`
 * spans.createSettled(ctx); // create channel `asyncEnd`
 * ```
 */
export class SessionSpans {
  readonly #tracer: Tracer;
  readonly #attributes: AttributeCache;
  /** Spans started and not yet ended, by their diagnostics context (ended by `dispose`). */
  readonly #open = new Map<object, Span>();

  /**
   * @param tracer - Where spans are started.
   * @param attributes - The common-attribute cache (carries the host's `attributes`).
   */
  constructor(tracer: Tracer, attributes: AttributeCache) {
    this.#tracer = tracer;
    this.#attributes = attributes;
  }

  /**
   * Starts the creation span as a child of the active context (the triggering caller's).
   *
   * @param ctx - The create context, at `start`.
   */
  createStarted(ctx: CreateDiagnosticsContext): void {
    this.#start(SPAN_NAMES.create, ctx);
  }

  /**
   * Ends the creation span: `mcp.protocol.version` on success; `error.type` and an error status on failure.
   *
   * @param ctx - The create context, at `asyncEnd`.
   */
  createSettled(ctx: CreateDiagnosticsContext): void {
    const span = this.#take(ctx);
    if (span === undefined) return;
    if (ctx.error !== undefined) {
      span.setAttribute(ATTR.errorType, errorType(ctx.category, ctx.error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: statusMessage(ctx.error) });
    } else if (ctx.result?.protocolVersion !== undefined) {
      span.setAttribute(ATTR.protocolVersion, ctx.result.protocolVersion);
    }
    span.end();
  }

  /**
   * Starts the probe span as a child of the active context (the acquire that triggered the probe).
   *
   * @param ctx - The probe context, at `start`.
   */
  probeStarted(ctx: ProbeDiagnosticsContext): void {
    this.#start(SPAN_NAMES.probe, ctx);
  }

  /**
   * Ends the probe span with `mcp.method.name` and `outcome` (`healthy` | `unhealthy`); unhealthy probes and
   * probes that threw get `error.type` and an error status.
   *
   * @param ctx - The probe context, at `asyncEnd`.
   */
  probeSettled(ctx: ProbeDiagnosticsContext): void {
    const span = this.#take(ctx);
    if (span === undefined) return;
    const { result } = ctx;
    if (result !== undefined) {
      span.setAttribute(ATTR.methodName, result.method);
      span.setAttribute(ATTR.outcome, result.healthy ? 'healthy' : 'unhealthy');
      if (!result.healthy) {
        span.setAttribute(ATTR.errorType, result.category ?? '_OTHER');
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'unhealthy' });
      }
    } else if (ctx.error !== undefined) {
      span.setAttribute(ATTR.errorType, errorType(undefined, ctx.error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: statusMessage(ctx.error) });
    }
    span.end();
  }

  /** Ends every span still open (their operations outlived the instrumentation). */
  dispose(): void {
    for (const span of this.#open.values()) span.end();
    this.#open.clear();
  }

  #start(name: string, ctx: CreateDiagnosticsContext | ProbeDiagnosticsContext): void {
    const span = this.#tracer.startSpan(
      name,
      { kind: SpanKind.INTERNAL, attributes: this.#attributes.of(ctx).attributes },
      context.active(),
    );
    this.#open.set(ctx, span);
  }

  #take(ctx: object): Span | undefined {
    const span = this.#open.get(ctx);
    this.#open.delete(ctx);
    return span;
  }
}
