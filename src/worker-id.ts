import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** The default worker id: `host:pid:random`, restricted to visible ASCII so it is a valid store id. */
export function defaultWorkerId(): string {
  const host = hostname().replace(/[^\x21-\x7E]/g, '_').slice(0, 200) || 'host';
  return `${host}:${process.pid}:${randomBytes(6).toString('hex')}`;
}
