import { type Client } from '@modelcontextprotocol/client';
import { type Clock } from '../../clock.js';
import { type ConnectionProbeOptions, type UpstreamConnection } from '../../factory.js';
import { type ProbeResult, type ProtocolEra } from '../../types.js';
import { type StdioConnection } from '../stdio/index.js';
import { probeLegacy, probeModern } from './probe.js';

/**
 * A stdio upstream session of the SDK v2 factory: the shared {@link StdioConnection} (one process per
 * session, bounded group teardown) plus what the v2 client knows — the era, the negotiated version, the
 * era-aware probe, and `unproven` when it connected from a cached modern verdict.
 */
export class SdkV2StdioConnection implements UpstreamConnection<Client> {
  readonly era?: ProtocolEra;
  readonly protocolVersion?: string;

  /**
   * @param inner - The connected stdio session.
   * @param clock - Timers of the probe.
   * @param unproven - Connected with zero round trips (the process has answered nothing yet).
   */
  constructor(
    private readonly inner: StdioConnection<Client>,
    private readonly clock: Clock,
    readonly unproven: boolean,
  ) {
    const era = inner.client.getProtocolEra();
    const version = inner.client.getNegotiatedProtocolVersion();
    if (era !== undefined) this.era = era;
    if (version !== undefined) this.protocolVersion = version;
  }

  get client(): Client {
    return this.inner.client;
  }

  /** The process's pid. */
  get pid(): number | null {
    return this.inner.pid;
  }

  close(signal: AbortSignal): Promise<void> {
    return this.inner.close(signal);
  }

  probe(options: ConnectionProbeOptions): Promise<ProbeResult> {
    return this.era === 'modern' ? probeModern(this.client, options, this.clock) : probeLegacy(this.client, options, this.clock);
  }
}
