/**
 * boot.ts as users run it: a subprocess with flags, stdin and exit codes.
 * Bad input must give one line on stderr naming the file or flag, exit 2,
 * and never a stack trace.
 */

import assert from "node:assert/strict";
import { buildGuests } from "../scripts/build-guests.ts";
import { parseMemSize, parseRtcBase, UsageError } from "../boot.ts";
import {
  exists,
  hostTest,
  missing,
  OPENSBI_FW_JUMP as OPENSBI,
  UBOOT_SMODE as UBOOT,
} from "../scripts/host-tools.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SMOKE = `${ROOT}guests/isa/build/smoke.elf`;
/** Debian's OpenSBI + U-Boot: no longer the default guest (tinyos is), so named explicitly. */
const FIRMWARE = ["--bios", OPENSBI, "--kernel", UBOOT];

let built: Promise<number> | undefined;
/** Builds the ISA guests once if smoke.elf is missing. */
function ensureGuests(): Promise<number> {
  built ??= exists(SMOKE) ? Promise.resolve(0) : buildGuests();
  return built;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run -A boot.ts ...args` from the repo root, with `input` as stdin. */
async function boot(args: string[], input = ""): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "boot.ts", ...args],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  if (input) await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A scratch directory, removed after `fn`. */
async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "rvisor-cli-" });
  try {
    await fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Little-endian 32-bit instruction words as a raw image. */
function words(...w: number[]): Uint8Array {
  const b = new Uint8Array(w.length * 4);
  const v = new DataView(b.buffer);
  w.forEach((x, i) => v.setUint32(i * 4, x, true));
  return b;
}

/** `j .`: spins forever. */
const SPIN = 0x0000006f;

/** Writes (5 << 16) | 0x3333 to the syscon at 0x100000: "fail with code 5". */
const FAIL_5 = words(
  0x001002b7, // lui   t0, 0x100        t0 = 0x100000 (syscon)
  0x00053337, // lui   t1, 0x53
  0x33330313, // addi  t1, t1, 0x333    t1 = 0x53333
  0x0062a023, // sw    t1, 0(t0)
  SPIN,
);

/** Asserts the one-line, exit-2, no-stack-trace error contract. */
function assertOneLineError(r: Run, ...mentions: string[]): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `exactly one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^rvisor: /);
  for (const m of mentions) assert.ok(lines[0].includes(m), `"${lines[0]}" mentions "${m}"`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack frames");
  assert.equal(r.stdout, "", "nothing on stdout");
}

Deno.test("cli: -h documents every flag and the exit codes, exit 0", async () => {
  for (const flag of ["-h", "--help"]) {
    const r = await boot([flag]);
    assert.equal(r.code, 0);
    for (
      const f of [
        "--bios",
        "--kernel",
        "--initrd",
        "--append",
        "--load FILE@ADDR",
        "--disk ",
        "--disk-write",
        "--mem",
        "--no-hypervisor",
        "--guest-offset",
        "--timeout",
        "--clock",
        "--stats",
        "-h, --help",
        "Ctrl-A x",
        "Exit codes",
        "124",
        "under the machine-mode hypervisor (the default",
        "tinyos",
        "--bios /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf",
      ]
    ) {
      assert.ok(r.stdout.replace(/\s+/g, " ").includes(f), `help mentions ${f}`);
    }
  }
});

