import assert from "node:assert/strict";
import { ElfError, type ElfImage, loadElf, parseElf } from "../core/elf.ts";
import { Bus } from "../core/bus.ts";
import { EventBus } from "../core/events.ts";
import { hostTest, missing, OPENSBI_FW_JUMP as FW_JUMP } from "../scripts/host-tools.ts";

const SMOKE_ELF = new URL("../guests/isa/build/smoke.elf", import.meta.url).pathname;

const READELF = "riscv64-unknown-elf-readelf";

interface TestSegment {
  paddr: number;
  vaddr?: number;
  data: number[];
  memSize?: number;
}

/**
 * A minimal valid ELF64 RISC-V executable: program headers, segment data,
 * .symtab/.strtab/.shstrtab and section headers, in that order.
 */
function makeElf(
  segments: TestSegment[],
  symbols: [string, number][] = [],
  entry = 0x8000_0000,
): Uint8Array {
  const out = new Uint8Array(0x2000);
  const v = new DataView(out.buffer);
  const u64 = (at: number, n: number) => v.setBigUint64(at, BigInt.asUintN(64, BigInt(n)), true);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 243, true);
  v.setUint32(20, 1, true);
  u64(24, entry);
  u64(32, 64);
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, segments.length, true);
  let at = 64 + segments.length * 56;
  segments.forEach((s, i) => {
    const ph = 64 + i * 56;
    v.setUint32(ph, 1, true); // PT_LOAD
    v.setUint32(ph + 4, 7, true);
    u64(ph + 8, at);
    u64(ph + 16, s.vaddr ?? s.paddr);
    u64(ph + 24, s.paddr);
    u64(ph + 32, s.data.length);
    u64(ph + 40, s.memSize ?? s.data.length);
    out.set(s.data, at);
    at += (s.data.length + 7) & ~7;
  });
  // .strtab
  const strtabAt = at;
  const nameOffsets: number[] = [];
  let strAt = strtabAt + 1;
  for (const [name] of symbols) {
    nameOffsets.push(strAt - strtabAt);
    out.set(new TextEncoder().encode(name), strAt);
    strAt += name.length + 1;
  }
  const strtabSize = strAt - strtabAt;
  // .symtab (entry 0 is the null symbol)
  const symtabAt = (strAt + 7) & ~7;
  symbols.forEach(([, value], i) => {
    const sym = symtabAt + (i + 1) * 24;
    v.setUint32(sym, nameOffsets[i], true);
    out[sym + 4] = 0x12; // GLOBAL FUNC
    v.setUint16(sym + 6, 1, true);
    u64(sym + 8, value);
  });
  const symtabSize = (symbols.length + 1) * 24;
  // .shstrtab
  const shstrAt = symtabAt + symtabSize;
  const shstr = "\0.symtab\0.strtab\0.shstrtab\0";
  out.set(new TextEncoder().encode(shstr), shstrAt);
  // section headers: null, .symtab, .strtab, .shstrtab
  const shoff = (shstrAt + shstr.length + 7) & ~7;
  const section = (i: number, name: number, type: number, off: number, size: number) => {
    const sh = shoff + i * 64;
    v.setUint32(sh, name, true);
    v.setUint32(sh + 4, type, true);
    u64(sh + 24, off);
    u64(sh + 32, size);
    return sh;
  };
  const symSh = section(1, 1, 2, symtabAt, symtabSize);
  v.setUint32(symSh + 40, 2, true); // link -> .strtab
  v.setUint32(symSh + 44, 1, true); // first global
  u64(symSh + 56, 24);
  section(2, 9, 3, strtabAt, strtabSize);
  section(3, 17, 3, shstrAt, shstr.length);
  u64(40, shoff);
  v.setUint16(58, 64, true);
  v.setUint16(60, 4, true);
  v.setUint16(62, 3, true);
  return out.slice(0, shoff + 4 * 64);
}

/** Two segments (text, data + bss) with symbols; vaddr differs from paddr in the second. */
const good = () =>
  makeElf(
    [
      { paddr: 0x8000_0000, data: [0x13, 0, 0, 0, 0x6f, 0, 0, 0] },
      { paddr: 0x8000_1000, vaddr: 0x4000_1000, data: [1, 2, 3], memSize: 16 },
    ],
    [["_start", 0x8000_0000], ["loop", 0x8000_0004], ["data", 0x8000_1000]],
  );

const u16At = (b: Uint8Array, at: number, n: number) =>
  new DataView(b.buffer).setUint16(at, n, true);
