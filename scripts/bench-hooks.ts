/**
 * Benchmark row for hook removal: MIPS of guests/bench/cpu.elf with no hook,
 * with hooks on every event-bus topic plus a pc hook, and after removing them
 * all (which should be the first figure again: removal leaves no listener).
 * Interleaved, best of N, in one process.
 *
 *   deno task guests && deno run -A scripts/bench-hooks.ts [--bare] [--instructions 20000000]
 *
 * @module
 */

import { createMachine, type HookHandle, type Machine } from "../mod.ts";
import { option, parseScriptArgs } from "./script-main.ts";

const CPU_ELF = new URL("../guests/bench/build/cpu.elf", import.meta.url).pathname;

async function mips(m: Machine, n: number): Promise<number> {
  const r = await m.run({ maxInstructions: n });
  return r.guestInstructions / r.wallMs / 1000;
}

if (import.meta.main) {
  const args = parseScriptArgs(Deno.args);
  const n = Number(option(args.rest, "instructions", "20000000"));
  const rounds = 3;
  const best = { none: 0, hooked: 0, removed: 0 };
  for (let round = 0; round < rounds; round++) {
    const m = createMachine({
      kernel: { name: "cpu.elf", bytes: Deno.readFileSync(CPU_ELF) },
      clock: "virtual",
      hypervisor: !args.bare,
    });
    await m.run({ maxInstructions: 2_000_000 }); // warm up
    best.none = Math.max(best.none, await mips(m, n));
    let events = 0;
    const hooks: HookHandle[] = m.topics.map((t) => m.hook(t, () => events++));
    hooks.push(m.hookPc(m.symbol("main"), () => false));
    best.hooked = Math.max(best.hooked, await mips(m, n));
    for (const h of hooks) h.remove();
    const left = m.topics.filter((t) => m.events.wants(t));
    if (left.length !== 0 || m.vm.hart.breakpoints.size !== 0) {
      throw new Error(`listeners left after removal: ${left.join(", ")}`);
    }
    best.removed = Math.max(best.removed, await mips(m, n));
  }
  const mode = args.bare ? "bare" : "hypervisor";
  console.log(`hook cost on cpu.elf (${mode}, ${n} instructions, best of ${rounds}):`);
  console.log(`  no hooks           ${best.none.toFixed(1)} MIPS`);
  console.log(`  every topic + pc   ${best.hooked.toFixed(1)} MIPS`);
  console.log(
    `  after remove()     ${best.removed.toFixed(1)} MIPS  (ratio to no hooks ${
      (best.removed / best.none).toFixed(3)
    })`,
  );
}
