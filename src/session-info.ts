/**
 * `SessionInfo` and `SessionState` (defined in the leaf module `types.ts`), re-exported for existing imports.
 *
 * @packageDocumentation
 */
export { type ProtocolEra, type SessionInfo, type SessionState } from './types.js';
