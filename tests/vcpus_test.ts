/**
 * Multi-vCPU guests under the hypervisor (`smp` with the hypervisor, `--smp N`):
 * vCPU i on host hart i, each with its own virtual CSRs, privilege, shadow
 * page tables and timer; the guest's CLINT, PLIC and DTB for N harts; the
 * built-in firmware's HSM, IPI and RFENCE for several vCPUs.
 *
 * Build the guests first: `deno task guests`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createMachine } from "../hypervisor/machine.ts";
import { HANG_GUARD_MS } from "../scripts/host-tools.ts";
import { SnapshotError } from "../core/snapshot.ts";
import { runBoot } from "./boot_cli.ts";

const SMP_ELF = new URL("../guests/smp/build/smp.elf", import.meta.url).pathname;
const SHADOW_ELF = new URL("../guests/smp/build/shadow.elf", import.meta.url).pathname;

/** Runs smp.elf (M-mode, every hart at the reset vector) with `harts` harts, to its poweroff. */
async function runSmp(harts: number, hypervisor: boolean) {
  let output = "";
  const m = createMachine({
    kernel: { name: "smp.elf", bytes: Deno.readFileSync(SMP_ELF) },
    smp: harts,
    hypervisor,
    clock: "virtual",
    rtcBase: 0,
    console: (b) => output += String.fromCharCode(b),
  });
  const r = await m.run({ maxInstructions: 50_000_000, timeoutMs: HANG_GUARD_MS });
  return { m, r, output, counts: m.vm.harts.map((h) => h.retired) };
}

for (const harts of [2, 4]) {
  Deno.test(`vcpus: smp.elf with ${harts} vCPUs in virtual M-mode prints what it prints bare`, async () => {
    const bare = await runSmp(harts, false);
    const hv = await runSmp(harts, true);
    const want = `smp: ${harts} harts, seen ${2 ** harts - 1}, amo ${harts * 1000}, ` +
      `lrsc ${harts * 1000}, lock ${harts * 1000}, patched 42\n`;
    assert.equal(bare.output, want);
    assert.equal(hv.output, want);
    assert.equal(hv.r.reason, "poweroff");
    assert.equal(hv.m.vm.harts.length, harts);
    // Every vCPU ran on its own host hart, with its own mhartid.
    const vcpus = hv.m.hypervisor!.vcpus;
    assert.equal(vcpus.length, harts);
    for (const [i, v] of vcpus.entries()) {
      assert.equal(v.vcpuIndex, i);
      assert.equal(v.hart, hv.m.vm.harts[i]);
      assert.equal(v.guest.vcpu.csr.hartId, i);
      assert.ok(hv.counts[i] > 1000, `hart ${i} ran the guest: ${hv.counts[i]}`);
    }
  });
}

Deno.test("vcpus: two virtual-clock runs of smp.elf under the hypervisor give the same output and counts", async () => {
  const a = await runSmp(3, true), b = await runSmp(3, true);
  assert.equal(a.output, b.output);
  assert.deepEqual(a.counts, b.counts);
  assert.equal(a.m.vm.guestInstructions, b.m.vm.guestInstructions);
  assert.equal(a.m.hypervisor!.emulated, b.m.hypervisor!.emulated);
});

Deno.test("vcpus: a page-table change by vCPU 0 reaches vCPU 1's shadow tables through SBI RFENCE (guests/smp/shadow.S)", async () => {
  let output = "";
  const m = createMachine({
    kernel: {
      name: "shadow.elf",
      bytes: Deno.readFileSync(new URL("../guests/smp/build/shadow.elf", import.meta.url)),
    },
    smp: 2,
    firmware: "builtin",
    clock: "virtual",
    console: (b) => output += String.fromCharCode(b),
  });
  const r = await m.run({ maxInstructions: 10_000_000, timeoutMs: HANG_GUARD_MS });
  assert.equal(output, "shadow: hart 1 read 1 then 2\n");
  assert.equal(r.reason, "poweroff");
  // vCPU 1 was started by HSM hart_start and filled its own shadow tables.
  const [v0, v1] = m.hypervisor!.vcpus;
  assert.notEqual(v1.memory, v0.memory);
  assert.ok((v1.vcpuExitCounts.get("shadow-fill") ?? 0) > 0);
  // hart_stop from vCPU 1; hart_start and hart_get_status polls from vCPU 0.
  assert.equal(v1.firmware!.calls.get(0x48534d), 1);
  assert.ok(v1.stopped);
  assert.ok(v0.firmware!.calls.get(0x48534d)! >= 2);
});

/** A guest with several vCPUs under the hypervisor, its console collected. */
function smpGuest(elf: string, smp: number, firmware?: "builtin") {
  const out = { text: "" };
  const m = createMachine({
    kernel: { name: elf.split("/").pop()!, bytes: Deno.readFileSync(elf) },
    smp,
    firmware,
    clock: "virtual",
    rtcBase: 0,
    console: (b) => out.text += String.fromCharCode(b),
  });
  return { m, out };
}

