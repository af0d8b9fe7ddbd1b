/**
 * Stops the guest at a symbol of its ELF and dumps its registers, privilege,
 * a few CSRs and the top of its stack (read through the guest's own page
 * table). With tinyos the default symbol is `proc_fault`, the kernel's lazy
 * heap fault handler, reached when the shell's `mem` command touches a page.
 *
 *   deno run -A scripts/breakpoint.ts [image] [--bare] [--symbol proc_fault] [--command "mem 1"]
 *   RVISOR_BREAK=sys_uptime deno run -A boot.ts --script scripts/breakpoint.ts
 *
 * @module
 */

import { hex, type Machine, privName, REG_NAMES } from "../mod.ts";
import { option, parseScriptArgs, runUntil, scriptMachine } from "./script-main.ts";

/** Prints the guest's state: pc, privilege, x1..x31 four to a line, CSRs, stack words. */
export function dumpState(machine: Machine): void {
  console.log(`pc ${hex(machine.pc)}  privilege ${privName(machine.priv)}  (${machine.mode})`);
  const regs = machine.regs();
  for (let i = 0; i < 32; i += 4) {
    console.log(
      REG_NAMES.slice(i, i + 4).map((r) => `${r.padStart(4)} ${hex(regs[r]).padStart(18)}`)
        .join("  "),
    );
  }
  for (const csr of ["sstatus", "satp", "scause", "sepc", "stval"]) {
    console.log(`${csr.padStart(8)} ${hex(machine.readCsr(csr) ?? 0n)}`);
  }
  const sp = Number(BigInt.asIntN(64, regs.sp));
  const pa = machine.translate(sp);
  console.log(`stack at sp ${hex(sp)} (guest-physical ${pa === null ? "unmapped" : hex(pa)}):`);
  if (pa !== null) {
    for (let i = 0; i < 4; i++) console.log(`  [sp+${8 * i}] ${hex(machine.readU64(sp + 8 * i))}`);
  }
}

/** Stops the run at `symbol`'s first execution and dumps the state there. */
export function breakAt(machine: Machine, symbol: string): void {
  const addr = machine.symbol(symbol);
  const hook = machine.hookPc(addr, (m) => {
    console.log(`breakpoint: ${symbol} at ${hex(addr)}`);
    dumpState(m);
    hook.remove();
    return true; // stop the run here (stop: "breakpoint")
  });
}

/** For `boot.ts --script`: breaks at RVISOR_BREAK (default proc_fault). */
export default function (machine: Machine): void {
  breakAt(machine, Deno.env.get("RVISOR_BREAK") ?? "proc_fault");
}

if (import.meta.main) {
  const args = parseScriptArgs(Deno.args);
  const machine = scriptMachine(args);
  breakAt(machine, option(args.rest, "symbol", "proc_fault"));
  let r = await runUntil(machine, "$ ");
  if (r.stop !== "breakpoint") {
    machine.send(option(args.rest, "command", "mem 1") + "\n");
    r = await runUntil(machine, undefined);
  }
  console.log(`run stopped: ${r.stop}`);
}
