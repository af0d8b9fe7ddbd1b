/**
 * ELF64 parser and loader for RISC-V guest images (kernels, firmware, tests).
 *
 * Users hand rvisor files of every kind by mistake (x86 binaries, 32-bit
 * builds, object files, truncated downloads), so every check ends in a one-line
 * {@linkcode ElfError} that names the problem; the caller prefixes the file
 * name. Segments load at p_paddr, as QEMU's loader does. Addresses are JS
 * numbers, as in core/mmu.ts: physical addresses unsigned and below 2^53,
 * virtual addresses (p_vaddr, e_entry, symbols) the signed value of the 64-bit
 * address, so a kernel linked at 0xffffffff80000000 has entry -0x80000000.
 * Values that do not fit are errors.
 *
 * @module
 */

import type { Bus } from "./bus.ts";

/** A malformed or unusable ELF image; the message is one line. */
export class ElfError extends Error {
  override name = "ElfError";
}

/** e_machine of RISC-V. */
export const EM_RISCV = 243;

/** Names of machines users are likely to pass by mistake, by e_machine. */
const MACHINE_NAMES: Record<number, string> = {
  2: "SPARC",
  3: "x86 (i386)",
  8: "MIPS",
  20: "PowerPC",
  21: "PowerPC64",
  22: "S/390",
  40: "ARM (32-bit)",
  62: "x86-64",
  183: "AArch64",
  243: "RISC-V",
  258: "LoongArch",
};

/** Names of e_type values, for the error on non-executables. */
const TYPE_NAMES: Record<number, string> = {
  0: "NONE",
  1: "REL (an object file: link it first)",
  4: "CORE (a core dump)",
};

const ET_EXEC = 2;
const ET_DYN = 3;
const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_NOTYPE = 0;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;

/** One PT_LOAD segment. */
export interface ElfSegment {
  /** Physical load address (p_paddr): where the bytes go on the bus. */
  paddr: number;
  /** Virtual address (p_vaddr, signed), for symbolizing and page-table setups. */
  vaddr: number;
  /** The file bytes (p_filesz of them), a view into the image. */
  data: Uint8Array;
  /** Size in memory (p_memsz); bytes beyond `data` are zero. */
  memSize: number;
  /** p_flags: 4 = R, 2 = W, 1 = X. */
  flags: number;
  /** Index of its program header, so that messages match `readelf -l`. */
  index: number;
}

/** A parsed ELF64 RISC-V executable. */
export interface ElfImage {
  /** Entry point (e_entry, a virtual address, signed). */
  entry: number;
  /**
   * Lowest p_paddr of the segments. QEMU's `-kernel` starts an ELF kernel here
   * (as fw_dynamic next_addr), not at e_entry, which is virtual for Linux.
   */
  loadBase: number;
  /** Loadable segments in file order (empty ones dropped). */
  segments: ElfSegment[];
  /** Function, object and untyped symbols from .symtab (signed values; empty if stripped). */
  symbols: Map<string, number>;
  /** st_size of each of {@linkcode symbols} (0 for labels and symbols without a size). */
  symbolSizes: Map<string, number>;
  /** `name+0x10` for the nearest symbol at or below virtual `addr` (signed), or null. */
  symbolize(addr: number): string | null;
}

const hex = (n: number | bigint) => "0x" + n.toString(16);

/** Little-endian reads with bounds and 2^53 checks, failing as ElfErrors. */
class Reader {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  u16(at: number): number {
    return this.view.getUint16(at, true);
  }
  u32(at: number): number {
    return this.view.getUint32(at, true);
  }
  /** A u64 field as an exact number; `what` names it in the error when it is 2^53 or more. */
  u64(at: number, what: string): number {
    const lo = this.view.getUint32(at, true);
    const hi = this.view.getUint32(at + 4, true);
    if (hi >= 0x20_0000) {
      const big = (BigInt(hi) << 32n) | BigInt(lo);
      throw new ElfError(`${what} ${hex(big)} is above 2^53, which rvisor cannot address`);
    }
    return hi * 0x1_0000_0000 + lo;
  }
  /** A u64 field read as a signed virtual address; `what` names it when |value| >= 2^53. */
  s64(at: number, what: string): number {
    const lo = this.view.getUint32(at, true);
    const hi = this.view.getInt32(at + 4, true);
    if (hi >= 0x20_0000 || hi <= -0x20_0000) {
      const big = this.view.getBigUint64(at, true);
      throw new ElfError(
        `${what} ${hex(big)} is out of range: rvisor needs a sign-extended address below 2^53`,
      );
    }
    return hi * 0x1_0000_0000 + lo;
  }
  /** Fails unless `[offset, offset + size)` is inside the file. */
  need(offset: number, size: number, what: string): void {
    if (offset + size > this.bytes.length) {
      throw new ElfError(
        `truncated: ${what} at ${hex(offset)}..${hex(offset + size)} ` +
          `is beyond the end of the file (${hex(this.bytes.length)} bytes)`,
      );
    }
  }
}

