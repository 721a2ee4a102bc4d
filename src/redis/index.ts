/**
 * `mcp-upstream-sessions/redis`: the Redis {@link AffinityStore} and {@link EraStore} for gateways that run as several workers.
 * Requires the optional peer dependency `ioredis` (>= 5); the host creates and closes the client.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisAffinityStore } from 'mcp-upstream-sessions/redis';
 *
 * const affinity = new RedisAffinityStore(new Redis({ enableOfflineQueue: false }), { keyPrefix: 'gw:' });
 * ```
 * @packageDocumentation
 */
export { RedisAffinityStore, type RedisAffinityStoreOptions } from './redis-affinity-store.js';
export { RedisEraStore, type RedisEraStoreOptions } from './redis-era-store.js';
export type { AffinityStore, RouteDecision } from '../affinity/store.js';
export type { EraStore, EraVerdict } from '../eras/store.js';
