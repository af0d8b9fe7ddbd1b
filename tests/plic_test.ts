import assert from "node:assert/strict";
import { EventBus, type IrqEvent } from "../core/events.ts";
import { Irq } from "../core/irq.ts";
import { Plic } from "../devices/plic.ts";
import { FakeHart } from "./fake_hart.ts";

const priority = (source: number) => 4 * source;
const PENDING = 0x1000;
const enable = (context: number) => 0x2000 + 0x80 * context;
const threshold = (context: number) => 0x20_0000 + 0x1000 * context;
const claim = (context: number) => threshold(context) + 4;

function setup() {
  const hart = new FakeHart();
  const events = new EventBus();
  const plic = new Plic([hart], events);
  return { hart, events, plic };
}

/** Gives `source` priority `prio` and enables it for `context`. */
function route(plic: Plic, source: number, prio: number, context = 0): void {
  plic.write(priority(source), 4, prio);
  const word = enable(context) + 4 * (source >>> 5);
  plic.write(word, 4, plic.read(word, 4) | (1 << (source & 31)));
}

Deno.test("plic: a raised line is pending but not delivered until enabled", () => {
  const { hart, plic } = setup();
  plic.write(priority(10), 4, 1);
  plic.line(10).set(true);
  assert.equal(plic.read(PENDING, 4), 1 << 10);
  assert.equal(hart.level(Irq.MEIP), false);
  plic.write(enable(0), 4, 1 << 10);
  assert.equal(hart.level(Irq.MEIP), true);
  assert.equal(hart.level(Irq.SEIP), false);
});

Deno.test("plic: priority 0 never interrupts and the threshold masks priorities at or below it", () => {
  const { hart, plic } = setup();
  route(plic, 3, 0);
  plic.line(3).set(true);
  assert.equal(hart.level(Irq.MEIP), false);
  plic.write(priority(3), 4, 2);
  assert.equal(hart.level(Irq.MEIP), true);
  plic.write(threshold(0), 4, 2);
  assert.equal(hart.level(Irq.MEIP), false);
  assert.equal(plic.read(claim(0), 4), 0);
  plic.write(threshold(0), 4, 1);
  assert.equal(hart.level(Irq.MEIP), true);
});

Deno.test("plic: claim returns the highest priority, lowest source number on ties", () => {
  const { plic } = setup();
  route(plic, 5, 3);
  route(plic, 7, 6);
  route(plic, 40, 6);
  for (const s of [5, 7, 40]) plic.line(s).set(true);
  assert.equal(plic.read(claim(0), 4), 7);
  assert.equal(plic.read(claim(0), 4), 40);
  assert.equal(plic.read(claim(0), 4), 5);
  assert.equal(plic.read(claim(0), 4), 0);
});

// QEMU 7.2 sifive_plic_read (claim: sifive_plic_set_pending(false), set_claimed(true)) and
// sifive_plic_write (complete: only sifive_plic_set_claimed(false)).
Deno.test("plic: claim clears pending; complete does not re-pend a line still high (QEMU)", () => {
  const { hart, plic } = setup();
  route(plic, 10, 1);
  const line = plic.line(10);
  line.set(true);
  assert.equal(plic.read(claim(0), 4), 10);
  assert.equal(plic.read(PENDING, 4), 0);
  assert.equal(hart.level(Irq.MEIP), false);
  plic.write(claim(0), 4, 10);
  assert.equal(plic.read(PENDING, 4), 0);
  assert.equal(hart.level(Irq.MEIP), false);
  assert.equal(plic.read(claim(0), 4), 0);
});

// QEMU 7.2 sifive_plic_irq_request: sifive_plic_set_pending(s, irq, level > 0) on every call.
Deno.test("plic: every high signal pends the source again, even with the line already high", () => {
  const { hart, plic } = setup();
  route(plic, 10, 1);
  const line = plic.line(10);
  line.set(true);
  assert.equal(plic.read(claim(0), 4), 10);
  plic.write(claim(0), 4, 10);
  assert.equal(hart.level(Irq.MEIP), false);
  line.set(true); // still high, signalled again
  assert.equal(plic.read(PENDING, 4), 1 << 10);
  assert.equal(hart.level(Irq.MEIP), true);
  assert.equal(plic.read(claim(0), 4), 10);
});

