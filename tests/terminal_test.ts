/** devices/host/terminal.ts without a terminal: the escape decoder, output buffering, input pacing. */

import assert from "node:assert/strict";
import { EventBus } from "../core/events.ts";
import {
  ConsoleOutput,
  type ConsoleSink,
  EscapeDecoder,
  InputPacer,
} from "../devices/host/terminal.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("terminal: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A h helps, others vanish", () => {
  const d = new EscapeDecoder();
  let r = d.feed(bytes("ab\x03c"));
  assert.equal(text(r.guest), "ab\x03c"); // Ctrl-C goes to the guest
  assert.deepEqual(r.actions, []);
  r = d.feed(bytes("\x01\x01z\x01h\x01qy\x01x"));
  assert.equal(text(r.guest), "\x01zy");
  assert.deepEqual(r.actions, ["help", "quit"]);
  // The pair may arrive split across two reads.
  assert.equal(d.feed(bytes("k\x01")).guest.length, 1);
  assert.deepEqual(d.feed(bytes("x")).actions, ["quit"]);
});

Deno.test("terminal: Ctrl-A and a digit asks to switch to that guest", () => {
  const d = new EscapeDecoder();
  const r = d.feed(bytes("a\x011b\x019\x010"));
  assert.equal(text(r.guest), "ab");
  assert.deepEqual(r.actions, [1, 9, 0]);
});

Deno.test("terminal: output is buffered until newline or flush", () => {
  const written: string[] = [];
  const out = new ConsoleOutput((b) => written.push(text(b)), 1000);
  for (const b of bytes("=> ")) out.put(b);
  assert.deepEqual(written, []);
  assert.equal(out.atLineStart, false);
  out.flush();
  for (const b of bytes("ok\nmore")) out.put(b);
  out.flush();
  assert.deepEqual(written, ["=> ", "ok\n", "more"]);
});

Deno.test("terminal: a failing writer reports once and output stops", () => {
  let errors = 0;
  const out = new ConsoleOutput(
    () => {
      throw new Error("broken pipe");
    },
    1000,
    () => errors++,
  );
  out.put(0x0a);
  out.put(0x0a);
  assert.equal(errors, 1);
});

/** A UART with a 16-byte FIFO on an event bus, as the pacer sees it. */
function fakeMachine() {
  const events = new EventBus();
  const fifo: number[] = [];
  const sink: ConsoleSink = {
    events,
    uart: { name: "uart0", rxSpace: () => 16 - fifo.length },
    input: (b) => fifo.push(...b),
  };
  const access = (reg: number, write: boolean, value = 0) =>
    events.emit("mmio", { addr: 0x1000_0000 + reg, size: 1, write, value, device: "uart0" });
  return { sink, fifo, access };
}

Deno.test("terminal: input waits for a polling guest and survives a FIFO clear", () => {
  const { sink, fifo, access } = fakeMachine();
  const p = new InputPacer(sink);
  p.push(bytes(" version\n" + "x".repeat(20)));
  assert.equal(fifo.length, 0, "nothing before the guest asks");
  access(5, false); // LSR once, then RBR: a drain, not a request
  access(0, false);
  assert.equal(fifo.length, 0);
  access(5, false);
  access(5, false); // polling: the FIFO fills
  assert.equal(fifo.length, 16);
  assert.equal(p.pending, 13);
  // The guest clears its receive FIFO: the 16 bytes are offered again, in order.
  access(2, true, 0x07);
  fifo.length = 0;
  access(5, false);
  access(5, false);
  assert.equal(text(new Uint8Array(fifo)), " version\nxxxxxxx");
  p.close();
});

Deno.test("terminal: an interrupt-driven guest gets input at once", () => {
  const { sink, fifo, access } = fakeMachine();
  const p = new InputPacer(sink);
  access(1, true, 0x01); // IER.RDI
  p.push(bytes("ls\n"));
  assert.equal(text(new Uint8Array(fifo)), "ls\n");
  p.close();
});
