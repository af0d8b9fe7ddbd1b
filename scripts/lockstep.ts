/**
 * Lockstep comparison against QEMU: boots the same image on
 * qemu-system-riscv64 (driven over its GDB stub on loopback) and on rvisor
 * (bare, virtual clock, in this process), single-steps both, and compares pc
 * and x1..x31 after every instruction, plus the CSRs both expose (and the
 * privilege level) after every SYSTEM instruction and every `--csr-every`
 * steps. It stops at the first difference and reports the instruction count,
 * the pc and disassembly of the instruction, both register files and the
 * values that differ.
 *
 * Time is deterministic on both sides: QEMU runs with `-icount shift=0` (1 ns
 * per instruction) and rvisor's virtual clock advances one 10 MHz tick per
 * 100 instructions, so runs are comparable up to the first asynchronous event.
 * QEMU's gdb single-step masks interrupts (its default sstep flags), so the
 * first interrupt rvisor takes is, by construction, a difference: the report
 * names it.
 *
 * ```sh
 * deno run -A scripts/lockstep.ts --kernel guests/isa/build/alu.elf
 * deno run -A scripts/lockstep.ts --bios /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf \
 *   --kernel /usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin --max 2000000
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { REG_NAMES } from "../core/names.ts";
import { csrName, existingCsrs } from "../devices/gdb/target.ts";
import { BareTarget } from "../devices/gdb/target.ts";
import { regFromHex } from "../devices/gdb/protocol.ts";
import { GdbClient } from "../devices/host/gdbclient.ts";
import { VirtMachine } from "../devices/virt.ts";
import { QEMU_CPU } from "./host-tools.ts";

/**
 * CSRs left out of comparisons: the counters follow each emulator's own
 * notion of cycles and time; mip's timer bit is asynchronous by nature.
 */
const UNCOMPARED = new Set([
  "cycle",
  "time",
  "instret",
  "mcycle",
  "minstret",
  "mip",
  "sip",
  // Implementation identifiers: QEMU puts its version there, rvisor 0 (the spec allows both).
  "mvendorid",
  "marchid",
  "mimpid",
]);

/**
 * The CSRs compared after every SYSTEM instruction (each is a round trip to
 * QEMU, so not all of them): trap state, delegation, translation. The whole
 * common set is compared every `csrEvery` steps.
 */
export const KEY_CSRS: ReadonlySet<string> = new Set([
  "mstatus",
  "medeleg",
  "mideleg",
  "mie",
  "mtvec",
  "mscratch",
  "mepc",
  "mcause",
  "mtval",
  "stvec",
  "sscratch",
  "sepc",
  "scause",
  "stval",
  "satp",
  "mcounteren",
  "scounteren",
  "pmpcfg0",
  "pmpaddr0",
  "pmpaddr1",
]);

/** Options of {@linkcode lockstep}. */
export interface LockstepOptions {
  /** M-mode firmware path (QEMU -bios); omitted: -bios none. */
  bios?: string;
  /** Kernel path (QEMU -kernel). */
  kernel?: string;
  /** Stop after this many instructions (default: until both halt). */
  maxInstructions?: number;
  /** Compare CSRs at least every this many steps (default 4096); SYSTEM instructions always. */
  csrEvery?: number;
  /**
   * Let QEMU take interrupts while stepping (`Qqemu.sstep=1`; its default
   * masks them), so that runs stay comparable across interrupts. Default true.
   */
  interrupts?: boolean;
  /**
   * Give rvisor QEMU's device tree (dumped with `-machine dumpdtb`) instead of
   * its own: the two describe the same machine but are not byte-identical, and
   * firmware reads them byte by byte. Default true.
   */
  qemuDtb?: boolean;
  /** rvisor's block translator on (default) or off. */
  jit?: boolean;
  /** Progress lines (every 100k steps) go here. */
  progress?: (line: string) => void;
}

