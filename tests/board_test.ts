/**
 * The `virt` board's devices wired to several harts (devices/board.ts), driven
 * through the physical bus with the access rules a guest's loads and stores
 * meet: an IPI through msip, a timer per hart, a device interrupt routed to
 * one hart's S-mode context, and the board's snapshot state and settings.
 */

import assert from "node:assert/strict";
import { Bus } from "../core/bus.ts";
import { Clock } from "../core/clock.ts";
import { EventBus } from "../core/events.ts";
import { Irq } from "../core/irq.ts";
import { MachineConfigError, MAX_HARTS, VirtDevices } from "../devices/board.ts";
import { VIRT_IRQ, VIRT_MEMMAP } from "../devices/dtb.ts";
import { FakeHart } from "./fake_hart.ts";

const CLINT = VIRT_MEMMAP.clint.base;
const PLIC = VIRT_MEMMAP.plic.base;
const UART = VIRT_MEMMAP.uart0.base;

/** A board of `n` harts on a virtual clock (`state.instret` drives mtime). */
function board(n: number) {
  const events = new EventBus();
  const bus = new Bus(1024 * 1024, events);
  const state = { instret: 0 };
  const harts = Array.from({ length: n }, () => new FakeHart());
  const devices = new VirtDevices({
    bus,
    cpus: harts,
    clock: new Clock("virtual", () => state.instret),
    events,
    console: () => {},
    halt: () => {},
    rtcBase: 0,
  });
  /** A guest store: refused unless the device's rules take it. */
  const store = (paddr: number, size: 1 | 2 | 4 | 8, value: number) => {
    const rule = bus.deviceRule(paddr, size);
    assert.ok(rule, `store of ${size} at ${paddr.toString(16)} refused`);
    bus.storeDevice(paddr, size, rule, value >>> 0, Math.floor(value / 2 ** 32) >>> 0);
  };
  const load = (paddr: number, size: 1 | 2 | 4 | 8) => {
    const rule = bus.deviceRule(paddr, size);
    assert.ok(rule, `load of ${size} at ${paddr.toString(16)} refused`);
    return bus.loadDevice(paddr, size, rule) + bus.loadHi * 2 ** 32;
  };
  return { harts, devices, state, store, load };
}

Deno.test("board: with 4 harts, an IPI through msip reaches only its hart", () => {
  const { harts, store, load } = board(4);
  store(CLINT + 4 * 2, 4, 1);
  assert.deepEqual(harts.map((h) => h.level(Irq.MSIP)), [false, false, true, false]);
  assert.equal(load(CLINT + 4 * 2, 4), 1);
  store(CLINT + 4 * 2, 4, 0);
  assert.ok(harts.every((h) => !h.level(Irq.MSIP)));
});

Deno.test("board: each hart's 8-byte mtimecmp times it; the board's update raises that hart's MTIP", () => {
  const { harts, devices, state, store, load } = board(4);
  store(CLINT + 0x4000 + 8 * 3, 8, 2 ** 32 + 5);
  store(CLINT + 0x4000 + 8 * 1, 8, 50);
  assert.equal(load(CLINT + 0x4000 + 8 * 3, 8), 2 ** 32 + 5);
  assert.equal(devices.clint.nextDeadline(), 50);
  state.instret = 50 * 100; // mtime 50
  devices.update();
  assert.deepEqual(harts.map((h) => h.level(Irq.MTIP)), [false, true, false, false]);
});

Deno.test("board: the UART's interrupt goes to the hart whose S context enables it", () => {
  const { harts, store, load } = board(4);
  const context = 2 * 3 + 1; // hart 3, S-mode
  store(PLIC + 4 * VIRT_IRQ.UART0, 4, 1);
  store(PLIC + 0x2000 + 0x80 * context, 4, 1 << VIRT_IRQ.UART0);
  store(UART + 1, 1, 0x02); // IER: THR empty
  assert.deepEqual(harts.map((h) => h.level(Irq.SEIP)), [false, false, false, true]);
  assert.ok(harts.every((h) => !h.level(Irq.MEIP)));
  assert.equal(load(PLIC + 0x20_0000 + 0x1000 * context + 4, 4), VIRT_IRQ.UART0);
  assert.equal(harts[3].level(Irq.SEIP), false);
});

Deno.test("board: a snapshot of N harts names N and restores onto N harts only", () => {
  assert.equal(board(1).devices.snapshotConfig().harts, undefined, "as before SMP");
  const { devices, store } = board(3);
  assert.equal(devices.snapshotConfig().harts, "3");
  assert.equal(devices.snapshotConfig("guest ")["guest harts"], "3");
  store(CLINT + 4 * 2, 4, 1);
  store(PLIC + 0x20_0000 + 0x1000 * 5, 4, 6);
  const saved = devices.saveState();
  const copy = board(3);
  copy.devices.loadState(saved);
  assert.deepEqual(copy.devices.saveState(), saved);
  assert.equal(copy.load(CLINT + 4 * 2, 4), 1);
  assert.equal(copy.load(PLIC + 0x20_0000 + 0x1000 * 5, 4), 6);
  assert.throws(() => board(2).devices.loadState(saved), RangeError);
});

Deno.test("board: 1 to MAX_HARTS harts; none or more is a configuration error", () => {
  assert.equal(board(MAX_HARTS).harts.length, 8);
  for (const n of [0, MAX_HARTS + 1]) {
    assert.throws(() => board(n), (e: Error) => {
      assert.ok(e instanceof MachineConfigError);
      assert.equal(e.message, `${n} harts: a board has 1 to 8`);
      return true;
    });
  }
});
