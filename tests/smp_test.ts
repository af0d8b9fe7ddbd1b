/**
 * Several harts on one machine (`smp` / `--smp N`): harts in turns on one
 * thread, LR/SC reservations and decoded code across harts, hart ids in
 * events, hooks and --stats, repeatable virtual-clock runs, and
 * guests/smp/smp.elf on QEMU `-smp 4` and on rvisor.
 *
 * Build the guests first: `deno task guests`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseBootArgs, UsageError } from "../boot.ts";
import { MachineConfigError, SLICE, VirtMachine } from "../devices/virt.ts";
import { createMachine } from "../hypervisor/machine.ts";
import { HANG_GUARD_MS, hostTest, missing, QEMU } from "../scripts/host-tools.ts";

const SMP_ELF = new URL("../guests/smp/build/smp.elf", import.meta.url).pathname;
const REPO = new URL("..", import.meta.url).pathname;

/** A raw program of 32-bit words, loaded at RAM base as `-bios none -kernel` loads it. */
function program(words: number[]): { name: string; bytes: Uint8Array } {
  return { name: "prog.bin", bytes: new Uint8Array(new Uint32Array(words).buffer) };
}

/** Runs smp.elf on rvisor with `harts` harts, virtual clock, to its poweroff. */
async function runSmpGuest(harts: number) {
  let output = "";
  const m = new VirtMachine({
    kernel: { name: "smp.elf", bytes: Deno.readFileSync(SMP_ELF) },
    smp: harts,
    clock: "virtual",
    rtcBase: 0,
    console: (b) => output += String.fromCharCode(b),
  });
  const r = await m.run({ maxInstructions: 50_000_000, timeoutMs: HANG_GUARD_MS });
  return { m, r, output, counts: m.harts.map((h) => h.retired) };
}

Deno.test("smp: the number of harts is checked (machine, createMachine, boot.ts), and 1 is the default", () => {
  for (const smp of [0, 9, 1.5]) {
    assert.throws(() => new VirtMachine({ smp }), MachineConfigError);
    assert.throws(() => createMachine({ smp, hypervisor: false }), new RegExp(`config\\.smp`));
  }
  assert.throws(
    () => createMachine({ smp: 2, guests: [{}, {}] }),
    /config\.smp: with config\.guests, give it in each guest entry/,
  );
  assert.equal(new VirtMachine({}).harts.length, 1);
  assert.throws(() => parseBootArgs(["--smp", "9", "--no-hypervisor"]), UsageError);
  assert.throws(() => parseBootArgs(["--smp", "two", "--no-hypervisor"]), /--smp two/);
  assert.throws(() => parseBootArgs(["--smp", "2", "--guest", "mem=128M"]), /--smp 2: .*--guest/);
  assert.equal(parseBootArgs(["--smp", "2"]).smp, 2);
  assert.equal(parseBootArgs(["--smp", "4", "--no-hypervisor"]).smp, 4);
  assert.equal(parseBootArgs([]).smp, 1);
});

Deno.test("smp: every hart starts at the reset vector with a0 = mhartid = its number", async () => {
  const m = new VirtMachine({ kernel: program([0x0000006f]), smp: 3, clock: "virtual" }); // j .
  assert.equal(m.hart, m.harts[0]);
  await m.run({ maxInstructions: 3 * SLICE });
  for (const [i, h] of m.harts.entries()) {
    assert.equal(h.readCsr(0xf14), BigInt(i), `mhartid of hart ${i}`);
    assert.equal(h.getReg(10), BigInt(i), `a0 of hart ${i}`);
    assert.equal(h.pc, 0x8000_0000);
    assert.ok(h.retired >= SLICE - 10, `hart ${i} had its turn: ${h.retired}`);
  }
});

Deno.test("smp: harts take turns of SLICE instructions in hart-id order; one in wfi does not stall the others", async () => {
  // Hart 0 spins; harts 1 and 2 wait in wfi for ever (no interrupt enabled).
  const m = new VirtMachine({
    kernel: program([
      0x00050463, // beqz a0, 8
      0x10500073, // wfi
      0x0000006f, // j .
    ]),
    smp: 3,
    clock: "virtual",
  });
  const [h0, h1, h2] = m.harts;
  await m.run({ maxInstructions: SLICE });
  assert.deepEqual(m.harts.map((h) => h.retired), [SLICE, 0, 0], "hart 0's turn first");
  const r = await m.run({ maxInstructions: 9 * SLICE });
  assert.equal(r.stop, "limit");
  assert.ok(h1.waiting && h2.waiting, "harts 1 and 2 wait");
  assert.equal(h1.retired, 8, "the boot ROM, beqz and wfi");
  assert.equal(h2.retired, 8);
  assert.equal(h0.retired, 10 * SLICE - 16, "hart 0 got all the rest");
  assert.equal(m.hostInstructions, 10 * SLICE);
});

