/**
 * NS16550A UART as QEMU 7.2's hw/char/serial.c models it on `virt` (reg-shift
 * 0, PLIC source 10).
 *
 * Transmission is instant: THR bytes go straight to the output callback, so
 * LSR.THRE and LSR.TEMT always read 1 and every THR write re-arms the THRE
 * interrupt. Received bytes wait in an unbounded queue whose first 16 bytes act
 * as the receive FIFO; nothing is ever dropped for overrun, and `rxSpace()`
 * tells the host side how much fits before the FIFO would overflow on real
 * hardware. Without character timing, the FIFO's character-timeout interrupt
 * is reported as soon as data sits below the trigger level.
 *
 * The interrupt line is signalled exactly where QEMU's `serial_update_irq`
 * runs, whether or not its level changes, because QEMU's PLIC pends a source
 * on every high signal: a THR write (twice: the holding register fills, then
 * empties), an IER write that changes IER, every FCR write, an RBR read, an
 * IIR read that reports THRE, and received input. LSR, MSR, LCR, MCR and SCR
 * accesses never signal. A driver that takes the THRE interrupt without
 * reading IIR therefore gets it once, not for ever.
 *
 * @module
 */

import type { AccessRule, DeviceAccessSize, MmioDevice } from "../core/bus.ts";
import type { ConsoleEvent, EventBus } from "../core/events.ts";
import type { IrqLine } from "../core/irq.ts";

/** Physical base address of UART0 on `virt`. */
export const UART0_BASE = 0x1000_0000;
/** Size of the UART's address range. */
export const UART0_SIZE = 0x100;
/** PLIC source of UART0. */
export const UART0_IRQ = 10;
/** Depth of the receive FIFO. */
export const UART_FIFO_SIZE = 16;

/** Register numbers (byte offsets with reg-shift 0). */
export const UartReg = {
  /** Receiver buffer (read) / transmitter holding (write); DLL when LCR.DLAB. */
  RBR_THR: 0,
  /** Interrupt enable; DLM when LCR.DLAB. */
  IER: 1,
  /** Interrupt identification (read) / FIFO control (write). */
  IIR_FCR: 2,
  /** Line control. */
  LCR: 3,
  /** Modem control. */
  MCR: 4,
  /** Line status. */
  LSR: 5,
  /** Modem status. */
  MSR: 6,
  /** Scratch. */
  SCR: 7,
} as const;

/** IER bits. */
const IER_RDI = 0x01;
const IER_THRI = 0x02;
const IER_MSI = 0x08;

/** IIR interrupt identifiers, highest priority first as the 16550 ranks them. */
export const UartIir = {
  /** No interrupt pending. */
  NONE: 0x01,
  /** Receiver line status (overrun, parity, framing, break). */
  RLSI: 0x06,
  /** Received data at or above the FIFO trigger level. */
  RDI: 0x04,
  /** Character timeout: data in the FIFO below the trigger level. */
  CTI: 0x0c,
  /** Transmitter holding register empty. */
  THRI: 0x02,
  /** Modem status change. */
  MSI: 0x00,
} as const;
/** IIR bits 7:6 that read as set while the FIFOs are enabled. */
const IIR_FIFO_ENABLED = 0xc0;

const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
const FCR_CLEAR_TX = 0x04;
/** FCR bits that stick (QEMU keeps enable, DMA mode and the trigger level). */
const FCR_STICKY = 0xc9;
/** Receive trigger levels, indexed by FCR bits 7:6. */
const RX_TRIGGER_LEVELS = [1, 4, 8, 14];

const LCR_DLAB = 0x80;
const MCR_LOOP = 0x10;
const MCR_MASK = 0x1f;
const MCR_OUT2 = 0x08;

const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;

/** DCD, DSR and CTS asserted: a terminal is attached and ready. */
const MSR_RESET = 0xb0;
const MSR_DELTAS = 0x0f;

/** Divisor latch at reset: 9600 baud from a 1.8432 MHz clock, as QEMU. */
const DIVISOR_RESET = 0x0c;

/** Saved state of a {@linkcode Uart16550} (plain JSON). */
export interface UartState {
  /** IER. */
  ier: number;
  /** LCR. */
  lcr: number;
  /** MCR. */
  mcr: number;
  /** The sticky FCR bits. */
  fcr: number;
  /** SCR. */
  scr: number;
  /** MSR. */
  msr: number;
  /** Divisor latch. */
  divisor: number;
  /** Receive FIFO trigger level. */
  rxTrigger: number;
  /** A THRE interrupt is pending. */
  thrPending: boolean;
  /** Received bytes not yet read: the FIFO, then what is still "on the wire". */
  rx: number[];
}

