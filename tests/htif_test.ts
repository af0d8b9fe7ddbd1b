/**
 * HTIF `tohost` exits (guests/htif): the same ELFs on QEMU 7.2's spike machine
 * (the reference: `-M spike -bios none -kernel`) and through boot.ts, bare and
 * under the hypervisor, where `tohost` is a guest-physical address. Exit codes:
 * pass.elf 0 (tohost = 1), fail.elf 42 (tohost = (42 << 1) | 1).
 *
 * @module
 */

import assert from "node:assert/strict";
import { buildGuests } from "../scripts/build-guests.ts";
import { hostTest, missing, QEMU } from "../scripts/host-tools.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const BUILD = `${ROOT}guests/htif/build/`;
/** Each program and the exit code it asks for. */
const PROGRAMS = [["pass.elf", 0], ["fail.elf", 42]] as const;
/** Hang guard: a tohost write that nobody sees would otherwise run for ever. */
const HANG_GUARD_MS = 60_000;

await buildGuests();

/** Runs `cmd args` from the repo root; its exit code and output (null code: killed by the guard). */
async function exitOf(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const guard = setTimeout(() => (killed = true, child.kill("SIGKILL")), HANG_GUARD_MS);
  const r = await child.output();
  clearTimeout(guard);
  const dec = new TextDecoder();
  return { code: killed ? null : r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

for (const [name, code] of PROGRAMS) {
  Deno.test(hostTest(
    `htif: ${name} exits with ${code} on QEMU -M spike`,
    missing(QEMU),
    async () => {
      const r = await exitOf(QEMU, [
        "-M",
        "spike",
        "-nographic",
        "-bios",
        "none",
        "-kernel",
        BUILD + name,
      ]);
      assert.equal(r.code, code, r.out);
    },
  ));
  for (const mode of ["bare", "hypervisor"] as const) {
    Deno.test(`htif: ${name} exits with ${code} through boot.ts (${mode})`, async () => {
      // --timeout makes a missed tohost write an error exit (not 0 or 42), well before the guard.
      const args = ["run", "-A", "boot.ts", "--kernel", BUILD + name, "--timeout", "30"];
      if (mode === "bare") args.push("--no-hypervisor");
      const r = await exitOf(Deno.execPath(), args);
      assert.equal(r.code, code, r.out);
    });
  }
}
