import assert from "node:assert/strict";
import {
  BOOT_ROM_BASE,
  BOOT_ROM_SIZE,
  BootRom,
  fdtLoadAddress,
  initrdLoadAddress,
  KERNEL_LOAD_ADDRESS,
} from "../devices/bootrom.ts";
import { hostTest, missing, QEMU } from "../scripts/host-tools.ts";
import { Csr } from "../core/csr.ts";
import { VirtMachine } from "../devices/virt.ts";

const MiB = 1024 * 1024;

/** The ROM as 32-bit words, read through the device interface. */
function romWords(rom: BootRom, count: number): number[] {
  return Array.from({ length: count }, (_, i) => rom.read(i * 4, 4));
}

/**
 * `xp /22wx 0x1000` on QEMU 7.2.22, `-M virt -m 128M -bios none -kernel smoke.elf`
 * (entry 0x8000_0000): reset vector, start_addr, fdt_addr, fw_dynamic_info.
 */
const QEMU_ROM_128M_BIOS_NONE = [
  0x00000297,
  0x02828613,
  0xf1402573,
  0x0202b583,
  0x0182b283,
  0x00028067, // code
  0x80000000,
  0x00000000, // start_addr
  0x87e00000,
  0x00000000, // fdt_addr
  0x4942534f,
  0x00000000, // magic
  0x00000002,
  0x00000000, // version
  0x80000000,
  0x00000000, // next_addr
  0x00000001,
  0x00000000, // next_mode S
  0x00000000,
  0x00000000, // options
  0x00000000,
  0x00000000, // boot_hart
];

Deno.test("bootrom: words equal QEMU 7.2's ROM for 128 MiB, -bios none", () => {
  const rom = new BootRom(0x8000_0000, fdtLoadAddress(0x8000_0000, 128 * MiB), 0x8000_0000);
  assert.deepEqual(romWords(rom, 22), QEMU_ROM_128M_BIOS_NONE);
  assert.equal(rom.image.length, 0x58);
});

Deno.test("bootrom: firmware boot (fw_jump, 256 MiB) puts the kernel address in next_addr", () => {
  // Measured on QEMU 7.2 with -m 256M and the default firmware plus -kernel.
  const rom = new BootRom(0x8000_0000, fdtLoadAddress(0x8000_0000, 256 * MiB), KERNEL_LOAD_ADDRESS);
  const words = romWords(rom, 22);
  assert.deepEqual(words.slice(6, 10), [0x80000000, 0, 0x8fe00000, 0]);
  assert.deepEqual(words.slice(14, 16), [0x80200000, 0]);
});

Deno.test("bootrom: byte, halfword and word reads agree; beyond the image reads zero", () => {
  const rom = new BootRom(0x1_2345_6789, 0x8000_0000, 0);
  assert.equal(rom.read(0, 1), 0x97);
  assert.equal(rom.read(0, 2), 0x0297);
  assert.equal(rom.read(2, 2), 0x0000);
  assert.equal(rom.read(4, 4), 0x02828613);
  assert.equal(rom.read(24, 4), 0x23456789, "start_addr low half");
  assert.equal(rom.read(28, 4), 0x1, "start_addr high half");
  assert.equal(rom.read(0x56, 4), 0, "straddling the end of the image");
  assert.equal(rom.read(BOOT_ROM_SIZE - 4, 4), 0);
  assert.equal(BOOT_ROM_BASE, 0x1000);
  assert.equal(BOOT_ROM_BASE + BOOT_ROM_SIZE, 0x10000);
});

Deno.test("bootrom: writes are ignored", () => {
  const rom = new BootRom(0x8000_0000, 0x87e0_0000, 0x8000_0000);
  rom.write(0, 4, 0xdeadbeef);
  rom.write(0x20, 1, 0xff);
  assert.deepEqual(romWords(rom, 22), QEMU_ROM_128M_BIOS_NONE);
});

Deno.test("bootrom: addresses that are not u64 below 2^53 are rejected", () => {
  assert.throws(() => new BootRom(-1, 0, 0), RangeError);
  assert.throws(() => new BootRom(0, 2 ** 53, 0), RangeError);
});

Deno.test("bootrom: DTB placement follows riscv_load_fdt (2 MiB aligned, below 3 GiB)", () => {
  assert.equal(fdtLoadAddress(0x8000_0000, 128 * MiB), 0x87e0_0000);
  assert.equal(fdtLoadAddress(0x8000_0000, 256 * MiB), 0x8fe0_0000);
  // QEMU 7.2 measures its 1 MiB buffer; a packed 4 KiB tree lands in the same place here.
  assert.equal(fdtLoadAddress(0x8000_0000, 256 * MiB, 0x105a), 0x8fe0_0000);
  // RAM ending 0.5 MiB past a 2 MiB boundary: the 1 MiB buffer QEMU 7.2 measures does
  // not fit above the boundary, a packed tree would (QEMU 7.2 with -m 27136K: 0x8180_0000).
  assert.equal(fdtLoadAddress(0x8000_0000, 0x1a8_0000), 0x8180_0000);
  assert.equal(fdtLoadAddress(0x8000_0000, 0x1a8_0000, 0x105a), 0x81a0_0000);
  // RAM reaching past 3 GiB: the DTB stays below 3 GiB for 32-bit kernels.
  assert.equal(fdtLoadAddress(0x8000_0000, 4096 * MiB), 0xbfe0_0000);
  // RAM starting above 3 GiB: only the end of RAM counts.
  assert.equal(fdtLoadAddress(0x1_0000_0000, 64 * MiB), 0x1_03e0_0000);
  assert.equal(fdtLoadAddress(0x8000_0000, 1 * MiB), 0x8000_0000, "fills all of RAM");
  assert.throws(() => fdtLoadAddress(0x8000_0000, 512 * 1024), RangeError);
});

