import assert from "node:assert/strict";
import { EventBus } from "../core/events.ts";
import { Uart16550 } from "../devices/uart.ts";

const RBR = 0, THR = 0, DLL = 0;
const IER = 1, DLM = 1;
const IIR = 2, FCR = 2;
const LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

const IER_RDI = 0x01, IER_THRI = 0x02;
const IIR_NONE = 0x01, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_CTI = 0x0c;
const FIFO_BITS = 0xc0;
const LSR_DR = 0x01, LSR_THRE = 0x20, LSR_TEMT = 0x40;

function setup() {
  const out: number[] = [];
  const irq = {
    level: false,
    /** Every signal, in order: QEMU's PLIC acts on each one, not only on changes. */
    signals: [] as boolean[],
    set(level: boolean) {
      this.level = level;
      this.signals.push(level);
    },
  };
  const events = new EventBus();
  const uart = new Uart16550(irq, (b) => out.push(b), events);
  const r = (reg: number) => uart.read(reg, 1);
  const w = (reg: number, v: number) => uart.write(reg, 1, v);
  return { out, irq, events, uart, r, w };
}

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("uart: registers reset as QEMU's 16550A", () => {
  const { r, w } = setup();
  assert.equal(r(IER), 0);
  assert.equal(r(IIR), IIR_NONE);
  assert.equal(r(LCR), 0);
  assert.equal(r(MCR), 0x08); // OUT2
  assert.equal(r(LSR), LSR_THRE | LSR_TEMT);
  assert.equal(r(MSR), 0xb0); // DCD, DSR, CTS
  assert.equal(r(SCR), 0);
  w(LCR, 0x80);
  assert.equal(r(DLL), 0x0c); // 9600 baud
  assert.equal(r(DLM), 0);
});