/** A 16550A UART whose transmitter never keeps the guest waiting. */
export class Uart16550 implements MmioDevice {
  #ier = 0;
  #lcr = 0;
  #mcr = MCR_OUT2;
  #fcr = 0;
  #scr = 0;
  #msr = MSR_RESET;
  #divisor = DIVISOR_RESET;
  #rxTrigger = 1;
  #thrPending = false;
  #rx: number[] = [];
  #rxHead = 0;
  readonly #byte = new Uint8Array(1);
  readonly #consoleEvent: ConsoleEvent;

  /**
   * @param irq the line into the interrupt controller.
   * @param output receives each transmitted byte.
   * @param events where transmitted bytes are published on the `console` topic.
   * @param name device name used in events and the DTB.
   */
  constructor(
    readonly irq: IrqLine,
    readonly output: (byte: number) => void,
    readonly events: EventBus,
    readonly name = "uart0",
  ) {
    this.#consoleEvent = { device: name, bytes: this.#byte };
    irq.set(false);
  }

  /** Queues bytes from the host side for the guest to read. */
  pushInput(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    for (const b of bytes) this.#rx.push(b);
    this.#updateIrq();
  }

  /** How many more bytes the 16-byte receive FIFO holds; hosts may pace input by it. */
  rxSpace(): number {
    return Math.max(0, UART_FIFO_SIZE - this.#rxCount());
  }

  /** Registers, interrupt state and the received bytes not yet read, for a snapshot. */
  saveState(): UartState {
    return {
      ier: this.#ier,
      lcr: this.#lcr,
      mcr: this.#mcr,
      fcr: this.#fcr,
      scr: this.#scr,
      msr: this.#msr,
      divisor: this.#divisor,
      rxTrigger: this.#rxTrigger,
      thrPending: this.#thrPending,
      rx: this.#rx.slice(this.#rxHead),
    };
  }

  /** Restores {@linkcode saveState}'s state; the PLIC restores the line level with its own state. */
  loadState(state: UartState): void {
    this.#ier = state.ier;
    this.#lcr = state.lcr;
    this.#mcr = state.mcr;
    this.#fcr = state.fcr;
    this.#scr = state.scr;
    this.#msr = state.msr;
    this.#divisor = state.divisor;
    this.#rxTrigger = state.rxTrigger;
    this.#thrPending = state.thrPending;
    this.#rx = [...state.rx];
    this.#rxHead = 0;
  }

  /**
   * QEMU 7.2's serial_mm: its 8 registers only (the rest of the 0x100 window is
   * unmapped), any width, each access one register access at its offset.
   */
  readonly rules: readonly AccessRule[] = [
    { offset: 0, size: 8, minWidth: 1, maxWidth: 8, implWidth: 8 },
  ];

  /** Reads a byte register; wider accesses read the same byte, zero-extended, as QEMU. */
  read(offset: number, _size: DeviceAccessSize): number {
    switch (offset) {
      case UartReg.RBR_THR:
        return this.#lcr & LCR_DLAB ? this.#divisor & 0xff : this.#readRbr();
      case UartReg.IER:
        return this.#lcr & LCR_DLAB ? this.#divisor >>> 8 : this.#ier;
      case UartReg.IIR_FCR:
        return this.#readIir();
      case UartReg.LCR:
        return this.#lcr;
      case UartReg.MCR:
        return this.#mcr;
      case UartReg.LSR:
        return this.#readLsr();
      case UartReg.MSR:
        return this.#readMsr();
      case UartReg.SCR:
        return this.#scr;
      default:
        return 0;
    }
  }

  /** Writes the low byte of `value` to a register. */
  write(offset: number, _size: DeviceAccessSize, value: number): void {
    value &= 0xff;
    switch (offset) {
      case UartReg.RBR_THR:
        if (this.#lcr & LCR_DLAB) this.#divisor = (this.#divisor & 0xff00) | value;
        else this.#transmit(value);
        return;
      case UartReg.IER:
        if (this.#lcr & LCR_DLAB) this.#divisor = (this.#divisor & 0xff) | (value << 8);
        else this.#writeIer(value);
        return;
      case UartReg.IIR_FCR:
        this.#writeFcr(value);
        return;
      case UartReg.LCR:
        this.#lcr = value;
        return;
      case UartReg.MCR:
        this.#mcr = value & MCR_MASK;
        return;
      case UartReg.SCR:
        this.#scr = value;
        return;
      default:
        return; // LSR and MSR are read-only; QEMU ignores writes to them
    }
  }

  #rxCount(): number {
    return this.#rx.length - this.#rxHead;
  }

  #readRbr(): number {
    let byte = 0;
    if (this.#rxCount() > 0) {
      byte = this.#rx[this.#rxHead];
      this.#consumeRx(1);
    }
    // QEMU signals on every RBR read, empty or not.
    this.#updateIrq();
    return byte;
  }

  #consumeRx(count: number): void {
    this.#rxHead += count;
    if (this.#rxHead === this.#rx.length) {
      this.#rx = [];
      this.#rxHead = 0;
    } else if (this.#rxHead >= 4096) {
      // Compact now and then so a long paste does not keep a dead prefix alive.
      this.#rx = this.#rx.slice(this.#rxHead);
      this.#rxHead = 0;
    }
  }