const u32At = (b: Uint8Array, at: number, n: number) =>
  new DataView(b.buffer).setUint32(at, n, true);
const u64At = (b: Uint8Array, at: number, n: bigint) =>
  new DataView(b.buffer).setBigUint64(at, n, true);

function corrupt(edit: (b: Uint8Array) => void): Uint8Array {
  const b = good();
  edit(b);
  return b;
}

function assertElfError(bytes: Uint8Array, message: RegExp): void {
  assert.throws(() => parseElf(bytes), (e: unknown) => {
    assert.ok(e instanceof ElfError, String(e));
    assert.match(e.message, message);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });
}

function newBus(ramSize = 0x10_0000): Bus {
  return new Bus(ramSize, new EventBus());
}

Deno.test("elf: parses entry, segments (paddr and vaddr), symbols", () => {
  const image = parseElf(good());
  assert.equal(image.entry, 0x8000_0000);
  assert.equal(image.segments.length, 2);
  const [text, data] = image.segments;
  assert.deepEqual([text.paddr, text.memSize, [...text.data]], [0x8000_0000, 8, [
    0x13,
    0,
    0,
    0,
    0x6f,
    0,
    0,
    0,
  ]]);
  assert.equal(data.paddr, 0x8000_1000);
  assert.equal(data.vaddr, 0x4000_1000);
  assert.equal(image.loadBase, 0x8000_0000);
  assert.equal(data.memSize, 16);
  assert.deepEqual([...data.data], [1, 2, 3]);
  assert.deepEqual(
    [...image.symbols],
    [["_start", 0x8000_0000], ["loop", 0x8000_0004], ["data", 0x8000_1000]],
  );
});

Deno.test("elf: symbolize gives the nearest symbol at or below, with offset", () => {
  const image = parseElf(good());
  assert.equal(image.symbolize(0x8000_0000), "_start");
  assert.equal(image.symbolize(0x8000_0002), "_start+0x2");
  assert.equal(image.symbolize(0x8000_0004), "loop");
  assert.equal(image.symbolize(0x8000_1010), "data+0x10");
  assert.equal(image.symbolize(0x7fff_fffc), null);
});

Deno.test("elf: loadElf copies at p_paddr and zero-fills up to p_memsz", () => {
  const bus = newBus();
  bus.ram.fill(0xee);
  loadElf(parseElf(good()), bus);
  assert.deepEqual([...bus.ram.subarray(0, 9)], [0x13, 0, 0, 0, 0x6f, 0, 0, 0, 0xee]);
  assert.deepEqual(
    [...bus.ram.subarray(0x1000, 0x1012)],
    [1, 2, 3, ...new Array(13).fill(0), 0xee, 0xee],
  );
});

Deno.test("elf: a segment outside RAM is named with its range, and RAM stays untouched", () => {
  const bus = newBus(0x1000); // RAM 0x8000_0000..0x8000_1000: the second segment misses
  bus.ram.fill(0xee);
  assert.throws(
    () => loadElf(parseElf(good()), bus),
    (e: unknown) => {
      assert.ok(e instanceof ElfError);
      assert.equal(
        e.message,
        "segment 1 at 0x80001000..0x80001010 is not in RAM (0x80000000..0x80001000)",
      );
      return true;
    },
  );
  assert.ok(bus.ram.every((b) => b === 0xee), "nothing was written");
  const below = makeElf([{ paddr: 0x1000, data: [1] }]);
  assert.throws(() => loadElf(parseElf(below), newBus()), /segment 0 at 0x1000..0x1001 is not in/);
});

Deno.test("elf: not an ELF (bad magic), also for empty and tiny files", () => {
  assertElfError(corrupt((b) => (b[1] = 0x46)), /^not an ELF file \(bad magic\)$/);
  assertElfError(new TextEncoder().encode("#!/bin/sh\necho hi\n"), /bad magic/);
  assertElfError(new Uint8Array(0), /bad magic/);
  assertElfError(new Uint8Array([0x7f, 0x45, 0x4c]), /bad magic/);
});

Deno.test("elf: ELF32 image", () => {
  assertElfError(
    corrupt((b) => (b[4] = 1)),
    /^ELF32 image: rvisor needs a 64-bit RISC-V ELF$/,
  );
  assertElfError(corrupt((b) => (b[4] = 3)), /bad ELF class 3/);
});