/** The outcome of a lockstep run. */
export interface LockstepReport {
  /** `match`: identical until both halted or the limit; `differ`: see `difference`. */
  result: "match" | "differ";
  /** Instructions (steps) compared. */
  steps: number;
  /** Why the run ended when it matched: `halt` (both ended) or `limit`. */
  end?: "halt" | "limit";
  /** With `halt`: the guest's exit code (syscon: 0 for pass). */
  exitCode?: number;
  /** CSR comparisons made. */
  csrChecks: number;
  /** Counter reads (cycle/time/mtime) whose value was copied from QEMU to rvisor. */
  synced: number;
  /** Steps per second. */
  rate: number;
  /** The first difference, formatted for people (empty when they matched). */
  text: string;
  /** The differing values (register or CSR name -> [qemu, rvisor]). */
  differences: Record<string, [string, string]>;
}

/** A free TCP port on loopback (bound then released; QEMU binds it a moment later). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function hex(v: bigint): string {
  return "0x" + BigInt.asUintN(64, v).toString(16).padStart(16, "0");
}

/** Disassembles the instruction `bytes` at `pc` with riscv64-unknown-elf-objdump, if installed. */
export function disassemble(bytes: Uint8Array, pc: bigint): string {
  const len = (bytes[0] & 3) === 3 ? 4 : 2;
  const word = [...bytes.subarray(0, len)].reverse().map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  try {
    const file = Deno.makeTempFileSync({ suffix: ".bin" });
    Deno.writeFileSync(file, bytes.subarray(0, len));
    const out = new Deno.Command("riscv64-unknown-elf-objdump", {
      args: [
        "-D",
        "-b",
        "binary",
        "-m",
        "riscv:rv64",
        `--adjust-vma=0x${BigInt.asUintN(64, pc).toString(16)}`,
        file,
      ],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    Deno.removeSync(file);
    const line = new TextDecoder().decode(out.stdout).split("\n").find((l) =>
      /^\s*[0-9a-f]+:\s/.test(l)
    );
    if (line) return line.replace(/^\s*[0-9a-f]+:\s+[0-9a-f]+\s+/, "").replace(/\s+/g, " ");
  } catch {
    // objdump missing: the raw bits still identify the instruction.
  }
  return `.insn 0x${word}`;
}

/** Reads an image for rvisor (name and bytes). */
function image(path: string | undefined) {
  return path === undefined ? undefined : { name: path, bytes: Deno.readFileSync(path) };
}

/**
 * Runs `options`' image on QEMU and rvisor in lockstep and reports the first
 * difference (or that there was none).
 */
export async function lockstep(options: LockstepOptions): Promise<LockstepReport> {
  const port = freePort();
  const args = [
    "-M",
    "virt",
    "-m",
    "128M",
    "-nographic",
    "-monitor",
    "none",
    "-icount",
    "shift=0",
    "-cpu",
    QEMU_CPU,
    "-bios",
    options.bios ?? "none",
    ...(options.kernel ? ["-kernel", options.kernel] : []),
    "-gdb",
    `tcp:127.0.0.1:${port}`,
    "-S",
  ];
  const qemu = new Deno.Command("qemu-system-riscv64", {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let client: GdbClient | undefined;
  try {
    const dtb = options.qemuDtb ?? true ? dumpQemuDtb(args) : null;
    client = await GdbClient.connect(port, "127.0.0.1", 15_000);
    return await compare(client, options, dtb);
  } finally {
    client?.close();
    try {
      qemu.kill("SIGKILL");
    } catch {
      // Already gone (the guest powered off).
    }
    await qemu.status;
    await qemu.stderr.cancel();
  }
}

/** QEMU's device tree for the machine `args` describe (`-machine virt,dumpdtb=FILE`). */
export function dumpQemuDtb(args: string[]): Uint8Array | null {
  const file = Deno.makeTempFileSync({ suffix: ".dtb" });
  try {
    const dumpArgs = args.filter((a) => a !== "-S");
    const i = dumpArgs.indexOf("-gdb");
    if (i >= 0) dumpArgs.splice(i, 2);
    dumpArgs[dumpArgs.indexOf("virt")] = `virt,dumpdtb=${file}`;
    const out = new Deno.Command("qemu-system-riscv64", {
      args: dumpArgs,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return out.success ? Deno.readFileSync(file) : null;
  } finally {
    Deno.removeSync(file);
  }
}

async function compare(
  q: GdbClient,
  options: LockstepOptions,
  dtb: Uint8Array | null,
): Promise<LockstepReport> {
  const machine = new VirtMachine({
    bios: image(options.bios),
    kernel: image(options.kernel),
    clock: "virtual",
    memory: 128 * 1024 * 1024,
    isa: "rv64imac", // QEMU_CPU's, whatever the machine's default
    jit: options.jit,
  });
  if (dtb !== null) {
    // Same address (QEMU's placement rule); rvisor's own tree may be longer: clear it first.
    const at = machine.dtb.address;
    machine.bus.loadBytes(at, new Uint8Array(Math.max(dtb.length, machine.dtb.bytes.length)));
    machine.bus.loadBytes(at, dtb);
  }
  const target = new BareTarget(machine);
  const hart = machine.hart;
  // CSRs both sides expose, by name: QEMU's numbers come from its target description.
  const qregs = await q.registers();
  const qByName = new Map(qregs.map((r) => [r.name, r.regnum]));
  const csrs: { name: string; num: number; qnum: number }[] = [];
  for (const num of existingCsrs(hart.csr)) {
    const name = csrName(num);
    const qnum = qByName.get(name);
    if (qnum !== undefined && !UNCOMPARED.has(name)) csrs.push({ name, num, qnum });
  }
  const qPriv = qByName.get("priv");
  if (options.interrupts ?? true) await q.command("Qqemu.sstep=1");
  let synced = 0;
  const max = options.maxInstructions ?? Infinity;
  const csrEvery = options.csrEvery ?? 4096;
  const t0 = performance.now();
  let steps = 0, csrChecks = 0;
  const history: string[] = [];

  const ours =
    (): bigint[] => [...Array.from({ length: 32 }, (_, i) => hart.getReg(i)), BigInt(hart.pc)];
  const report = (
    why: string,
    pc: bigint,
    bits: Uint8Array | null,
    qv: bigint[],
    rv: bigint[],
    differences: Record<string, [string, string]>,
  ): LockstepReport => {
    const lines = [
      `lockstep: first difference after ${steps} instructions: ${why}`,
      `  instruction at 0x${BigInt.asUintN(64, pc).toString(16)}: ${
        bits ? disassemble(bits, pc) : "(not readable)"
      }`,
      ...Object.entries(differences).map(([n, [a, b]]) => `  ${n}: qemu ${a}  rvisor ${b}`),
      "  register files (qemu | rvisor):",
      ...Array.from({ length: 33 }, (_, i) => {
        const name = i === 32 ? "pc" : `x${i}/${REG_NAMES[i]}`;
        const mark = qv[i] !== rv[i] ? "  <--" : "";
        return `    ${name.padEnd(9)} ${hex(qv[i] ?? 0n)} | ${hex(rv[i])}${mark}`;
      }),
      `  rvisor: priv ${hart.priv}, mcause ${hex(hart.readCsr(0x342) ?? 0n)}, ` +
      `mepc ${hex(hart.readCsr(0x341) ?? 0n)}, scause ${hex(hart.readCsr(0x142) ?? 0n)}`,
      `  last pcs: ${history.join(" ")}`,
    ];
    return {
      result: "differ",
      steps,
      csrChecks,
      synced,
      rate: steps / ((performance.now() - t0) / 1000),
      text: lines.join("\n"),
      differences,
    };
  };

  const compareCsrs = async (
    pc: bigint,
    bits: Uint8Array | null,
    qv: bigint[],
    all: boolean,
  ) => {
    csrChecks++;
    const differences: Record<string, [string, string]> = {};
    for (const c of csrs) {
      if (!all && !KEY_CSRS.has(c.name)) continue;
      const a = await q.readRegister(c.qnum);
      const b = hart.readCsr(c.num);
      if (a !== null && b !== null && normalize(c.name, a) !== normalize(c.name, b)) {
        differences[c.name] = [hex(a), hex(b)];
      }
    }
    if (qPriv !== undefined) {
      const a = await q.readRegister(qPriv);
      if (a !== null && Number(a) !== hart.priv) differences.priv = [String(a), String(hart.priv)];
    }
    if (Object.keys(differences).length === 0) return null;
    return report("CSRs differ", pc, bits, qv, ours(), differences);
  };

  const bothHalted = (): LockstepReport => ({
    result: "match",
    steps,
    csrChecks,
    synced,
    end: "halt",
    exitCode: machine.exitCode,
    rate: steps / ((performance.now() - t0) / 1000),
    text: `lockstep: ${steps} instructions identical (both halted, exit ${machine.exitCode})`,
    differences: {},
  });

  // State at reset must match before any step.
  let qv = await q.readGeneralRegisters();
  while (true) {
    const rv = ours();
    const pc = rv[32];
    const differences: Record<string, [string, string]> = {};
    for (let i = 0; i < 33; i++) {
      if (BigInt.asUintN(64, qv[i]) !== BigInt.asUintN(64, rv[i])) {
        differences[i === 32 ? "pc" : `x${i} (${REG_NAMES[i]})`] = [hex(qv[i]), hex(rv[i])];
      }
    }
    const prevPc = history.length > 0 ? BigInt("0x" + history[history.length - 1]) : pc;
    const prevBits = readInstruction(target, prevPc);
    if (Object.keys(differences).length > 0) {
      const why = describeDifference(hart, differences);
      return report(why, prevPc, prevBits, qv, rv, differences);
    }
    if (machine.halted) {
      // QEMU may answer the halting step before it shuts down: one more step must end it.
      const after = await q.request("s").catch(() => "(QEMU exited)");
      if (/^[ST][0-9a-fA-F]{2}/.test(after)) {
        return report("rvisor halted, QEMU did not", prevPc, prevBits, qv, rv, {});
      }
      return bothHalted();
    }
    if (steps >= max) {
      return {
        result: "match",
        steps,
        csrChecks,
        synced,
        end: "limit",
        rate: steps / ((performance.now() - t0) / 1000),
        text: `lockstep: ${steps} instructions identical (limit)`,
        differences: {},
      };
    }
    // SYSTEM instructions (CSR accesses, ecall, xRET, wfi, sfence) change CSRs: check after them.
    const bits = readInstruction(target, pc);
    const system = bits !== null && (bits[0] & 0x7f) === 0x73;
    history.push(BigInt.asUintN(64, pc).toString(16));
    if (history.length > 8) history.shift();
    // Two round trips: QEMU takes any byte that arrives while the step runs for a
    // Ctrl-C, so the register read cannot be sent along with the step.
    // A guest poweroff makes QEMU exit: the connection closes instead of a reply.
    const stopPromise = q.request("s").catch(() => "(QEMU exited)");
    target.step(); // meanwhile
    const stop = await stopPromise;
    steps++;
    if (!/^[ST][0-9a-fA-F]{2}/.test(stop)) {
      // QEMU exited (the guest powered off): W/X replies or a closed connection.
      if (machine.halted) return bothHalted();
      return report(`QEMU stopped (${stop}), rvisor did not`, pc, bits, qv, ours(), {});
    }
    qv = parseG(await q.command("g"));
    const counterRd = counterRead(bits, rv);
    if (counterRd !== 0 && qv[counterRd] !== hart.getReg(counterRd)) {
      hart.setReg(counterRd, qv[counterRd]);
      synced++;
    }
    if (system || steps % csrEvery === 0) {
      const r = await compareCsrs(pc, bits, qv, steps % csrEvery === 0);
      if (r !== null) return r;
    }
    if (steps % 100_000 === 0) {
      options.progress?.(
        `${steps} instructions identical, pc 0x${
          BigInt.asUintN(64, BigInt(hart.pc)).toString(16)
        }, ` +
          `${Math.round(steps / ((performance.now() - t0) / 1000))} steps/s`,
      );
    }
  }
}

/**
 * Known, documented differences that are not bugs: QEMU 7.2 keeps all 64
 * bits written to pmpaddrN (and returns them), the spec (and rvisor) keep
 * bits 55:2, i.e. 54 bits.
 */
export function normalize(name: string, v: bigint): bigint {
  if (name.startsWith("pmpaddr")) return BigInt.asUintN(54, v);
  return BigInt.asUintN(64, v);
}

/** CSRs whose values are each emulator's own time or cycle count. */
function isCounterCsr(csr: number): boolean {
  return (csr >= 0xc00 && csr <= 0xc1f) || (csr >= 0xb00 && csr <= 0xb1f);
}

/**
 * If `bits` reads a counter (a CSR instruction on cycle/time/instret/mcycle...,
 * or a load from the CLINT's mtime), the destination register: its value is
 * the emulator's own clock, so the lockstep copies QEMU's into rvisor.
 */
function counterRead(bits: Uint8Array | null, regs: bigint[]): number {
  if (bits === null || (bits[0] & 3) !== 3) return 0;
  const insn = (bits[0] | (bits[1] << 8) | (bits[2] << 16) | (bits[3] << 24)) >>> 0;
  const opcode = insn & 0x7f, rd = (insn >>> 7) & 31, f3 = (insn >>> 12) & 7;
  if (opcode === 0x73 && f3 !== 0 && f3 !== 4 && isCounterCsr(insn >>> 20)) return rd;
  if (opcode === 0x03) {
    const rs1 = (insn >>> 15) & 31, imm = BigInt((insn | 0) >> 20);
    const addr = BigInt.asUintN(64, regs[rs1] + imm);
    if (addr >= 0x200bff8n && addr < 0x200c000n) return rd;
  }
  return 0;
}

function parseG(g: string): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i + 16 <= g.length && out.length < 33; i += 16) {
    out.push(regFromHex(g.slice(i, i + 16)) ?? 0n);
  }
  return out;
}

/** The instruction bytes at virtual `pc` as rvisor's hart sees it (4 bytes, or 2 at a page end). */
function readInstruction(target: BareTarget, pc: bigint): Uint8Array | null {
  const pa = target.translate(Number(BigInt.asIntN(64, pc)));
  if (pa === null) return null;
  return target.readPhysical(pa, 4) ?? target.readPhysical(pa, 2);
}

/** A hint at the cause: an interrupt or trap rvisor took that QEMU's masked step did not. */
function describeDifference(
  hart: VirtMachine["hart"],
  differences: Record<string, [string, string]>,
): string {
  const names = Object.keys(differences).join(", ");
  if (!("pc" in differences)) return `registers differ (${names})`;
  const mcause = hart.readCsr(0x342) ?? 0n, scause = hart.readCsr(0x142) ?? 0n;
  const pc = BigInt(hart.pc);
  const mtvec = (hart.readCsr(0x305) ?? 0n) & ~3n, stvec = (hart.readCsr(0x105) ?? 0n) & ~3n;
  const irq = (c: bigint) => (c >> 63n) & 1n ? ` interrupt ${c & 0xffn}` : ` exception ${c}`;
  if (pc === mtvec) {
    return `pc differs: rvisor entered the M-mode trap vector (mcause${irq(mcause)})`;
  }
  if (pc === stvec) {
    return `pc differs: rvisor entered the S-mode trap vector (scause${irq(scause)})`;
  }
  return `pc differs (${names})`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      bios: { type: "string" },
      kernel: { type: "string" },
      max: { type: "string" },
      "csr-every": { type: "string" },
      "no-interrupts": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || (!values.kernel && !values.bios)) {
    console.log(
      "usage: deno run -A scripts/lockstep.ts [--bios FILE] --kernel FILE [--max N] " +
        "[--csr-every N]",
    );
    Deno.exit(values.help ? 0 : 2);
  }
  const r = await lockstep({
    bios: values.bios,
    kernel: values.kernel,
    maxInstructions: values.max === undefined ? undefined : Number(values.max),
    csrEvery: values["csr-every"] === undefined ? undefined : Number(values["csr-every"]),
    interrupts: !values["no-interrupts"],
    progress: (line) => console.error(line),
  });
  console.log(r.text);
  console.log(
    `(${r.steps} steps, ${r.csrChecks} CSR checks, ${r.synced} counter reads synced, ` +
      `${Math.round(r.rate)} steps/s)`,
  );
  Deno.exit(r.result === "match" ? 0 : 1);
}
