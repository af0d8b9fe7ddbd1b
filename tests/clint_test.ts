import assert from "node:assert/strict";
import { Clock } from "../core/clock.ts";
import { Irq } from "../core/irq.ts";
import { Clint } from "../devices/clint.ts";
import { FakeHart } from "./fake_hart.ts";

const MSIP = 0x0;
const MTIMECMP = 0x4000;
const MTIME = 0xbff8;

/** A CLINT on a virtual clock; `instret` drives mtime at 100 instructions per tick. */
function setup() {
  const state = { instret: 0 };
  const hart = new FakeHart();
  const clock = new Clock("virtual", () => state.instret);
  const clint = new Clint([hart], clock);
  const setTicks = (ticks: number) => {
    state.instret = ticks * 100;
  };
  return { hart, clock, clint, setTicks };
}

function writeMtimecmp(clint: Clint, hi: number, lo: number): void {
  clint.write(MTIMECMP, 4, lo);
  clint.write(MTIMECMP + 4, 4, hi);
}

Deno.test("clint: msip bit 0 drives MSIP and reads back", () => {
  const { hart, clint } = setup();
  clint.write(MSIP, 4, 1);
  assert.equal(hart.level(Irq.MSIP), true);
  assert.equal(clint.read(MSIP, 4), 1);
  clint.write(MSIP, 4, 0xfffffffe); // only bit 0 counts
  assert.equal(hart.level(Irq.MSIP), false);
  assert.equal(clint.read(MSIP, 4), 0);
});

Deno.test("clint: no timer interrupt after reset, even much later", () => {
  const { hart, clint, setTicks } = setup();
  clint.update();
  assert.equal(hart.level(Irq.MTIP), false);
  setTicks(1e12);
  clint.update();
  assert.equal(hart.level(Irq.MTIP), false);
  assert.equal(clint.nextDeadline(), Infinity);
});

Deno.test("clint: MTIP rises exactly when mtime reaches mtimecmp", () => {
  const { hart, clint, setTicks } = setup();
  writeMtimecmp(clint, 0, 50);
  setTicks(49);
  clint.update();
  assert.equal(hart.level(Irq.MTIP), false);
  setTicks(50);
  clint.update();
  assert.equal(hart.level(Irq.MTIP), true);
  setTicks(51);
  clint.update();
  assert.equal(hart.level(Irq.MTIP), true);
});

Deno.test("clint: mtimecmp writes re-evaluate MTIP without waiting for update()", () => {
  const { hart, clint, setTicks } = setup();
  setTicks(1000);
  writeMtimecmp(clint, 0, 10); // in the past: fires at once
  assert.equal(hart.level(Irq.MTIP), true);
  writeMtimecmp(clint, 0, 2000); // the usual way to acknowledge: move it forward
  assert.equal(hart.level(Irq.MTIP), false);
});

Deno.test("clint: mtimecmp reads back both halves", () => {
  const { clint } = setup();
  writeMtimecmp(clint, 0x1234_5678, 0x9abc_def0);
  assert.equal(clint.read(MTIMECMP, 4), 0x9abc_def0);
  assert.equal(clint.read(MTIMECMP + 4, 4), 0x1234_5678);
});

Deno.test("clint: high mtimecmp values are unsigned and never fire", () => {
  const { hart, clint, setTicks } = setup();
  setTicks(2 ** 40);
  writeMtimecmp(clint, 0x8000_0000, 0); // negative if treated as int32
  clint.update();
  assert.equal(hart.level(Irq.MTIP), false);
  writeMtimecmp(clint, 0xffff_ffff, 0xffff_ffff);
  setTicks(Number.MAX_SAFE_INTEGER / 100);
  clint.update();
  assert.equal(hart.level(Irq.MTIP), false);
  assert.equal(clint.nextDeadline(), Infinity);
});

Deno.test("clint: compare uses the high half, not just the low one", () => {
  const { hart, clint, setTicks } = setup();
  writeMtimecmp(clint, 1, 0); // 2^32
  setTicks(2 ** 32 - 1);
  clint.update();
  assert.equal(hart.level(Irq.MTIP), false);
  setTicks(2 ** 32);
  clint.update();
  assert.equal(hart.level(Irq.MTIP), true);
});

Deno.test("clint: nextDeadline is the programmed mtimecmp in ticks", () => {
  const { clint } = setup();
  writeMtimecmp(clint, 2, 5);
  assert.equal(clint.nextDeadline(), 2 * 2 ** 32 + 5);
});

