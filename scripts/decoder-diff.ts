/**
 * Decoder classification against QEMU: runs lists of encodings through the
 * harness guests/diff/decoder.S on QEMU and on rvisor and compares, encoding
 * by encoding, what happened (illegal instruction, another trap and its cause,
 * or completion), where execution went, mtval, and the registers afterwards.
 *
 * - All 65,536 16-bit encodings (those with low bits 11 are the first half of
 *   a 32-bit instruction and are not 16-bit encodings: they are skipped).
 * - A seeded sample of 32-bit encodings: half uniform over the 30 free bits,
 *   half with a valid major opcode, so the interesting opcodes are dense.
 * - A CSR sweep: every CSR number read (csrrs x5, csr, x0) and written
 *   (csrrw x5, csr, x6).
 *
 * The harness survives nearly anything a single instruction does (see the
 * comment in decoder.S); the rest is filtered here (see {@linkcode unsafeReason})
 * and classified by decode alone: rvisor's decoder against GNU objdump.
 *
 * Usage (outside CI, e.g. the 10 M sample):
 *   deno run -A scripts/decoder-diff.ts [--count 10000000] [--seed 1] [--chunk 500000]
 *     [--no16] [--no-csr]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { decodeAt, type Decoded, Op } from "../core/decode.ts";
import { VirtMachine } from "../devices/virt.ts";
import { missing, QEMU, QEMU_CPU } from "./host-tools.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const HARNESS_SRC = `${ROOT}guests/diff/decoder.S`;
/** Where the harness reads its list (decoder.S: ENC). */
const ENC_ADDR = 0x8040_0000;
const CC = "riscv64-unknown-elf-gcc";
const OBJDUMP = "riscv64-unknown-elf-objdump";
/** Characters of a compact record (decoder.S). */
const RECORD = 5;

/** The tools these comparisons need that are missing (empty: all present). */
export function missingTools(): string[] {
  return missing(QEMU, CC, OBJDUMP);
}

/** Assembles decoder.S into `dir`/decoder.elf (no C: see decoder.S); returns the path. */
export async function buildHarness(dir: string): Promise<string> {
  const out = `${dir}/decoder.elf`;
  const r = await new Deno.Command(CC, {
    args: [
      "-march=rv64ima_zicsr_zifencei",
      "-mabi=lp64",
      "-mcmodel=medany",
      "-nostdlib",
      "-static",
      "-Wl,--no-warn-rwx-segments",
      `-T${ROOT}guests/common/link.ld`,
      "-o",
      out,
      HARNESS_SRC,
    ],
  }).output();
  if (!r.success) throw new Error(`assembling decoder.S:\n${new TextDecoder().decode(r.stderr)}`);
  return out;
}

/** xorshift32 (Marsaglia): the seeded generator of every sample here. */
export function xorshift32(seed: number): () => number {
  let s = (seed >>> 0) || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>>= 0;
  };
}

/** Every 16-bit encoding (low bits 00, 01 or 10), in order. */
export function encodings16(): number[] {
  const list: number[] = [];
  for (let c = 0; c < 65536; c++) if ((c & 3) !== 3) list.push(c);
  return list;
}

/** Major opcodes with instructions in RV64IMAC+Zicsr+Zifencei, or in extensions QEMU might know. */
const MAJOR = [
  0x03,
  0x07,
  0x0f,
  0x13,
  0x17,
  0x1b,
  0x23,
  0x27,
  0x2f,
  0x33,
  0x37,
  0x3b,
  0x43,
  0x47,
  0x4b,
  0x4f,
  0x53,
  0x57,
  0x63,
  0x67,
  0x6f,
  0x73,
  0x77,
  0x0b,
  0x2b,
  0x5b,
  0x7b,
];

/**
 * `count` 32-bit encodings from `seed`: even draws uniform over the 30 bits
 * above the 11 length code, odd draws with a major opcode from MAJOR.
 */
export function sample32(seed: number, count: number): number[] {
  const next = xorshift32(seed);
  const list: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const r = next();
    list[i] = i & 1 ? ((r & ~0x7f) | MAJOR[next() % MAJOR.length]) >>> 0 : (r | 3) >>> 0;
  }
  return list;
}

