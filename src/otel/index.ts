// Entry point `mcp-upstream-sessions/otel`: OpenTelemetry instrumentation. Explicit named exports only.
export {
  instrumentRegistry,
  INSTRUMENTATION_SCOPE,
  type InstrumentRegistryOptions,
  type InstrumentableRegistry,
  type RegistryInstrumentation,
} from './instrument.js';
export { METRIC_NAMES } from './metrics.js';
export { SPAN_NAMES } from './spans.js';
export { ATTR as ATTRIBUTE_NAMES } from './attributes.js';