Deno.test("clint: mtime reads the clock in two halves", () => {
  const { clint, setTicks } = setup();
  setTicks(3 * 2 ** 32 + 7);
  assert.equal(clint.read(MTIME, 4), 7);
  assert.equal(clint.read(MTIME + 4, 4), 3);
});

Deno.test("clint: mtime writes set the clock and re-evaluate MTIP", () => {
  const { hart, clint, clock, setTicks } = setup();
  setTicks(100);
  writeMtimecmp(clint, 0, 500);
  clint.write(MTIME, 4, 600);
  assert.equal(clock.now(), 600);
  assert.equal(hart.level(Irq.MTIP), true);
  clint.write(MTIME + 4, 4, 1);
  assert.equal(clock.now(), 2 ** 32 + 600);
  clint.write(MTIME, 4, 0);
  clint.write(MTIME + 4, 4, 0);
  assert.equal(clock.now(), 0);
  assert.equal(hart.level(Irq.MTIP), false);
});

Deno.test("clint: qemuTimer fires (mtimecmp - mtime) * 100 ns after the write, as QEMU 7.2", () => {
  const state = { instret: 0 };
  const hart = new FakeHart();
  const clint = new Clint([hart], new Clock("virtual", () => state.instret));
  clint.qemuTimer = true;
  // Written at instruction 1234 (mtime 12, 34 ns into the tick) for mtimecmp 20: QEMU fires at
  // 1234 + 8 * 100 = 2034, not at 2000 when mtime reaches 20.
  state.instret = 1234;
  writeMtimecmp(clint, 0, 20);
  for (const [at, level] of [[1999, false], [2000, false], [2033, false], [2034, true]] as const) {
    state.instret = at;
    clint.update();
    assert.equal(hart.level(Irq.MTIP), level, `MTIP at ${at}`);
  }
  // Only a write lowers it again; a value at or below mtime raises it at once.
  state.instret = 3000;
  writeMtimecmp(clint, 0, 100);
  assert.equal(hart.level(Irq.MTIP), false);
  writeMtimecmp(clint, 0, 30);
  assert.equal(hart.level(Irq.MTIP), true);
  // Without the quirk: MTIP = mtime >= mtimecmp, re-evaluated as time passes.
  clint.qemuTimer = false;
  writeMtimecmp(clint, 0, 31);
  assert.equal(hart.level(Irq.MTIP), false);
  state.instret = 3100;
  clint.update();
  assert.equal(hart.level(Irq.MTIP), true);
});

/** A CLINT wired to `n` harts, on a virtual clock at `state.instret`. */
function setupHarts(n: number) {
  const state = { instret: 0 };
  const harts = Array.from({ length: n }, () => new FakeHart());
  const clint = new Clint(harts, new Clock("virtual", () => state.instret));
  const setTicks = (ticks: number) => {
    state.instret = ticks * 100;
  };
  return { harts, clint, setTicks };
}

const msip = (hart: number) => MSIP + 4 * hart;
const mtimecmp = (hart: number) => MTIMECMP + 8 * hart;

Deno.test("clint: with 4 harts, msip i at 4i drives hart i's MSIP only", () => {
  const { harts, clint } = setupHarts(4);
  for (let hart = 0; hart < 4; hart++) {
    clint.write(msip(hart), 4, 1);
    assert.deepEqual(harts.map((h) => h.level(Irq.MSIP)), harts.map((_, i) => i === hart));
    assert.equal(clint.read(msip(hart), 4), 1);
    clint.write(msip(hart), 4, 0);
    assert.equal(clint.read(msip(hart), 4), 0);
  }
});

