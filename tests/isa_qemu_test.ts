/**
 * Runs every ISA test program (guests/isa/build/*.elf) and the translator's
 * hard cases (guests/jit/build/*.elf) on QEMU, the reference machine, and
 * asserts that each passes (exit code 0 through the syscon test finisher). This proves the test programs themselves are right; running them
 * on rvisor is another test's job.
 *
 * A failing program exits with the number of the failing case; 0x7f means an
 * unexpected trap. Build the programs first: `deno task guests`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  HANG_GUARD_MS,
  hostTest,
  missing,
  QEMU,
  QEMU_CPU,
  QEMU_CPU_FD,
} from "../scripts/host-tools.ts";

const BUILD = new URL("../guests/isa/build/", import.meta.url).pathname;
const JIT_BUILD = new URL("../guests/jit/build/", import.meta.url).pathname;

function listElfs(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && e.name.endsWith(".elf"))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** Runs one program; resolves with QEMU's exit code (null when killed on timeout). */
async function runOnQemu(
  elf: string,
  extra: string[] = [],
): Promise<{ code: number | null; output: string }> {
  const child = new Deno.Command(QEMU, {
    args: [
      "-M",
      "virt",
      "-m",
      "128M",
      "-nographic",
      "-bios",
      "none",
      "-icount",
      "shift=0",
      "-cpu",
      elf.split("/").pop()!.startsWith("fp_") ? QEMU_CPU_FD : QEMU_CPU,
      "-kernel",
      elf,
      ...extra,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, HANG_GUARD_MS);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return {
    code: timedOut ? null : out.code,
    output: dec.decode(out.stdout) + dec.decode(out.stderr),
  };
}

function describe(code: number | null): string {
  if (code === null) return `no exit within ${HANG_GUARD_MS / 1000} s`;
  if (code === 0x7f) return "exit 0x7f: unexpected trap";
  return `exit ${code}: case ${code} failed`;
}

const elfs = listElfs(BUILD);
const jitElfs = listElfs(JIT_BUILD);

Deno.test(hostTest(
  "isa programs are built in guests/isa/build",
  missing(QEMU),
  () => {
    assert.ok(elfs.length > 0, `no ELF in ${BUILD}: run 'deno task guests' first`);
    assert.ok(jitElfs.length > 0, `no ELF in ${JIT_BUILD}: run 'deno task guests' first`);
  },
));

for (const name of jitElfs) {
  Deno.test(hostTest(
    `jit ${name} passes on QEMU`,
    missing(QEMU),
    async () => {
      // virtio_code.elf reads code from a disk in the last slot, on the modern transport.
      const disk = await Deno.makeTempFile({ suffix: ".img" });
      try {
        await Deno.writeFile(disk, new Uint8Array(4096));
        const { code, output } = await runOnQemu(JIT_BUILD + name, [
          ...["-global", "virtio-mmio.force-legacy=false"],
          ...["-drive", `file=${disk},if=none,format=raw,id=d0`],
          ...["-device", "virtio-blk-device,drive=d0"],
        ]);
        assert.equal(code, 0, `${name}: ${describe(code)}\n${output}`);
      } finally {
        await Deno.remove(disk);
      }
    },
  ));
}

for (const name of elfs) {
  Deno.test(hostTest(
    `isa ${name} passes on QEMU`,
    missing(QEMU),
    async () => {
      const { code, output } = await runOnQemu(BUILD + name);
      assert.equal(code, 0, `${name}: ${describe(code)}\n${output}`);
    },
  ));
}
