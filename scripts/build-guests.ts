/**
 * Builds the project's own guests with Debian's riscv64-unknown-elf-gcc.
 *
 * - guests/isa/*.S -> guests/isa/build/NAME.elf (one ISA test program per file)
 * - guests/sbi/*.S -> guests/sbi/build/NAME.elf (S-mode guests for scripts/sbi-extension.ts)
 * - guests/adversarial/*.S -> guests/adversarial/build/NAME.elf (tests/isolation_test.ts)
 * - guests/htif/*.S -> guests/htif/build/NAME.elf (HTIF `tohost` exits, tests/htif_test.ts)
 * - guests/jit/*.S -> guests/jit/build/NAME.elf (the block translator's hard cases,
 *   tests/translate_test.ts)
 * - guests/bench/*.c -> guests/bench/build/NAME.elf (CPU-bound benchmark programs, in
 *   M-mode) and NAME_user.elf (the same with main() in U-mode, common/crt0_user.S)
 * - guests/drivers/*.c -> guests/drivers/build/NAME.elf (drivers written against QEMU's
 *   devices, run on QEMU and rvisor by tests/drivers_test.ts; main() in M-mode)
 * - guests/smp/*.S -> guests/smp/build/NAME.elf (guests for several harts, tests/smp_test.ts, tests/vcpus_test.ts)
 * - guests/tinyos -> guests/tinyos/tinyos.elf (the default guest OS; scripts/build-tinyos.ts)
 *
 * Only stale outputs are rebuilt. Usage: `deno task guests [--force]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { buildTinyos, tinyosStale } from "./build-tinyos.ts";

const CC = "riscv64-unknown-elf-gcc";
const ROOT = new URL("../guests/", import.meta.url).pathname;

/** Flags shared by every bare-metal guest (see shared/GUESTS.md). */
export const BARE_FLAGS = [
  "-march=rv64imac_zicsr_zifencei",
  "-mabi=lp64",
  "-mcmodel=medany",
  "-nostdlib",
  "-ffreestanding",
  "-fno-builtin",
  "-static",
  "-Wl,--no-warn-rwx-segments",
  `-I${ROOT}common`,
  `-T${ROOT}common/link.ld`,
];

/** -march of the ISA programs named fp_*.S (F and D; run on a machine with isa rv64imafdc). */
export const FD_MARCH = "-march=rv64imafdc_zicsr_zifencei";

/** One program to build: its sources and the ELF it produces. */
interface Target {
  sources: string[];
  output: string;
  flags: string[];
}

function listTargets(): Target[] {
  const targets: Target[] = [];
  const dirs = [
    ["isa", ".S", []],
    ["bench", ".c", ["-O2"]],
    ["sbi", ".S", []],
    ["adversarial", ".S", []],
    ["htif", ".S", []],
    ["jit", ".S", []],
    ["drivers", ".c", ["-O2"]],
    ["smp", ".S", []],
  ] as const;
  for (const [dir, ext, flags] of dirs) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(`${ROOT}${dir}`)];
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isFile || !e.name.endsWith(ext)) continue;
      const name = e.name.slice(0, -ext.length);
      const sources = [`${ROOT}${dir}/${e.name}`];
      // fp_*.S exercise F and D: built for rv64imafdc (the last -march wins).
      const march = dir === "isa" && e.name.startsWith("fp_") ? [FD_MARCH] : [];
      if (dir === "bench") {
        // Also NAME_user.elf: main() in U-mode (for the hypervisor's overhead on a user program).
        const user = [`${ROOT}common/crt0_user.S`, ...sources];
        targets.push({
          sources: user,
          output: `${ROOT}${dir}/build/${name}_user.elf`,
          flags: [...flags],
        });
      }
      if (ext === ".c") sources.unshift(`${ROOT}common/crt0.S`);
      targets.push({
        sources,
        output: `${ROOT}${dir}/build/${name}.elf`,
        flags: [...flags, ...march],
      });
    }
  }
  return targets.sort((a, b) => a.output.localeCompare(b.output));
}

function mtime(path: string): number {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? 0;
  } catch {
    return -1;
  }
}

function isStale(t: Target): boolean {
  const out = mtime(t.output);
  if (out < 0) return true;
  // Headers beside a source (probe.h, htif.h) are inputs too.
  const dir = t.sources[t.sources.length - 1].replace(/[^/]*$/, "");
  const headers = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".h"))
    .map((e) => dir + e.name);
  const inputs = [...t.sources, ...headers, `${ROOT}common/test.h`, `${ROOT}common/link.ld`];
  return inputs.some((s) => mtime(s) > out);
}

/** Builds every stale guest (all with `force`); returns the number built. */
export async function buildGuests(force = false): Promise<number> {
  let built = 0;
  for (const t of listTargets()) {
    if (!force && !isStale(t)) continue;
    Deno.mkdirSync(t.output.slice(0, t.output.lastIndexOf("/")), { recursive: true });
    let result: Deno.CommandOutput;
    try {
      result = await new Deno.Command(CC, {
        args: [...BARE_FLAGS, ...t.flags, "-o", t.output, ...t.sources],
      }).output();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(
          `${CC} not found: install it with 'apt-get install gcc-riscv64-unknown-elf'`,
        );
      }
      throw e;
    }
    if (!result.success) {
      throw new Error(
        `building ${t.output} failed:\n${new TextDecoder().decode(result.stderr)}`,
      );
    }
    built++;
  }
  if (force || tinyosStale()) {
    await buildTinyos();
    built++;
  }
  return built;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { force: { type: "boolean" } } });
  try {
    const n = await buildGuests(values.force);
    console.log(`guests: ${n} built`);
  } catch (e) {
    console.error(`build-guests: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
