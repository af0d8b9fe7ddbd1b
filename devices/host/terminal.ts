/**
 * Console plumbing between the guest's UART and the host's stdin/stdout.
 *
 * Output is buffered (one `writeSync` per byte would dominate a boot log) and
 * flushed on newline, when the buffer fills, and a few milliseconds after the
 * first unflushed byte, so that prompts without a newline still show up.
 *
 * Input: a pipe or file is read asynchronously and fed to the guest as is; a
 * terminal is put in raw mode (so Ctrl-C reaches the guest as byte 0x03, as on
 * a serial line) and QEMU's `-nographic` escape applies: Ctrl-A x quits, Ctrl-A
 * Ctrl-A sends a Ctrl-A, Ctrl-A h prints help. With several guests, Ctrl-A
 * then a digit switches the guest the terminal shows and types into, as
 * Ctrl-A c switches QEMU's mux between its frontends. Other keys after Ctrl-A
 * are dropped, as in QEMU.
 *
 * @module
 */

import type { EventBus } from "../../core/events.ts";

/** The escape character: Ctrl-A, as QEMU's default `-echr`. */
export const ESCAPE_BYTE = 0x01;

/** Help printed for Ctrl-A h (raw mode: lines end in CR LF). */
export const ESCAPE_HELP = "\r\nC-a h    print this help\r\n" +
  "C-a x    exit rvisor\r\n" +
  "C-a C-a  sends C-a\r\n";

/** The help's extra line with several guests. */
export const ESCAPE_HELP_GUESTS = "C-a 0..9 show and type into guest 0..9\r\n";

/** What an escape sequence asks the host to do: quit, help, or a digit (switch to that guest). */
export type EscapeAction = "quit" | "help" | number;

/** Result of feeding typed bytes through the {@linkcode EscapeDecoder}. */
export interface DecodedInput {
  /** Bytes for the guest, escapes removed. */
  guest: Uint8Array;
  /** Escape commands found, in order. */
  actions: EscapeAction[];
}

/**
 * QEMU's mux escape as a pure state machine, so it is testable without a
 * terminal; the state (a pending Ctrl-A) survives across reads because a
 * key pair may arrive in two reads.
 */
export class EscapeDecoder {
  #pending = false;

  /** Splits typed bytes into guest input and escape commands. */
  feed(bytes: Uint8Array): DecodedInput {
    const out: number[] = [];
    const actions: EscapeAction[] = [];
    for (const b of bytes) {
      if (this.#pending) {
        this.#pending = false;
        if (b === ESCAPE_BYTE) out.push(b);
        else if (b === 0x78 /* x */) actions.push("quit");
        else if (b === 0x68 /* h */ || b === 0x3f /* ? */) actions.push("help");
        else if (b >= 0x30 && b <= 0x39) actions.push(b - 0x30);
        // Anything else is swallowed, as QEMU does for escapes it does not know.
      } else if (b === ESCAPE_BYTE) {
        this.#pending = true;
      } else {
        out.push(b);
      }
    }
    return { guest: new Uint8Array(out), actions };
  }
}

/** Writes all of `bytes` with a synchronous writer that may write only part at a time. */
function writeAllSync(w: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += w.writeSync(bytes.subarray(done));
}

/** Buffered guest console output. */
export class ConsoleOutput {
  readonly #buf: Uint8Array;
  #len = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #last = 0x0a;
  #broken = false;

  /**
   * @param write receives the flushed bytes (default: stdout).
   * @param delayMs the longest a byte waits in the buffer while the event loop runs.
   * @param onBrokenPipe called once if the writer fails (e.g. `| head` closed the pipe);
   *   later output is dropped.
   */
  constructor(
    readonly write: (bytes: Uint8Array) => void = (b) => writeAllSync(Deno.stdout, b),
    readonly delayMs = 5,
    readonly onBrokenPipe?: (error: Error) => void,
    capacity = 4096,
  ) {
    this.#buf = new Uint8Array(capacity);
  }

  /** Buffers one byte (the VirtMachine `console` callback). */
  put(byte: number): void {
    this.#last = byte;
    this.#buf[this.#len++] = byte;
    if (byte === 0x0a || this.#len === this.#buf.length) {
      this.flush();
    } else if (this.#timer === undefined) {
      // The run loop yields to the event loop every few ms, which is when this fires.
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush();
      }, this.delayMs);
    }
  }

  /** True if the last byte written was a newline (or nothing was written). */
  get atLineStart(): boolean {
    return this.#last === 0x0a;
  }

  /** Writes out everything buffered; call before exiting. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#len === 0) return;
    const bytes = this.#buf.slice(0, this.#len);
    this.#len = 0;
    if (this.#broken) return;
    try {
      this.write(bytes);
    } catch (e) {
      this.#broken = true;
      this.onBrokenPipe?.(e as Error);
    }
  }
}

/**
 * The machine side of the console: {@linkcode VirtMachine} satisfies it.
 * Input goes in through the UART, paced by its FIFO space, and the `mmio`
 * topic tells when the guest looks at the UART.
 */
