/**
 * Drivers written against QEMU 7.2's devices (guests/drivers) run to their end
 * on QEMU and on rvisor, bare and under the hypervisor, with the same output.
 *
 * thre.elf (issue 10) takes the 16550's THRE interrupt through the PLIC in
 * S-mode without ever reading IIR, and counts the interrupts each kind of UART
 * access causes. The counts are QEMU 7.2's, measured with
 * `qemu-system-riscv64 -M virt -bios none -icount shift=0 -kernel thre.elf`;
 * rvisor must give the same ones (devices/plic.ts, devices/uart.ts). Before
 * rvisor modelled QEMU's PLIC, the first interrupt came back for ever.
 *
 * Build the guests first: `deno task guests`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { VirtMachine } from "../devices/virt.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";
import { hostTest, missing, QEMU, QEMU_CPU } from "../scripts/host-tools.ts";

const THRE_ELF = new URL("../guests/drivers/build/thre.elf", import.meta.url).pathname;

/** QEMU 7.2's report for thre.elf: interrupts per phase (the dots and `!` are its THR writes). */
const THRE_QEMU = [
  ".....!",
  "enable THRI: 1",
  "idle, line high: 0",
  "IER rewritten: 0",
  "IER changed: 2",
  "THR writes: 4",
  "FCR writes: 4",
  "RBR reads: 4",
  "LSR MSR LCR MCR SCR: 0",
  "IIR reads: 0",
  "FCR after IIR: 0",
  "THR after IIR: 1",
  "THR in handler: 2",
  "total: 18",
  "spurious: 0",
  "unexpected traps: 0",
  "thre: done",
  "",
].join("\r\n");

/** thre.elf retires about 1.1 M instructions; a livelocked PLIC never gets to poweroff. */
const BUDGET = 20_000_000;

/** Runs `elf` on rvisor to its poweroff; fails if it does not power off within BUDGET. */
async function runOnRvisor(elf: string, hypervisor: boolean): Promise<string> {
  let output = "";
  const config = {
    kernel: { name: elf, bytes: Deno.readFileSync(elf) },
    clock: "virtual" as const,
    isa: "rv64imac",
    console: (b: number) => output += String.fromCharCode(b),
  };
  const machine = hypervisor ? createHypervisorMachine(config) : new VirtMachine(config);
  const r = await machine.run({ maxInstructions: BUDGET });
  assert.equal(r.stop, "halt", `no poweroff after ${r.guestInstructions} instructions:\n${output}`);
  assert.equal(r.exitCode, 0);
  return output;
}

for (const hypervisor of [false, true]) {
  const mode = hypervisor ? "under the hypervisor" : "bare";
  Deno.test(`drivers: thre.elf's THRE interrupt counts are QEMU 7.2's, ${mode}`, async () => {
    assert.equal(await runOnRvisor(THRE_ELF, hypervisor), THRE_QEMU);
  });
}

Deno.test(hostTest(
  "drivers: QEMU 7.2 gives thre.elf the interrupt counts rvisor is held to",
  missing(QEMU),
  async () => {
    const proc = new Deno.Command(QEMU, {
      args: [
        ...["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-icount", "shift=0"],
        ...["-cpu", QEMU_CPU, "-kernel", THRE_ELF],
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
    const out = await proc.output();
    clearTimeout(timer);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(new TextDecoder().decode(out.stdout), THRE_QEMU);
  },
));
