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

/** The headless browser the browser tests drive over CDP (tests/cdp.ts). */
export const CHROMIUM = "chromium-headless-shell";

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
 * The V8 flags rvisor runs with where its runtime is ours: `deno task boot`,
 * `deno task bench` (and its RSS children), the `deno task compile` binary and
 * `scripts/rvisor.sh boot`. A young generation of at most 4 MB per semi-space:
 * V8 grows it to 64 MB on a translated Linux boot, as every compiled block
 * leaves objects that survive, and capped the boot peaks 44 MiB lower for the
 * same CPU time (paired runs).
 */
export const V8_FLAGS = "--max-semi-space-size=4";

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

/**
 * The environment variable `scripts/rvisor.sh test` sets: that command installs
 * every tool the tests use, so there a missing one is a broken install and
 * fails its tests instead of leaving them ignored.
 */
export const REQUIRE_TOOLS = "RVISOR_REQUIRE_TOOLS";

/** The Debian package that brings each tool or file the tests look for. */
const PACKAGE_OF: Readonly<Record<string, string>> = {
  [QEMU]: "qemu-system-misc",
  [CHROMIUM]: "chromium-headless-shell",
  [OPENSBI_FW_JUMP]: "opensbi",
  [UBOOT_SMODE]: "u-boot-qemu",
  "gdb-multiarch": "gdb-multiarch",
  dtc: "device-tree-compiler",
  script: "util-linux",
  "riscv64-unknown-elf-gcc": "gcc-riscv64-unknown-elf",
  "riscv64-unknown-elf-as": "binutils-riscv64-unknown-elf",
  "riscv64-unknown-elf-ld": "binutils-riscv64-unknown-elf",
  "riscv64-unknown-elf-objdump": "binutils-riscv64-unknown-elf",
  "riscv64-unknown-elf-readelf": "binutils-riscv64-unknown-elf",
};

/**
 * What of `needs` is not here, one reason each: an entry with a `/` is a file
 * (a firmware image, a built guest), any other a command.
 */
export function missing(...needs: string[]): string[] {
  return needs.filter((n) => n.includes("/") ? !exists(n) : !hasCommand(n)).map((n) => {
    const pkg = PACKAGE_OF[n];
    const what = n.includes("/") ? `no ${n}` : `${n} is not installed`;
    return pkg ? `${what} (Debian package ${pkg})` : what;
  });
}

/**
 * A Deno.test definition for a test that needs host tools or files: `why`
 * lists what is missing (from {@linkcode missing}, or any other reason). With
 * nothing missing it is the plain test (with `options`); otherwise it is ignored with the
 * reasons in its name, or, under {@linkcode REQUIRE_TOOLS}=1, fails naming them.
 */
export function hostTest(
  name: string,
  why: readonly string[],
  fn: (t: Deno.TestContext) => void | Promise<void>,
  options: Omit<Deno.TestDefinition, "name" | "fn" | "ignore"> = {},
): Deno.TestDefinition {
  if (why.length === 0) return { ...options, name, fn };
  const reasons = why.join("; ");
  if (Deno.env.get(REQUIRE_TOOLS) === "1") {
    return {
      ...options,
      name,
      fn: () => {
        throw new Error(`${reasons} (${REQUIRE_TOOLS}=1: the test command installs these)`);
      },
    };
  }
  return { ...options, name: `${name} (ignored: ${reasons})`, ignore: true, fn };
}
