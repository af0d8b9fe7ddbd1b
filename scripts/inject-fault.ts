/**
 * Fault injection: turns the Nth page fault the guest takes into the matching
 * access fault (instruction 12 -> 1, load 13 -> 5, store 15 -> 7), before the
 * guest sees it, and lets the guest handle it. With tinyos, `mem 4` touches
 * fresh heap pages from the U-mode shell; the kernel serves their page faults
 * lazily, but an access fault is not something it can fix: it kills the
 * process that took it, the shell.
 *
 *   deno run -A scripts/inject-fault.ts [image] [--bare] [--nth 2] [--command "mem 4"]
 *   RVISOR_FAULT_NTH=2 deno run -A boot.ts --script scripts/inject-fault.ts
 *
 * @module
 */

import { causeName, hex, type Machine } from "../mod.ts";
import { option, parseScriptArgs, runUntil, scriptMachine } from "./script-main.ts";

/** Page-fault cause -> the access-fault cause of the same access kind. */
const ACCESS_FAULT_FOR: Record<number, number> = { 12: 1, 13: 5, 15: 7 };

/** Rewrites the `nth` guest page fault (1-based) into an access fault, and reports it. */
export function injectFault(machine: Machine, nth: number): void {
  let seen = 0;
  const hook = machine.hookException((e) => {
    if (++seen !== nth) return;
    const cause = ACCESS_FAULT_FOR[e.cause];
    console.log(
      `inject-fault: page fault #${nth} (${causeName(e.cause, false)} at pc ${hex(e.pc)}, ` +
        `tval ${hex(e.tval)}) delivered as cause ${cause} (${causeName(cause, false)})`,
    );
    e.cause = cause;
    hook.remove(); // done: the machine runs on without the hook
  }, [12, 13, 15]);
}

/** For `boot.ts --script`: the Nth page fault from RVISOR_FAULT_NTH (default 1). */
export default function (machine: Machine): void {
  injectFault(machine, Number(Deno.env.get("RVISOR_FAULT_NTH") ?? "1"));
}

if (import.meta.main) {
  const args = parseScriptArgs(Deno.args);
  const machine = scriptMachine(args);
  await runUntil(machine, "$ "); // boot first: the page faults of interest come from the command
  injectFault(machine, Number(option(args.rest, "nth", "2")));
  const before = machine.consoleText.length;
  machine.send(option(args.rest, "command", "mem 4") + "\n");
  await runUntil(machine, "killed");
  await machine.run({ maxInstructions: 2_000_000 }); // let the guest finish its report
  const tail = "$ " + machine.consoleText.slice(before);
  console.log("guest console after the injection:");
  for (const line of tail.split(/\r?\n/)) if (line.trim() !== "") console.log(`  | ${line}`);
}