Deno.test("clint: with 4 harts, mtimecmp i at 0x4000 + 8i times hart i; the deadline is the earliest", () => {
  const { harts, clint, setTicks } = setupHarts(4);
  const mtip = () => harts.map((h) => h.level(Irq.MTIP));
  for (const [hart, at] of [[0, 300], [1, 100], [2, 200]]) {
    clint.write(mtimecmp(hart), 4, at);
    clint.write(mtimecmp(hart) + 4, 4, 0);
  }
  assert.equal(clint.read(mtimecmp(1), 4), 100);
  assert.equal(clint.read(mtimecmp(3), 4) >>> 0, 0xffff_ffff); // never armed
  assert.equal(clint.nextDeadline(), 100);
  setTicks(150);
  clint.update();
  assert.deepEqual(mtip(), [false, true, false, false]);
  setTicks(250);
  clint.update();
  assert.deepEqual(mtip(), [false, true, true, false]);
  clint.write(mtimecmp(1) + 4, 4, 1); // hart 1 acknowledges by moving its deadline on
  assert.deepEqual(mtip(), [false, false, true, false]);
  // The next rise: hart 2's deadline has passed, hart 0's is the earliest still ahead.
  assert.equal(clint.nextDeadline(), 300);
  clint.write(MTIME, 4, 1000); // a new mtime re-evaluates every hart at once
  assert.deepEqual(mtip(), [true, false, true, false]);
  assert.equal(clint.nextDeadline(), 2 ** 32 + 100);
  clint.write(mtimecmp(1) + 4, 4, 0);
  assert.equal(clint.nextDeadline(), 100, "none ahead: the earliest, in the past");
});

// Measured on QEMU 7.2 (`-M virt -smp N -bios none`, hart 0 writing 1 to msip[h] and
// 0x12345678_0000000h to mtimecmp[h] for h = 0..8, then reading them back): the registers of
// harts N and up read 0 and ignore writes; QEMU logs "invalid hartid" and goes on.
Deno.test("clint: msip and mtimecmp of harts the machine lacks read 0 and ignore writes", () => {
  for (const n of [1, 2, 4]) {
    const { harts, clint } = setupHarts(n);
    let timerWrites = 0;
    clint.onTimerWrite = () => timerWrites++;
    for (let hart = 0; hart < 9; hart++) {
      clint.write(msip(hart), 4, 1);
      clint.write(mtimecmp(hart), 4, hart);
      clint.write(mtimecmp(hart) + 4, 4, 0x1234_5678);
    }
    assert.equal(timerWrites, 2 * n);
    for (let hart = 0; hart < 9; hart++) {
      const exists = hart < n;
      assert.equal(clint.read(msip(hart), 4), exists ? 1 : 0);
      assert.equal(clint.read(mtimecmp(hart), 4), exists ? hart : 0);
      assert.equal(clint.read(mtimecmp(hart) + 4, 4), exists ? 0x1234_5678 : 0);
    }
    assert.equal(clint.read(0x3ffc, 4), 0); // msip of hart 4095
    assert.equal(clint.read(0xbff0, 4), 0); // mtimecmp of hart 4094
    assert.ok(harts.every((h) => h.level(Irq.MSIP)));
  }
});

Deno.test("clint: qemuTimer arms each hart's timer from its own write", () => {
  const state = { instret: 0 };
  const harts = [new FakeHart(), new FakeHart()];
  const clint = new Clint(harts, new Clock("virtual", () => state.instret));
  clint.qemuTimer = true;
  state.instret = 1234;
  writeMtimecmp(clint, 0, 20); // hart 0 fires at 1234 + 8 * 100
  state.instret = 1250;
  clint.write(mtimecmp(1), 4, 20); // hart 1 at 1250 + 8 * 100 (its high half is all ones: 0)
  clint.write(mtimecmp(1) + 4, 4, 0);
  for (
    const [at, levels] of [[2033, [false, false]], [2034, [true, false]], [2050, [true, true]]]
  ) {
    state.instret = at as number;
    clint.update();
    assert.deepEqual(harts.map((h) => h.level(Irq.MTIP)), levels, `MTIP at ${at}`);
  }
});

Deno.test("clint: a one-hart state keeps its pre-SMP shape; N harts restore onto N harts only", () => {
  const one = setup();
  writeMtimecmp(one.clint, 1, 2);
  one.clint.write(MSIP, 4, 1);
  // The shape snapshots had before there were more harts, so those still load.
  assert.deepEqual(one.clint.saveState(), { msip: true, cmpLo: 2, cmpHi: 1, mtip: false });
  const { clint } = setupHarts(3);
  clint.write(msip(2), 4, 1);
  clint.write(mtimecmp(1), 4, 77);
  const saved = clint.saveState();
  const copy = setupHarts(3).clint;
  copy.loadState(saved);
  assert.deepEqual(copy.saveState(), saved);
  assert.equal(copy.read(msip(2), 4), 1);
  assert.equal(copy.read(mtimecmp(1), 4), 77);
  assert.throws(() => setupHarts(2).clint.loadState(saved), /3 harts in the saved state, 2 here/);
  assert.throws(() => copy.loadState(one.clint.saveState()), /1 harts in the saved state, 3 here/);
});