Deno.test("cli: bad files each give one line naming the file and the problem, exit 2", async () => {
  await ensureGuests();
  await withTemp(async (dir) => {
    const smoke = Deno.readFileSync(SMOKE);
    const truncated = `${dir}/truncated.elf`;
    Deno.writeFileSync(truncated, smoke.subarray(0, 100));

    // An ELF32 RISC-V executable, built if the toolchain can; else the header is enough.
    const elf32 = `${dir}/rv32.elf`;
    Deno.writeTextFileSync(`${dir}/rv32.S`, ".globl _start\n_start: j _start\n");
    const cc = await new Deno.Command("riscv64-unknown-elf-gcc", {
      args: [
        "-march=rv32i",
        "-mabi=ilp32",
        "-nostdlib",
        "-Ttext=0x80000000",
        "-o",
        elf32,
        "rv32.S",
      ],
      cwd: dir,
      stderr: "null",
    }).output().catch(() => ({ success: false }));
    if (!cc.success) {
      const b = smoke.slice();
      b[4] = 1; // EI_CLASS = ELFCLASS32
      Deno.writeFileSync(elf32, b);
    }

    // smoke.elf with its first PT_LOAD moved to 0x4000_0000, below RAM.
    const outside = smoke.slice();
    const v = new DataView(outside.buffer);
    const phoff = Number(v.getBigUint64(0x20, true));
    const phnum = v.getUint16(0x38, true);
    for (let i = 0; i < phnum; i++) {
      const ph = phoff + i * 56;
      if (v.getUint32(ph, true) === 1 /* PT_LOAD */) {
        v.setBigUint64(ph + 0x18, 0x4000_0000n, true); // p_paddr
        break;
      }
    }
    Deno.writeFileSync(`${dir}/outside.elf`, outside);
    Deno.writeFileSync(`${dir}/big.bin`, new Uint8Array(2 * 1024 * 1024));
    Deno.writeFileSync(`${dir}/empty.bin`, new Uint8Array(0));

    const cases: [string[], string[]][] = [
      [["--kernel", `${dir}/missing.elf`], [`${dir}/missing.elf`, "no such file"]],
      [["--bios", `${dir}/missing.elf`], [`${dir}/missing.elf`, "no such file"]],
      [["--kernel", SMOKE, "--initrd", `${dir}/nope`], [`${dir}/nope`, "no such file"]],
      [["--kernel", dir], [dir, "directory"]],
      [["--kernel", truncated], [truncated, "truncated"]],
      [["--kernel", "/bin/true"], ["/bin/true", "RISC-V"]],
      [["--bios", elf32], [elf32, "ELF32"]],
      [["--kernel", `${dir}/outside.elf`], [`${dir}/outside.elf`, "not in RAM"]],
      [["--kernel", `${dir}/big.bin`, "--mem", "1M"], [`${dir}/big.bin`, "does not fit in RAM"]],
      [["--kernel", `${dir}/empty.bin`], [`${dir}/empty.bin`, "empty"]],
      [["--kernel", SMOKE, "--disk", `${dir}/none.img`], [`${dir}/none.img`, "no such file"]],
      [["--kernel", SMOKE, "--disk", dir], [dir, "directory"]],
      [["--kernel", SMOKE, "--load", `${dir}/gone@0x84000000`], [`${dir}/gone`, "no such file"]],
      [
        ["--kernel", SMOKE, "--load", `${dir}/big.bin@0x87f00000`],
        [`${dir}/big.bin`, "does not fit in RAM"],
      ],
      [["--kernel", SMOKE, "--load", `${dir}/big.bin@0x80000000`], [`${dir}/big.bin`, "overlaps"]],
    ];
    for (const [args, mentions] of cases) {
      assertOneLineError(await boot(args), ...mentions);
    }
  });
});

