/**
 * rvisor's GDB remote stub: the packet handling and run control behind
 * `rvisor --gdb PORT`. It drives the machine's run loop itself: while a
 * debugger has the target stopped nothing runs; `c` runs the machine in
 * batches and looks for Ctrl-C between them; `s` steps one instruction
 * through the {@linkcode DebugTarget}; without a debugger attached (or after
 * `detach`) the machine runs freely until it halts.
 *
 * Transport-free (plain ES): the TCP listener in devices/host/gdbserver.ts
 * hands it connections as {@linkcode GdbConnection}s.
 *
 * @module
 */

import { StopReason, type Watchpoint } from "../../core/hart.ts";
import { REG_NAMES } from "../../core/names.ts";
import {
  encodePacket,
  fromHex,
  fromLatin1,
  latin1,
  PacketDecoder,
  parseHexNumber,
  regFromHex,
  regToHex,
  toHex,
  unescapeBinary,
} from "./protocol.ts";
import { CSR_REGNUM_BASE, csrName, type DebugTarget, PC_REGNUM, PRIV_REGNUM } from "./target.ts";
import { yieldToEventLoop } from "../virt.ts";

/** A byte stream to a debugger (a TCP connection; Deno.Conn fits). */
export interface GdbConnection {
  /** Reads into `buffer`; resolves with the count, or null at end of stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes `bytes` (possibly partially); resolves with the count written. */
  write(bytes: Uint8Array): Promise<number>;
  /** Closes the stream. */
  close(): void;
}

/** Options of {@linkcode GdbStub.run}. */
export interface GdbRunOptions {
  /** Hold the hart at reset until a debugger attaches (QEMU's -S). */
  waitForDebugger?: boolean;
  /** Stop after this much wall-clock time (ms), debugger or not. */
  timeoutMs?: number;
}

/** How {@linkcode GdbStub.run} ended. */
export interface GdbRunResult {
  /** `halt`: the guest halted; `timeout`: timeoutMs passed; `killed`: the debugger sent `k`. */
  stop: "halt" | "timeout" | "killed";
}

/** Instructions per machine.run batch while continuing (bounds the Ctrl-C latency). */
const BATCH = 200_000;
/** Give the event loop a turn (socket reads) at least this often while running (ms). */
const YIELD_MS = 20;
/** Size limit the stub announces (hex memory replies must fit). */
const PACKET_SIZE = 0x4000;

type Event =
  | { kind: "packet"; data: Uint8Array }
  | { kind: "interrupt" }
  | { kind: "attach" }
  | { kind: "closed"; conn: GdbConnection };

/** What a packet asks the run loop to do (`alone`: continue the selected thread only). */
type Action = "none" | "continue" | "alone" | "step" | "detach" | "kill";
/** A packet's outcome: a reply to send, or an action (whose replies, if any, were sent). */
type Outcome = string | { action: Action };

/** The GDB remote stub for one {@linkcode DebugTarget}; one debugger at a time. */
export class GdbStub {
  #conn: GdbConnection | null = null;
  #noAck = false;
  #lastReply: Uint8Array | null = null;
  #writes: Promise<void> = Promise.resolve();
  readonly #events: Event[] = [];
  #wake: (() => void) | null = null;
  /** m/M/X address physical memory instead of virtual (`monitor phys on`). */
  #physical = false;
  /** Breakpoints by address, counted (Z0 and Z1 at one address are one hart breakpoint). */
  readonly #breakpoints = new Map<number, number>();
  /** Watchpoints with their gdb type (2 write, 3 read, 4 access). */
  #watchpoints: { type: number; w: Watchpoint }[] = [];
  /** The watchpoint hit that stopped the last run: stop-reply field. */
  #watchHit: string | null = null;
  #lastStop = "S05";
  /** The hart `s` steps, as `Hc` chose it (null: the selected one). */
  #stepHart: number | null = null;
  #xml: string | null = null;
  /** Debug log (packets in and out) when set. */
  log: ((line: string) => void) | null = null;

