/**
 * Lockstep against QEMU for long runs. scripts/lockstep.ts single-steps both
 * machines over gdb and compares every register after every instruction, at
 * about 2,000 instructions a second: a boot to U-Boot's prompt (~34 M
 * instructions) would take hours. This comparison splits the work:
 *
 * 1. rvisor runs the image alone (virtual clock: one 10 MHz tick per 100
 *    instructions, as QEMU's `-icount shift=0`) and records the pc of every
 *    instruction it starts, and its registers and key CSRs at checkpoints:
 *    roughly every `checkpointEvery` instructions, at the first execution of
 *    a pc not seen before (so that a single breakpoint stops QEMU there).
 * 2. QEMU runs the same image with the same device tree under `-icount
 *    shift=0 -singlestep -d exec,nochain`, which logs the pc of every
 *    instruction it starts; the log streams into this process and is compared
 *    pc by pc with rvisor's record. A breakpoint stops QEMU at each checkpoint,
 *    where its registers and CSRs (over gdb) are compared with rvisor's.
 *
 * So every instruction's pc is compared, and the whole register file and the
 * trap/translation CSRs at the checkpoints; a register difference that never
 * reaches control flow shows at the next checkpoint.
 *
 * Console input: `input` types text at the first checkpoint after the
 * console shows a given text: QEMU is stopped there, so the byte is in its
 * UART before the next instruction, as it is in rvisor's; both runs stay
 * deterministic (U-Boot's autoboot needs a key, or it waits 2e9 instructions).
 *
 * The machine compared is rvisor's default one, which takes QEMU 7.2's CSR
 * choices (CsrFile.qemuQuirks; `qemuQuirks: false` shows the spec's). Its
 * CLINT raises MTIP as soon as mtime reaches mtimecmp, as the spec says;
 * QEMU's timer fires up to 99 instructions later, so a program whose timer
 * interrupt lands mid-tick differs there unless `qemuTimer` times MTIP as
 * QEMU does (Clint.qemuTimer). The record notes each interrupt, and one taken
 * at another count is a pc difference there. Counter values
 * (cycle, instret) are each emulator's own (QEMU also counts some trapping
 * instructions) and show as register differences; scripts/lockstep.ts, which
 * copies QEMU's counter reads into rvisor, is the tool for those. A `wfi`
 * ends the comparison: QEMU's icount lets real time pass while the hart
 * sleeps. QEMU runs with `-icount shift=0` (sleep=off would make idle time
 * exact, but QEMU 7.2 then spins when resumed from a gdb stop, which a
 * checkpoint is: seen with OpenSBI and with guests/isa/csr.S). Its clock
 * follows its instruction count but for one leak: resumed from a stop with
 * a timer armed, it moves on by the host time the stop took. So no
 * checkpoint is placed while QEMU's timer is armed (from a write of mtimecmp
 * until mtime passes it; for ever after mtimecmp = all ones), and QEMU's
 * timer interrupts come at the same counts on every run.
 *
 * QEMU logs an instruction again when its translation block restarts without
 * executing it (icount budget refills, I/O, a breakpoint): a repeated pc that
 * rvisor did not repeat is skipped and counted. It logs nothing for a fetch
 * that faults (raised while translating), and the record leaves those out.
 * QEMU starting no instruction for 3 s while the record goes on (a trap loop,
 * a sleep) is reported as a difference.
 *
 * ```sh
 * deno run -A scripts/lockstep-trace.ts --bios /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf \
 *   --kernel /usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin \
 *   --type-after "Hit any key to stop autoboot" --type " " --until "=> "
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { REG_NAMES } from "../core/names.ts";
import { csrName, existingCsrs } from "../devices/gdb/target.ts";
import { GdbClient } from "../devices/host/gdbclient.ts";
import { VirtMachine } from "../devices/virt.ts";
import type { MmioEvent, TrapEvent } from "../core/events.ts";
import { Cause } from "../core/csr.ts";
import { QEMU, QEMU_CPU, QEMU_CPU_FD } from "./host-tools.ts";
import { disassemble, dumpQemuDtb, freePort, KEY_CSRS, normalize } from "./lockstep.ts";

/** Options of {@linkcode traceLockstep}. */
export interface TraceLockstepOptions {
  /** M-mode firmware (QEMU -bios); omitted: -bios none. */
  bios?: string;
  /** Kernel (QEMU -kernel). */
  kernel?: string;
  /**
   * The hart: `rv64imac` (default here, unlike rvisor's: the comparisons were made
   * with QEMU_CPU) or `rv64imafdc` (F and D on both machines).
   */
  isa?: string;
  /** End at the first checkpoint after the console shows this (after any input was typed). */
  until?: string;
  /** Type `text` at the first checkpoint after the console shows `after`. */
  input?: { after: string; text: string };
  /** Stop the record after this many instructions (at the next new pc, for a last checkpoint). */
  maxInstructions?: number;
  /** Checkpoint (registers and CSRs over gdb) about this often (default 1,000,000). */
  checkpointEvery?: number;
  /**
   * rvisor's hart keeps QEMU 7.2's CSR choices (CsrFile.qemuQuirks, on by
   * default); false gives it priv 1.12's, to show where QEMU differs.
   */
  qemuQuirks?: boolean;
  /**
   * Time the CLINT as QEMU 7.2 does (Clint.qemuTimer: MTIP up to 99
   * instructions after mtime reaches mtimecmp), so that timer interrupts come
   * at QEMU's instruction counts. Default false: rvisor's own timer, MTIP as
   * soon as mtime >= mtimecmp, as the spec says.
   */
  qemuTimer?: boolean;
  /**
   * QEMU with `-icount shift=0,sleep=off`, so that its clock never follows
   * host time (even a busy host cannot move its timer interrupts). QEMU 7.2
   * then spins when resumed from a gdb stop, so the start is the only
   * checkpoint (`checkpointEvery` is ignored): every pc is still compared.
   */
  exactQemuClock?: boolean;
  /** rvisor's block translator on (default) or off. */
  jit?: boolean;
  /** Progress lines go here. */
  progress?: (line: string) => void;
}