/** Everything a run's end can be told by: console, each hart's count, each vCPU's exits and emulated count. */
function endState(g: ReturnType<typeof smpGuest>) {
  return {
    output: g.out.text,
    halt: g.m.vm.halted?.reason,
    retired: g.m.vm.harts.map((h) => h.retired),
    guest: g.m.vm.guestInstructions,
    exits: g.m.hypervisor!.vcpus.map((v) => [...v.exitCounts].sort()),
    emulated: g.m.hypervisor!.vcpus.map((v) => v.guest.vcpu.emulated),
    stopped: g.m.hypervisor!.vcpus.map((v) => v.stopped),
  };
}

for (
  const [elf, smp, firmware, at] of [
    [SMP_ELF, 3, undefined, 3 * 4096 * 5 + 1234], // mid-turn, every vCPU busy in virtual M-mode
    [SHADOW_ELF, 2, "builtin", 6_000], // vCPU 1 started by HSM, its page read pending
  ] as const
) {
  Deno.test(`vcpus: a snapshot of ${elf.split("/").pop()} with ${smp} vCPUs${firmware ? " (builtin firmware)" : ""} mid-run continues exactly as the run it was taken from`, async () => {
    const a = smpGuest(elf, smp, firmware);
    await a.m.run({ maxInstructions: at });
    assert.equal(a.m.vm.halted, null);
    const bytes = a.m.vm.saveSnapshot();
    await a.m.run({ maxInstructions: 50_000_000, timeoutMs: HANG_GUARD_MS });
    const b = smpGuest(elf, smp, firmware);
    b.m.vm.restore(bytes);
    // Nothing is lost or added on the way: saving the restored machine gives the same bytes.
    assert.deepEqual(b.m.vm.saveSnapshot(), bytes);
    const printed = b.out.text.length;
    await b.m.run({ maxInstructions: 50_000_000, timeoutMs: HANG_GUARD_MS });
    assert.equal(printed, 0, "a restored machine prints nothing by itself");
    const want = endState(a);
    assert.equal(want.halt, "poweroff");
    assert.ok(want.output.length > 0);
    // Output printed before the save is not printed again: the restored run's is the rest.
    const before = a.out.text.length - b.out.text.length;
    assert.deepEqual({ ...endState(b), output: a.out.text.slice(0, before) + b.out.text }, want);
    // Every vCPU's exits were counted before and after the save.
    for (const e of want.exits) assert.ok(e.length > 0);
  });
}

Deno.test("vcpus: a snapshot restores only into a guest with as many vCPUs (one-line error)", async () => {
  const a = smpGuest(SMP_ELF, 3);
  await a.m.run({ maxInstructions: 10_000 });
  const bytes = a.m.vm.saveSnapshot();
  assert.throws(
    () => smpGuest(SMP_ELF, 2).m.vm.restore(bytes, "three.snap"),
    (e: Error) =>
      e instanceof SnapshotError &&
      /^three\.snap: .*harts is 3 in the snapshot but 2 here/.test(e.message) &&
      !e.message.includes("\n"),
  );
});

Deno.test("vcpus: boot.ts --smp 2 runs smp.elf under the hypervisor; --stats has each hart and every vCPU's exits", async () => {
  const boot = new URL("../boot.ts", import.meta.url).pathname;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", boot, "--smp", "2", "--clock", "virtual", "--kernel", SMP_ELF, "--stats"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(r.stdout), stderr = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, stderr);
  assert.match(stdout, /^smp: 2 harts, seen 3, amo 2000, lrsc 2000, lock 2000, patched 42$/m);
  assert.match(stderr, /^ {2}hart 0 +\d+ instructions/m);
  assert.match(stderr, /^ {2}hart 1 +\d+ instructions/m);
  const total = Number(/^ {2}hypervisor exits +(\d+)$/m.exec(stderr)?.[1]);
  const kinds = [...stderr.matchAll(/^ +(\d+) {2}[a-z.-]+$/gm)].reduce(
    (a, m) => a + Number(m[1]),
    0,
  );
  assert.equal(total, kinds, stderr);
  // Every host trap, on either hart, is an exit of one vCPU or the other: the table has both.
  assert.equal(total, Number(/^ {2}traps +(\d+)$/m.exec(stderr)?.[1]), stderr);
});

Deno.test("vcpus: boot.ts --snapshot-at/--snapshot-save with --smp 3, then --snapshot-load: the same line, counts and exits", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "rvisor-vcpus-" });
  try {
    const file = `${dir}/smp.snap`;
    const args = ["--smp", "3", "--clock", "virtual", "--kernel", SMP_ELF, "--stats"];
    const first = await runBoot([...args, "--snapshot-save", file, "--snapshot-at", "40000"]);
    const second = await runBoot([...args, "--snapshot-load", file]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(
      first.stdout,
      "smp: 3 harts, seen 7, amo 3000, lrsc 3000, lock 3000, patched 42\n",
    );
    assert.equal(second.stdout, first.stdout);
    // The counts of the whole run, each hart's and every vCPU's exits by kind (host trap
    // counts are the process's: a hart's trapsTaken is not in the snapshot).
    const counts = (stderr: string) =>
      stderr.split("\n").filter((l) =>
        /^ {2}(instructions retired|host instructions|hart \d|hypervisor exits) |^ +\d+ {2}[a-z.-]+$/
          .test(l)
      ).map((l) => l.replace(/, \d+ traps/, ""));
    assert.ok(counts(first.stderr).length >= 7, first.stderr);
    assert.deepEqual(counts(second.stderr), counts(first.stderr));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
