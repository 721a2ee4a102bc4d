/**
 * Signals for a stdio child's whole process group. The child is spawned `detached`, so it leads its own
 * group (group id = its pid) and everything it starts — a server behind `sh -c` or `npx` — is in it.
 *
 * @packageDocumentation
 */

import { type ChildProcess } from 'node:child_process';

/**
 * Sends `signal` to every process in the group led by `child` (on Windows, which has no POSIX groups, to the
 * child alone).
 *
 * @param child - A child spawned with `detached: true`.
 * @param signal - `'SIGTERM'`, `'SIGKILL'`, or `0` to test whether the group still has a member.
 * @returns `true` when at least one process received it; `false` when the group is empty (`ESRCH`) or the
 *   child never got a pid.
 * @throws Only for unexpected errors of `process.kill` (never for an empty group).
 * @example
 * ```ts
 * if (signalGroup(child, 'SIGTERM')) setTimeout(() => signalGroup(child, 'SIGKILL'), 200);
 * ```
 */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals | 0): boolean {
  const pid = child.pid;
  if (pid === undefined) return false;
  if (process.platform === 'win32') {
    if (signal === 0) return child.exitCode === null && child.signalCode === null;
    return child.kill(signal);
  }
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // EPERM: the group's remaining members belong to someone else (a setuid helper); nothing we can do.
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw error;
  }
}