// QEMU 7.2 sifive_plic_irq_request sets pending whatever the claim; sifive_plic_claimed masks
// claimed sources, so the source is delivered once the claim completes.
Deno.test("plic: a signal during a claim pends the source, delivered after completion", () => {
  const { hart, plic } = setup();
  route(plic, 10, 1);
  const line = plic.line(10);
  line.set(true);
  assert.equal(plic.read(claim(0), 4), 10);
  line.set(true);
  assert.equal(plic.read(PENDING, 4), 1 << 10);
  assert.equal(hart.level(Irq.MEIP), false);
  assert.equal(plic.read(claim(0), 4), 0); // claimed sources are not claimable
  plic.write(claim(0), 4, 10);
  assert.equal(hart.level(Irq.MEIP), true);
  assert.equal(plic.read(claim(0), 4), 10);
});

// QEMU 7.2 sifive_plic_irq_request: a low signal clears pending, claimed or not.
Deno.test("plic: a low signal during a claim clears the pending bit", () => {
  const { hart, plic } = setup();
  route(plic, 10, 1);
  const line = plic.line(10);
  line.set(true);
  assert.equal(plic.read(claim(0), 4), 10);
  line.set(true);
  line.set(false);
  assert.equal(plic.read(PENDING, 4), 0);
  plic.write(claim(0), 4, 10);
  assert.equal(plic.read(PENDING, 4), 0);
  assert.equal(hart.level(Irq.MEIP), false);
});

Deno.test("plic: a level-triggered source stops pending when its line drops", () => {
  const { hart, plic } = setup();
  route(plic, 1, 1);
  plic.line(1).set(true);
  plic.line(1).set(false);
  assert.equal(plic.read(PENDING, 4), 0);
  assert.equal(hart.level(Irq.MEIP), false);
});

Deno.test("plic: context 1 drives SEIP with its own enables, threshold and claim", () => {
  const { hart, plic } = setup();
  route(plic, 33, 4, 1);
  plic.line(33).set(true);
  assert.equal(plic.read(PENDING + 4, 4), 1 << 1);
  assert.equal(hart.level(Irq.SEIP), true);
  assert.equal(hart.level(Irq.MEIP), false);
  assert.equal(plic.read(enable(1) + 4, 4), 1 << 1);
  assert.equal(plic.read(claim(0), 4), 0); // not enabled for context 0
  assert.equal(plic.read(claim(1), 4), 33);
  assert.equal(hart.level(Irq.SEIP), false);
});

Deno.test("plic: priorities and thresholds keep only 3 bits", () => {
  const { plic } = setup();
  plic.write(priority(1), 4, 0xff);
  assert.equal(plic.read(priority(1), 4), 7);
  plic.write(priority(95), 4, 9);
  assert.equal(plic.read(priority(95), 4), 1);
  plic.write(threshold(1), 4, 0x0d);
  assert.equal(plic.read(threshold(1), 4), 5);
});

Deno.test("plic: the highest source, 95, works and the pending words are read-only", () => {
  const { hart, plic } = setup();
  route(plic, 95, 1);
  plic.line(95).set(true);
  assert.equal(plic.read(PENDING + 8, 4) >>> 0, 0x8000_0000);
  plic.write(PENDING + 8, 4, 0);
  assert.equal(plic.read(PENDING + 8, 4) >>> 0, 0x8000_0000);
  assert.equal(hart.level(Irq.MEIP), true);
  assert.equal(plic.read(claim(0), 4), 95);
});

Deno.test("plic: lines exist only for sources 1..95", () => {
  const { plic } = setup();
  assert.throws(() => plic.line(0), RangeError);
  assert.throws(() => plic.line(96), RangeError);
  plic.line(1);
  plic.line(95);
});

Deno.test("plic: irq events report level changes and every high signal, which pends", () => {
  const { events, plic } = setup();
  const seen: IrqEvent[] = [];
  events.on("irq", (e) => seen.push({ ...e }));
  plic.line(10).set(true);
  plic.line(10).set(true);
  plic.line(10).set(false);
  plic.line(10).set(false);
  assert.deepEqual(seen, [
    { controller: "plic", line: 10, level: true },
    { controller: "plic", line: 10, level: true },
    { controller: "plic", line: 10, level: false },
  ]);
});

/** A PLIC wired to `n` harts, as `virt -smp n` (contexts 2i = hart i M, 2i+1 = hart i S). */
function setupHarts(n: number) {
  const harts = Array.from({ length: n }, () => new FakeHart());
  return { harts, plic: new Plic(harts, new EventBus()) };
}

