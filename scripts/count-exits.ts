/**
 * Boots the guest under the hypervisor to its prompt and prints the exit table:
 * how many times the guest left native execution, by exit kind and host cause,
 * counted by an `exit` hook (and checked against the hypervisor's own counts).
 *
 *   deno run -A scripts/count-exits.ts [image] [--until "$ "]
 *   deno run -A boot.ts --script scripts/count-exits.ts   (table printed at poweroff)
 *
 * @module
 */

import { causeName, type ExitKind, type Machine } from "../mod.ts";
import { option, parseScriptArgs, runUntil, scriptMachine } from "./script-main.ts";

/** Exit counts by kind, and by host cause within each kind. */
export interface ExitTable {
  /** Prints the table. */
  print(): void;
  /** Total exits counted. */
  readonly total: number;
}

/** Counts exits from now on; prints the table when the machine halts, or on print(). */
export default function countExits(machine: Machine): ExitTable {
  if (machine.mode !== "hypervisor") throw new Error("count-exits needs the hypervisor");
  const byKind = new Map<ExitKind, Map<string, number>>();
  let total = 0;
  machine.hook("exit", (e) => {
    total++;
    let causes = byKind.get(e.kind);
    if (!causes) byKind.set(e.kind, causes = new Map());
    const cause = `${e.interrupt ? "irq" : "exc"} ${e.cause} ${causeName(e.cause, e.interrupt)}`;
    causes.set(cause, (causes.get(cause) ?? 0) + 1);
  });
  const table: ExitTable = {
    get total() {
      return total;
    },
    print() {
      const rows = [...byKind].map(([kind, causes]) => {
        const n = [...causes.values()].reduce((a, b) => a + b, 0);
        return { kind, n, causes: [...causes.keys()].join(", ") };
      }).sort((a, b) => b.n - a.n);
      console.log(`${"exit kind".padEnd(20)} ${"count".padStart(10)}  host cause`);
      for (const r of rows) {
        console.log(`${r.kind.padEnd(20)} ${String(r.n).padStart(10)}  ${r.causes}`);
      }
      const own = [...machine.host.exitCounts.values()].reduce((a, b) => a + b, 0);
      console.log(
        `${"total".padEnd(20)} ${String(total).padStart(10)}  (hypervisor's count: ${own})`,
      );
    },
  };
  machine.hook("halt", () => table.print());
  return table;
}

if (import.meta.main) {
  const args = parseScriptArgs(Deno.args);
  const machine = scriptMachine({ ...args, bare: false });
  const table = countExits(machine);
  const r = await runUntil(machine, option(args.rest, "until", "$ "));
  console.log(
    `booted to the prompt: ${r.guestInstructions} guest instructions, ` +
      `${r.hostInstructions} of them native on the host hart`,
  );
  table.print();
}