  /** A stub for `target`; it installs the hart's watchpoint handler. */
  constructor(readonly target: DebugTarget) {
    for (const h of target.harts) {
      h.onWatchpoint = (hit) => this.#onWatch(hit.addr, hit.size, hit.write);
    }
  }

  /** True while a debugger is connected. */
  get attached(): boolean {
    return this.#conn !== null;
  }

  /**
   * Takes a new debugger connection. Returns false (and leaves `conn` to the
   * caller to close) if one is already attached.
   */
  attach(conn: GdbConnection): boolean {
    if (this.#conn !== null) return false;
    this.#conn = conn;
    this.#noAck = false;
    this.#physical = false;
    this.#push({ kind: "attach" });
    void this.#readLoop(conn);
    return true;
  }

  async #readLoop(conn: GdbConnection): Promise<void> {
    const decoder = new PacketDecoder();
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        for (const e of decoder.push(buf.subarray(0, n))) {
          if (e.kind === "interrupt") {
            this.target.machine.pause(); // a run in progress returns at the next instruction
            this.#push({ kind: "interrupt" });
          } else if (e.kind === "ack") {
            if (!e.ok && this.#lastReply !== null) this.#write(this.#lastReply);
          } else if (e.kind === "overflow") {
            if (!this.#noAck) this.#write(latin1("-"));
          } else if (!e.checksumOk && !this.#noAck) {
            this.#write(latin1("-"));
          } else {
            if (!this.#noAck) this.#write(latin1("+"));
            this.#push({ kind: "packet", data: e.data });
          }
        }
      }
    } catch {
      // A reset connection ends the session like a close.
    }
    this.#push({ kind: "closed", conn });
  }

  #push(e: Event): void {
    this.#events.push(e);
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** The next event, waiting at most until `deadline` (performance.now() ms); null on timeout. */
  async #nextEvent(deadline: number): Promise<Event | null> {
    while (this.#events.length === 0) {
      const wait = deadline - performance.now();
      if (wait <= 0) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        if (Number.isFinite(wait)) timer = setTimeout(resolve, Math.min(wait, 2 ** 30));
      });
      clearTimeout(timer);
      this.#wake = null;
    }
    return this.#events.shift()!;
  }

  #write(bytes: Uint8Array): void {
    const conn = this.#conn;
    if (conn === null) return;
    this.#writes = this.#writes.then(async () => {
      let done = 0;
      while (done < bytes.length) done += await conn.write(bytes.subarray(done));
    }).catch(() => {
      // The reader sees the broken connection and ends the session.
    });
  }

  #reply(text: string): void {
    this.log?.(`<- ${text.length > 200 ? text.slice(0, 200) + "..." : text}`);
    const packet = encodePacket(text);
    this.#lastReply = packet;
    this.#write(packet);
  }

  /** Ends the current session: breakpoints and watchpoints go, the machine runs on. */
  #endSession(): void {
    for (const hart of this.target.harts) {
      for (const addr of this.#breakpoints.keys()) hart.removeBreakpoint(addr);
      for (const { w } of this.#watchpoints) hart.removeWatchpoint(w);
    }
    this.#breakpoints.clear();
    this.#watchpoints = [];
    const conn = this.#conn;
    this.#conn = null;
    if (conn !== null) {
      void this.#writes.finally(() => {
        try {
          conn.close();
        } catch {
          // Already closed by the peer.
        }
      });
    }
  }

  /**
   * Runs the machine under the debugger's control until the guest halts, the
   * timeout passes or the debugger kills it. Without a debugger attached the
   * machine runs freely; a debugger that attaches stops it (as QEMU does).
   */
  async run(options: GdbRunOptions = {}): Promise<GdbRunResult> {
    const machine = this.target.machine;
    const deadline = options.timeoutMs === undefined
      ? Infinity
      : performance.now() + options.timeoutMs;
    /** running: free or continuing; reportStop: a debugger waits for a stop reply. */
    let running = !options.waitForDebugger;
    let reportStop = false;
    let lastYield = performance.now();
    while (true) {
      if (machine.halted) {
        if (this.#conn !== null) {
          const code = machine.exitCode & 0xff;
          this.#reply(`W${code.toString(16).padStart(2, "0")}`);
          this.#endSession();
          await this.#writes;
        }
        return { stop: "halt" };
      }
      if (performance.now() >= deadline) return { stop: "timeout" };
      if (running) {
        // Events that matter while running: an interrupt, a new debugger, its loss.
        let stopped = false;
        while (this.#events.length > 0 && !stopped) {
          const e = this.#events[0];
          if (e.kind === "packet") break; // handled once stopped (gdb waits for the stop)
          this.#events.shift();
          if (e.kind === "interrupt" && this.#conn !== null) {
            stopped = true;
            this.#selectStopped();
            this.#stopped("T02" + this.#thread(), reportStop);
          } else if (e.kind === "attach") {
            stopped = true;
            reportStop = false;
            this.#lastStop = "T05" + this.#thread();
          } else if (e.kind === "closed") this.#closed(e.conn);
        }
        if (stopped || (this.#events.length > 0 && this.#conn !== null)) {
          running = false;
          continue;
        }
        this.#watchHit = null;
        const r = await machine.run({
          maxInstructions: BATCH,
          timeoutMs: Math.max(0, Math.min(deadline - performance.now(), 2 ** 30)),
        });
        if (r.stop === "breakpoint" || r.stop === "watchpoint") {
          running = false;
          this.#selectStopped();
          this.#stopped("T05" + this.#thread() + (this.#watchHit ?? ""), reportStop);
          continue;
        }
        if (performance.now() - lastYield >= YIELD_MS) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
        continue;
      }
      const e = await this.#nextEvent(deadline);
      if (e === null) continue; // the deadline check above ends the run
      switch (e.kind) {
        case "interrupt":
          // Already stopped: gdb still wants a stop reply.
          if (this.#conn !== null) this.#reply("T02" + this.#thread());
          break;
        case "attach":
          this.#lastStop = "T05" + this.#thread();
          break;
        case "closed":
          // The debugger went away without detaching: run on, as after a detach.
          if (this.#closed(e.conn)) running = true;
          break;
        case "packet": {
          const action = this.#handle(e.data);
          if (action === "continue") running = true, reportStop = true;
          else if (action === "alone") await this.#continueAlone(deadline);
          else if (action === "step") {
            this.#watchHit = null;
            const reason = this.target.step();
            const watch = reason === StopReason.WATCHPOINT && this.#watchHit ? this.#watchHit : "";
            this.#stopped("T05" + this.#thread() + watch, true);
          } else if (action === "detach") {
            this.#endSession();
            running = true, reportStop = false;
          } else if (action === "kill") {
            this.#endSession();
            return { stop: "killed" };
          }
        }
      }
    }
  }

  /**
   * `vCont;c:N`, which gdb sends to step thread N over a breakpoint (RISC-V
   * gdb steps in software: a breakpoint at the next instruction): only that
   * hart runs, an instruction at a time, the others staying where they
   * stopped, until it reaches a breakpoint or a watchpoint, the machine halts
   * (the run loop then replies), the debugger interrupts or time runs out.
   */
  async #continueAlone(deadline: number): Promise<void> {
    const t = this.target, machine = t.machine;
    let lastYield = performance.now();
    while (true) {
      this.#watchHit = null;
      const reason = t.step();
      if (machine.halted) return;
      const watched = reason === StopReason.WATCHPOINT && this.#watchHit !== null;
      if (watched || reason === StopReason.BREAKPOINT || this.#breakpoints.has(t.hart.pc)) {
        return this.#stopped("T05" + this.#thread() + (watched ? this.#watchHit : ""), true);
      }
      if (performance.now() - lastYield < YIELD_MS) continue;
      await yieldToEventLoop();
      lastYield = performance.now();
      if (this.#events[0]?.kind === "interrupt") {
        this.#events.shift();
        return this.#stopped("T02" + this.#thread(), true);
      }
      if (this.#conn === null || this.#events[0]?.kind === "closed") return;
      if (performance.now() >= deadline) return;
    }
  }

  /**
   * With several harts: the stop reply's `thread:N;` (N = hart id + 1, the
   * selected hart's); nothing with one, whose replies stay as they were.
   */
  #thread(): string {
    const t = this.target;
    return t.harts.length > 1 ? `thread:${(t.harts.indexOf(t.hart) + 1).toString(16)};` : "";
  }

  /** After a run stopped: the hart that was running becomes gdb's selected thread, as QEMU does. */
  #selectStopped(): void {
    const i = this.target.harts.indexOf(this.target.machine.lastHart);
    if (i >= 0) this.target.selectHart(i);
  }

  /** Thread id `text` (hex; -1 all, 0 any) as a hart index, or null if there is no such thread. */
  #threadIndex(text: string): number | null {
    if (text === "-1" || text === "0") return this.target.harts.indexOf(this.target.hart);
    const id = parseHexNumber(text);
    if (id === null || id < 1n || id > BigInt(this.target.harts.length)) return null;
    return Number(id) - 1;
  }

  /** Records a stop and sends its reply if the debugger is waiting for one. */
  #stopped(reply: string, report: boolean): void {
    this.#lastStop = reply;
    if (report && this.#conn !== null) this.#reply(reply);
  }

  /** A connection closed: if it was the debugger's, its session ends. */
  #closed(conn: GdbConnection): boolean {
    if (conn !== this.#conn) return false;
    this.#endSession();
    return true;
  }

  #onWatch(addr: number, size: number, write: boolean): boolean {
    for (const { type, w } of this.#watchpoints) {
      if (addr + size <= w.addr || addr >= w.addr + w.length) continue;
      if (write ? !w.write : !w.read) continue;
      const kind = type === 2 ? "watch" : type === 3 ? "rwatch" : "awatch";
      const at = BigInt(Math.max(addr, w.addr));
      this.#watchHit = `${kind}:${BigInt.asUintN(64, at).toString(16)};`;
      return true;
    }
    return true;
  }

  // ------------------------------------------------------------------ packets

  /** Handles one packet: replies, and tells the run loop what to do next. Never throws. */
  #handle(raw: Uint8Array): Action {
    const text = fromLatin1(raw);
    this.log?.(`-> ${text.length > 200 ? text.slice(0, 200) + "..." : text}`);
    try {
      const r = this.#dispatch(text, raw);
      if (typeof r === "string") {
        this.#reply(r);
        return "none";
      }
      return r.action;
    } catch (e) {
      // A malformed packet must never take the machine down: answer with an error.
      this.log?.(`error handling packet: ${(e as Error)?.message ?? e}`);
      this.#reply("E01");
      return "none";
    }
  }

  #dispatch(text: string, raw: Uint8Array): Outcome {
    const t = this.target;
    const c = text[0] ?? "";
    switch (c) {
      case "?":
        return this.#lastStop;
      case "g":
        if (text !== "g") return "E01";
        return Array.from({ length: 33 }, (_, i) => regToHex(this.#readReg(i)!)).join("");
      case "G": {
        const hex = text.slice(1);
        if (hex.length < 33 * 16 || !/^[0-9a-fA-F]+$/.test(hex)) return "E01";
        for (let i = 0; i < 33; i++) this.#writeReg(i, regFromHex(hex.substr(i * 16, 16))!);
        return "OK";
      }
      case "p": {
        const n = parseHexNumber(text.slice(1));
        if (n === null) return "E01";
        const v = this.#readReg(Number(n));
        return v === null ? "E01" : regToHex(v);
      }
      case "P": {
        const m = /^P([0-9a-fA-F]{1,8})=([0-9a-fA-F]+)$/.exec(text);
        if (!m) return "E01";
        const v = regFromHex(m[2]);
        if (v === null) return "E01";
        return this.#writeReg(parseInt(m[1], 16), v) ? "OK" : "E01";
      }
      case "m": {
        const m = /^m([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(text);
        if (!m) return "E01";
        const len = parseInt(m[2], 16);
        if (len > PACKET_SIZE / 2) return "E01";
        const bytes = this.#readMemory(BigInt("0x" + m[1]), len);
        return bytes === null ? "E14" : toHex(bytes);
      }
      case "M": {
        const m = /^M([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8}):([0-9a-fA-F]*)$/.exec(text);
        if (!m) return "E01";
        const bytes = fromHex(m[3]);
        if (bytes === null || bytes.length !== parseInt(m[2], 16)) return "E01";
        return this.#writeMemory(BigInt("0x" + m[1]), bytes) ? "OK" : "E14";
      }
      case "X": {
        const colon = raw.indexOf(0x3a);
        const m = /^X([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(text.slice(0, colon));
        if (colon < 0 || !m) return "E01";
        const bytes = unescapeBinary(raw.subarray(colon + 1));
        if (bytes.length !== parseInt(m[2], 16)) return "E01";
        return this.#writeMemory(BigInt("0x" + m[1]), bytes) ? "OK" : "E14";
      }
      case "Z":
      case "z":
        return this.#breakpoint(text);
      case "c":
      case "s":
      case "C":
      case "S": {
        // Optional resume address (c ADDR; C sig;ADDR); signals are ignored (no OS to deliver to).
        const m = /^[cs]([0-9a-fA-F]{1,16})?$|^[CS][0-9a-fA-F]{2}(?:;([0-9a-fA-F]{1,16}))?$/
          .exec(text);
        if (!m) return "E01";
        const step = c === "s" || c === "S";
        if (step && this.#stepHart !== null) t.selectHart(this.#stepHart);
        const addr = m[1] ?? m[2];
        if (addr !== undefined) t.hart.pc = Number(BigInt.asIntN(64, BigInt("0x" + addr)));
        return { action: step ? "step" : "continue" };
      }
      case "D":
        this.#reply("OK");
        return { action: "detach" };
      case "k":
        return { action: "kill" };
      case "H": { // Hg: the thread registers go to; Hc: the one `s` steps (-1, 0: the Hg one)
        const i = this.#threadIndex(text.slice(2));
        if (i === null || (text[1] !== "g" && text[1] !== "c")) return "E01";
        if (text[1] === "g") t.selectHart(i);
        else this.#stepHart = text[2] === "-" || text.slice(2) === "0" ? null : i;
        return "OK";
      }
      case "T": // is the thread alive: every hart always is
        return this.#threadIndex(text.slice(1)) === null ? "E01" : "OK";
      case "q":
      case "Q":
        return this.#query(text);
      case "v":
        if (text === "vCont?") return "vCont;c;C;s;S";
        if (text.startsWith("vCont;")) return this.#vCont(text.slice(6).split(";"));
        if (text.startsWith("vKill")) return { action: "kill" };
        return ""; // vMustReplyEmpty, vFile, vRun...: not supported
      default:
        return "";
    }
  }

  /**
   * vCont's first action, on its thread if it names one (which becomes the
   * selected thread): `s` steps it; `c:N` alone runs only thread N, with
   * another action for the rest (`c:N;c`) every thread runs.
   */
  #vCont(actions: string[]): Outcome {
    const m = /^([cCsS])[0-9a-fA-F]{0,2}(?::(-1|[0-9a-fA-F]+))?$/.exec(actions[0]);
    if (!m) return "E01";
    const thread = m[2] === undefined || m[2] === "-1" ? null : this.#threadIndex(m[2]);
    if (m[2] !== undefined && m[2] !== "-1" && thread === null) return "E01";
    if (thread !== null) this.target.selectHart(thread);
    if (m[1] === "s" || m[1] === "S") return { action: "step" };
    return { action: thread !== null && actions.length === 1 ? "alone" : "continue" };
  }

  #query(text: string): Outcome {
    if (text.startsWith("qSupported")) {
      return `PacketSize=${PACKET_SIZE.toString(16)};qXfer:features:read+;QStartNoAckMode+;` +
        "vContSupported+";
    }
    if (text === "QStartNoAckMode") {
      this.#reply("OK"); // still acknowledged by gdb; nothing after it is
      this.#noAck = true;
      return { action: "none" };
    }
    if (text.startsWith("qXfer:features:read:")) {
      const m = /^qXfer:features:read:([^:]*):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(text);
      if (!m) return "E01";
      if (m[1] !== "target.xml") return "E00";
      const xml = this.#targetXml();
      const off = parseInt(m[2], 16), len = parseInt(m[3], 16);
      const chunk = xml.slice(off, off + Math.min(len, PACKET_SIZE - 16));
      return (off + chunk.length >= xml.length ? "l" : "m") + chunk;
    }
    if (text === "qAttached" || text.startsWith("qAttached:")) return "1";
    const t = this.target;
    if (text === "qC") return `QC${(t.harts.indexOf(t.hart) + 1).toString(16)}`;
    if (text === "qfThreadInfo") return "m" + t.harts.map((_, i) => (i + 1).toString(16)).join(",");
    if (text === "qsThreadInfo") return "l";
    if (text.startsWith("qRcmd,")) {
      const cmd = fromHex(text.slice(6));
      if (cmd === null) return "E01";
      return toHex(latin1(this.#monitor(fromLatin1(cmd).trim())));
    }
    if (text === "qSymbol::") return "OK";
    return "";
  }

  /** `monitor` commands; returns the text to print. */
  #monitor(cmd: string): string {
    const t = this.target;
    const words = cmd.split(/\s+/);
    switch (words[0]) {
      case "phys":
        if (words[1] === "on" || words[1] === "off") this.#physical = words[1] === "on";
        return `memory accesses are ${this.#physical ? "physical" : "virtual"}\n`;
      case "info":
        return `${t.description}\npc 0x${BigInt.asUintN(64, BigInt(t.hart.pc)).toString(16)} ` +
          `priv ${"USHM"[t.priv()]} instructions ${t.hart.retired}\n` +
          `memory accesses are ${this.#physical ? "physical" : "virtual"}\n`;
      case "translate": {
        const va = parseHexNumber((words[1] ?? "").replace(/^0x/, ""));
        if (va === null) return "usage: monitor translate VA (hex)\n";
        const pa = t.translate(Number(BigInt.asIntN(64, va)));
        return pa === null ? "not mapped\n" : `0x${pa.toString(16)}\n`;
      }
      default:
        return "rvisor monitor commands:\n" +
          "  phys on|off     m/M/X address physical (on) or virtual (off) memory\n" +
          "  translate VA    physical address of VA as the program sees it\n" +
          "  info            target, pc, privilege, instruction count\n";
    }
  }

  #targetXml(): string {
    if (this.#xml !== null) return this.#xml;
    const names = REG_NAMES.map((n) => n === "s0" ? "fp" : n); // gdb's name for x8
    const type = (n: string) =>
      n === "ra"
        ? "code_ptr"
        : n === "sp" || n === "gp" || n === "tp" || n === "fp"
        ? "data_ptr"
        : "int";
    const cpu = names.map((n, i) =>
      `<reg name="${n}" bitsize="64" type="${type(n)}" regnum="${i}"/>`
    );
    const csrs = this.target.csrNumbers.map((num) =>
      `<reg name="${csrName(num)}" bitsize="64" type="int" regnum="${CSR_REGNUM_BASE + num}"/>`
    );
    this.#xml = '<?xml version="1.0"?>\n<!DOCTYPE target SYSTEM "gdb-target.dtd">\n' +
      '<target version="1.0">\n<architecture>riscv:rv64</architecture>\n' +
      '<feature name="org.gnu.gdb.riscv.cpu">\n' + cpu.join("\n") +
      `\n<reg name="pc" bitsize="64" type="code_ptr" regnum="${PC_REGNUM}"/>\n</feature>\n` +
      '<feature name="org.gnu.gdb.riscv.csr">\n' + csrs.join("\n") + "\n</feature>\n" +
      '<feature name="org.gnu.gdb.riscv.virtual">\n' +
      `<reg name="priv" bitsize="64" type="int" regnum="${PRIV_REGNUM}"/>\n</feature>\n` +
      "</target>\n";
    return this.#xml;
  }

  // ---------------------------------------------------------- registers

  #readReg(n: number): bigint | null {
    const t = this.target;
    if (n >= 0 && n < 32) return t.hart.getReg(n);
    if (n === PC_REGNUM) return BigInt(t.hart.pc);
    if (n === PRIV_REGNUM) return BigInt(t.priv());
    if (n >= CSR_REGNUM_BASE && n < PRIV_REGNUM) return t.readCsr(n - CSR_REGNUM_BASE);
    return null;
  }

  #writeReg(n: number, v: bigint): boolean {
    const t = this.target;
    if (n >= 0 && n < 32) {
      t.hart.setReg(n, v);
      return true;
    }
    if (n === PC_REGNUM) {
      t.hart.pc = Number(BigInt.asIntN(64, v));
      return true;
    }
    if (n >= CSR_REGNUM_BASE && n < PRIV_REGNUM) return t.writeCsr(n - CSR_REGNUM_BASE, v);
    return false; // priv is read-only: changing it needs the mode's side effects (mret does them)
  }

  // ------------------------------------------------------------- memory

  /** Physical address of one byte at `addr` in the current addressing mode; null if unmapped. */
  #physicalOf(addr: number): number | null {
    return this.#physical ? addr : this.target.translate(addr);
  }

  #readMemory(addr: bigint, length: number): Uint8Array | null {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const va = Number(BigInt.asIntN(64, addr + BigInt(done)));
      const inPage = Math.min(length - done, 4096 - (((va % 4096) + 4096) % 4096));
      const pa = this.#physicalOf(va);
      const bytes = pa === null ? null : this.target.readPhysical(pa, inPage);
      if (bytes === null) return done === 0 ? null : out.subarray(0, done); // partial read
      out.set(bytes, done);
      done += inPage;
    }
    return out;
  }

  #writeMemory(addr: bigint, bytes: Uint8Array): boolean {
    let done = 0;
    while (done < bytes.length) {
      const va = Number(BigInt.asIntN(64, addr + BigInt(done)));
      const inPage = Math.min(bytes.length - done, 4096 - (((va % 4096) + 4096) % 4096));
      const pa = this.#physicalOf(va);
      if (pa === null || !this.target.writePhysical(pa, bytes.subarray(done, done + inPage))) {
        return false;
      }
      done += inPage;
    }
    return true;
  }

  // ----------------------------------------------------- breakpoints

  #breakpoint(text: string): string {
    const m = /^([Zz])([0-4]),([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(text);
    if (!m) return "E01";
    const insert = m[1] === "Z", type = Number(m[2]);
    const addr = Number(BigInt.asIntN(64, BigInt("0x" + m[3])));
    const kind = parseInt(m[4], 16);
    const harts = this.target.harts;
    if (type <= 1) { // software and hardware breakpoints: both are hart pc breakpoints, on every hart
      const count = this.#breakpoints.get(addr) ?? 0;
      if (insert) {
        if (count === 0) { for (const h of harts) h.addBreakpoint(addr); }
        this.#breakpoints.set(addr, count + 1);
      } else if (count > 0) {
        if (count === 1) {
          for (const h of harts) h.removeBreakpoint(addr);
          this.#breakpoints.delete(addr);
        } else this.#breakpoints.set(addr, count - 1);
      }
      return "OK";
    }
    if (kind === 0 || kind > 1 << 20) return "E01";
    const w: Watchpoint = { addr, length: kind, read: type !== 2, write: type !== 3 };
    if (insert) {
      this.#watchpoints.push({ type, w });
      for (const h of harts) h.addWatchpoint(w);
    } else {
      const i = this.#watchpoints.findIndex((x) =>
        x.type === type && x.w.addr === addr && x.w.length === kind
      );
      if (i >= 0) {
        this.#watchpoints.splice(i, 1);
        // The hart removes every equal watchpoint: re-add the duplicates that remain.
        for (const h of harts) {
          h.removeWatchpoint(w);
          for (const x of this.#watchpoints) {
            if (x.w.addr === w.addr && x.w.length === w.length && x.w.read === w.read) {
              h.addWatchpoint(x.w);
            }
          }
        }
      }
    }
    return "OK";
  }
}