/** Outcome of {@linkcode traceLockstep}. */
export interface TraceLockstepReport {
  /** `match`: every pc and every checkpoint identical; `differ`: see `text`. */
  result: "match" | "differ";
  /** Instructions whose pc was compared. */
  instructions: number;
  /** Of them, those rvisor retired (the rest trapped). */
  retired: number;
  /** Checkpoints whose registers and CSRs were compared. */
  checkpoints: number;
  /** Interrupts rvisor took within the compared instructions (count, cause, pc). */
  interrupts: { at: number; cause: number; pc: number }[];
  /** QEMU log lines skipped as restarts of a block (see the module comment). */
  restarts: number;
  /** Why the record ended: `until`, `limit`, `halt` or `wfi`. */
  end: string;
  /** The outcome, formatted for people. */
  text: string;
  /** Wall time (ms) of the rvisor record and of the QEMU comparison. */
  ms: { record: number; compare: number };
}

/** A point where QEMU is stopped and compared. */
interface Checkpoint {
  /** Instructions started before it (the index of its pc in the record). */
  step: number;
  /** x0..x31 and pc. */
  regs: bigint[];
  /** Key CSRs by name (with F/D, fcsr too). */
  csrs: Map<string, bigint>;
  /** f0..f31 as raw 64-bit patterns, with F/D. */
  fregs?: bigint[];
  priv: number;
  /** Console characters output before it. */
  output: number;
  /** Text typed here (after the comparison). */
  type?: string;
}

/** rvisor's record: the pc of every instruction started, and the checkpoints. */
class Record {
  static readonly CHUNK = 1 << 20;
  readonly #chunks: Float64Array[] = [];
  length = 0;
  readonly checkpoints: Checkpoint[] = [];
  readonly interrupts: { at: number; cause: number; pc: number }[] = [];
  end = "limit";
  retired = 0;
  /** Console output up to the end of the record. */
  output = "";

  push(pc: number): void {
    const i = this.length % Record.CHUNK;
    if (i === 0) this.#chunks.push(new Float64Array(Record.CHUNK));
    this.#chunks[this.#chunks.length - 1][i] = pc;
    this.length++;
  }

  pop(): void {
    this.length--;
  }

  at(i: number): number {
    return this.#chunks[Math.floor(i / Record.CHUNK)][i % Record.CHUNK];
  }
}