Deno.test("elf: big-endian and bad data encodings", () => {
  assertElfError(corrupt((b) => (b[5] = 2)), /^big-endian ELF: rvisor needs a little-endian/);
  assertElfError(corrupt((b) => (b[5] = 0)), /bad ELF data encoding 0/);
});

Deno.test("elf: wrong machine is named when common", () => {
  assertElfError(
    corrupt((b) => u16At(b, 18, 62)),
    /^wrong machine: x86-64 \(e_machine 62\); rvisor needs RISC-V \(243\)$/,
  );
  assertElfError(corrupt((b) => u16At(b, 18, 183)), /wrong machine: AArch64/);
  assertElfError(
    corrupt((b) => u16At(b, 18, 999)),
    /wrong machine: unknown machine \(e_machine 999\)/,
  );
});

Deno.test("elf: object files and other non-executables", () => {
  assertElfError(corrupt((b) => u16At(b, 16, 1)), /not an executable: e_type REL/);
  assertElfError(corrupt((b) => u16At(b, 16, 4)), /not an executable: e_type CORE/);
});

Deno.test("elf: truncated header, program headers, segment data, section headers", () => {
  const b = good();
  assertElfError(b.subarray(0, 12), /truncated: ELF identification/);
  assertElfError(b.subarray(0, 40), /^truncated: ELF header at 0x0..0x40 is beyond the end/);
  assertElfError(b.subarray(0, 100), /^truncated: 2 program headers at 0x40..0xb0/);
  assertElfError(b.subarray(0, 0xb4), /^truncated: segment 0 data at 0xb0..0xb8/);
  assertElfError(corrupt((x) => u64At(x, 32, 0xffff_0000n)), /truncated: 2 program headers/);
  assertElfError(b.subarray(0, b.length - 1), /truncated: 4 section headers/);
  assertElfError(
    corrupt((x) => u64At(x, 64 + 8, 0x10_0000n)),
    /truncated: segment 0 data at 0x100000..0x100008/,
  );
});

Deno.test("elf: inconsistent program headers", () => {
  assertElfError(corrupt((b) => u16At(b, 56, 0)), /no program headers/);
  assertElfError(corrupt((b) => u16At(b, 54, 32)), /bad program header size 32/);
  assertElfError(
    corrupt((b) => (u32At(b, 64, 6), u32At(b, 64 + 56, 4))),
    /no loadable \(PT_LOAD\) segments/,
  );
  assertElfError(
    corrupt((b) => u64At(b, 64 + 40, 4n)),
    /segment 0: file size 0x8 exceeds memory size 0x4/,
  );
});

Deno.test("elf: addresses a JS number cannot hold exactly are refused", () => {
  assertElfError(
    corrupt((b) => u64At(b, 24, 0x7fff_0000_0000_0000n)),
    /^entry point 0x7fff000000000000 is out of range: rvisor needs a sign-extended address/,
  );
  assertElfError(
    corrupt((b) => u64At(b, 64 + 16, 0x8000_0000_0000_0000n)),
    /^segment 0 virtual address 0x8000000000000000 is out of range/,
  );
  assertElfError(
    corrupt((b) => u64At(b, 64 + 24, 1n << 53n)),
    /^segment 0 physical address 0x20000000000000 is above 2\^53/,
  );
  assertElfError(
    corrupt((b) => u64At(b, 64 + 24, (1n << 53n) - 2n)),
    /segment 0 ends above 2\^53/,
  );
});

Deno.test("elf: a kernel linked in the top half (like vmlinux) has signed virtual addresses", () => {
  const top = -0x8000_0000; // 0xffffffff80000000
  const image = parseElf(
    makeElf(
      [{ paddr: 0x8020_0000, vaddr: top, data: [0x13, 0, 0, 0], memSize: 0x2000 }],
      [["_start", top], ["start_kernel", top + 0x1234]],
      top,
    ),
  );
  assert.equal(image.entry, top);
  assert.equal(image.loadBase, 0x8020_0000);
  assert.equal(image.segments[0].vaddr, top);
  assert.equal(image.symbolize(top + 0x1240), "start_kernel+0xc");
  assert.equal(image.symbolize(top + 4), "_start+0x4");
  const bus = newBus(0x40_0000);
  loadElf(image, bus);
  assert.equal(bus.ram[0x20_0000], 0x13);
});

Deno.test("elf: a segment with p_memsz 0 is dropped, not loaded", () => {
  const image = parseElf(makeElf([{ paddr: 0x8000_0000, data: [1] }, { paddr: 0, data: [] }]));
  assert.equal(image.segments.length, 1);
  assert.equal(image.segments[0].index, 0);
});

