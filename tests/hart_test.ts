/** Hart behaviour that the ISA programs reach only by chance: instructions run outside the decode cache. */

import assert from "node:assert/strict";
import { HANG_GUARD_MS } from "../scripts/host-tools.ts";
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

Deno.test("run({maxInstructions}) ends even when the guest is stuck in a trap loop (bare)", async () => {
  // csrwi mtvec, 0; ecall: the trap vector is unmapped, so every trap traps again at once.
  const bytes = new Uint8Array(new Uint32Array([0x30505073, 0x00000073]).buffer);
  const m = new VirtMachine({ kernel: { name: "loop.bin", bytes }, clock: "virtual" });
  const r = await m.run({ maxInstructions: 100_000, timeoutMs: HANG_GUARD_MS });
  assert.equal(r.stop, "limit");
  assert.ok(m.hart.trapsTaken >= 99_000);
});

Deno.test("a misaligned LR at an address above 2^53 is a misaligned-load trap", () => {
  // lr.w a0, (a1) with a1 = 0x0020_0000_0000_0003: its double is rounded, its low bits are not.
  const bytes = new Uint8Array(new Uint32Array([0x1005a52f]).buffer);
  const m = new VirtMachine({ kernel: { name: "lr.bin", bytes } });
  m.hart.reset(0x8000_0000);
  m.hart.setReg(11, 0x0020_0000_0000_0003n);
  m.hart.run(1);
  assert.equal(m.hart.readCsr(0x342), 4n); // mcause: load address misaligned
});

for (const mode of ["bare", "hypervisor"] as const) {
  Deno.test(`csrs mip does not latch the PLIC's SEIP into the software bit (${mode})`, async () => {
    // li t0, 32; csrs mip, t0 (set STIP); j . — while the S-mode external line is high.
    const bytes = new Uint8Array(new Uint32Array([0x02000293, 0x3442a073, 0x0000006f]).buffer);
    const config = { kernel: { name: "mip.bin", bytes }, clock: "virtual" as const };
    const hv = mode === "hypervisor" ? createHypervisorMachine(config) : null;
    const m = hv ?? new VirtMachine(config);
    const cpu = hv ? hv.hypervisor.guest.vcpu : m.hart;
    cpu.setInterruptLevel(9, true); // the PLIC's S-context line
    await m.run({ maxInstructions: 20 });
    cpu.setInterruptLevel(9, false);
    const csr = hv ? hv.hypervisor.guest.vcpu.csr : m.hart.csr;
    assert.equal(csr.mip, 1 << 5, "only STIP remains once the line drops");
  });
}

Deno.test("M-mode accesses at 0xffff_ffff_ffff_ffff are access faults, not page faults (regression)", () => {
  // The address is -1 as a JS number, which the MMU also used as its page-fault
  // sentinel. lwu a4, -1(x0); sb zero, -1(x0); jalr x0, -1(x0) then the fetch at -2.
  const cases = [[0xfff06703, 1, 5n], [0xfe000fa3, 1, 7n], [0xfff00067, 2, 1n]] as const;
  for (const [insn, steps, cause] of cases) {
    const bytes = new Uint8Array(new Uint32Array([insn]).buffer);
    const m = new VirtMachine({ kernel: { name: "neg1.bin", bytes } });
    m.hart.reset(0x8000_0000);
    m.hart.run(steps);
    assert.equal(m.hart.readCsr(0x342), cause, `mcause after 0x${insn.toString(16)}`);
  }
});

Deno.test("CsrFile.qemuQuirks: QEMU 7.2's PMP and HPM CSR choices by default, priv 1.12's without", () => {
  /** The CSRs' values after writing all ones, on a new machine with `quirks` (undefined: default). */
  const afterWrites = (quirks?: boolean) => {
    const m = new VirtMachine({ kernel: { name: "x.bin", bytes: new Uint8Array(4) } });
    const csr = m.hart.csr;
    if (quirks !== undefined) csr.qemuQuirks = quirks;
    for (const n of [0x3c0, 0xb03, 0xb13, 0x323, 0x320, 0x306]) csr.write(n, -1, -1);
    return [0x3c0, 0xb03, 0xc03, 0xb13, 0xc13, 0x323, 0x320, 0x306].map((n) =>
      csr.read(n) ? BigInt.asUintN(64, m.hart.readCsr(n)!) : "illegal"
    );
  };
  // QEMU 7.2: no pmpaddr16 or counters 19..31; counters 3..18, events and mcountinhibit keep values.
  const all = 0xffff_ffff_ffff_ffffn;
  assert.deepEqual(afterWrites(), ["illegal", all, all, "illegal", "illegal", all, all, all]);
  // priv 1.12: pmpaddr16 and the counters exist, read-only zero; mcounteren keeps 32 bits.
  assert.deepEqual(afterWrites(false), [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0xffff_ffffn]);
});

Deno.test("misaligned loads and stores in a page the TLB holds move the right bytes; a watchpoint set later sees them", () => {
  // The first store and load of the page walk and fill the TLB, the second of each hits it.
  const bytes = new Uint8Array(
    new Uint32Array([
      0x00001597, // auipc a1, 1 (0x8000_1000)
      0x00358593, // addi a1, a1, 3
      0x00a5b023, // sd a0, 0(a1)
      0x00a5b423, // sd a0, 8(a1)
      0x0005b603, // ld a2, 0(a1)
      0x0085b683, // ld a3, 8(a1)
      0x0000006f, // j .
    ]).buffer,
  );
  const m = new VirtMachine({ kernel: { name: "misaligned.bin", bytes } });
  m.hart.reset(0x8000_0000);
  m.hart.setReg(10, 0x1122_3344_5566_7788n);
  m.hart.run(6);
  assert.equal(m.hart.getReg(12), 0x1122_3344_5566_7788n);
  assert.equal(m.hart.getReg(13), 0x1122_3344_5566_7788n);
  const at = (pa: number) => m.bus.ram[pa - 0x8000_0000];
  assert.deepEqual([at(0x8000_1003), at(0x8000_100a), at(0x8000_1012)], [0x88, 0x11, 0x11]);
  // Both pages' entries are in the TLB now; a watchpoint must still see the second store.
  const hits: number[] = [];
  m.hart.onWatchpoint = (hit) => (hits.push(hit.addr), true);
  m.hart.addWatchpoint({ addr: 0x8000_100d, length: 1, read: false, write: true });
  m.hart.setReg(10, 0n);
  m.hart.pc = 0x8000_000c;
  m.hart.run(1);
  assert.deepEqual(hits, [0x8000_100b]);
  assert.equal(at(0x8000_100d), 0);
});