/** The CLINT's mtimecmp and mtime registers (0x200_4000..0x200_bfff), whose writes arm QEMU's timer. */
const CLINT_TIMER = 0x200_4000;
const CLINT_TIMER_END = 0x200_c000;

/** How long QEMU may start no instruction before that counts as a difference (ms). */
const STALL_MS = 3_000;

/** Instructions past the limit that may run before a new pc gives the last checkpoint. */
const MAX_OVERRUN = 10_000_000;

const hex = (v: bigint | number) => "0x" + BigInt.asUintN(64, BigInt(v)).toString(16);

function image(path: string | undefined) {
  return path === undefined ? undefined : { name: path, bytes: Deno.readFileSync(path) };
}

function hasFd(options: TraceLockstepOptions): boolean {
  return options.isa !== undefined && /^rv64imafd|^rv64g/.test(options.isa);
}

/** QEMU's machine arguments (no gdb, no logging) for `options` with the device tree `dtb`. */
function machineArgs(options: TraceLockstepOptions, dtb: string): string[] {
  return [
    ...["-M", "virt", "-m", "128M", "-display", "none", "-monitor", "none"],
    ...["-icount", options.exactQemuClock ? "shift=0,sleep=off" : "shift=0"],
    ...["-cpu", hasFd(options) ? QEMU_CPU_FD : QEMU_CPU],
    ...["-bios", options.bios ?? "none"],
    ...(options.kernel ? ["-kernel", options.kernel] : []),
    ...["-dtb", dtb],
  ];
}

/**
 * Phase 1: runs rvisor alone and records pcs and checkpoints. The machine gets
 * `dtb` (QEMU's blob of rvisor's own tree) at its device-tree address.
 */
function record(options: TraceLockstepOptions, dtb: Uint8Array | null): Record {
  let output = "";
  const machine = new VirtMachine({
    bios: image(options.bios),
    kernel: image(options.kernel),
    clock: "virtual",
    memory: 128 * 1024 * 1024,
    isa: options.isa ?? "rv64imac", // QEMU_CPU's, whatever the machine's default
    console: (b) => output += String.fromCharCode(b),
    jit: options.jit,
  });
  if (dtb !== null) {
    const at = machine.dtb.address;
    machine.bus.loadBytes(at, new Uint8Array(Math.max(dtb.length, machine.dtb.bytes.length)));
    machine.bus.loadBytes(at, dtb);
  }
  const hart = machine.hart;
  hart.csr.qemuQuirks = options.qemuQuirks ?? hart.csr.qemuQuirks;
  machine.clint.qemuTimer = options.qemuTimer ?? machine.clint.qemuTimer;
  const fd = hasFd(options);
  const csrs = existingCsrs(hart.csr).filter((n) =>
    KEY_CSRS.has(csrName(n)) || (fd && csrName(n) === "fcsr")
  );
  const rec = new Record();
  // Steps that start no instruction in QEMU's sense log nothing there: an
  // interrupt taken first, or a fetch fault (QEMU raises it while translating).
  let startedNothing = false;
  machine.events.on("trap", (e: TrapEvent) => {
    if (e.interrupt) rec.interrupts.push({ at: rec.length - 1, cause: e.cause, pc: e.pc });
    else if (e.cause !== Cause.FETCH_ACCESS && e.cause !== Cause.FETCH_PAGE_FAULT) return;
    startedNothing = true;
  });
  const every = options.exactQemuClock ? Infinity : options.checkpointEvery ?? 1_000_000;
  const max = options.maxInstructions ?? Infinity;
  const seen = new Set<number>();
  let due = true, typed = options.input === undefined, endDue = false;
  let consoleChecked = 0;
  // QEMU arms a timer on each mtimecmp (or mtime) write that is not already due and keeps
  // it until it fires; mtimecmp = all ones arms it for ever (at INT64_MAX ns).
  let timerWritten = false;
  machine.events.on("mmio", (e: MmioEvent) => {
    if (e.write && e.addr >= CLINT_TIMER && e.addr < CLINT_TIMER_END) timerWritten = true;
  });
  /**
   * A QEMU stopped now would let host time into its clock (see the module
   * doc). Its timer fires up to a tick after mtime reaches mtimecmp, so it
   * counts as armed until then, whichever way rvisor times MTIP.
   */
  const timerArmed = () => {
    if (!timerWritten) return false;
    const at = machine.clint.nextDeadline();
    return !Number.isFinite(at) || at + 1 >= machine.clock.now();
  };
  const snapshot = (step: number, type?: string) => {
    rec.checkpoints.push({
      step,
      regs: [...Array.from({ length: 32 }, (_, i) => hart.getReg(i)), BigInt(hart.pc)],
      csrs: new Map(csrs.map((n) => [csrName(n), hart.readCsr(n)!])),
      priv: hart.priv,
      fregs: fd
        ? Array.from({ length: 32 }, (_, i) => {
          const w = hart.fpu.fw;
          return (BigInt(w[2 * i + 1] >>> 0) << 32n) | BigInt(w[2 * i] >>> 0);
        })
        : undefined,
      output: output.length,
      type,
    });
  };
  while (true) {
    const pc = hart.pc;
    if (!seen.has(pc)) {
      seen.add(pc);
      if (endDue) {
        snapshot(rec.length);
        rec.push(pc); // QEMU logs the instruction it stops at
        break;
      }
      const typeNow = !typed && output.includes(options.input!.after);
      if ((due && !timerArmed()) || typeNow) {
        snapshot(rec.length, typeNow ? options.input!.text : undefined);
        if (typeNow) {
          machine.input(options.input!.text);
          typed = true;
          consoleChecked = output.length;
        }
        due = false;
      }
    }
    // Past the limit, the run ends at the next checkpoint (a new pc) so that QEMU stops there too.
    if (rec.length >= max && !endDue) {
      rec.end = "limit";
      endDue = true;
    }
    if (rec.length >= max + MAX_OVERRUN) break;
    if (hart.waiting) {
      rec.end = "wfi";
      break;
    }
    rec.push(pc);
    startedNothing = false;
    hart.run(1);
    machine.devices.update();
    if (startedNothing) rec.pop();
    if (machine.halted) {
      rec.end = "halt";
      break;
    }
    if (rec.length % every === 0) due = true;
    if (typed && options.until !== undefined && !endDue) {
      endDue = output.includes(options.until, Math.max(0, consoleChecked - options.until.length));
      if (endDue) rec.end = "until";
    }
    if (rec.length % 1_000_000 === 0) {
      options.progress?.(`record: ${rec.length} instructions, pc ${hex(hart.pc)}`);
    }
  }
  rec.retired = hart.retired;
  rec.output = output;
  return rec;
}