Deno.test("bootrom: initrd placement follows riscv_load_initrd", () => {
  assert.equal(initrdLoadAddress(KERNEL_LOAD_ADDRESS, 128 * MiB), 0x8420_0000);
  assert.equal(initrdLoadAddress(KERNEL_LOAD_ADDRESS, 256 * MiB), 0x8820_0000);
  assert.equal(initrdLoadAddress(KERNEL_LOAD_ADDRESS, 2048 * MiB), 0x8820_0000);
  assert.equal(initrdLoadAddress(0x8000_0000, 64 * MiB), 0x8200_0000);
});

Deno.test(hostTest(
  "bootrom: the reset vector disassembles to QEMU's sequence",
  missing("riscv64-unknown-elf-objdump"),
  async () => {
    const file = await Deno.makeTempFile({ suffix: ".bin" });
    try {
      await Deno.writeFile(file, new BootRom(0, 0, 0).image.subarray(0, 24));
      const { stdout } = await new Deno.Command("riscv64-unknown-elf-objdump", {
        args: ["-D", "-b", "binary", "-m", "riscv:rv64", "-M", "no-aliases,numeric", file],
      }).output();
      const text = new TextDecoder().decode(stdout);
      const ops = [...text.matchAll(/^\s+[0-9a-f]+:\s+[0-9a-f]+\s+(.+)$/gm)]
        .map((m) => m[1].replace(/#.*/, "").replace(/\s+/g, " ").trim());
      assert.deepEqual(ops, [
        "auipc x5,0x0",
        "addi x12,x5,40",
        "csrrs x10,mhartid,x0",
        "ld x11,32(x5)",
        "ld x5,24(x5)",
        "jalr x0,0(x5)",
      ]);
    } finally {
      await Deno.remove(file);
    }
  },
));

/** Reads 22 ROM words from a QEMU `virt` started with `args`, through the monitor. */
async function qemuRomWords(args: string[]): Promise<number[]> {
  const child = new Deno.Command(QEMU, {
    args: ["-M", "virt", "-display", "none", "-serial", "null", "-S", "-monitor", "stdio", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("xp /22wx 0x1000\nquit\n"));
  await writer.close();
  const { stdout } = await child.output();
  const text = new TextDecoder().decode(stdout);
  const words = [...text.matchAll(/^0*1[0-9a-f]{3}:((?: 0x[0-9a-f]{8})+)/gm)]
    .flatMap((m) => m[1].trim().split(" ").map((w) => parseInt(w, 16)));
  assert.equal(words.length, 22, text);
  return words;
}

Deno.test(hostTest(
  "bootrom: equals the ROM of a live QEMU for 128 MiB, 256 MiB and 26.5 MiB",
  missing(QEMU),
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const kernel = `${dir}/kernel.bin`;
      await Deno.writeFile(kernel, new Uint8Array([0x6f, 0, 0, 0])); // j . (never run: -S)
      // 27136 KiB ends RAM half a MiB past a 2 MiB boundary, where the DTB size matters.
      for (const kib of [128 * 1024, 256 * 1024, 27136]) {
        const words = await qemuRomWords(["-m", `${kib}K`, "-bios", "none", "-kernel", kernel]);
        const fdt = fdtLoadAddress(0x8000_0000, kib * 1024);
        const ours = new BootRom(0x8000_0000, fdt, 0x8000_0000);
        assert.deepEqual(romWords(ours, 22), words, `${kib} KiB`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
));

Deno.test("bootrom: every hart leaves the reset vector with a0 = its mhartid, a1 = DTB, a2 = fw_dynamic_info", async () => {
  for (const hartId of [0, 1, 3, 7]) {
    const m = new VirtMachine({
      kernel: { name: "spin.bin", bytes: new Uint8Array([0x6f, 0, 0, 0]) },
    });
    // A hart of an SMP machine: the same ROM, its own mhartid (set as a snapshot restores it).
    m.hart.csr.loadState({ ...m.hart.csr.saveState(), csrs: [[Csr.mhartid, hartId, 0]] });
    assert.equal(m.hart.pc, BOOT_ROM_BASE);
    await m.run({ maxInstructions: 6 });
    assert.equal(m.hart.pc, 0x8000_0000);
    assert.equal(m.hart.getReg(10), BigInt(hartId));
    assert.equal(m.hart.getReg(11), BigInt(m.dtb.address));
    assert.equal(m.hart.getReg(12), BigInt(BOOT_ROM_BASE + 0x28));
  }
});

Deno.test(hostTest(
  "bootrom: QEMU's ROM is the same with -smp 4: all harts share one reset vector",
  missing(QEMU),
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const kernel = `${dir}/kernel.bin`;
      await Deno.writeFile(kernel, new Uint8Array([0x6f, 0, 0, 0]));
      const words = await qemuRomWords([
        "-smp",
        "4",
        "-m",
        "128M",
        "-bios",
        "none",
        "-kernel",
        kernel,
      ]);
      assert.deepEqual(words, QEMU_ROM_128M_BIOS_NONE);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
));
