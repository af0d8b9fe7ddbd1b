/**
 * The hypervisor's built-in SBI firmware (`firmware: "builtin"`,
 * hypervisor/sbi.ts): the kernel starts in virtual S-mode with OpenSBI's
 * machine state; guests/sbi/builtin.S calls every SBI function and checks the
 * answers; U-Boot S-mode boots to its prompt without OpenSBI.
 */

import assert from "node:assert/strict";
import { UBOOT_BUDGET, ubootCommand } from "./uboot_console.ts";
import { Csr } from "../core/csr.ts";
import { parseFdt } from "../core/fdt.ts";
import { out } from "../core/int64.ts";
import { MachineConfigError } from "../devices/board.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";
import { OPENSBI_MEDELEG, OPENSBI_MIDELEG, SbiExt } from "../hypervisor/sbi.ts";
import { parseBootArgs, UsageError } from "../boot.ts";
import { HANG_GUARD_MS, hostTest, missing, UBOOT_SMODE as UBOOT } from "../scripts/host-tools.ts";

const GUEST = new URL("../guests/sbi/build/builtin.elf", import.meta.url).pathname;

/** A raw S-mode kernel: SRST system_reset(a0 = type, reason 0), then spin. */
function resetKernel(type: number): Uint8Array {
  const words = [
    0x535258b7, // lui  a7, 0x53525
    0x35488893, // addi a7, a7, 0x354   (a7 = SRST)
    0x00000813, // li   a6, 0           (system_reset)
    0x00000513 | (type << 20), // li a0, type
    0x00000593, // li   a1, 0           (no reason)
    0x00000073, // ecall
    0x0000006f, // j .
  ];
  return new Uint8Array(new Uint32Array(words).buffer);
}

Deno.test("builtin firmware: the kernel starts in S-mode with OpenSBI's machine state", () => {
  const m = createHypervisorMachine({
    kernel: { name: "reset.bin", bytes: resetKernel(0) },
    firmware: "builtin",
    clock: "virtual",
  });
  const hv = m.hypervisor, csr = hv.guest.vcpu.csr;
  // A raw kernel goes where fw_jump jumps; a0 = hart 0, a1 = the guest DTB.
  assert.equal(m.hart.pc, 0x8020_0000);
  assert.equal(hv.guest.vcpu.priv, 1);
  assert.equal(m.hart.xl[10], 0);
  assert.equal(m.hart.xl[11] >>> 0, hv.guest.layout.dtbAddress);
  const csrValue = (n: number) => (assert.ok(csr.read(n)), out[0] >>> 0);
  assert.equal(csrValue(Csr.medeleg), OPENSBI_MEDELEG);
  assert.equal(csrValue(Csr.mideleg), OPENSBI_MIDELEG);
  assert.equal(csrValue(Csr.mcounteren), 7);
  assert.equal(csrValue(Csr.pmpcfg0) & 0xff, 0x1f); // one NAPOT entry, RWX, over everything
  assert.equal((csrValue(Csr.mstatus) >> 11) & 3, 0); // after the mret: MPP = U
  assert.equal(csrValue(Csr.stvec), 0x8020_0000);
  // The DTB is what OpenSBI passes on: the PLIC's M-mode context marked unusable.
  const plic = parseFdt(hv.guest.layout.dtb).root.find("/soc/plic@c000000");
  assert.deepEqual(plic?.cells("interrupts-extended"), [2, 0xffffffff, 2, 9]);
});

Deno.test("builtin firmware: SRST shutdown powers off, reboot halts with reason reset", async () => {
  for (const [type, reason] of [[0, "poweroff"], [1, "reset"], [2, "reset"]] as const) {
    const m = createHypervisorMachine({
      kernel: { name: "reset.bin", bytes: resetKernel(type) },
      firmware: "builtin",
      clock: "virtual",
    });
    const r = await m.run({ maxInstructions: 1000 });
    assert.equal(r.stop, "halt");
    assert.equal(m.halted?.reason, reason);
    assert.equal(m.hypervisor.firmware?.calls.get(SbiExt.SRST), 1);
  }
});

