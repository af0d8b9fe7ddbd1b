/**
 * Test support: driving U-Boot's console on a machine (bare or under the
 * hypervisor) that is already at its `=>` prompt.
 *
 * @module
 */

import type { VirtMachine } from "../devices/virt.ts";

/** Types `cmd` and returns what U-Boot printed up to the next prompt (20 s of wall time at most). */
export async function ubootCommand(
  m: VirtMachine,
  out: () => string,
  cmd: string,
): Promise<string> {
  const before = out().length;
  m.input(cmd + "\n");
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    // The run's own timeout too: a hart idle with nothing armed would never return.
    await m.run({
      maxInstructions: 2_000_000,
      timeoutMs: Math.max(1, deadline - performance.now()),
    });
    const answer = out().slice(before);
    if (answer.includes("\n=> ")) return answer.slice(0, answer.lastIndexOf("\n=> "));
  }
  throw new Error(`no prompt after '${cmd}'; console:\n${out().slice(before)}`);
}