/** Every CSR number read (csrrs x5, csr, x0) and then written (csrrw x5, csr, x6). */
export function csrSweep(): number[] {
  const list: number[] = [];
  for (let csr = 0; csr < 4096; csr++) {
    list.push((csr << 20 | 2 << 12 | 5 << 7 | 0x73) >>> 0);
    list.push((csr << 20 | 6 << 15 | 1 << 12 | 5 << 7 | 0x73) >>> 0);
  }
  return list;
}

const sext = (v: number, bits: number) => (v << (32 - bits)) >> (32 - bits);

/** The CSR an instruction accesses and whether it writes it; null for non-CSR instructions. */
export function csrAccess(enc: number): { csr: number; writes: boolean } | null {
  if ((enc & 3) !== 3 || (enc & 0x7f) !== 0x73) return null;
  const f3 = (enc >>> 12) & 7;
  if (f3 === 0 || f3 === 4) return null;
  const rs1 = (enc >>> 15) & 0x1f;
  // csrrw/csrrwi always write; csrrs/csrrc(i) only with a nonzero rs1/uimm.
  return { csr: enc >>> 20, writes: (f3 & 3) === 1 || rs1 !== 0 };
}

/**
 * Why the harness cannot run `enc` (it would break the harness or loop), or
 * null. Computed from the encoding with its own field extraction, not with
 * core/decode.ts (which is what is under test).
 */
export function unsafeReason(enc: number): string | null {
  const csr = csrAccess(enc);
  if (csr?.writes) {
    const c = csr.csr;
    if (c === 0x305) return "writes mtvec (the harness's trap vector)";
    if (c === 0x340) return "writes mscratch (the handler's save-area pointer)";
    if (c === 0x3a0) return "writes pmpcfg0 (could lock entry 0 against M-mode)";
    if (c >= 0x7a0 && c <= 0x7af) return "writes a trigger CSR (state would outlive the test)";
    if (c === 0x747) return "writes mseccfg (sticky ePMP bits)";
  }
  let target: number | null = null;
  if ((enc & 3) === 3) {
    const op = enc & 0x7f;
    if (op === 0x6f) {
      target = sext(
        (enc >>> 31) << 20 | ((enc >>> 12) & 0xff) << 12 | ((enc >>> 20) & 1) << 11 |
          ((enc >>> 21) & 0x3ff) << 1,
        21,
      );
    } else if (op === 0x63) {
      target = sext(
        (enc >>> 31) << 12 | ((enc >>> 7) & 1) << 11 | ((enc >>> 25) & 0x3f) << 5 |
          ((enc >>> 8) & 0xf) << 1,
        13,
      );
    }
  } else if ((enc & 3) === 1) {
    const f3 = (enc >>> 13) & 7;
    const b = (n: number) => (enc >>> n) & 1;
    if (f3 === 5) { // c.j
      target = sext(
        b(12) << 11 | b(11) << 4 | ((enc >>> 9) & 3) << 8 | b(8) << 10 | b(7) << 6 | b(6) << 7 |
          ((enc >>> 3) & 7) << 1 | b(2) << 5,
        12,
      );
    } else if (f3 === 6 || f3 === 7) { // c.beqz / c.bnez
      target = sext(
        b(12) << 8 | ((enc >>> 10) & 3) << 3 | ((enc >>> 5) & 3) << 6 | ((enc >>> 3) & 3) << 1 |
          b(2) << 5,
        9,
      );
    }
  }
  // SLOT-4 (decoder.S) holds the launch instruction and SLOT..SLOT+3 the test: a jump there loops.
  if (target !== null && target >= -4 && target <= 2) return "jumps to itself (endless loop)";
  return null;
}

/** The word the harness writes into its slot: a 16-bit encoding gets c.ebreak above it. */
function slotWord(enc: number): number {
  return (enc & 3) === 3 ? enc >>> 0 : (0x9002 << 16 | enc) >>> 0;
}

/** The harness's input block for `list` (decoder.S: ENC). */
export function inputBlock(list: readonly number[], verbose: boolean): Uint8Array {
  const buf = new Uint8Array(8 + 4 * list.length);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, list.length, true);
  dv.setUint32(4, verbose ? 1 : 0, true);
  list.forEach((e, i) => dv.setUint32(8 + 4 * i, slotWord(e), true));
  return buf;
}

