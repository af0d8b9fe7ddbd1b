/**
 * pc breakpoints and memory watchpoints on the hart: they fire whether or not
 * the code was decoded (and cached) before they were set, bare and under the
 * hypervisor, and removing them lets the program run to its end.
 */

import assert from "node:assert/strict";
import { StopReason } from "../core/hart.ts";
import { VirtMachine } from "../devices/virt.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";
import { buildGuests } from "../scripts/build-guests.ts";

const CPU_ELF = new URL("../guests/bench/build/cpu.elf", import.meta.url).pathname;
await buildGuests();

function machine(mode: "bare" | "hypervisor"): VirtMachine {
  const config = {
    kernel: { name: "cpu.elf", bytes: Deno.readFileSync(CPU_ELF) },
    clock: "virtual" as const,
  };
  return mode === "bare" ? new VirtMachine(config) : createHypervisorMachine(config);
}

/** A symbol of the guest's ELF (the host's images are the guest's when bare). */
function symbol(m: VirtMachine, name: string): number {
  const images = "hypervisor" in m
    ? (m as ReturnType<typeof createHypervisorMachine>).hypervisor.guest.layout.images
    : m.images;
  const addr = images.kernel?.symbols.get(name);
  assert.ok(addr !== undefined, `no symbol ${name}`);
  return addr;
}

/** Runs the hart directly (no device loop) until it stops for a reason other than the budget. */
function runUntilStop(m: VirtMachine, budget: number): number {
  let reason: number = StopReason.BUDGET;
  for (let done = 0; reason === StopReason.BUDGET && done < budget; done += 10_000) {
    reason = m.hart.run(10_000);
  }
  return reason;
}

for (const mode of ["bare", "hypervisor"] as const) {
  Deno.test(`breakpoint set after the code ran still fires, and resumes (${mode})`, async () => {
    const m = machine(mode);
    const target = symbol(m, "list_work");
    // Run well into the benchmark: list_work has been called and decoded by now.
    await m.run({ maxInstructions: 3_000_000 });
    assert.equal(m.halted, null);
    m.hart.addBreakpoint(target);
    assert.equal(runUntilStop(m, 50_000_000), StopReason.BREAKPOINT);
    assert.equal(m.hart.pc, target);
    const firstHit = m.hart.retired;
    // Resuming steps over the breakpoint and stops at its next hit.
    assert.equal(runUntilStop(m, 50_000_000), StopReason.BREAKPOINT);
    assert.equal(m.hart.pc, target);
    assert.ok(m.hart.retired > firstHit, "the program made progress between hits");
    // Removed: the program runs to its end and passes its own checksum.
    m.hart.removeBreakpoint(target);
    const r = await m.run({ maxInstructions: 200_000_000 });
    assert.equal(r.reason, "poweroff");
  });

  Deno.test(`a breakpoint handler can observe without stopping (${mode})`, async () => {
    const m = machine(mode);
    let hits = 0;
    m.hart.onBreakpoint = () => (hits++, false);
    m.hart.addBreakpoint(symbol(m, "list_work"));
    const r = await m.run({ maxInstructions: 200_000_000 });
    assert.equal(r.reason, "poweroff", "the guest's checksum still matches");
    assert.ok(hits >= 600, `list_work runs once per iteration (600); hits = ${hits}`);
  });

  Deno.test(`a store watchpoint stops right after the store (${mode})`, async () => {
    const m = machine(mode);
    await m.run({ maxInstructions: 1_000_000 });
    // The benchmark rewrites its matrices every iteration.
    const watch = { addr: symbol(m, "mat_c"), length: 64, read: false, write: true };
    m.hart.addWatchpoint(watch);
    assert.equal(runUntilStop(m, 50_000_000), StopReason.WATCHPOINT);
    // Stopped after the store: the instruction before pc wrote into the range.
    const hits: number[] = [];
    m.hart.onWatchpoint = (hit) => (hits.push(hit.addr), true);
    assert.equal(runUntilStop(m, 50_000_000), StopReason.WATCHPOINT);
    assert.ok(hits.length === 1 && hits[0] >= watch.addr && hits[0] < watch.addr + 64);
    m.hart.removeWatchpoint(watch);
    assert.equal(m.hart.watchpoints.length, 0);
    const r = await m.run({ maxInstructions: 200_000_000 });
    assert.equal(r.reason, "poweroff");
  });
}
