// Entry point `mcp-upstream-sessions/otel`: OpenTelemetry instrumentation. Explicit named exports only.
export {};