export interface ConsoleSink {
  /** Feeds bytes to the guest's UART. */
  input(bytes: Uint8Array): void;
  /**
   * The UART: its device name (in MMIO events), free receive FIFO space, and
   * optionally its registers (a machine restored from a snapshot has a UART
   * the guest set up before the pacer could watch).
   */
  readonly uart: {
    readonly name: string;
    rxSpace(): number;
    saveState?(): { ier: number; lcr: number; fcr: number; mcr: number };
  };
  /** The machine's event bus. */
  readonly events: EventBus;
  /**
   * With several guests (whose UARTs share a name): true while this guest
   * runs, so the device accesses on the bus are its own.
   */
  running?(): boolean;
}

/** UART register offsets the pacing watches (16550 layout, 1-byte registers). */
const IER = 1, FCR = 2, LCR = 3, MCR = 4, LSR = 5;
const IER_RDI = 0x01, FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02, LCR_DLAB = 0x80, MCR_LOOP = 0x10;
/** How often queued input is offered to an interrupt-driven guest (ms of event-loop time). */
const PUMP_INTERVAL_MS = 5;

/**
 * Host input waiting for the guest, delivered the way a serial line with flow
 * control would: never more than the receive FIFO holds, topped up when the
 * guest is ready for it. Early input (`printf ' version\n' | rvisor`) must
 * survive firmware start-up, which throws receive bytes away: OpenSBI reads
 * LSR then RBR once to drain the line, and U-Boot clears the FIFO when it
 * initialises the UART. So:
 *
 * - a polling guest gets bytes when it reads LSR twice with no other UART
 *   access between, which is what a "wait for input" loop does; a drain (LSR,
 *   RBR) or a transmit loop (LSR, THR, LSR, THR) is not asking for input;
 * - an interrupt-driven guest (IER.RDI set) gets them at once, and on a timer
 *   as the FIFO drains, since an idle guest waits in wfi without polling;
 * - bytes still in the FIFO when the guest clears it are queued again: for the
 *   guest it is as if they arrived a little later.
 */
export class InputPacer {
  readonly #queue: number[] = [];
  #head = 0;
  /** The last bytes pushed, newest last: the ones still in the FIFO, if any. */
  #recent: number[] = [];
  #ier = 0;
  #lcr = 0;
  #fcr = 0;
  #loopback = false;
  /** True if the previous UART access was an LSR read. */
  #polling = false;
  #ended = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #unsubscribe: (() => void) | undefined;

