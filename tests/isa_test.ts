/**
 * Runs every ISA test program of guests/isa on rvisor, bare on the emulated hart
 * and under the hypervisor (the same program must pass both ways): each reports
 * through the syscon finisher, exit code 0 = pass, N = case N failed.
 * Each runs as shipped (block translator on) and with `jit: false`, so the
 * interpreter alone stays tested too. tests/isa_qemu_test.ts runs the same
 * programs on QEMU to prove the programs right.
 */

import assert from "node:assert/strict";
import { buildGuests } from "../scripts/build-guests.ts";
import { VirtMachine } from "../devices/virt.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";

const BUILD = new URL("../guests/isa/build/", import.meta.url).pathname;

await buildGuests();
const programs = [...Deno.readDirSync(BUILD)].filter((e) => e.name.endsWith(".elf"))
  .map((e) => e.name).sort();

/** Bare and under the hypervisor, each with the translator on (the default) and off. */
const MODES = [["bare", true], ["hypervisor", true], ["bare", false], [
  "hypervisor",
  false,
]] as const;

Deno.test("ISA programs were built", () => {
  assert.ok(programs.length >= 10, `only ${programs.length} programs in ${BUILD}`);
});

for (const [mode, jit] of MODES) {
  for (const name of programs) {
    // fp_* programs need F and D: an rv64imafdc hart (and guest, under the hypervisor).
    const fd = name.startsWith("fp_");
    const how = jit ? mode : `${mode}, jit off`;
    Deno.test(`isa: ${name.replace(".elf", "")} passes on rvisor (${how})`, async () => {
      let console = "";
      const config = {
        isa: fd ? "rv64imafdc" : "rv64imac",
        kernel: { name, bytes: Deno.readFileSync(BUILD + name) },
        clock: "virtual" as const,
        jit,
        console: (b: number) => console += String.fromCharCode(b),
      };
      const hv = mode === "hypervisor" ? createHypervisorMachine(config) : null;
      const m = hv ?? new VirtMachine(config);
      const r = await m.run({ maxInstructions: 20_000_000 });
      const h = m.hart;
      const report = hv?.hypervisor.panicReport ?? "";
      const detail = `stop=${r.stop} exit=${r.exitCode} pc=0x${h.pc.toString(16)} ` +
        `s10=${h.getReg(26).toString(16)} s11=${h.getReg(27).toString(16)} ` +
        `console=${console}\n${report}`;
      assert.equal(r.stop, "halt", detail);
      assert.equal(
        r.reason,
        "poweroff",
        `case ${r.exitCode} failed (0x7f: unexpected trap); ${detail}`,
      );
    });
  }
}
