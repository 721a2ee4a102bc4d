/**
 * `/metrics` for the example gateway: the registry's OpenTelemetry metrics (`mcp-upstream-sessions/otel`)
 * served as Prometheus text by `@opentelemetry/exporter-prometheus`, mounted on the gateway's own HTTP server
 * (no second port).
 *
 * @example
 * ```ts
 * const metrics = createMetricsEndpoint(registry);
 * // in the request handler:
 * if (path === '/metrics') return metrics.handle(req, res);
 * // on shutdown:
 * await metrics.close();
 * ```
 */

import { type IncomingMessage, type ServerResponse } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { type Attributes } from '@opentelemetry/api';
import { instrumentRegistry, type InstrumentableRegistry } from '../../src/otel/index.js';

/** What {@link createMetricsEndpoint} returns. */
export interface MetricsEndpoint {
  /** Answers one scrape with the current metrics in the Prometheus text format; resolves when the response ended. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Stops recording and shuts the meter provider down. Idempotent. */
  close(): Promise<void>;
}

/**
 * Instruments `registry` with a meter provider whose only reader is a Prometheus exporter that never starts
 * its own server; `handle` serves what it collects.
 *
 * @param registry - The gateway's registry.
 * @param attributes - Added to every point (e.g. `{ 'service.instance.id': workerId }`).
 * @returns The endpoint.
 */
export function createMetricsEndpoint(registry: InstrumentableRegistry, attributes: Attributes = {}): MetricsEndpoint {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const instrumentation = instrumentRegistry(registry, { meterProvider, attributes });
  let closing: Promise<void> | undefined;
  return {
    handle(req, res) {
      return new Promise<void>((resolve) => {
        res.once('close', () => resolve());
        exporter.getMetricsRequestHandler(req, res);
      });
    },
    close() {
      closing ??= (async () => {
        instrumentation.dispose();
        await meterProvider.shutdown();
      })();
      return closing;
    },
  };
}