Deno.test("smp: an SC fails once another hart ran and stored to the reserved word, even the same value", async () => {
  const words = [
    0x00010297, // auipc t0, 0x10        (a data word 64 KiB on)
    0x00051e63, // bnez a0, hart1
    0x1002a32f, // lr.w t1, (t0)
    0x000013b7, // lui t2, 1              (a loop of 8,192 instructions: longer than a slice)
    0xfff38393, // 1: addi t2, t2, -1
    0xfe039ee3, // bnez t2, 1b
    0x1862a5af, // sc.w a1, t1, (t0)
    0x0000006f, // j .
    0x0002a303, // hart1: lw t1, 0(t0)
    0x0062a023, // sw t1, 0(t0)            (the value LR read: a compare-and-swap would succeed)
    0x10500073, // 2: wfi
    0xffdff06f, // j 2b
  ];
  const sc = async (smp: number) => {
    const m = new VirtMachine({ kernel: program(words), smp, clock: "virtual" });
    m.harts[0].setReg(11, 7n);
    await m.run({ maxInstructions: 4 * SLICE + 20_000 });
    assert.equal(m.hart.pc, 0x8000_001c, "hart 0 passed its SC");
    return m.hart.getReg(11);
  };
  assert.equal(await sc(1), 0n, "alone, the reservation lasts through the loop");
  assert.equal(await sc(2), 1n, "hart 1's store broke it");
});

Deno.test("smp: DMA into a reserved word breaks the reservation", () => {
  // lr.w t1, (t0); sc.w a1, t1, (t0)
  const m = new VirtMachine({ kernel: program([0x1002a32f, 0x1862a5af]) });
  const sc = (dma: boolean) => {
    m.hart.reset(0x8000_0000);
    m.hart.setReg(5, 0x8001_0000n);
    m.hart.run(1);
    if (dma) m.bus.loadBytes(0x8001_0000, new Uint8Array(4)); // the same zeros: still a store
    m.hart.run(1);
    return m.hart.getReg(11);
  };
  assert.equal(sc(false), 0n);
  assert.equal(sc(true), 1n);
});

Deno.test("smp: code another hart rewrote runs on a hart that had it decoded, without its own fence.i", () => {
  const m = new VirtMachine({
    kernel: program([
      0x00100513, // 0x8000_0000: li a0, 1 (hart 0 runs it, hart 1 rewrites it)
      ...new Array(1023).fill(0),
      0x0062a023, // 0x8000_1000: sw t1, 0(t0)   hart 1: a store to the code page first
      0x007e2023, //              sw t2, 0(t3)   then the new instruction over li a0, 1
    ]),
    smp: 2,
  });
  const [h0, h1] = m.harts;
  h1.reset(0x8000_1000);
  h1.setReg(5, 0x8000_0800n);
  h1.setReg(28, 0x8000_0000n);
  h1.setReg(7, 0x02a00513n); // li a0, 42
  h1.run(1); // hart 1's TLB now maps the code page for stores
  h0.reset(0x8000_0000);
  h0.run(1);
  assert.equal(h0.getReg(10), 1n);
  h1.run(1);
  h0.pc = 0x8000_0000;
  h0.run(1);
  assert.equal(h0.getReg(10), 42n, "hart 0 ran the new instruction");
});

Deno.test("smp: a machine pause stops whichever hart runs; the next run goes on from there", async () => {
  const m = new VirtMachine({ kernel: program([0x0000006f]), smp: 2, clock: "virtual" });
  let calls = 0;
  m.harts[1].addBreakpoint(0x8000_0000);
  m.harts[1].onBreakpoint = () => {
    if (calls++ === 0) m.pause();
    return false;
  };
  const r = await m.run({ maxInstructions: 10 * SLICE });
  assert.equal(r.stop, "pause");
  assert.equal(calls, 1);
  // A hook's pause lets the instruction it fired for complete: the boot ROM's 6 and the j.
  assert.equal(m.harts[1].retired, 7);
  assert.equal(m.harts[0].retired, SLICE);
  await m.run({ maxInstructions: 10 });
  assert.equal(m.harts[1].retired, 17, "hart 1's turn goes on");
});

Deno.test(hostTest(
  "smp: guests/smp/smp.elf on 4 harts prints QEMU -smp 4's line, and two virtual-clock runs are identical",
  missing(SMP_ELF),
  async () => {
    const want = "smp: 4 harts, seen 15, amo 4000, lrsc 4000, lock 4000, patched 42\n";
    const a = await runSmpGuest(4);
    assert.equal(a.r.reason, "poweroff", a.output);
    assert.equal(a.output, want);
    for (const [i, n] of a.counts.entries()) assert.ok(n > 1000, `hart ${i} worked: ${n}`);
    const b = await runSmpGuest(4);
    assert.equal(b.output, a.output);
    assert.deepEqual(b.counts, a.counts, "the same instructions on every hart");
    assert.equal(b.m.guestInstructions, a.m.guestInstructions);
    const two = await runSmpGuest(2);
    assert.equal(two.output, "smp: 2 harts, seen 3, amo 2000, lrsc 2000, lock 2000, patched 42\n");
  },
));

