/**
 * Lockstep against QEMU (scripts/lockstep.ts): the project's ISA programs
 * instruction by instruction, and the first instructions of Debian's
 * OpenSBI + U-Boot from reset. Single-stepping QEMU over gdb is slow
 * (hundreds to a few thousand steps per second), so U-Boot is bounded here;
 * run the script by hand for longer comparisons.
 */

import assert from "node:assert/strict";
import { lockstep } from "../scripts/lockstep.ts";
import { traceLockstep } from "../scripts/lockstep-trace.ts";
import { buildGuests } from "../scripts/build-guests.ts";
import {
  hostTest,
  missing,
  OPENSBI_FW_JUMP as OPENSBI,
  QEMU,
  UBOOT_SMODE as UBOOT,
} from "../scripts/host-tools.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const BUILD = `${ROOT}guests/isa/build/`;
/** U-Boot instructions compared in CI (more with scripts/lockstep.ts --max). */
const UBOOT_STEPS = Number(Deno.env.get("LOCKSTEP_UBOOT_STEPS") ?? 20_000);

const NEED_QEMU = missing(QEMU);
const NEED_UBOOT = missing(QEMU, OPENSBI, UBOOT);

/**
 * Programs the gdb-stepped comparison follows only for their first
 * instructions, and why. Under gdb single-stepping QEMU's clock does not
 * follow its instruction count: each step lets host time pass up to the next
 * timer deadline (and `-icount sleep=off`, which would not, makes QEMU 7.2
 * spin when stepped with no timer armed). So a timer armed from an mtime read
 * fires on QEMU after host time, not instructions; interrupt.elf's test 9
 * arms one at its 123rd instruction (it then fails on QEMU itself when
 * stepped). The pc-trace comparison below runs it whole, QEMU free-running.
 */
const FIRST_ONLY: Record<string, number> = { "interrupt.elf": 123 };

/**
 * Programs whose gdb-stepped comparison differs by a QEMU quirk of
 * single-stepping, pinned: the step of the first difference, what differs, and
 * why. Run normally, QEMU agrees with rvisor (the isa_qemu and pc-trace tests
 * run these programs whole).
 */
const STEPPED_DIFFERENCES: Record<string, { steps: number; what: RegExp; why: string }> = {
  "trigger.elf": {
    steps: 109,
    what: /CSRs differ\n\s+instruction at 0x80000118: csrw tdata1,t0\n\s+mstatus: qemu/,
    why: "QEMU under gdb single-stepping fires an execute trigger when a step arrives at its " +
      "address without checking its mode bits (riscv_cpu_debug_excp_handler), so a U-only " +
      "trigger fires in M-mode there",
  },
};

if (NEED_QEMU.length === 0) await buildGuests();
/** The ISA programs as sources: what guests/isa/build must hold after the build. */
const SOURCES = [...Deno.readDirSync(`${ROOT}guests/isa/`)].map((e) => e.name)
  .filter((n) => n.endsWith(".S")).map((n) => n.replace(/\.S$/, ".elf")).sort();
// fp_* programs need F/D, which the default machine on both sides does not have.
const programs = SOURCES.filter((n) => !n.startsWith("fp_"));

/**
 * rvisor's block translator as shipped and off: the interpreter alone stays
 * compared with QEMU too (stepped, it runs blocks of one instruction at most).
 */
const JIT_MODES = [["jit on", true], ["jit off", false]] as const;

for (const [how, jit] of JIT_MODES) {
  Deno.test(hostTest(
    "lockstep: every ISA program is instruction-identical to QEMU until both halt, passing " +
      `(interrupt.elf: its first 123 instructions; ${how})`,
    NEED_QEMU,
    async (t) => {
      const built = [...Deno.readDirSync(BUILD)].map((e) => e.name).filter((n) =>
        n.endsWith(".elf")
      );
      assert.deepEqual(built.sort(), SOURCES, "guests/isa/build holds every ISA program");
      assert.ok(programs.length >= 15, `${programs.length} programs`);
      for (const elf of programs) {
        await t.step(elf, async () => {
          const first = FIRST_ONLY[elf];
          // Bounded, so that a program that never halts cannot hold CI (the longest halts at ~6k).
          const r = await lockstep({
            kernel: `${BUILD}${elf}`,
            maxInstructions: first ?? 20_000,
            jit,
          });
          const known = STEPPED_DIFFERENCES[elf];
          if (known) {
            assert.equal(r.result, "differ", r.text);
            assert.equal(r.steps, known.steps, r.text);
            assert.match(r.text, known.what, known.why);
            return;
          }
          assert.equal(r.result, "match", r.text);
          if (first !== undefined) {
            assert.equal(r.end, "limit", r.text);
            assert.equal(r.steps, first, r.text);
            return;
          }
          assert.equal(r.end, "halt", r.text);
          assert.equal(r.exitCode, 0, `${elf} failed on both machines: ${r.text}`);
          assert.ok(r.steps > 20, `${elf}: ${r.steps} steps`);
        });
      }
    },
  ));
}

for (const [how, jit] of JIT_MODES) {
  Deno.test(hostTest(
    `lockstep: OpenSBI + U-Boot from reset, first ${UBOOT_STEPS} instructions identical (${how})`,
    NEED_UBOOT,
    async () => {
      const r = await lockstep({
        bios: OPENSBI,
        kernel: UBOOT,
        maxInstructions: UBOOT_STEPS,
        jit,
      });
      assert.equal(r.result, "match", r.text);
      assert.equal(r.steps, UBOOT_STEPS);
    },
  ));
}