/** Checks the identification bytes and header fields that decide whether we can read on. */
function checkIdent(bytes: Uint8Array): void {
  if (
    bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c ||
    bytes[3] !== 0x46
  ) {
    throw new ElfError("not an ELF file (bad magic)");
  }
  if (bytes.length < 16) throw new ElfError("truncated: ELF identification is incomplete");
  const elfClass = bytes[4];
  if (elfClass === 1) throw new ElfError("ELF32 image: rvisor needs a 64-bit RISC-V ELF");
  if (elfClass !== 2) throw new ElfError(`bad ELF class ${elfClass}: expected 2 (64-bit)`);
  const data = bytes[5];
  if (data === 2) {
    throw new ElfError("big-endian ELF: rvisor needs a little-endian RISC-V ELF");
  }
  if (data !== 1) throw new ElfError(`bad ELF data encoding ${data}: expected 1 (little-endian)`);
}

/** Parses and validates an ELF64 little-endian RISC-V executable. */
export function parseElf(bytes: Uint8Array): ElfImage {
  checkIdent(bytes);
  const r = new Reader(bytes);
  r.need(0, EHDR_SIZE, "ELF header");
  const machine = r.u16(18);
  if (machine !== EM_RISCV) {
    const name = MACHINE_NAMES[machine] ?? "unknown machine";
    throw new ElfError(
      `wrong machine: ${name} (e_machine ${machine}); rvisor needs RISC-V (${EM_RISCV})`,
    );
  }
  const type = r.u16(16);
  if (type !== ET_EXEC && type !== ET_DYN) {
    throw new ElfError(`not an executable: e_type ${TYPE_NAMES[type] ?? type}`);
  }
  const entry = r.s64(24, "entry point");
  const phoff = r.u64(32, "program header offset");
  const shoff = r.u64(40, "section header offset");
  const phentsize = r.u16(54);
  const phnum = r.u16(56);
  const shentsize = r.u16(58);
  const shnum = r.u16(60);

  if (phnum === 0) throw new ElfError("no program headers: nothing to load");
  if (phentsize !== PHDR_SIZE) {
    throw new ElfError(`bad program header size ${phentsize}: expected ${PHDR_SIZE}`);
  }
  r.need(phoff, phnum * PHDR_SIZE, `${phnum} program headers`);

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * PHDR_SIZE;
    if (r.u32(ph) !== PT_LOAD) continue;
    const what = `segment ${i}`; // numbered like readelf's program headers
    const offset = r.u64(ph + 8, `${what} file offset`);
    const vaddr = r.s64(ph + 16, `${what} virtual address`);
    const paddr = r.u64(ph + 24, `${what} physical address`);
    const fileSize = r.u64(ph + 32, `${what} file size`);
    const memSize = r.u64(ph + 40, `${what} memory size`);
    if (fileSize > memSize) {
      throw new ElfError(`${what}: file size ${hex(fileSize)} exceeds memory size ${hex(memSize)}`);
    }
    if (memSize === 0) continue;
    r.need(offset, fileSize, `${what} data`);
    if (!Number.isSafeInteger(paddr + memSize)) {
      throw new ElfError(`${what} ends above 2^53, which rvisor cannot address`);
    }
    const data = bytes.subarray(offset, offset + fileSize);
    segments.push({ paddr, vaddr, data, memSize, flags: r.u32(ph + 4), index: i });
  }
  if (segments.length === 0) throw new ElfError("no loadable (PT_LOAD) segments");

  const { symbols, symbolSizes } = readSymbols(r, shoff, shentsize, shnum);
  const loadBase = Math.min(...segments.map((s) => s.paddr));
  return { entry, loadBase, segments, symbols, symbolSizes, symbolize: makeSymbolizer(symbols) };
}