Deno.test("builtin firmware: configuration errors name the problem", () => {
  const kernel = { name: "reset.bin", bytes: resetKernel(0) };
  assert.throws(
    () => createHypervisorMachine({ kernel, bios: kernel, firmware: "builtin" }),
    MachineConfigError,
  );
  assert.throws(() => createHypervisorMachine({ firmware: "builtin" }), MachineConfigError);
  assert.throws(
    () => parseBootArgs(["--firmware", "builtin", "--no-hypervisor", "--kernel", "k"]),
    (e) => e instanceof UsageError && /--no-hypervisor/.test(e.message),
  );
  assert.throws(
    () => parseBootArgs(["--firmware", "builtin", "--bios", "b", "--kernel", "k"]),
    UsageError,
  );
  assert.throws(() => parseBootArgs(["--firmware", "opensbi"]), UsageError);
  assert.equal(parseBootArgs(["--firmware", "builtin", "--kernel", "k"]).firmware, "builtin");
  assert.equal(parseBootArgs([]).firmware, "guest");
});

Deno.test(hostTest(
  "builtin firmware: guests/sbi/builtin.S passes every SBI check and shuts down",
  missing(GUEST),
  async () => {
    let text = "";
    const m = createHypervisorMachine({
      kernel: { name: GUEST, bytes: Deno.readFileSync(GUEST) },
      firmware: "builtin",
      clock: "virtual",
      console: (b) => text += String.fromCharCode(b),
    });
    const r = await m.run({ maxInstructions: 10_000_000, timeoutMs: HANG_GUARD_MS });
    assert.equal(m.hypervisor.panicReport, null);
    // A failing case exits with its number (guests/sbi/builtin.S).
    assert.deepEqual(
      m.halted,
      { reason: "poweroff", code: 0, message: "guest poweroff" },
      `failed case ${m.halted?.code}`,
    );
    assert.equal(r.exitCode, 0);
    assert.equal(text, "sbi: hello from S-mode!\n"); // DBCN write, write_byte, legacy putchar
    const hv = m.hypervisor;
    assert.ok((hv.exitCounts.get("sbi") ?? 0) > 20);
    assert.equal(hv.exitCounts.get("ecall"), undefined); // no ecall reached guest M-mode
    for (const ext of [SbiExt.BASE, SbiExt.TIME, SbiExt.IPI, SbiExt.RFENCE, SbiExt.HSM]) {
      assert.ok(hv.firmware!.calls.has(ext), `extension 0x${ext.toString(16)} not called`);
    }
    // The guest's csrr mstatus was redirected to S-mode as OpenSBI redirects it.
    assert.equal(hv.firmware!.redirected, 1);
    assert.equal(hv.guestTraps.get("irq 1"), 1); // send_ipi -> SSIP
    assert.equal(hv.guestTraps.get("irq 5"), 2); // set_timer -> STIP (TIME and legacy)
  },
));

Deno.test(hostTest(
  "builtin firmware: U-Boot S-mode boots to its prompt without OpenSBI and answers version",
  missing(UBOOT),
  async () => {
    let text = "";
    const m = createHypervisorMachine({
      kernel: { name: UBOOT, bytes: Deno.readFileSync(UBOOT) },
      firmware: "builtin",
      clock: "virtual",
      console: (b) => text += String.fromCharCode(b),
    });
    const limits = { maxInstructions: UBOOT_BUDGET, timeoutMs: HANG_GUARD_MS };
    const r = await m.run({ until: "Hit any key to stop autoboot", ...limits });
    assert.equal(r.stop, "until", `no autoboot prompt; console:\n${text}`);
    assert.doesNotMatch(text, /OpenSBI/);
    m.input(" ");
    const r2 = await m.run({ until: "=> ", ...limits });
    assert.equal(r2.stop, "until", `no => prompt; console:\n${text}`);
    const version = await ubootCommand(m, () => text, "version");
    assert.match(version, /U-Boot 2023\.01/);
    assert.equal(m.hypervisor.panicReport, null);
  },
));
