/** Hart behaviour that the ISA programs reach only by chance: instructions run outside the decode cache. */

import assert from "node:assert/strict";
import { VirtMachine } from "../devices/virt.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";

/** c.nop up to the end of the first page, a 32-bit instruction across the page boundary, then poweroff. */
function crossingImage(crossing: number): Uint8Array {
  const halves: number[] = new Array(2047).fill(0x0001); // c.nop
  halves.push(crossing & 0xffff, crossing >>> 16);
  const tail = [
    0x001002b7, // lui t0, 0x100 (syscon)
    0x00005337, // lui t1, 0x5
    0x55530313, // addi t1, t1, 0x555
    0x0062a023, // sw t1, 0(t0)
    0x0000006f, // j .
  ];
  for (const w of tail) halves.push(w & 0xffff, w >>> 16);
  return new Uint8Array(new Uint16Array(halves).buffer);
}

for (const mode of ["bare", "hypervisor"] as const) {
  Deno.test(`a 32-bit NOP across a page boundary runs (regression: it recursed forever) (${mode})`, async () => {
    // addi x0, x0, 1 decodes to the NOP op: only the uncached path used to mishandle it.
    const config = { kernel: { name: "crossing.bin", bytes: crossingImage(0x00100013) } };
    const m = mode === "bare" ? new VirtMachine(config) : createHypervisorMachine(config);
    const r = await m.run({ maxInstructions: 100_000 });
    assert.equal(r.reason, "poweroff");
  });

  Deno.test(`a 32-bit ALU op across a page boundary computes its result (${mode})`, async () => {
    const config = { kernel: { name: "crossing.bin", bytes: crossingImage(0x55500513) } }; // addi a0, x0, 0x555
    const m = mode === "bare" ? new VirtMachine(config) : createHypervisorMachine(config);
    const r = await m.run({ maxInstructions: 100_000 });
    assert.equal(r.reason, "poweroff");
    assert.equal(m.hart.getReg(10), 0x555n);
  });
}