/** Parses QEMU's `-d exec` lines from a byte stream and hands each pc to `onPc`. */
class ExecLogParser {
  #partial = "";
  readonly other: string[] = [];

  constructor(readonly onPc: (pc: number) => boolean) {}

  /** Feeds a chunk; returns false once `onPc` asked to stop. */
  push(chunk: Uint8Array): boolean {
    // Latin-1 keeps one char per byte; the lines are ASCII.
    let text = this.#partial;
    for (let i = 0; i < chunk.length; i += 0x8000) {
      text += String.fromCharCode(...chunk.subarray(i, i + 0x8000));
    }
    let start = 0;
    while (true) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      // "Trace 0: 0x7f.. [cs_base/pc/flags/cflags] "
      const open = text.indexOf("[", start);
      if (text.startsWith("Trace ", start) && open >= 0 && open < nl) {
        const slash = text.indexOf("/", open);
        const pc = parseInt(text.slice(slash + 1, text.indexOf("/", slash + 1)), 16);
        if (!this.onPc(pc)) return false;
      } else if (
        this.other.length < 20 && !text.startsWith("Stopped execution of TB chain", start)
      ) {
        this.other.push(text.slice(start, nl));
      }
      start = nl + 1;
    }
    this.#partial = text.slice(start);
    return true;
  }
}

/**
 * Phase 2: runs QEMU with its execution log and a gdb stub, compares the log
 * with `rec` and stops at each checkpoint to compare state.
 */
