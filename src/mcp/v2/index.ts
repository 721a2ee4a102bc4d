// Entry point `mcp-upstream-sessions/sdk-v2`: the SDK v2 session factory (both protocol eras). Explicit named exports only.
export { createSdkV2SessionFactory, SDK_V2_DEFAULT_CLIENT_INFO } from './factory.js';
export { SdkV2Connection } from './connection.js';
export { type SdkV2EraMode, type SdkV2FactoryOptions } from './options.js';
export { type EraStore, type EraVerdict } from '../../eras/store.js';
export { InMemoryEraStore, type InMemoryEraStoreOptions } from '../../eras/in-memory.js';
export { type McpServerRequest, type McpServerRequestExtra, type McpServerRequestHandler, type McpServerRequestMethod } from '../server-request.js';