/** The records between BEGIN and END: 5-character records, or lines when verbose. */
function parseOutput(text: string, n: number, verbose: boolean, who: string): string[] {
  const a = text.indexOf("BEGIN\n");
  const b = text.indexOf("\nEND\n", a);
  if (a < 0 || b < 0) {
    throw new Error(
      `${who}: harness output incomplete (${text.length} chars): ${text.slice(-200)}`,
    );
  }
  const body = text.slice(a + 6, b);
  const recs: string[] = [];
  if (verbose) recs.push(...body.split("\n").filter((l) => l.length > 0));
  else for (let i = 0; i + RECORD <= body.length; i += RECORD) recs.push(body.slice(i, i + RECORD));
  if (recs.length !== n) throw new Error(`${who}: ${recs.length} records for ${n} encodings`);
  return recs;
}

/** Runs the harness on QEMU over `list`; returns one record per encoding. */
export async function runQemu(
  elf: string,
  list: readonly number[],
  dir: string,
  verbose = false,
): Promise<string[]> {
  const file = `${dir}/enc-${crypto.randomUUID()}.bin`;
  await Deno.writeFile(file, inputBlock(list, verbose));
  try {
    const child = new Deno.Command(QEMU, {
      args: [
        ...["-M", "virt", "-m", "128M", "-nographic", "-bios", "none"],
        // sleep=off: icount without throttling to real time (nothing here waits).
        ...["-icount", "shift=0,sleep=off", "-cpu", QEMU_CPU, "-kernel", elf],
        ...["-device", `loader,file=${file},addr=0x${ENC_ADDR.toString(16)}`],
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000 + list.length * 2);
    const out = await child.output();
    clearTimeout(timer);
    return parseOutput(new TextDecoder().decode(out.stdout), list.length, verbose, "QEMU");
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** Runs the harness on rvisor (bare hart, virtual clock) over `list`. */
export async function runRvisor(
  elf: string,
  list: readonly number[],
  verbose = false,
): Promise<string[]> {
  const chars: string[] = [];
  const m = new VirtMachine({
    kernel: { name: "decoder.elf", bytes: await Deno.readFile(elf) },
    isa: "rv64imac", // QEMU_CPU's: F/D encodings are illegal on both
    clock: "virtual",
    console: (b) => chars.push(String.fromCharCode(b)),
  });
  m.bus.loadBytes(ENC_ADDR, inputBlock(list, verbose));
  const r = await m.run({ maxInstructions: 2_000_000 + list.length * (verbose ? 20_000 : 2_000) });
  if (r.stop !== "halt") throw new Error(`rvisor: harness did not finish (${r.stop})`);
  return parseOutput(chars.join(""), list.length, verbose, "rvisor");
}

/** Counter CSRs: their values depend on the run, so only their trap behaviour is compared. */
function readsCounter(enc: number): boolean {
  const c = csrAccess(enc)?.csr ?? -1;
  return (c & 0xf60) === 0xb00 || (c & 0xf60) === 0xc00;
}

/** One encoding on which the two machines disagree. */
export interface Mismatch {
  /** The encoding (16 or 32 bits). */
  enc: number;
  /** QEMU's record. */
  qemu: string;
  /** rvisor's record. */
  rvisor: string;
  /** What differs: `cause`, `trap` (epc/tval/mode) or `regs`. */
  what: "cause" | "trap" | "regs";
}

/** The mcause a compact record encodes ("i7" for interrupt 7). */
export function recordCause(rec: string): string {
  const v = rec.charCodeAt(0) - 48;
  return v & 32 ? `i${v & 31}` : String(v);
}

/** Compares compact records; returns the disagreements. */
export function compareRecords(
  list: readonly number[],
  qemu: readonly string[],
  rvisor: readonly string[],
): Mismatch[] {
  const out: Mismatch[] = [];
  for (let i = 0; i < list.length; i++) {
    const q = qemu[i], r = rvisor[i];
    if (q === r) continue;
    const what = q[0] !== r[0] ? "cause" : q.slice(1, 3) !== r.slice(1, 3) ? "trap" : "regs";
    if (what === "regs" && readsCounter(list[i])) continue;
    out.push({ enc: list[i], qemu: q, rvisor: r, what });
  }
  return out;
}

/**
 * Differences between QEMU 7.2 and rvisor that are understood and not in the
 * decoder (core/decode.ts): each is either decided by core/csrfile.ts or
 * core/hart.ts (reported to their owner) or a QEMU 7.2 deviation from the
 * spec. A mismatch matching one of these does not fail a comparison but is
 * counted in the report; anything else fails.
 */
export const KNOWN_DIFFERENCES: readonly {
  /** Why the machines differ, and who is right. */
  reason: string;
  /** Whether a mismatch is this difference. */
  matches: (m: Mismatch) => boolean;
}[] = [
  {
    reason: "marchid/mimpid values: QEMU reports its version, rvisor 0",
    matches: (m) => inCsr(m, 0xf12, 0xf13) && m.what === "regs",
  },
  {
    reason: "pmpaddr0 after writing all ones: QEMU keeps 64 bits, rvisor 54 " +
      "(address bits 55:2, as the spec says)",
    matches: (m) => inCsr(m, 0x3b0, 0x3b0) && m.what === "regs",
  },
  {
    // A value written by one test is read back by a later test of the same CSR.
    reason: "WARL state: QEMU 7.2 keeps the Zicbom/Zicboz bits of menvcfg/senvcfg " +
      "(rvisor: FIOM only, it has neither extension)",
    matches: (m) => m.what === "regs" && [0x30a, 0x10a].some((c) => inCsr(m, c, c)),
  },
  {
    // Seen in the 10 M sample: a random value or-ed into pmpcfg2, read back later.
    reason: "pmpcfg bits 6:5 read back: QEMU 7.2 keeps what was written, rvisor reads them as " +
      "zero (WARL 0 in the spec's pmpcfg layout)",
    matches: (m) => inCsr(m, 0x3a0, 0x3a3) && m.what === "regs",
  },
  {
    // Seen in the 10 M sample: mtval read back after an earlier ld/sd at a misaligned address
    // outside RAM (QEMU's tval ...c1c0, rvisor's ...c1c5 for an 8-byte load).
    reason: "mtval/stval read back after a misaligned access fault: QEMU 7.2 gives the address " +
      "aligned down to the access size (it splits the access), rvisor the access's own " +
      "address; both are the address of the portion that faulted, as the spec allows",
    matches: (m) => (inCsr(m, 0x343, 0x343) || inCsr(m, 0x143, 0x143)) && m.what === "regs",
  },
  {
    reason: "AMO faults: QEMU 7.2 raises load misaligned/access fault (4/5), the spec and " +
      "rvisor store/AMO (6/7)",
    matches: (m) =>
      isAmo(m.enc) && m.enc >>> 27 !== 2 && m.enc >>> 27 !== 3 &&
      (causes(m, "4", "6") || causes(m, "5", "7")),
  },
  {
    reason: "SC without reservation at a misaligned/unmapped address: QEMU 7.2 just fails, " +
      "rvisor raises 6/7 (the spec requires the alignment exception)",
    matches: (m) =>
      isAmo(m.enc) && m.enc >>> 27 === 3 && (causes(m, "3", "6") || causes(m, "3", "7")),
  },
];

function inCsr(m: Mismatch, lo: number, hi: number): boolean {
  const c = csrAccess(m.enc)?.csr ?? -1;
  return c >= lo && c <= hi;
}

function causes(m: Mismatch, qemu: string, rvisor: string): boolean {
  return recordCause(m.qemu) === qemu && recordCause(m.rvisor) === rvisor;
}

function isAmo(enc: number): boolean {
  return (enc & 0x7f) === 0x2f;
}

/** The known difference a mismatch is (its reason), or null for a new one. */
export function knownDifference(m: Mismatch): string | null {
  return KNOWN_DIFFERENCES.find((k) => k.matches(m))?.reason ?? null;
}

/** The mismatches that are not {@linkcode KNOWN_DIFFERENCES}. */
export function unknownMismatches(ms: readonly Mismatch[]): Mismatch[] {
  return ms.filter((m) => knownDifference(m) === null);
}

/** A readable group key for a mismatch: the instruction class and the two causes. */
export function mismatchKey(m: Mismatch): string {
  const hex = (v: number, n: number) => v.toString(16).padStart(n, "0");
  const enc = m.enc;
  let cls: string;
  const csr = csrAccess(enc);
  if (csr) cls = `csr 0x${hex(csr.csr, 3)} ${csr.writes ? "write" : "read"}`;
  else if ((enc & 3) === 3) cls = `opcode 0x${hex(enc & 0x7f, 2)} f3=${(enc >>> 12) & 7}`;
  else cls = `c.q${enc & 3} f3=${(enc >>> 13) & 7}`;
  return `${cls}: ${m.what} qemu=${recordCause(m.qemu)} rvisor=${recordCause(m.rvisor)}`;
}

/** Groups mismatches by {@linkcode mismatchKey}: key -> [count, first encodings]. */
export function groupMismatches(ms: readonly Mismatch[]): Map<string, [number, number[]]> {
  const groups = new Map<string, [number, number[]]>();
  for (const m of ms) {
    const k = mismatchKey(m);
    const g = groups.get(k) ?? [0, []];
    g[0]++;
    if (g[1].length < 4) g[1].push(m.enc);
    groups.set(k, g);
  }
  return groups;
}

/** rvisor's decode-only verdict: is `enc` a legal instruction? */
export function rvisorDecodes(enc: number): boolean {
  const d: Decoded = { packed: 0, imm: 0 };
  decodeAt(enc & 0xffff, enc >>> 16, d);
  return (d.packed & 0xff) !== Op.ILLEGAL;
}

/**
 * GNU objdump's verdict on each encoding (false where it prints `.insn`,
 * `.2byte`/`.4byte`/`.word` or `unknown`), as the oracle for the encodings the
 * harness cannot run. `-M no-aliases` keeps one line per instruction.
 */
export async function objdumpDecodes(list: readonly number[], dir: string): Promise<boolean[]> {
  const file = `${dir}/od-${crypto.randomUUID()}.bin`;
  // One instruction per 4-byte slot; a 16-bit one is followed by c.nop.
  const words = list.map((e) => (e & 3) === 3 ? e >>> 0 : (0x0001 << 16 | e) >>> 0);
  const buf = new Uint8Array(4 * words.length);
  const dv = new DataView(buf.buffer);
  words.forEach((w, i) => dv.setUint32(4 * i, w, true));
  await Deno.writeFile(file, buf);
  try {
    const r = await new Deno.Command(OBJDUMP, {
      args: ["-D", "-b", "binary", "-m", "riscv:rv64", "-M", "no-aliases", file],
    }).output();
    const verdict = new Map<number, boolean>();
    for (const line of new TextDecoder().decode(r.stdout).split("\n")) {
      const m = /^\s*([0-9a-f]+):\s+[0-9a-f]+\s+(\S+)/.exec(line);
      if (!m) continue;
      verdict.set(
        parseInt(m[1], 16),
        !/^(\.insn|\.2byte|\.4byte|\.word|\.short|unknown)/.test(m[2]),
      );
    }
    return list.map((_, i) => verdict.get(4 * i) ?? false);
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** Result of one comparison run. */
export interface DiffResult {
  /** Encodings run on both machines. */
  compared: number;
  /** Encodings filtered out of the harness and checked by decode against objdump. */
  filtered: number;
  /** Filtered encodings where rvisor's decoder and objdump disagree. */
  objdumpMismatches: number[];
  /** Disagreements between QEMU and rvisor. */
  mismatches: Mismatch[];
  /** Wall-clock milliseconds. */
  ms: number;
}

/** Runs `list` on both machines (in chunks of `chunk`) and checks the filtered rest with objdump. */
export async function diffEncodings(
  list: readonly number[],
  elf: string,
  dir: string,
  chunk = 500_000,
  onChunk?: (done: number, mismatches: number) => void,
): Promise<DiffResult> {
  const t0 = performance.now();
  const runnable: number[] = [], filtered: number[] = [];
  for (const e of list) (unsafeReason(e) === null ? runnable : filtered).push(e);
  const mismatches: Mismatch[] = [];
  for (let i = 0; i < runnable.length; i += chunk) {
    const part = runnable.slice(i, i + chunk);
    // QEMU runs in its own process while rvisor runs here: two cores, half the time.
    const [q, r] = await Promise.all([runQemu(elf, part, dir), runRvisor(elf, part)]);
    mismatches.push(...compareRecords(part, q, r));
    onChunk?.(i + part.length, mismatches.length);
  }
  const od = await objdumpDecodes(filtered, dir);
  const objdumpMismatches = filtered.filter((e, i) => od[i] !== rvisorDecodes(e));
  return {
    compared: runnable.length,
    filtered: filtered.length,
    objdumpMismatches,
    mismatches,
    ms: performance.now() - t0,
  };
}

/** Verbose records of both machines for `encs` (to explain a mismatch). */
export async function explain(
  encs: readonly number[],
  elf: string,
  dir: string,
): Promise<string[]> {
  const [q, r] = await Promise.all([runQemu(elf, encs, dir, true), runRvisor(elf, encs, true)]);
  return encs.map((e, i) =>
    `0x${e.toString(16).padStart((e & 3) === 3 ? 8 : 4, "0")}\n  qemu   ${q[i]}\n  rvisor ${r[i]}`
  );
}

/** A readable report of a diff. */
export function formatReport(label: string, d: DiffResult): string {
  const lines = [
    `${label}: ${d.compared} encodings compared with QEMU, ${d.filtered} filtered ` +
    `(decode vs objdump: ${d.objdumpMismatches.length} disagree), ` +
    `${d.mismatches.length} mismatches (${unknownMismatches(d.mismatches).length} not known), ` +
    `${(d.ms / 1000).toFixed(1)} s`,
  ];
  for (const [k, [n, ex]] of groupMismatches(unknownMismatches(d.mismatches))) {
    lines.push(`  NEW ${n} x ${k}  e.g. ${ex.map((e) => "0x" + e.toString(16)).join(" ")}`);
  }
  const known = new Map<string, number>();
  for (const m of d.mismatches) {
    const k = knownDifference(m);
    if (k !== null) known.set(k, (known.get(k) ?? 0) + 1);
  }
  for (const [k, n] of known) lines.push(`  known: ${n} x ${k}`);
  for (const e of d.objdumpMismatches.slice(0, 10)) {
    lines.push(`  objdump disagrees on 0x${e.toString(16)} (rvisor legal: ${rvisorDecodes(e)})`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      count: { type: "string", default: "10000000" },
      seed: { type: "string", default: "1" },
      chunk: { type: "string", default: "500000" },
      no16: { type: "boolean" },
      "no-csr": { type: "boolean" },
      explain: { type: "string", default: "8" },
    },
  });
  const absent = missingTools();
  if (absent.length) {
    console.error(`decoder-diff: ${absent.join("; ")}`);
    Deno.exit(2);
  }
  const dir = await Deno.makeTempDir({ prefix: "decoder-diff-" });
  const elf = await buildHarness(dir);
  let failed = false;
  const runs: [string, () => number[]][] = [];
  if (!values.no16) runs.push(["16-bit (all)", encodings16]);
  if (!values["no-csr"]) runs.push(["CSR sweep", csrSweep]);
  const count = Number(values.count);
  if (count > 0) {
    runs.push([
      `32-bit sample (seed ${values.seed})`,
      () => sample32(Number(values.seed), count),
    ]);
  }
  for (const [label, make] of runs) {
    const d = await diffEncodings(make(), elf, dir, Number(values.chunk), (done, n) => {
      console.error(`  ${label}: ${done} run, ${n} mismatches`);
    });
    console.log(formatReport(label, d));
    const unknown = unknownMismatches(d.mismatches);
    const firsts = [...groupMismatches(unknown).values()].map(([, ex]) => ex[0]);
    const n = Number(values.explain);
    if (firsts.length && n > 0) {
      console.log((await explain(firsts.slice(0, n), elf, dir)).join("\n"));
    }
    failed ||= unknown.length > 0 || d.objdumpMismatches.length > 0;
  }
  await Deno.remove(dir, { recursive: true });
  Deno.exit(failed ? 1 : 0);
}