Deno.test("uart: THR bytes reach the output callback and the console topic", () => {
  const { out, events, uart, w, r } = setup();
  const seen: string[] = [];
  events.on("console", (e) => seen.push(`${e.device}:${new TextDecoder().decode(e.bytes)}`));
  w(THR, 0x68);
  w(THR, 0x169); // only the low byte is sent
  assert.deepEqual(out, [0x68, 0x69]);
  assert.deepEqual(seen, ["uart0:h", "uart0:i"]);
  assert.equal(r(LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
  assert.equal(uart.name, "uart0");
});

Deno.test("uart: scratch, LCR and MCR read back what was written", () => {
  const { r, w } = setup();
  w(SCR, 0xa5);
  assert.equal(r(SCR), 0xa5);
  w(LCR, 0x03);
  assert.equal(r(LCR), 0x03);
  w(MCR, 0x0b);
  assert.equal(r(MCR), 0x0b);
});

Deno.test("uart: DLAB switches offsets 0 and 1 to the divisor latch", () => {
  const { out, r, w } = setup();
  w(IER, 0x00);
  w(LCR, 0x83);
  w(DLL, 0x01);
  w(DLM, 0x02);
  assert.equal(r(DLL), 0x01);
  assert.equal(r(DLM), 0x02);
  assert.deepEqual(out, []); // the DLL write did not transmit
  w(LCR, 0x03);
  assert.equal(r(IER), 0x00);
});

Deno.test("uart: IIR shows the FIFO-enabled bits while FCR.FE is set", () => {
  const { r, w } = setup();
  w(FCR, 0x07);
  assert.equal(r(IIR), FIFO_BITS | IIR_NONE);
  w(FCR, 0x00);
  assert.equal(r(IIR), IIR_NONE);
});

Deno.test("uart: received bytes set DR and raise the RX interrupt when enabled", () => {
  const { irq, uart, r, w } = setup();
  uart.pushInput(bytes("ok"));
  assert.equal(r(LSR) & LSR_DR, LSR_DR);
  assert.equal(irq.level, false);
  w(IER, IER_RDI);
  assert.equal(irq.level, true);
  assert.equal(r(IIR), IIR_RDI);
  assert.equal(r(RBR), 0x6f);
  assert.equal(irq.level, true);
  assert.equal(r(RBR), 0x6b);
  assert.equal(r(LSR) & LSR_DR, 0);
  assert.equal(irq.level, false);
  assert.equal(r(IIR), IIR_NONE);
});

Deno.test("uart: with FIFOs on, RX data below the trigger level reports a timeout", () => {
  const { uart, r, w } = setup();
  w(FCR, 0x41); // enable, trigger level 4
  w(IER, IER_RDI);
  uart.pushInput(bytes("ab"));
  assert.equal(r(IIR), FIFO_BITS | IIR_CTI);
  uart.pushInput(bytes("cd"));
  assert.equal(r(IIR), FIFO_BITS | IIR_RDI);
});

Deno.test("uart: enabling THRI raises THRE; reading IIR acknowledges it; THR writes re-arm it", () => {
  const { irq, r, w } = setup();
  w(IER, IER_THRI);
  assert.equal(irq.level, true);
  assert.equal(r(IIR), IIR_THRI);
  assert.equal(irq.level, false);
  assert.equal(r(IIR), IIR_NONE);
  w(IER, IER_THRI); // unchanged: no new interrupt
  assert.equal(irq.level, false);
  w(THR, 0x41);
  assert.equal(irq.level, true);
  w(IER, 0);
  assert.equal(irq.level, false);
  w(IER, IER_THRI); // rising edge again
  assert.equal(irq.level, true);
});

Deno.test("uart: RX data outranks THRE in IIR", () => {
  const { uart, r, w } = setup();
  w(IER, IER_RDI | IER_THRI);
  uart.pushInput(bytes("x"));
  assert.equal(r(IIR), IIR_RDI);
  r(RBR);
  assert.equal(r(IIR), IIR_THRI);
});

Deno.test("uart: a THRE interrupt hidden behind RX data is not acknowledged by reading IIR", () => {
  const { irq, uart, r, w } = setup();
  w(IER, IER_RDI | IER_THRI);
  uart.pushInput(bytes("x"));
  r(IIR); // reports RX data
  r(RBR);
  assert.equal(irq.level, true);
  assert.equal(r(IIR), IIR_THRI);
});

Deno.test("uart: FCR receive-FIFO reset discards the FIFO contents", () => {
  const { uart, r, w } = setup();
  w(FCR, 0x01);
  uart.pushInput(bytes("abc"));
  w(FCR, 0x03);
  assert.equal(r(LSR) & LSR_DR, 0);
  assert.equal(uart.rxSpace(), 16);
});

Deno.test("uart: input beyond the FIFO waits, in order, and rxSpace reflects the FIFO", () => {
  const { uart, r } = setup();
  assert.equal(uart.rxSpace(), 16);
  uart.pushInput(bytes("0123456789"));
  assert.equal(uart.rxSpace(), 6);
  uart.pushInput(bytes("abcdefghij"));
  assert.equal(uart.rxSpace(), 0);
  let got = "";
  while (r(LSR) & LSR_DR) got += String.fromCharCode(r(RBR));
  assert.equal(got, "0123456789abcdefghij");
  assert.equal(uart.rxSpace(), 16);
});

Deno.test("uart: loopback routes THR to RBR and MCR outputs to MSR inputs", () => {
  const { out, r, w } = setup();
  w(MCR, 0x10 | 0x0a); // LOOP | RTS | OUT2
  assert.equal(r(MSR) & 0xf0, 0x90); // CTS | DCD, the test Linux's autoconfig uses
  w(THR, 0x55);
  assert.deepEqual(out, []);
  assert.equal(r(LSR) & LSR_DR, LSR_DR);
  assert.equal(r(RBR), 0x55);
});

Deno.test("uart: registers are bytes; wider reads give the same byte", () => {
  const { uart, w } = setup();
  w(SCR, 0x5a);
  assert.equal(uart.read(SCR, 4), 0x5a);
  assert.equal(uart.read(0x10, 1), 0); // outside QEMU's 8 registers
});

/** The signals `action` makes the UART send on its line. */
function signalsOf(u: ReturnType<typeof setup>, action: () => void): boolean[] {
  u.irq.signals = [];
  action();
  return u.irq.signals;
}

// QEMU 7.2 serial_ioport_write case 0: thr_ipending = 0, serial_update_irq; then serial_xmit
// sets THRE and thr_ipending = 1 and calls serial_update_irq again.
Deno.test("uart: a THR write signals twice, the holding register filling then emptying", () => {
  const u = setup();
  assert.deepEqual(signalsOf(u, () => u.w(THR, 0x41)), [false, false]);
  u.w(IER, IER_THRI);
  assert.deepEqual(signalsOf(u, () => u.w(THR, 0x42)), [false, true]);
  u.w(IER, IER_THRI | IER_RDI);
  u.uart.pushInput(bytes("x")); // RX data keeps the line high through both
  assert.deepEqual(signalsOf(u, () => u.w(THR, 0x43)), [true, true]);
});

// QEMU 7.2 serial_xmit in loopback: serial_receive1 after the THRE update, which signals again.
Deno.test("uart: a looped-back THR write signals a third time when the byte arrives", () => {
  const u = setup();
  u.w(MCR, 0x10);
  u.w(IER, IER_RDI);
  assert.deepEqual(signalsOf(u, () => u.w(THR, 0x55)), [false, false, true]);
});

// QEMU 7.2 serial_ioport_write case 1: `if (changed) serial_update_irq(s)`.
Deno.test("uart: an IER write signals only when it changes IER", () => {
  const u = setup();
  assert.deepEqual(signalsOf(u, () => u.w(IER, IER_THRI)), [true]);
  assert.deepEqual(signalsOf(u, () => u.w(IER, IER_THRI)), []);
  assert.deepEqual(signalsOf(u, () => u.w(IER, IER_THRI | IER_RDI)), [true]);
  assert.deepEqual(signalsOf(u, () => u.w(IER, 0)), [false]);
  assert.deepEqual(signalsOf(u, () => u.w(IER, 0)), []);
});

// QEMU 7.2 serial_ioport_write case 2: serial_update_irq on every FCR write, same value or not.
Deno.test("uart: every FCR write signals, and a transmit-FIFO reset re-arms THRE", () => {
  const u = setup();
  u.w(IER, IER_THRI);
  assert.equal(u.r(IIR), IIR_THRI); // acknowledged
  assert.deepEqual(signalsOf(u, () => u.w(FCR, 0x00)), [false]);
  assert.deepEqual(signalsOf(u, () => u.w(FCR, 0x00)), [false]);
  assert.deepEqual(signalsOf(u, () => u.w(FCR, 0x04)), [true]); // XFR: thr_ipending = 1
  assert.deepEqual(signalsOf(u, () => u.w(FCR, 0x00)), [true]);
});

// QEMU 7.2 serial_ioport_read case 0: serial_update_irq on every RBR read, even with no data.
Deno.test("uart: every RBR read signals, even with nothing received", () => {
  const u = setup();
  u.w(IER, IER_THRI);
  assert.deepEqual(signalsOf(u, () => assert.equal(u.r(RBR), 0)), [true]);
  assert.deepEqual(signalsOf(u, () => u.r(RBR)), [true]);
  u.w(LCR, 0x80);
  assert.deepEqual(signalsOf(u, () => u.r(DLL)), []); // the divisor latch is not RBR
});

// QEMU 7.2 serial_ioport_read case 2: only an IIR that reports THRE clears thr_ipending and
// calls serial_update_irq.
Deno.test("uart: an IIR read signals only when it reports (and so acknowledges) THRE", () => {
  const u = setup();
  assert.deepEqual(signalsOf(u, () => u.r(IIR)), []);
  u.w(IER, IER_THRI);
  assert.deepEqual(signalsOf(u, () => assert.equal(u.r(IIR), IIR_THRI)), [false]);
  assert.deepEqual(signalsOf(u, () => assert.equal(u.r(IIR), IIR_NONE)), []);
});

// QEMU 7.2: LSR reads signal only to clear BI/OE (never set here), MSR reads only to clear deltas
// (a stdio backend has none), LCR/MCR/SCR accesses never call serial_update_irq.
Deno.test("uart: LSR, MSR, LCR, MCR and SCR accesses never signal", () => {
  const u = setup();
  u.w(IER, IER_THRI);
  assert.deepEqual(
    signalsOf(u, () => {
      for (const reg of [LSR, MSR, LCR, MCR, SCR, IER]) u.r(reg);
      u.w(LCR, 0x03);
      u.w(MCR, 0x0b);
      u.w(SCR, 0x11);
      u.w(LSR, 0);
      u.w(MSR, 0);
    }),
    [],
  );
  assert.equal(u.irq.level, true);
});

// QEMU 7.2 serial_receive1: serial_update_irq after every received chunk.
Deno.test("uart: received input signals, even when the line is already high", () => {
  const u = setup();
  u.w(IER, IER_RDI);
  assert.deepEqual(signalsOf(u, () => u.uart.pushInput(bytes("a"))), [true]);
  assert.deepEqual(signalsOf(u, () => u.uart.pushInput(bytes("b"))), [true]);
});
