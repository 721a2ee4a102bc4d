import { type TransportKind, type SessionKey } from './request.js';

/** Lifecycle state of one upstream session. */
export type SessionState = 'creating' | 'ready' | 'probing' | 'draining' | 'closed';

/** A plain, JSON-serializable description of one upstream session. Never contains header values. */
export interface SessionInfo {
  readonly key: SessionKey;
  /** The upstream URL with userinfo and query-parameter values redacted. */
  readonly url: string;
  readonly transport: TransportKind;
  /** Clock time the session became ready (or started creating, while `creating`). */
  readonly createdAt: number;
  /**
   * Clock time the session last became idle: its last lease was released, or it was created or passed a
   * health probe. While `inFlight > 0` the session is in use whatever this says.
   */
  readonly lastUsedAt: number;
  /** How many leases this session has handed out. */
  readonly useCount: number;
  /** Leases currently open. */
  readonly inFlight: number;
  readonly state: SessionState;
}