Deno.test("cli: bad flags and --mem values each give one line naming the flag, exit 2", async () => {
  await ensureGuests();
  const cases: [string[], string[]][] = [
    [["--mem", "12X"], ["--mem 12X", "not a size"]],
    [["--mem", "0"], ["--mem 0"]],
    [["--mem=-5M"], ["--mem -5M", "not a size"]],
    [["--mem", "-5M"], ["--mem"]],
    [["--mem", "1.5.3G"], ["--mem 1.5.3G"]],
    [["--mem", "1000K"], ["--mem 1000K", "at least 1M"]],
    [["--mem", "1048577"], ["--mem 1048577", "multiple of 4K"]],
    [["--mem", "0.1G"], ["--mem 0.1G", "whole number of bytes"]],
    [["--mem", "64G"], ["--mem 64G", "at most"]],
    [["--frobnicate"], ["--frobnicate", "unknown option"]],
    [["-z"], ["-z", "unknown option"]],
    [["--kernel"], ["--kernel", "needs a value"]],
    [["stray.elf"], ["stray.elf", "unexpected argument"]],
    [["--timeout", "soon"], ["--timeout soon"]],
    [["--timeout", "0"], ["--timeout 0"]],
    [["--clock", "wall"], ["--clock wall"]],
    [["--rtc-base", "yesterday"], ["--rtc-base yesterday", "UTC date"]],
    [["--rtc-base", "2026-02-30"], ["--rtc-base 2026-02-30", "UTC date"]],
    [["--rtc-base", "2026-01-01T12:00:00+01:00"], ["--rtc-base 2026-01-01T12:00:00+01:00"]],
    [["--rtc-base", "1969-12-31"], ["--rtc-base 1969-12-31", "1970"]],
    [["--disk-write", "--kernel", SMOKE], ["--disk-write", "--disk"]],
    [["--load", "Image"], ["--load Image", "FILE@ADDRESS"]],
    [["--load", "Image@"], ["--load Image@", "FILE@ADDRESS"]],
    [["--load", "Image@top"], ["--load Image@top", "not an address"]],
  ];
  for (const [args, mentions] of cases) {
    assertOneLineError(await boot(args), ...mentions);
  }
});

Deno.test("cli: with no --bios/--kernel the embedded tinyos boots and answers, exit 0", async () => {
  for (const mode of [[], ["--no-hypervisor"]]) {
    const r = await boot(
      [...mode, "--clock", "virtual", "--timeout", "60"],
      "echo hi\npoweroff\n",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /tinyos: started sh \(pid 1\)/);
    assert.match(r.stdout, /^(\$ )?hi\r?$/m);
    assert.match(r.stdout, /tinyos: poweroff requested by pid 1 \(sh\)/);
  }
  // tinyos assumes 128 MiB; less is refused up front rather than crashing the guest.
  assertOneLineError(await boot(["--mem", "64M"]), "--mem", "tinyos", "128M");
});

Deno.test("cli: parseMemSize accepts QEMU-style sizes", () => {
  const M = 1024 * 1024;
  assert.equal(parseMemSize("256M"), 256 * M);
  assert.equal(parseMemSize("1G"), 1024 * M);
  assert.equal(parseMemSize("131072K"), 128 * M);
  assert.equal(parseMemSize("268435456"), 256 * M);
  assert.equal(parseMemSize("1.5G"), 1536 * M);
  assert.equal(parseMemSize("64MiB"), 64 * M);
  assert.equal(parseMemSize("2G"), 2048 * M);
  assert.throws(() => parseMemSize("2049M"), UsageError);
});

Deno.test("cli: parseRtcBase reads UTC dates and date-times as QEMU's -rtc base=", () => {
  assert.equal(parseRtcBase("1970-01-01"), 0);
  assert.equal(parseRtcBase("2026-01-01"), Date.UTC(2026, 0, 1));
  // No zone means UTC, not the host's local time.
  assert.equal(parseRtcBase("2026-06-17T16:01"), Date.UTC(2026, 5, 17, 16, 1));
  assert.equal(parseRtcBase("2026-06-17T16:01:21Z"), Date.UTC(2026, 5, 17, 16, 1, 21));
  assert.equal(parseRtcBase("2024-02-29T00:00:00.5"), Date.UTC(2024, 1, 29) + 500);
  assert.throws(() => parseRtcBase("2025-02-29"), UsageError);
});

