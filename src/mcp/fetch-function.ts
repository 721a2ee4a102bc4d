// The `fetch` shape the MCP SDK transports call (no SDK import; shared by both MCP factories).

/** The `fetch` signature the MCP SDK transports call. */
export type SessionFetchFunction = (url: string | URL, init?: RequestInit) => Promise<Response>;