Deno.test(hostTest(
  "smp: QEMU -smp 4 prints the same line for guests/smp/smp.elf",
  missing(QEMU, SMP_ELF),
  async () => {
    const out = await new Deno.Command(QEMU, {
      args: [
        "-M",
        "virt",
        "-m",
        "128M",
        "-nographic",
        "-bios",
        "none",
        "-smp",
        "4",
        "-kernel",
        SMP_ELF,
      ],
      stdin: "null",
    }).output();
    assert.equal(out.code, 0);
    assert.equal(
      new TextDecoder().decode(out.stdout),
      "smp: 4 harts, seen 15, amo 4000, lrsc 4000, lock 4000, patched 42\n",
    );
  },
));

Deno.test(hostTest(
  "smp: hooks see hartId on trap, csr and irq events and filter by it",
  missing(SMP_ELF),
  async () => {
    const m = createMachine({
      kernel: { name: "smp.elf", bytes: Deno.readFileSync(SMP_ELF) },
      smp: 4,
      hypervisor: false,
      clock: "virtual",
    });
    const csrHarts = new Set<number>(), irqs: number[] = [];
    let all = 0;
    m.hook("csr", () => all++);
    m.hook("csr", (e) => csrHarts.add(e.hartId), { hartId: [2, 3] });
    m.hook("irq", (e) => irqs.push(e.hartId!), { hartId: 0 });
    assert.throws(() => m.hook("mmio", () => {}, { hartId: 0 }), /hartId/);
    const r = await m.run({ maxInstructions: 50_000_000 });
    assert.equal(r.reason, "poweroff");
    assert.deepEqual([...csrHarts].sort(), [2, 3]);
    assert.ok(all > 4 * 3, `every hart's CSR instructions: ${all}`);
    assert.ok(irqs.length >= 2 && irqs.every((h) => h === 0), "hart 0's MSIP came and went");
  },
));

Deno.test(hostTest("smp: boot.ts --smp 4 --stats reports each hart", missing(SMP_ELF), async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "boot.ts",
      "--no-hypervisor",
      "--smp",
      "4",
      "--clock",
      "virtual",
      "--stats",
      "--kernel",
      SMP_ELF,
    ],
    cwd: REPO,
    stdin: "null",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.match(new TextDecoder().decode(out.stdout), /smp: 4 harts/);
  for (let i = 0; i < 4; i++) {
    assert.match(stderr, new RegExp(`hart ${i} +\\d+ instructions, \\d+ traps`));
  }
}));

Deno.test(hostTest(
  "smp: a snapshot taken mid-run on 4 harts continues exactly as the run it was taken from",
  missing(SMP_ELF),
  async () => {
    const make = () => {
      const out = { text: "" };
      const m = new VirtMachine({
        kernel: { name: "smp.elf", bytes: Deno.readFileSync(SMP_ELF) },
        smp: 4,
        clock: "virtual",
        rtcBase: 0,
        console: (b) => out.text += String.fromCharCode(b),
      });
      return { m, out };
    };
    const a = make();
    await a.m.run({ maxInstructions: SLICE * 3 + 123 }); // mid-turn of hart 3
    const bytes = a.m.saveSnapshot();
    const b = make();
    assert.throws(() => new VirtMachine({ smp: 2 }).restore(bytes), /harts is 4 in the snapshot/);
    b.m.restore(bytes);
    const [ra, rb] = [
      await a.m.run({ maxInstructions: 1e7 }),
      await b.m.run({ maxInstructions: 1e7 }),
    ];
    assert.equal(ra.reason, "poweroff");
    assert.equal(rb.reason, "poweroff");
    assert.equal(b.out.text, a.out.text);
    assert.deepEqual(b.m.harts.map((h) => h.retired), a.m.harts.map((h) => h.retired));
  },
));

Deno.test("smp: Machine.step() is the next instruction of the schedule: steps and a run interleave the harts alike", async () => {
  const config = {
    kernel: program([0x0000006f]),
    smp: 2,
    hypervisor: false,
    clock: "virtual",
  } as const;
  const stepped = createMachine(config), ran = createMachine(config);
  for (let i = 0; i < SLICE + 10; i++) await stepped.step();
  await ran.run({ maxInstructions: SLICE + 10 });
  const counts = (m: typeof ran) => m.vm.harts.map((h) => h.retired);
  assert.deepEqual(counts(stepped), [SLICE, 10]);
  assert.deepEqual(counts(stepped), counts(ran));
});

for (const harts of [1, 2]) {
  Deno.test(`run loop (${harts} hart${harts > 1 ? "s" : ""}): every hart in wfi at a passed deadline none takes (mie = 0) waits, yielding to timers`, async () => {
    // mie = 0; mtimecmp = 0 (passed, MTIP high but masked); wfi forever. The idle loop's
    // skip to that deadline moves nothing: it once spun there without yielding, so no
    // timer, input or signal got through (the pause below never came).
    const m = new VirtMachine({
      kernel: program([0x30401073, 0x020042b7, 0x0002b023, 0x10500073, 0xffdff06f]),
      smp: harts,
      clock: "virtual",
    });
    const timer = setTimeout(() => m.pause(), 50);
    const r = await m.run({ timeoutMs: 60_000 });
    clearTimeout(timer);
    assert.equal(r.stop, "pause");
    assert.ok(m.harts.every((h) => h.waiting));
  });
}
