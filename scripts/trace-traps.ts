/**
 * Prints every trap the guest takes, one line each: cause, pc, tval and the
 * privilege change. Bare, that is the hart's `trap` topic; under the
 * hypervisor, the guest's traps are the ones the hypervisor injects
 * (`guestTrap`), while `trap` would show the host's exits.
 *
 *   deno run -A scripts/trace-traps.ts [image] [--bare] [--command "mem 2"]
 *   deno run -A boot.ts --script scripts/trace-traps.ts
 *
 * @module
 */

import { causeName, hex, type Machine, privName } from "../mod.ts";
import { option, parseScriptArgs, runUntil, scriptMachine } from "./script-main.ts";

/** Hooks the guest's traps and prints each one. */
export default function traceTraps(machine: Machine): void {
  const print = (
    e: { cause: number; interrupt: boolean; pc: number; tval: number; from: number; to: number },
  ) => {
    const kind = e.interrupt ? "interrupt" : "exception";
    console.log(
      `trap ${kind} ${e.cause} (${causeName(e.cause, e.interrupt)}) pc ${hex(e.pc)} ` +
        `tval ${hex(e.tval)} ${privName(e.from)}->${privName(e.to)}`,
    );
  };
  if (machine.mode === "hypervisor") machine.hook("guestTrap", print);
  else machine.hook("trap", print);
}

if (import.meta.main) {
  const args = parseScriptArgs(Deno.args);
  const machine = scriptMachine(args);
  traceTraps(machine);
  await runUntil(machine, "$ ");
  machine.send(option(args.rest, "command", "mem 2") + "\n");
  await runUntil(machine, "$ ");
}