  #readIir(): number {
    const id = this.#interruptId();
    // Reading IIR acknowledges a THRE interrupt, and only when it is the one reported.
    if (id === UartIir.THRI) {
      this.#thrPending = false;
      this.#updateIrq();
    }
    return id | (this.#fcr & FCR_ENABLE ? IIR_FIFO_ENABLED : 0);
  }

  #readLsr(): number {
    // No overrun, parity, framing or break errors ever happen here, so only DR varies.
    return LSR_THRE | LSR_TEMT | (this.#rxCount() > 0 ? LSR_DR : 0);
  }

  #readMsr(): number {
    if (this.#mcr & MCR_LOOP) {
      // Loopback wires the modem outputs to the inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
      const mcr = this.#mcr;
      return ((mcr & 0x0c) << 4) | ((mcr & 0x02) << 3) | ((mcr & 0x01) << 5);
    }
    const msr = this.#msr;
    if (msr & MSR_DELTAS) {
      this.#msr &= ~MSR_DELTAS;
      this.#updateIrq();
    }
    return msr;
  }

  #transmit(byte: number): void {
    // As QEMU's THR write and serial_xmit: the holding register fills (THRE
    // cleared, a signal), the byte leaves at once and THRE is re-armed (a second
    // signal), then a looped-back byte arrives (a third).
    this.#thrPending = false;
    this.#updateIrq();
    this.#thrPending = true;
    this.#updateIrq();
    if (this.#mcr & MCR_LOOP) {
      this.#rx.push(byte);
      this.#updateIrq();
    } else {
      this.output(byte);
      if (this.events.wants("console")) {
        this.#byte[0] = byte;
        this.events.emit("console", this.#consoleEvent);
      }
    }
  }

  #writeIer(value: number): void {
    const ier = value & 0x0f;
    const changed = ier ^ this.#ier;
    this.#ier = ier;
    // As QEMU (and Linux's start_tx relies on it): enabling THRI with THR empty
    // raises the interrupt even if an IIR read had acknowledged it before.
    if (changed & IER_THRI) this.#thrPending = (ier & IER_THRI) !== 0;
    // QEMU signals only when IER changed: rewriting the same value is silent.
    if (changed) this.#updateIrq();
  }

  #writeFcr(value: number): void {
    // Toggling the FIFO enable flushes both FIFOs.
    if ((value ^ this.#fcr) & FCR_ENABLE) value |= FCR_CLEAR_RX | FCR_CLEAR_TX;
    if (value & FCR_CLEAR_RX) {
      // Only the bytes in the 16-byte FIFO are lost; the rest are still "on the wire".
      this.#consumeRx(Math.min(UART_FIFO_SIZE, this.#rxCount()));
    }
    if (value & FCR_CLEAR_TX) this.#thrPending = true;
    this.#fcr = value & FCR_STICKY;
    this.#rxTrigger = RX_TRIGGER_LEVELS[this.#fcr >>> 6];
    this.#updateIrq();
  }

  /** The IIR interrupt identifier of the highest-priority enabled cause. */
  #interruptId(): number {
    const ier = this.#ier;
    // The receiver line status cause (IER bit 2, top priority) never occurs: no line errors.
    const queued = this.#rxCount();
    if (ier & IER_RDI && queued > 0) {
      if (!(this.#fcr & FCR_ENABLE)) return UartIir.RDI;
      return Math.min(queued, UART_FIFO_SIZE) >= this.#rxTrigger ? UartIir.RDI : UartIir.CTI;
    }
    if (ier & IER_THRI && this.#thrPending) return UartIir.THRI;
    if (ier & IER_MSI && this.#msr & MSR_DELTAS) return UartIir.MSI;
    return UartIir.NONE;
  }

  /** QEMU's serial_update_irq: signals the line at the level of the current cause. */
  #updateIrq(): void {
    this.irq.set(this.#interruptId() !== UartIir.NONE);
  }
}
