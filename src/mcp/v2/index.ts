// Entry point `mcp-upstream-sessions/sdk-v2`: the SDK v2 session factory (both protocol eras). Explicit named exports only.
export {};
