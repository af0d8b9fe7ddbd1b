/**
 * Test support: driving U-Boot's console on a machine (bare or under the
 * hypervisor) that is already at its `=>` prompt, and the limits of the
 * U-Boot runs: instruction budgets, with wall time only as a hang guard.
 *
 * @module
 */

import type { VirtMachine } from "../devices/virt.ts";
import { HANG_GUARD_MS } from "../scripts/host-tools.ts";

/**
 * Instructions a U-Boot run gets to reach what a test waits for: far above what
 * it takes (about 25 M from reset to the autoboot prompt, 10 M more to `=> `
 * after a key, 40 k per command).
 */
export const UBOOT_BUDGET = 500_000_000;

/** Types `cmd` and returns what U-Boot printed up to the next prompt. */
export async function ubootCommand(
  m: VirtMachine,
  out: () => string,
  cmd: string,
): Promise<string> {
  const before = out().length;
  m.input(cmd + "\n");
  // The hang guard too: a hart idle with nothing armed would never return.
  const r = await m.run({
    until: "\n=> ",
    maxInstructions: UBOOT_BUDGET,
    timeoutMs: HANG_GUARD_MS,
  });
  const answer = out().slice(before);
  if (r.stop !== "until") {
    throw new Error(`no prompt after '${cmd}' (${r.stop}); console:\n${answer}`);
  }
  return answer.slice(0, answer.lastIndexOf("\n=> "));
}