  /** Starts watching the guest's UART accesses (register state matters from reset on). */
  constructor(readonly sink: ConsoleSink) {
    const name = sink.uart.name;
    // A restored machine's guest will not set its UART up again: start from its registers.
    const regs = sink.uart.saveState?.();
    if (regs) {
      this.#ier = regs.ier;
      this.#lcr = regs.lcr;
      this.#fcr = regs.fcr;
      this.#loopback = (regs.mcr & MCR_LOOP) !== 0;
    }
    this.#unsubscribe = sink.events.on("mmio", (e) => {
      if (e.device !== name || sink.running?.() === false) return;
      const reg = e.addr & 0xff;
      const lsrRead = !e.write && reg === LSR;
      const polling = this.#polling;
      this.#polling = lsrRead;
      if (e.write) {
        // Published before the device sees the write: the FIFO still holds its bytes.
        if (reg === FCR) this.#onFcr(e.value);
        else if (reg === LCR) this.#lcr = e.value;
        else if (reg === IER && !(this.#lcr & LCR_DLAB)) this.#ier = e.value;
        else if (reg === MCR) this.#loopback = (e.value & MCR_LOOP) !== 0;
      } else if (lsrRead && polling) {
        this.pump();
        if (this.#ended) this.#closeIfDone();
      }
    });
  }

  /** Bytes accepted but not yet in the UART. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** Queues bytes for the guest; an interrupt-driven guest gets what fits at once. */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0 || !this.#unsubscribe) return;
    for (const b of bytes) this.#queue.push(b);
    if (this.#ier & IER_RDI) this.pump();
    if (this.pending > 0 && this.#timer === undefined) {
      this.#timer = setInterval(() => {
        if (this.#ier & IER_RDI) this.pump();
        if (this.pending === 0) {
          clearInterval(this.#timer);
          this.#timer = undefined;
        }
      }, PUMP_INTERVAL_MS);
    }
  }

  /** Moves queued bytes into the UART as far as its FIFO has room. */
  pump(): void {
    if (this.#loopback) return; // in loopback the line is disconnected from the outside
    const n = Math.min(this.pending, this.sink.uart.rxSpace());
    if (n <= 0) return;
    const bytes = new Uint8Array(this.#queue.slice(this.#head, this.#head + n));
    this.#head += n;
    if (this.#head === this.#queue.length) this.#queue.length = this.#head = 0;
    this.#recent = [...this.#recent, ...bytes].slice(-16);
    this.sink.input(bytes);
  }

  /**
   * No more input will come (EOF): the mmio hook goes away once the guest has
   * read everything, since it costs a call per device access.
   */
  end(): void {
    this.#ended = true;
    this.#closeIfDone();
  }

  #closeIfDone(): void {
    if (this.pending === 0 && this.sink.uart.rxSpace() === 16) this.close();
  }

  /** Stops watching the UART and drops queued input. */
  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #onFcr(value: number): void {
    const toggled = ((value ^ this.#fcr) & FCR_ENABLE) !== 0;
    this.#fcr = value;
    if (!toggled && !(value & FCR_CLEAR_RX)) return;
    const inFifo = Math.min(16 - this.sink.uart.rxSpace(), this.#recent.length);
    if (inFifo <= 0) return;
    const lost = this.#recent.slice(-inFifo);
    this.#recent = [];
    this.#queue.splice(this.#head, 0, ...lost);
  }
}

/** Options of {@linkcode HostTerminal}. */
export interface HostTerminalOptions {
  /** Called for Ctrl-A x (terminal only). */
  onQuit: () => void;
  /** Receives notices meant for the user (escape help); default: stderr. */
  notice?: (text: string) => void;
  /** Called once if writing stdout fails. */
  onBrokenPipe?: (error: Error) => void;
  /** Ctrl-A then a digit chose guest `index` (of those given to start; terminal only). */
  onSwitch?: (index: number) => void;
}

/**
 * The host's stdin/stdout as the guest's serial console. Call
 * {@linkcode HostTerminal.restore} on every way out: it leaves raw mode and
 * flushes output, and is safe to call more than once.
 */
export class HostTerminal {
  /** Guest output, buffered for stdout. */
  readonly output: ConsoleOutput;
  /** True if stdin is a terminal (raw mode and the Ctrl-A escape apply). */
  readonly interactive: boolean;
  readonly #options: HostTerminalOptions;
  readonly #decoder = new EscapeDecoder();
  #raw = false;
  #pacers: InputPacer[] | undefined;
  #focus = 0;
  #restoreOnUnload = () => this.restore();

  constructor(options: HostTerminalOptions) {
    this.#options = options;
    this.output = new ConsoleOutput(undefined, 5, options.onBrokenPipe);
    this.interactive = Deno.stdin.isTerminal();
  }

  /**
   * Starts feeding stdin to `sink` (raw mode on a terminal), or with several
   * guests' sinks to the first, then to the one Ctrl-A and a digit chose
   * (each keeps its own queue). Returns at once.
   */
  start(sink: ConsoleSink | readonly ConsoleSink[]): void {
    if (this.#pacers) return;
    const sinks = Array.isArray(sink) ? sink : [sink as ConsoleSink];
    const pacers = this.#pacers = sinks.map((s) => new InputPacer(s));
    if (this.interactive) {
      Deno.stdin.setRaw(true);
      this.#raw = true;
      // A safety net for exits that bypass the caller's cleanup (Deno.exit elsewhere).
      globalThis.addEventListener("unload", this.#restoreOnUnload);
    }
    this.#readLoop(pacers);
  }

  async #readLoop(pacers: InputPacer[]): Promise<void> {
    const buf = new Uint8Array(4096);
    while (true) {
      let n: number | null;
      try {
        n = await Deno.stdin.read(buf);
      } catch {
        n = null; // stdin went away (hung-up terminal): the guest just gets no more input
      }
      if (n === null) {
        // EOF: keep the machine running; the guest may still print.
        for (const pacer of pacers) pacer.end();
        return;
      }
      const bytes = buf.slice(0, n);
      if (!this.interactive) {
        pacers[this.#focus].push(bytes);
        continue;
      }
      const { guest, actions } = this.#decoder.feed(bytes);
      pacers[this.#focus].push(guest);
      for (const a of actions) {
        if (a === "help") {
          const extra = pacers.length > 1 ? ESCAPE_HELP_GUESTS : "";
          (this.#options.notice ?? writeStderr)(ESCAPE_HELP + extra);
        } else if (a === "quit") this.#options.onQuit();
        else if (a < pacers.length && pacers.length > 1) {
          this.#focus = a;
          this.#options.onSwitch?.(a);
        }
      }
    }
  }

  /** Flushes output and leaves raw mode. */
  restore(): void {
    this.output.flush();
    if (this.#raw) {
      this.#raw = false;
      globalThis.removeEventListener("unload", this.#restoreOnUnload);
      try {
        Deno.stdin.setRaw(false);
      } catch {
        // The terminal may already be gone (SIGHUP); nothing left to restore.
      }
    }
  }
}

/** Writes text to stderr synchronously (it must not be lost on exit). */
export function writeStderr(text: string): void {
  try {
    writeAllSync(Deno.stderr, new TextEncoder().encode(text));
  } catch {
    // stderr closed: nowhere left to report to.
  }
}