Deno.test("plic: with 4 harts, context 2i drives hart i's MEIP and 2i+1 its SEIP, nothing else", () => {
  const { harts, plic } = setupHarts(4);
  const levels = () => harts.map((h) => [h.level(Irq.MEIP), h.level(Irq.SEIP)]);
  plic.write(priority(10), 4, 1);
  plic.line(10).set(true);
  for (let context = 0; context < 8; context++) {
    plic.write(enable(context), 4, 1 << 10);
    const expected = harts.map((_, hart) => [context === 2 * hart, context === 2 * hart + 1]);
    assert.deepEqual(levels(), expected, `context ${context}`);
    plic.write(enable(context), 4, 0);
  }
});

Deno.test("plic: each hart's contexts have their own enables, threshold and claim", () => {
  const { harts, plic } = setupHarts(2);
  route(plic, 5, 3, 1); // hart 0 S
  route(plic, 6, 3, 3); // hart 1 S
  plic.write(threshold(3), 4, 3);
  plic.line(5).set(true);
  plic.line(6).set(true);
  assert.equal(harts[0].level(Irq.SEIP), true);
  assert.equal(harts[1].level(Irq.SEIP), false); // masked by its own threshold
  assert.equal(plic.read(threshold(1), 4), 0);
  plic.write(threshold(3), 4, 2);
  assert.equal(harts[1].level(Irq.SEIP), true);
  assert.equal(plic.read(claim(3), 4), 6);
  assert.equal(harts[1].level(Irq.SEIP), false);
  assert.equal(harts[0].level(Irq.SEIP), true);
  assert.equal(plic.read(claim(1), 4), 5);
  assert.equal(harts[0].level(Irq.SEIP), false);
});

// QEMU 7.2's pending and claimed bits are the PLIC's, not a context's: sifive_plic_update
// re-evaluates every context after one claims.
Deno.test("plic: a source enabled on two harts is claimed by one, and leaves the other", () => {
  const { harts, plic } = setupHarts(2);
  route(plic, 10, 1, 1);
  route(plic, 10, 1, 3);
  plic.line(10).set(true);
  assert.deepEqual(harts.map((h) => h.level(Irq.SEIP)), [true, true]);
  assert.equal(plic.read(claim(3), 4), 10);
  assert.deepEqual(harts.map((h) => h.level(Irq.SEIP)), [false, false]);
  assert.equal(plic.read(claim(1), 4), 0);
  plic.write(claim(3), 4, 10);
  plic.line(10).set(true);
  assert.deepEqual(harts.map((h) => h.level(Irq.SEIP)), [true, true]);
});

// Measured on QEMU 7.2 (`-M virt -smp N -bios none`, a guest writing all ones to every enable
// word 0 and 5 to every threshold of contexts 0..17): contexts 2N and up read back 0.
Deno.test("plic: enables and thresholds of contexts past the last hart read 0 and ignore writes", () => {
  for (const n of [1, 2, 4]) {
    const { harts, plic } = setupHarts(n);
    plic.write(priority(10), 4, 7);
    plic.line(10).set(true);
    for (let context = 0; context < 18; context++) {
      plic.write(enable(context), 4, 0xffff_ffff);
      plic.write(threshold(context), 4, 5);
    }
    for (let context = 0; context < 18; context++) {
      const exists = context < 2 * n;
      assert.equal(plic.read(enable(context), 4) >>> 0, exists ? 0xffff_ffff : 0, `${context}`);
      assert.equal(plic.read(threshold(context), 4), exists ? 5 : 0, `${context}`);
    }
    assert.equal(plic.read(claim(2 * n), 4), 0);
    assert.ok(harts.every((h) => h.level(Irq.MEIP) && h.level(Irq.SEIP)));
  }
});

Deno.test("plic: a saved state restores onto a PLIC of as many harts, and is refused by others", () => {
  const { plic } = setupHarts(2);
  route(plic, 7, 2, 3);
  plic.write(threshold(2), 4, 4);
  const saved = plic.saveState();
  assert.equal(saved.threshold.length, 4);
  const copy = setupHarts(2).plic;
  copy.loadState(saved);
  assert.deepEqual(copy.saveState(), saved);
  assert.throws(() => setupHarts(1).plic.loadState(saved), /4 contexts in the saved state, 2 here/);
});