async function compareWithQemu(
  options: TraceLockstepOptions,
  args: string[],
  rec: Record,
): Promise<{ ok: boolean; text: string; checkpoints: number; restarts: number }> {
  const port = freePort();
  const qemu = new Deno.Command(QEMU, {
    args: [
      ...args,
      ...["-serial", "stdio", "-singlestep", "-d", "exec,nochain"],
      ...["-gdb", `tcp:127.0.0.1:${port}`, "-S"],
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const serialIn = qemu.stdin.getWriter();
  let qemuConsole = "";
  const consoleDone = (async () => {
    for await (const c of qemu.stdout) qemuConsole += String.fromCharCode(...c);
  })();

  // The log comparison runs as the log arrives.
  let compared = 0, restarts = 0, last = NaN;
  let difference: string | null = null;
  let onDifference: () => void = () => {};
  const differed = new Promise<void>((resolve) => onDifference = resolve);
  const parser = new ExecLogParser((pc) => {
    if (compared < rec.length && pc === rec.at(compared)) {
      compared++;
      last = pc;
      return true;
    }
    if (pc === last) {
      restarts++;
      return true;
    }
    const prev = compared > 0 ? rec.at(compared - 1) : NaN;
    difference = compared >= rec.length
      ? `QEMU went on to ${hex(pc)} after the ${compared} recorded instructions`
      : `after ${compared} instructions (the last at ${hex(prev)}), ` +
        `QEMU went to ${hex(pc)}, rvisor to ${hex(rec.at(compared))}`;
    onDifference();
    return false;
  });
  const logDone = (async () => {
    for await (const chunk of qemu.stderr) {
      if (difference === null && !parser.push(chunk)) break;
    }
  })();

  let checkpoints = 0;
  let client: GdbClient | undefined;
  const fail = (text: string) => ({ ok: false, text, checkpoints, restarts });
  try {
    client = await GdbClient.connect(port, "127.0.0.1", 15_000);
    const q = client;
    const byName = new Map((await q.registers()).map((r) => [r.name, r.regnum]));
    const t0 = performance.now();
    for (const cp of rec.checkpoints) {
      const pc = cp.regs[32];
      if (cp.step > 0) {
        await q.command(`Z0,${BigInt.asUintN(64, pc).toString(16)},2`);
        // QEMU starting no instruction for a while (a trap loop on a fetch fault, a
        // wfi with no timer) without reaching the checkpoint is a difference too.
        let seen = -1, stalled = false;
        const watch = setInterval(() => {
          if (compared === seen && !stalled) {
            stalled = true;
            q.interrupt().catch(() => {});
          }
          seen = compared;
        }, STALL_MS);
        const stop = await Promise.race([
          q.request("c").catch(() => "(QEMU exited)"),
          differed.then(async () => {
            await q.interrupt();
            return "difference";
          }),
        ]);
        clearInterval(watch);
        if (difference !== null) break;
        if (!/^[ST][0-9a-fA-F]{2}/.test(stop)) return fail(`QEMU stopped: ${stop}`);
        if (stalled) {
          const at = (await q.readGeneralRegisters())[32];
          return fail(
            `lockstep-trace: QEMU started no instruction after ${compared} (it is at pc ` +
              `${hex(at)}: a trap loop or a sleep), rvisor went on to ${hex(rec.at(compared))}`,
          );
        }
        await q.command(`z0,${BigInt.asUintN(64, pc).toString(16)},2`);
      }
      options.progress?.(`compare: to checkpoint at ${cp.step}, pc ${hex(pc)}`);
      const diffs = await compareState(q, byName, cp);
      checkpoints++;
      if (diffs.length > 0) {
        const instr = (await q.readMemory(pc, 4).catch(() => null)) ?? new Uint8Array(4);
        return fail(
          [
            `lockstep-trace: state differs at checkpoint ${checkpoints}, after ${cp.step} ` +
            `instructions (pc ${hex(pc)}: ${disassemble(instr, pc)}):`,
            ...diffs,
          ].join("\n"),
        );
      }
      if (cp.type !== undefined) await typeInto(q, serialIn, cp.type);
      options.progress?.(
        `compare: checkpoint ${checkpoints}/${rec.checkpoints.length} at ${cp.step}, ` +
          `pc ${hex(cp.regs[32])}: ` +
          `instructions identical (${Math.round(compared / ((performance.now() - t0) / 1000))}` +
          ` instructions/s)`,
      );
    }
    let endStep = rec.checkpoints.at(-1)?.step ?? 0;
    let endOutput = rec.checkpoints.at(-1)?.output ?? 0;
    if (rec.end === "halt" && difference === null) {
      // The guest ended the run: QEMU runs to its end too (its process exits on a
      // poweroff), and the whole record is compared.
      // A QEMU that stops logging without exiting (asleep in wfi with no timer, or
      // a guest end QEMU does not implement) is stopped once its log is quiet.
      let seen = -1;
      const idle = setInterval(() => {
        if (compared === seen) q.interrupt().catch(() => {});
        seen = compared;
      }, STALL_MS);
      await Promise.race([q.request("c").catch(() => "exited"), differed]);
      clearInterval(idle);
      await Promise.race([logDone, new Promise((r) => setTimeout(r, 5_000))]);
      endStep = rec.length;
      endOutput = rec.output.length;
    }
    // QEMU's log up to the end must be in (it is stopped at the last checkpoint, or gone).
    const deadline = performance.now() + 10_000;
    while (difference === null && compared < Math.min(endStep, rec.length)) {
      if (performance.now() > deadline) {
        return fail(`QEMU's log ended after ${compared} of ${endStep} instructions`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (difference !== null) return fail(`lockstep-trace: first difference ${difference}`);
    // Stopped at the same instruction, the two consoles show the same text.
    const ours = rec.output.slice(0, endOutput);
    while (qemuConsole.length < ours.length && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (qemuConsole !== ours) {
      let i = 0;
      while (i < ours.length && qemuConsole[i] === ours[i]) i++;
      return fail(
        `lockstep-trace: the consoles differ from character ${i}: ` +
          `qemu ${JSON.stringify(qemuConsole.slice(i, i + 40))}, ` +
          `rvisor ${JSON.stringify(ours.slice(i, i + 40))}`,
      );
    }
    return { ok: true, text: "", checkpoints, restarts };
  } finally {
    client?.close();
    try {
      qemu.kill("SIGKILL");
    } catch { /* already gone */ }
    await qemu.status;
    await Promise.allSettled([logDone, consoleDone, serialIn.close()]);
    if (difference === null && parser.other.length > 0) {
      options.progress?.(`QEMU said: ${parser.other.join(" | ")}`);
    }
  }
}

/** Compares QEMU's registers, key CSRs and privilege with checkpoint `cp`; the differences. */
async function compareState(
  q: GdbClient,
  byName: Map<string, number>,
  cp: Checkpoint,
): Promise<string[]> {
  const out: string[] = [];
  const g = await q.readGeneralRegisters();
  for (let i = 0; i < 33; i++) {
    if (BigInt.asUintN(64, g[i]) !== BigInt.asUintN(64, cp.regs[i])) {
      const name = i === 32 ? "pc" : `x${i} (${REG_NAMES[i]})`;
      out.push(`  ${name}: qemu ${hex(g[i])}  rvisor ${hex(cp.regs[i])}`);
    }
  }
  for (const [name, ours] of cp.csrs) {
    const regnum = byName.get(name);
    if (regnum === undefined) continue;
    const theirs = await q.readRegister(regnum);
    if (theirs !== null && normalize(name, theirs) !== normalize(name, ours)) {
      out.push(`  ${name}: qemu ${hex(theirs)}  rvisor ${hex(ours)}`);
    }
  }
  // The FPU feature's first 32 registers are f0..f31 (QEMU names them ft0, fs0, fa0...).
  const fpr = [...byName.entries()].filter(([n]) => /^f[tsa]\d+$/.test(n))
    .sort((a, b) => a[1] - b[1]);
  for (const [i, ours] of (cp.fregs ?? []).entries()) {
    if (fpr.length !== 32) break;
    const theirs = await q.readRegister(fpr[i][1]);
    if (theirs !== null && BigInt.asUintN(64, theirs) !== ours) {
      out.push(`  f${i} (${fpr[i][0]}): qemu ${hex(theirs)}  rvisor ${hex(ours)}`);
    }
  }
  const privReg = byName.get("priv");
  if (privReg !== undefined) {
    const theirs = await q.readRegister(privReg);
    if (theirs !== null && Number(theirs) !== cp.priv) {
      out.push(`  priv: qemu ${theirs}  rvisor ${cp.priv}`);
    }
  }
  return out;
}

/** UART line status register: bit 0 = a received byte is waiting. */
const UART_LSR = 0x1000_0005n;

/** Types `text` into QEMU's serial line while it is stopped, and waits until its UART has it. */
async function typeInto(
  q: GdbClient,
  serialIn: WritableStreamDefaultWriter<Uint8Array>,
  text: string,
): Promise<void> {
  await serialIn.write(new TextEncoder().encode(text));
  const end = performance.now() + 5_000;
  while (((await q.readMemory(UART_LSR, 1))[0] & 1) === 0) {
    if (performance.now() > end) throw new Error("QEMU's UART did not receive the typed text");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Records the run on rvisor, then compares QEMU's run with the record. */
export async function traceLockstep(options: TraceLockstepOptions): Promise<TraceLockstepReport> {
  // Both machines get rvisor's device tree, as QEMU lays it out (-dtb pads it).
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-trace-" });
  try {
    const probe = new VirtMachine({
      bios: image(options.bios),
      kernel: image(options.kernel),
      memory: 128 * 1024 * 1024,
      isa: options.isa ?? "rv64imac",
    });
    const dtbFile = `${dir}/rvisor.dtb`;
    Deno.writeFileSync(dtbFile, probe.dtb.bytes);
    const args = machineArgs(options, dtbFile);
    const dtb = dumpQemuDtb(args);
    if (dtb === null) throw new Error("QEMU could not dump its device tree");

    const t0 = performance.now();
    const rec = record(options, dtb);
    const t1 = performance.now();
    const r = await compareWithQemu(options, args, rec);
    const t2 = performance.now();
    const compared = rec.end === "halt" ? rec.length : rec.checkpoints.at(-1)?.step ?? 0;
    const irqs = rec.interrupts.filter((i) => i.at < compared);
    const summary = `${compared} instructions (${rec.retired} retired by rvisor's record), ` +
      `${r.checkpoints} checkpoints, ${irqs.length} interrupts, ${r.restarts} QEMU block restarts`;
    return {
      result: r.ok ? "match" : "differ",
      instructions: compared,
      retired: rec.retired,
      checkpoints: r.checkpoints,
      interrupts: irqs,
      restarts: r.restarts,
      end: rec.end,
      text: r.ok
        ? `lockstep-trace: identical (${rec.end}): ${summary}`
        : `${r.text}\n  (${summary})`,
      ms: { record: t1 - t0, compare: t2 - t1 },
    };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      bios: { type: "string" },
      kernel: { type: "string" },
      isa: { type: "string" },
      until: { type: "string" },
      "type-after": { type: "string" },
      type: { type: "string" },
      max: { type: "string" },
      "checkpoint-every": { type: "string" },
      "no-quirks": { type: "boolean" },
      "qemu-timer": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || (!values.kernel && !values.bios)) {
    console.log(
      "usage: deno run -A scripts/lockstep-trace.ts [--bios FILE] --kernel FILE [--isa ISA]\n" +
        "         [--until TEXT] [--type-after TEXT --type TEXT] [--max N]\n" +
        "         [--checkpoint-every N] [--no-quirks] [--qemu-timer]",
    );
    Deno.exit(values.help ? 0 : 2);
  }
  if ((values["type-after"] === undefined) !== (values.type === undefined)) {
    console.error("lockstep-trace: --type-after and --type go together");
    Deno.exit(2);
  }
  const r = await traceLockstep({
    bios: values.bios,
    kernel: values.kernel,
    isa: values.isa,
    until: values.until,
    input: values.type === undefined
      ? undefined
      : { after: values["type-after"]!, text: values.type },
    maxInstructions: values.max === undefined ? undefined : Number(values.max),
    checkpointEvery: values["checkpoint-every"] === undefined
      ? undefined
      : Number(values["checkpoint-every"]),
    qemuQuirks: !values["no-quirks"],
    qemuTimer: values["qemu-timer"],
    progress: (line) => console.error(line),
  });
  console.log(r.text);
  console.log(
    `(record ${(r.ms.record / 1000).toFixed(1)} s, compare ${(r.ms.compare / 1000).toFixed(1)} s)`,
  );
  Deno.exit(r.result === "match" ? 0 : 1);
}