/** Programs the pc-trace comparison leaves to scripts/lockstep.ts, and why. */
const TRACE_SKIPS: Record<string, string> = {
  "counters.elf": "polls rdtime: QEMU's icount clock moves by host time when resumed from gdb",
  "counteren.elf": "keeps cycle/instret values in registers: each emulator counts its own way",
};

/**
 * Where the default machine differs from QEMU by design, pinned: the first
 * difference exactly as lockstep-trace reports it, and why.
 */
const TRACE_DIFFERENCES: Record<string, { first: string; why: string }> = {
  "interrupt.elf": {
    first: "first difference after 2105 instructions (the last at 0x80000184), " +
      "QEMU went to 0x80000186, rvisor to 0x8000018e",
    why: "the timer: rvisor raises MTIP as soon as mtime reaches mtimecmp, as the spec says; " +
      "QEMU's timer fires up to 99 instructions later, so test 10's poll loop sees MTIP one " +
      "pass earlier on rvisor (with Clint.qemuTimer it matches: the test below)",
  },
};

/**
 * Programs whose timer interrupts the comparison checks: QEMU runs them with an
 * exact clock (no host time in its timer even on a busy machine; a CI run under
 * load once saw QEMU's interrupt a tick early), at the cost of mid-run checkpoints.
 */
const TIMED = new Set(["interrupt.elf"]);

/** Interrupts interrupt.elf takes, the same on both machines when rvisor times MTIP as QEMU. */
const INTERRUPT_ELF_INTERRUPTS = 11;

for (const [how, jit] of JIT_MODES) {
  Deno.test(hostTest(
    "lockstep-trace: the ISA programs (fp_* with F/D) on the default machine run pc for pc as on " +
      `QEMU to their halt, but for the pinned differences (counters/counteren: lockstep.ts; ${how})`,
    NEED_QEMU,
    async (t) => {
      const traced = SOURCES.filter((p) => !(p in TRACE_SKIPS));
      assert.ok(traced.length >= 16, `${traced.length} programs`);
      for (const elf of traced) {
        await t.step(elf, async () => {
          const r = await traceLockstep({
            kernel: `${BUILD}${elf}`,
            // Dense checkpoints: each is a QEMU stop, which must not move its timer.
            checkpointEvery: 50,
            // F and D on both machines for the fp_* programs; f0..f31 compared at checkpoints.
            isa: elf.startsWith("fp_") ? "rv64imafdc" : undefined,
            // Timer interrupts at exact counts on QEMU too, however busy the host.
            exactQemuClock: TIMED.has(elf),
            jit,
          });
          const known = TRACE_DIFFERENCES[elf];
          if (known) {
            assert.equal(r.result, "differ", r.text);
            assert.equal(r.text.split("\n")[0], `lockstep-trace: ${known.first}`, known.why);
            return;
          }
          assert.equal(r.result, "match", r.text);
          assert.equal(r.end, "halt", r.text);
          assert.deepEqual(r.interrupts, [], r.text);
        });
      }
    },
  ));
}

Deno.test(hostTest(
  "lockstep-trace: with Clint.qemuTimer, interrupt.elf's timer interrupts come at QEMU's counts",
  NEED_QEMU,
  async () => {
    const r = await traceLockstep({
      kernel: `${BUILD}interrupt.elf`,
      qemuTimer: true,
      exactQemuClock: true,
    });
    assert.equal(r.result, "match", r.text);
    assert.equal(r.end, "halt", r.text);
    assert.equal(r.interrupts.length, INTERRUPT_ELF_INTERRUPTS, r.text);
  },
));

Deno.test(hostTest(
  "lockstep-trace: OpenSBI + U-Boot identical to QEMU from reset to the U-Boot prompt",
  NEED_UBOOT,
  async () => {
    const r = await traceLockstep({
      bios: OPENSBI,
      kernel: UBOOT,
      input: { after: "Hit any key to stop autoboot", text: " " },
      until: "=> ",
    });
    assert.equal(r.result, "match", r.text);
    assert.equal(r.end, "until", r.text);
    // About 24 M instructions, every pc compared; registers and CSRs at the checkpoints
    // before OpenSBI first writes mtimecmp (none while QEMU's timer is armed) and at the end.
    assert.ok(r.instructions > 20_000_000, r.text);
    assert.equal(r.checkpoints, 9, r.text);
    assert.deepEqual(r.interrupts, [], "no interrupt before the prompt");
  },
));

Deno.test(hostTest(
  "lockstep-trace: without QEMU's CSR quirks, OpenSBI's pmpaddr16 probe is the first difference",
  NEED_UBOOT,
  async () => {
    // priv 1.12's reading (pmpaddr16..63 read-only zero); QEMU 7.2 makes them illegal.
    const r = await traceLockstep({
      bios: OPENSBI,
      kernel: UBOOT,
      maxInstructions: 3_000_000,
      qemuQuirks: false,
    });
    assert.equal(r.result, "differ", r.text);
    assert.match(
      r.text,
      /first difference after \d+ instructions .*QEMU went to 0x8000a8f8/,
      r.text,
    );
  },
));
