/**
 * Host-side helpers the tests and scripts share: whether a file or a tool is
 * there, and the QEMU command, CPU models and Debian firmware paths that the
 * comparisons against QEMU use. Host only (Deno.*): never imported by core/,
 * hypervisor/ or devices/.
 *
 * @module
 */

/** The reference machine's emulator (Debian package qemu-system-misc, QEMU 7.2). */
export const QEMU = "qemu-system-riscv64";

/** QEMU 7.2 CPU model matching rvisor's rv64imac hart (see ../shared/GUESTS.md). */
export const QEMU_CPU: string =
  "rv64,f=false,d=false,h=false,sstc=false,zba=false,zbb=false,zbc=false,zbs=false," +
  "Zihintpause=false";

/** QEMU 7.2 CPU model matching rvisor's rv64imafdc hart (see ../shared/GUESTS.md). */
export const QEMU_CPU_FD =
  "rv64,h=false,sstc=false,zba=false,zbb=false,zbc=false,zbs=false,Zihintpause=false";

/** Debian's OpenSBI fw_jump firmware for QEMU's `virt` (package opensbi). */
export const OPENSBI_FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";

/** Debian's S-mode U-Boot for QEMU's `virt` (package u-boot-qemu). */
export const UBOOT_SMODE = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";

/**
 * Wall-clock hang guard for a test's run or subprocess (ms): a run that should
 * end by itself (a halt, an answer, an instruction budget) and has not after
 * this long is stuck. Far above what any passing run takes on a loaded machine.
 */
export const HANG_GUARD_MS = 600_000;

/** True if something (file, directory, ...) is at `path`. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** True when `cmd --version` runs and succeeds (used to skip work when a tool is missing). */
export function hasCommand(cmd: string): boolean {
  try {
    return new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