/** Reads .symtab; a stripped file yields an empty map. */
function readSymbols(r: Reader, shoff: number, shentsize: number, shnum: number) {
  const symbols = new Map<string, number>(), symbolSizes = new Map<string, number>();
  if (shoff === 0 || shnum === 0) return { symbols, symbolSizes };
  if (shentsize !== SHDR_SIZE) {
    throw new ElfError(`bad section header size ${shentsize}: expected ${SHDR_SIZE}`);
  }
  r.need(shoff, shnum * SHDR_SIZE, `${shnum} section headers`);
  const section = (i: number) => {
    const at = shoff + i * SHDR_SIZE;
    return {
      type: r.u32(at + 4),
      offset: r.u64(at + 24, `section ${i} offset`),
      size: r.u64(at + 32, `section ${i} size`),
      link: r.u32(at + 40),
    };
  };
  const decoder = new TextDecoder();
  for (let i = 0; i < shnum; i++) {
    const symtab = section(i);
    if (symtab.type !== SHT_SYMTAB) continue;
    if (symtab.link >= shnum) throw new ElfError(`.symtab links to missing section ${symtab.link}`);
    const strtab = section(symtab.link);
    r.need(symtab.offset, symtab.size, ".symtab");
    r.need(strtab.offset, strtab.size, ".strtab");
    for (let at = symtab.offset; at + SYM_SIZE <= symtab.offset + symtab.size; at += SYM_SIZE) {
      const kind = r.bytes[at + 4] & 0xf;
      const shndx = r.u16(at + 6);
      if (kind !== STT_FUNC && kind !== STT_OBJECT && kind !== STT_NOTYPE) continue;
      if (shndx === 0) continue; // undefined
      const nameAt = strtab.offset + r.u32(at);
      const nul = r.bytes.indexOf(0, nameAt);
      if (nameAt >= strtab.offset + strtab.size || nul < 0) continue;
      const name = decoder.decode(r.bytes.subarray(nameAt, nul));
      // Skip the assembler's local labels and RISC-V mapping symbols ($x, $d).
      if (name === "" || name.startsWith(".L") || name.startsWith("$")) continue;
      const value = r.view.getBigInt64(at + 8, true);
      if (value >= 1n << 53n || value <= -(1n << 53n)) continue;
      if (symbols.has(name)) continue;
      symbols.set(name, Number(value));
      const size = r.view.getBigUint64(at + 16, true);
      symbolSizes.set(name, size < 1n << 53n ? Number(size) : 0); // a bogus size is no size
    }
  }
  return { symbols, symbolSizes };
}

/** Nearest-symbol lookup over a sorted address list. */
function makeSymbolizer(symbols: Map<string, number>): (addr: number) => string | null {
  const sorted = [...symbols].sort((a, b) => a[1] - b[1]);
  return (addr) => {
    let lo = 0;
    let hi = sorted.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid][1] <= addr) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best < 0) return null;
    const [name, value] = sorted[best];
    return addr === value ? name : `${name}+${hex(addr - value)}`;
  };
}

/**
 * Fails with the first segment whose physical range `fits` rejects. Separate
 * from {@linkcode loadElf} so the hypervisor can check a guest's own RAM window.
 */
export function checkElfFits(
  image: ElfImage,
  fits: (paddr: number, size: number) => boolean,
  where = "RAM",
): void {
  image.segments.forEach((s) => {
    if (!fits(s.paddr, s.memSize)) {
      throw new ElfError(
        `segment ${s.index} at ${hex(s.paddr)}..${hex(s.paddr + s.memSize)} is not in ${where}`,
      );
    }
  });
}

/**
 * Copies every segment into RAM at its p_paddr, zero-filling up to p_memsz.
 * All segments are checked first, so a bad image leaves RAM untouched.
 */
export function loadElf(image: ElfImage, bus: Bus): void {
  const ramEnd = bus.ramBase + bus.ramSize;
  checkElfFits(
    image,
    (paddr, size) => bus.ramOffset(paddr, size) >= 0,
    `RAM (${hex(bus.ramBase)}..${hex(ramEnd)})`,
  );
  for (const s of image.segments) {
    bus.loadBytes(s.paddr, s.data);
    if (s.memSize > s.data.length) {
      bus.loadBytes(s.paddr + s.data.length, new Uint8Array(s.memSize - s.data.length));
    }
  }
}