Deno.test(hostTest(
  "elf: the test's hand-built ELF satisfies readelf",
  missing(READELF),
  async () => {
    const file = await Deno.makeTempFile({ suffix: ".elf" });
    try {
      await Deno.writeFile(file, good());
      const { code, stdout, stderr } = await new Deno.Command(READELF, {
        args: ["-h", "-l", "-s", "-W", file],
      }).output();
      assert.equal(code, 0);
      assert.equal(new TextDecoder().decode(stderr), "", "no readelf warnings");
      const text = new TextDecoder().decode(stdout);
      assert.match(text, /Machine:\s+RISC-V/);
      assert.match(text, /0000000080000004\s+0 FUNC\s+GLOBAL DEFAULT\s+1 loop/);
    } finally {
      await Deno.remove(file);
    }
  },
));

/** readelf's view of an ELF: entry, PT_LOAD rows and FUNC/OBJECT/NOTYPE symbols. */
async function readelfView(path: string) {
  const { stdout } = await new Deno.Command(READELF, { args: ["-h", "-l", "-s", "-W", path] })
    .output();
  const text = new TextDecoder().decode(stdout);
  const entry = parseInt(text.match(/Entry point address:\s+(0x[0-9a-f]+)/)![1], 16);
  const loads = [
    ...text.matchAll(
      /^\s+LOAD\s+(0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+)/gm,
    ),
  ].map((m) => m.slice(1).map((x) => parseInt(x, 16)))
    .filter(([, , , , memSize]) => memSize > 0)
    .map(([, vaddr, paddr, fileSize, memSize]) => ({ vaddr, paddr, fileSize, memSize }));
  const symbols = [
    ...text.matchAll(
      /^\s+\d+: ([0-9a-f]+)\s+\d+ (?:FUNC|OBJECT|NOTYPE)\s+\w+\s+\w+\s+(\d+) (\S+)$/gm,
    ),
  ].filter((m) => !m[3].startsWith(".L") && !m[3].startsWith("$"))
    .map((m) => [m[3], parseInt(m[1], 16)] as [string, number]);
  return { entry, loads, symbols };
}

function imageView(image: ElfImage) {
  return {
    entry: image.entry,
    loads: image.segments.map((s) => ({
      vaddr: s.vaddr,
      paddr: s.paddr,
      fileSize: s.data.length,
      memSize: s.memSize,
    })),
  };
}

Deno.test(hostTest(
  "elf: guests/isa/build/smoke.elf parses as readelf reads it",
  missing(SMOKE_ELF, READELF),
  async () => {
    const bytes = await Deno.readFile(SMOKE_ELF);
    const image = parseElf(bytes);
    const expected = await readelfView(SMOKE_ELF);
    assert.deepEqual(imageView(image), { entry: expected.entry, loads: expected.loads });
    // The loop below compares what readelf listed: it must have listed smoke.S's labels.
    const names = expected.symbols.map(([name]) => name);
    for (const label of ["_start", "pass", "fail", "test_1", "test_5", "unexpected_trap"]) {
      assert.ok(names.includes(label), `readelf lists ${label}: ${names.join(" ")}`);
    }
    for (const [name, value] of expected.symbols) {
      assert.equal(image.symbols.get(name), value, name);
    }
    assert.ok(image.symbols.size > 0);
    const bus = newBus(0x10_0000);
    loadElf(image, bus);
    const first = image.segments[0];
    assert.deepEqual(
      bus.ram.subarray(first.paddr - 0x8000_0000, first.paddr - 0x8000_0000 + first.data.length),
      first.data,
    );
  },
));

Deno.test(hostTest(
  "elf: OpenSBI's fw_jump.elf (someone else's linker script) parses as readelf reads it",
  missing(FW_JUMP, READELF),
  async () => {
    const image = parseElf(await Deno.readFile(FW_JUMP));
    const expected = await readelfView(FW_JUMP);
    assert.deepEqual(imageView(image), { entry: expected.entry, loads: expected.loads });
    assert.equal(image.loadBase, 0x8000_0000);
    const bus = newBus(0x10_0000);
    loadElf(image, bus);
    const s = image.segments[0];
    assert.deepEqual(bus.ram.subarray(0, s.data.length), s.data);
    assert.ok(bus.ram.subarray(s.data.length, s.memSize).every((b) => b === 0), "bss zeroed");
  },
));
