/**
 * Logs every write the guest makes to satp and mstatus (and sstatus, the
 * S-mode view of mstatus): pc, privilege, old and new value. Under the
 * hypervisor these are the guest's virtual CSRs, whose writes the hypervisor
 * emulates; bare, the hart's.
 *
 *   deno run -A scripts/watch-csr.ts [image] [--bare]
 *   deno run -A boot.ts --script scripts/watch-csr.ts
 *
 * @module
 */

import { csrIndex, hex, type Machine, privName } from "../mod.ts";
import { parseScriptArgs, runUntil, scriptMachine } from "./script-main.ts";

const WATCHED = ["satp", "mstatus", "sstatus"];

/** Hooks CSR writes to the watched CSRs and logs each with its old and new value. */
export default function watchCsr(machine: Machine): void {
  // The last value seen, per CSR: the event's own `value` is a JS number, inexact above 2^53.
  const last = new Map(WATCHED.map((name) => [name, machine.readCsr(name)!]));
  machine.hook("csr", (e, m) => {
    const name = WATCHED.find((n) => csrIndex(n) === e.csr)!;
    const now = m.readCsr(name)!;
    console.log(
      `csr ${name.padEnd(7)} pc ${hex(e.pc)} ${privName(m.priv)}-mode: ` +
        `${hex(last.get(name)!)} -> ${hex(now)}`,
    );
    last.set(name, now);
    // sstatus and mstatus are views of one register: keep both up to date.
    for (const n of WATCHED) last.set(n, m.readCsr(n)!);
  }, { csr: WATCHED, write: true });
}

if (import.meta.main) {
  const args = parseScriptArgs(Deno.args);
  const machine = scriptMachine(args);
  watchCsr(machine);
  await runUntil(machine, "$ ");
}