Deno.test("cli: --rtc-base is the time the guest reads from the RTC, bare and under the hypervisor", async () => {
  await ensureGuests();
  // guests/adversarial/mmio.elf reads every device register, TIME_HIGH among them.
  const base = BigInt(Date.UTC(2030, 0, 1)) * 1_000_000n;
  for (const mode of [["--no-hypervisor"], []]) {
    const r = await boot([
      ...mode,
      ...["--kernel", `${ROOT}guests/adversarial/build/mmio.elf`, "--clock", "virtual"],
      ...["--rtc-base", "2030-01-01", "--trace", "mmio"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const high = /^mmio read rtc 0x101004 size 4 value (0x[\da-f]+)$/m.exec(r.stderr);
    assert.equal(high && BigInt(high[1]), base >> 32n, r.stderr.slice(0, 400));
  }
});

Deno.test("cli: a guest that powers off exits 0; --stats reports to stderr", async () => {
  await ensureGuests();
  const r = await boot(["--kernel", SMOKE, "--no-hypervisor"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const s = await boot(["--kernel", SMOKE, "--stats", "--clock", "virtual"]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stderr, /instructions retired +\d+/);
  assert.match(s.stderr, /wall time +[\d.]+ s/);
  assert.match(s.stderr, /MIPS +[\d.]+/);
  assert.match(s.stderr, /traps +\d+/);
});

Deno.test("cli: a guest reporting failure 5 through the syscon exits 5", async () => {
  await withTemp(async (dir) => {
    Deno.writeFileSync(`${dir}/fail5.bin`, FAIL_5);
    const r = await boot(["--kernel", `${dir}/fail5.bin`, "--timeout", "20"]);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stderr, "");
  });
});

Deno.test("cli: --timeout on a spinning guest exits 124 with one line", async () => {
  await withTemp(async (dir) => {
    Deno.writeFileSync(`${dir}/spin.bin`, words(SPIN));
    const t0 = performance.now();
    const r = await boot(["--kernel", `${dir}/spin.bin`, "--timeout", "0.5"]);
    assert.equal(r.code, 124);
    assert.match(r.stderr, /^rvisor: timeout: .*0\.5 s\n$/);
    assert.ok(performance.now() - t0 < 15_000, "stopped near the deadline");
  });
});

Deno.test("cli: --disk without --disk-write leaves the image byte-identical", async () => {
  await ensureGuests();
  await withTemp(async (dir) => {
    const image = crypto.getRandomValues(new Uint8Array(64 * 1024));
    Deno.writeFileSync(`${dir}/disk.img`, image);
    const r = await boot(["--kernel", SMOKE, "--disk", `${dir}/disk.img`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(Deno.readFileSync(`${dir}/disk.img`), image);
  });
});

Deno.test(hostTest(
  "cli: piped stdin reaches U-Boot (version answered)",
  missing(OPENSBI, UBOOT),
  async () => {
    // The leading space stops autoboot; poweroff ends the run without waiting for the timeout.
    const r = await boot([...FIRMWARE, "--timeout", "20"], " version\npoweroff\n");
    assert.equal(r.code, 0, r.stderr);
    const banners = r.stdout.match(/U-Boot 2023\.01/g) ?? [];
    assert.equal(banners.length, 2, r.stdout.slice(-800)); // the boot banner and the answer
    assert.match(r.stdout, /=> version\r?\nU-Boot 2023\.01/);
  },
));

Deno.test(hostTest(
  "cli: U-Boot's virtio writes stay in the overlay; --disk-write keeps them",
  missing(OPENSBI, UBOOT),
  async () => {
    await withTemp(async (dir) => {
      const image = crypto.getRandomValues(new Uint8Array(64 * 1024));
      const path = `${dir}/disk.img`;
      Deno.writeFileSync(path, image);
      // Writes 8 sectors of RAM (OpenSBI's code at 0x80000000) over the start of the disk.
      const script = " virtio scan\nvirtio write 80000000 0 8\npoweroff\n";

      const cow = await boot([...FIRMWARE, "--timeout", "20", "--disk", path], script);
      assert.equal(cow.code, 0, cow.stderr);
      assert.match(cow.stdout, /8 blocks written: OK/);
      assert.deepEqual(Deno.readFileSync(path), image, "image untouched without --disk-write");

      const rw = await boot(
        [...FIRMWARE, "--timeout", "20", "--disk", path, "--disk-write"],
        script,
      );
      assert.equal(rw.code, 0, rw.stderr);
      assert.match(rw.stdout, /8 blocks written: OK/);
      // The 8 sectors changed (random bytes are not OpenSBI's code); the rest did not.
      const after = Deno.readFileSync(path);
      assert.notDeepEqual(after.subarray(0, 4096), image.subarray(0, 4096));
      assert.deepEqual(after.subarray(4096), image.subarray(4096));
    });
  },
));
