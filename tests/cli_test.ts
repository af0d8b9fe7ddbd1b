/**
 * boot.ts as users run it: a subprocess with flags, stdin and exit codes.
 * Bad input must give one line on stderr naming the file or flag, exit 2,
 * and never a stack trace.
 */

import assert from "node:assert/strict";
import { BARE_FLAGS, buildGuests } from "../scripts/build-guests.ts";
import { parseBootArgs, parseMemSize, parseRtcBase, UsageError } from "../boot.ts";
import {
  exists,
  HANG_GUARD_MS,
  hostTest,
  missing,
  OPENSBI_FW_JUMP as OPENSBI,
  UBOOT_SMODE as UBOOT,
} from "../scripts/host-tools.ts";
import { assertGuestWrote, BLK_SLOT0, BLK_SLOT0_PASS, blkSlot0Image } from "./blk_slot0.ts";
import { type BootRun, runBoot } from "./boot_cli.ts";
import { promptSession } from "./prompt_session.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SMOKE = `${ROOT}guests/isa/build/smoke.elf`;
/** Debian's OpenSBI + U-Boot: no longer the default guest (tinyos is), so named explicitly. */
const FIRMWARE = ["--bios", OPENSBI, "--kernel", UBOOT];

let built: Promise<number> | undefined;
/** Builds the guests once if smoke.elf or blk_slot0.elf is missing. */
function ensureGuests(): Promise<number> {
  built ??= exists(SMOKE) && exists(BLK_SLOT0) ? Promise.resolve(0) : buildGuests();
  return built;
}

/**
 * Wall-clock hang guard of a run, in seconds: `--timeout` for runs that should
 * end by themselves, and (a minute later) a kill of any boot.ts. No passing run
 * comes near it, however loaded the machine.
 */
const HANG_GUARD_S = HANG_GUARD_MS / 1000;
const HANG_GUARD = ["--timeout", String(HANG_GUARD_S)];

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
function assertOneLineError(r: BootRun, ...mentions: string[]): void {
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
    const r = await runBoot([flag]);
    assert.equal(r.code, 0);
    for (
      const f of [
        "--bios",
        "--kernel",
        "--initrd",
        "--append",
        "--load FILE@ADDR",
        "--disk FILE[,slot=N]",
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
      [["--kernel", SMOKE, "--disk", `${dir}/none.img,slot=2`], [
        `${dir}/none.img`,
        "no such file",
      ]],
      [["--kernel", SMOKE, "--load", `${dir}/gone@0x84000000`], [`${dir}/gone`, "no such file"]],
      [
        ["--kernel", SMOKE, "--load", `${dir}/big.bin@0x87f00000`],
        [`${dir}/big.bin`, "does not fit in RAM"],
      ],
      [["--kernel", SMOKE, "--load", `${dir}/big.bin@0x80000000`], [`${dir}/big.bin`, "overlaps"]],
    ];
    for (const [args, mentions] of cases) {
      assertOneLineError(await runBoot(args), ...mentions);
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
    [["--jit", "yes"], ["--jit yes", "on, off, js or wasm"]],
    [["--jit-threshold", "0"], ["--jit-threshold 0", "1 to 65534"]],
    [["--jit-threshold", "65535"], ["--jit-threshold 65535", "1 to 65534"]],
    [["--jit", "off", "--jit-threshold", "10"], ["--jit-threshold", "--jit off"]],
    [["--rtc-base", "yesterday"], ["--rtc-base yesterday", "UTC date"]],
    [["--rtc-base", "2026-02-30"], ["--rtc-base 2026-02-30", "UTC date"]],
    [["--rtc-base", "2026-01-01T12:00:00+01:00"], ["--rtc-base 2026-01-01T12:00:00+01:00"]],
    [["--rtc-base", "1969-12-31"], ["--rtc-base 1969-12-31", "1970"]],
    [["--disk-write", "--kernel", SMOKE], ["--disk-write", "--disk"]],
    [["--disk", "a.img,slot=8"], ["--disk a.img,slot=8", "not a virtio-mmio slot (0..7)"]],
    [["--disk", "a.img,slot=one"], ["--disk a.img,slot=one", "not a virtio-mmio slot"]],
    [["--disk", "a.img,bus=0"], ["--disk a.img,bus=0", "unknown option bus="]],
    [["--disk", ",slot=1"], ["--disk ,slot=1", "no file name"]],
    [
      ["--disk", "a.img,slot=0", "--disk", "b.img,slot=0"],
      ["--disk b.img,slot=0", "slot 0 already holds --disk a.img,slot=0"],
    ],
    [
      ["--disk", "a.img", "--disk", "b.img,slot=7"],
      ["--disk b.img,slot=7", "slot 7 already holds --disk a.img"],
    ],
    [Array(9).fill(["--disk", "a.img"]).flat(), ["--disk a.img", "no free virtio-mmio slot"]],
    [["--load", "Image"], ["--load Image", "FILE@ADDRESS"]],
    [["--load", "Image@"], ["--load Image@", "FILE@ADDRESS"]],
    [["--load", "Image@top"], ["--load Image@top", "not an address"]],
    [["--trace", "trap,exits"], ["--trace trap,exits", "unknown topic 'exits'"]],
    [["--no-hypervisor", "--trace", "guestTrap"], ["--trace guestTrap", "the hypervisor's"]],
  ];
  for (const [args, mentions] of cases) {
    assertOneLineError(await runBoot(args), ...mentions);
  }
});

Deno.test("cli: --trace all is every topic the machine publishes (bare: no exit, guestTrap)", () => {
  assert.deepEqual(parseBootArgs(["--trace", "all"]).trace, [
    ...["trap", "exit", "guestTrap", "csr", "mmio", "irq", "console", "halt"],
  ]);
  assert.deepEqual(parseBootArgs(["--no-hypervisor", "--trace", "all"]).trace, [
    ...["trap", "csr", "mmio", "irq", "console", "halt"],
  ]);
});

Deno.test("cli: with no --bios/--kernel the embedded tinyos boots and answers, exit 0", async () => {
  for (const mode of [[], ["--no-hypervisor"]]) {
    const r = await runBoot(
      [...mode, "--clock", "virtual", ...HANG_GUARD],
      "echo hi\npoweroff\n",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /tinyos: started sh \(pid 1\)/);
    // Piped input arrives in host time, so the echo of the typed-ahead lines and the prompt
    // may come before echo's answer, or "poweroff" right before it on its line.
    assert.match(r.stdout, /^(\$ |poweroff)?hi\r?$/m);
    assert.match(r.stdout, /tinyos: poweroff requested by pid 1 \(sh\)/);
  }
  // tinyos assumes 128 MiB; less is refused up front rather than crashing the guest.
  assertOneLineError(await runBoot(["--mem", "64M"]), "--mem", "tinyos", "128M");
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
    const r = await runBoot([
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
  const r = await runBoot(["--kernel", SMOKE, "--no-hypervisor"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const s = await runBoot(["--kernel", SMOKE, "--stats", "--clock", "virtual"]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stderr, /instructions retired +\d+/);
  assert.match(s.stderr, /host instructions +\d+/, "under the hypervisor, the host's count apart");
  assert.match(s.stderr, /wall time +[\d.]+ s/);
  assert.match(s.stderr, /MIPS +[\d.]+/);
  assert.match(s.stderr, /traps +\d+/);
});

Deno.test("cli: a guest reporting failure 5 through the syscon exits 5", async () => {
  await withTemp(async (dir) => {
    Deno.writeFileSync(`${dir}/fail5.bin`, FAIL_5);
    const r = await runBoot(["--kernel", `${dir}/fail5.bin`, ...HANG_GUARD]);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stderr, "");
  });
});

Deno.test("cli: --timeout on a spinning guest exits 124 with one line", async () => {
  await withTemp(async (dir) => {
    Deno.writeFileSync(`${dir}/spin.bin`, words(SPIN));
    // runBoot()'s kill would end a run the timeout missed, with another exit code.
    const r = await runBoot(["--kernel", `${dir}/spin.bin`, "--timeout", "0.5"]);
    assert.equal(r.code, 124);
    assert.match(r.stderr, /^rvisor: timeout: .*0\.5 s\n$/);
  });
});

for (const mode of [[], ["--no-hypervisor"]]) {
  const where = mode.length ? "bare" : "under the hypervisor";
  Deno.test(`cli: --disk FILE,slot=0 ${where}: guest writes reach the file only with --disk-write`, async () => {
    await ensureGuests();
    await withTemp(async (dir) => {
      // blk_slot0 writes sector 2 and reads it back: through the overlay, then through the file.
      const image = blkSlot0Image();
      const path = `${dir}/disk.img`;
      Deno.writeFileSync(path, image);
      const run = (...extra: string[]) =>
        runBoot([...mode, "--kernel", BLK_SLOT0, "--disk", `${path},slot=0`, ...extra]);
      const cow = await run();
      assert.equal(cow.code, 0, cow.stdout + cow.stderr);
      assert.ok(cow.stdout.includes(BLK_SLOT0_PASS), cow.stdout);
      assert.deepEqual(Deno.readFileSync(path), image, "image untouched without --disk-write");

      const rw = await run("--disk-write");
      assert.equal(rw.code, 0, rw.stdout + rw.stderr);
      assertGuestWrote(Deno.readFileSync(path), image);
    });
  });
}

/**
 * U-Boot runs end with the poweroff typed after the key that stops autoboot,
 * both in the pipe from the start. (The host clock: on instruction-count time
 * its delay loops, an exit per time read, take a hundred seconds.)
 */
const UBOOT_RUN = HANG_GUARD;

Deno.test(hostTest(
  "cli: piped stdin reaches U-Boot (version answered)",
  missing(OPENSBI, UBOOT),
  async () => {
    // The leading space stops autoboot; poweroff ends the run without waiting for the timeout.
    const r = await runBoot([...FIRMWARE, ...UBOOT_RUN], " version\npoweroff\n");
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

      const cow = await runBoot([...FIRMWARE, ...UBOOT_RUN, "--disk", path], script);
      assert.equal(cow.code, 0, cow.stderr);
      assert.match(cow.stdout, /8 blocks written: OK/);
      assert.deepEqual(Deno.readFileSync(path), image, "image untouched without --disk-write");

      const rw = await runBoot(
        [...FIRMWARE, ...UBOOT_RUN, "--disk", path, "--disk-write"],
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

Deno.test("cli: --isa rv64imafdc runs an F/D program that rv64imac stops at its first F instruction", async () => {
  await ensureGuests();
  const fp = `${ROOT}guests/isa/build/fp_arith.elf`;
  for (const mode of [[], ["--no-hypervisor"]]) {
    const fd = await runBoot([
      ...mode,
      "--kernel",
      fp,
      "--isa",
      "rv64imafdc",
      "--clock",
      "virtual",
    ]);
    assert.equal(fd.code, 0, `${mode}: ${fd.stderr}`);
    const ac = await runBoot([...mode, "--kernel", fp, "--isa", "rv64imac", "--clock", "virtual"]);
    assert.equal(
      ac.code,
      0x7f,
      `${mode}: test.h's code for an unexpected trap (illegal instruction)`,
    );
  }
});

Deno.test("cli: --guest-offset moves guest RAM in host memory", async () => {
  await ensureGuests();
  await withTemp(async (dir) => {
    // A --script that, at the halt, finds the guest's first RAM page in host
    // RAM (the only copy: the boot ROM is elsewhere), on 2 MiB boundaries.
    const script = `${dir}/where.js`;
    Deno.writeTextFileSync(
      script,
      `export default (m) => m.hook("halt", (_e, mm) => {
        const host = mm.vm.bus.ram, guest = mm.readPhysical(0x80000000, 4096);
        for (let at = 0; at + guest.length <= host.length; at += 0x200000) {
          if (guest.every((b, i) => host[at + i] === b)) {
            console.log("guest RAM at host 0x" + (0x80000000 + at).toString(16));
          }
        }
      });`,
    );
    const where = async (...flags: string[]) => {
      const r = await runBoot([
        "--kernel",
        SMOKE,
        "--clock",
        "virtual",
        "--script",
        script,
        ...flags,
      ]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    assert.equal(await where(), "guest RAM at host 0x85000000\n");
    assert.equal(await where("--guest-offset", "0x6000000"), "guest RAM at host 0x86000000\n");
    assert.equal(await where("--guest-offset", "2M"), "guest RAM at host 0x80200000\n");
    assert.equal(await where("--no-hypervisor"), "guest RAM at host 0x80000000\n");
  });
});

/** The rows of --stats' exit table: kind -> count, and the total line. */
function exitTable(stderr: string): { total: number; kinds: Map<string, number> } | null {
  const at = stderr.indexOf("  hypervisor exits");
  if (at < 0) return null;
  const [head, ...rows] = stderr.slice(at).trimEnd().split("\n");
  const kinds = new Map<string, number>();
  for (const row of rows) {
    const m = /^ +(\d+) {2}([a-z-]+)$/.exec(row);
    assert.ok(m, `exit table row: ${JSON.stringify(row)}`);
    kinds.set(m[2], Number(m[1]));
  }
  return { total: Number(/^ +hypervisor exits +(\d+)$/.exec(head)![1]), kinds };
}

Deno.test("cli: --stats lists the hypervisor's exits by kind (none bare)", async () => {
  await ensureGuests();
  const r = await runBoot(["--kernel", SMOKE, "--stats", "--clock", "virtual"]);
  assert.equal(r.code, 0, r.stderr);
  const table = exitTable(r.stderr);
  assert.ok(table, r.stderr);
  // smoke.elf fetches from the ROM and RAM pages (shadow fills), reads mhartid
  // in the ROM, writes mtvec, and powers off through the syscon.
  for (const kind of ["shadow-fill", "csr-read", "csr-write", "mmio"]) {
    assert.ok((table.kinds.get(kind) ?? 0) > 0, `${kind} in\n${r.stderr}`);
  }
  assert.equal([...table.kinds.values()].reduce((a, b) => a + b, 0), table.total);
  // Under the hypervisor every host trap is one exit.
  assert.equal(Number(/^ +traps +(\d+)$/m.exec(r.stderr)![1]), table.total);
  const bare = await runBoot(["--kernel", SMOKE, "--stats", "--no-hypervisor"]);
  assert.equal(bare.code, 0, bare.stderr);
  assert.equal(exitTable(bare.stderr), null, bare.stderr);
});

Deno.test("cli: --firmware builtin answers an S-mode kernel's SBI calls (sbi exits in --stats)", async () => {
  await ensureGuests();
  const kernel = `${ROOT}guests/sbi/build/builtin.elf`;
  const r = await runBoot([
    "--firmware",
    "builtin",
    "--kernel",
    kernel,
    "--stats",
    "--clock",
    "virtual",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "sbi: hello from S-mode!\n", "written through SBI calls");
  assert.ok((exitTable(r.stderr)?.kinds.get("sbi") ?? 0) > 20, r.stderr);
  // Without it the same ELF starts in M-mode with no firmware under it: its checks fail.
  const alone = await runBoot(["--kernel", kernel, "--clock", "virtual"]);
  assert.notEqual(alone.code, 0);
  assert.equal(alone.stdout, "");
});

Deno.test("cli: a guest that hangs itself ends with the report: registers, CSRs, last exits, stack trace", async () => {
  await withTemp(async (dir) => {
    Deno.writeTextFileSync(
      `${dir}/hang.c`,
      `/* Hangs three calls deep, in a leaf: wfi with mie = 0, t3 holding a marker. */
      __attribute__((noinline)) static void stuck(void) {
        asm volatile("li t3, 0x0123456789abcdef\\n csrw mie, zero\\n wfi\\n 1: j 1b" ::: "t3");
      }
      __attribute__((noinline)) static void inner(void) { stuck(); }
      __attribute__((noinline)) static void outer(void) { inner(); }
      int main(void) { outer(); return 0; }`,
    );
    const cc = await new Deno.Command("riscv64-unknown-elf-gcc", {
      args: [
        ...BARE_FLAGS,
        ...["-O0", "-fno-omit-frame-pointer", "-o", `${dir}/hang.elf`],
        ...[`${ROOT}guests/common/crt0.S`, `${dir}/hang.c`],
      ],
    }).output();
    assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
    const r = await runBoot(["--kernel", `${dir}/hang.elf`, "--clock", "virtual", ...HANG_GUARD]);
    assert.equal(r.code, 1, r.stderr);
    const report = r.stderr;
    assert.match(
      report,
      /^rvisor: rvisor hypervisor: guest hang: wfi at pc 0x[\da-f]+ with mie = 0\n/,
    );
    assert.match(report, /^guest pc 0x[\da-f]+ <stuck\+0x[\da-f]+>, virtual mode M$/m);
    assert.match(report, /^ +t3 0123456789abcdef /m, "the guest's registers");
    assert.match(report, / mie 0000000000000000 /, "the virtual CSRs");
    assert.match(
      report,
      /^last exits \(oldest first\):\n( {2}.*\n)* {2}csr-write +pc 0x[\da-f]+ <stuck\+0x[\da-f]+> tval 0x30401073 \(M\)\n/m,
      "the mie write is the last exit",
    );
    assert.match(
      report,
      new RegExp(
        "^stack trace \\(frame pointers, best effort\\):\n" +
          "  #0 0x[\\da-f]+ <stuck\\+0x[\\da-f]+>\n" +
          "  #1 0x[\\da-f]+ <inner\\+0x[\\da-f]+> \\(ra\\)\n" +
          "  #2 0x[\\da-f]+ <outer\\+0x[\\da-f]+>\n" +
          "  #3 0x[\\da-f]+ <main\\+0x[\\da-f]+>\n",
        "m",
      ),
    );
  });
});

Deno.test("cli: --clock virtual with --rtc-base repeats a run exactly (every device read, trap and count)", async () => {
  await ensureGuests();
  // mmio.elf reads every device register, the RTC's time among them.
  const args = ["--kernel", `${ROOT}guests/adversarial/build/mmio.elf`, "--clock", "virtual"];
  const run = async () => {
    const r = await runBoot([
      ...args,
      "--rtc-base",
      "2026-01-01",
      "--trace",
      "mmio,trap",
      "--stats",
    ]);
    assert.equal(r.code, 0, r.stderr);
    return r.stderr.replace(/^ +(wall time|MIPS|compile time) .*\n/gm, ""); // host time
  };
  const first = await run();
  assert.match(first, /^mmio read rtc 0x101004 size 4 value 0x[\da-f]+$/m);
  assert.match(first, /^ +instructions retired +\d+$/m);
  assert.equal(await run(), first);
});

Deno.test("cli: --guest errors are one line naming the guest's setting", async () => {
  const cases: [string[], string[]][] = [
    [["--guest", "mem=128M,colour=red"], ["--guest mem=128M,colour=red", "'colour=red'"]],
    [["--guest", "mem=1K"], ["--guest mem=1K", "mem=1K: RAM must be at least 1M"]],
    [["--guest", "firmware=builtin"], ["firmware=builtin needs kernel="]],
    [["--guest", "mem=128M", "--kernel", SMOKE], ["--guest: cannot be combined with --kernel"]],
    [["--guest", "mem=128M", "--gdb", "1234"], ["--gdb does not support several guests"]],
    [["--guest", "kernel=/nonexistent.elf"], ["/nonexistent.elf: no such file"]],
    [["--guest", "mem=128M", "--guest", "mem=64M"], ["--guest (guest 1): mem=67108864", "128M"]],
    [["--guest", "smp=9"], ["--guest smp=9", "smp=9: the number of vCPUs must be 1 to 8"]],
    [["--guest", "smp=two"], ["--guest smp=two", "smp=two: the number of vCPUs"]],
    [["--smp", "2", "--guest", "mem=128M"], ["--smp 2", "give each guest's vCPUs as its smp= key"]],
  ];
  for (const [args, mentions] of cases) assertOneLineError(await runBoot(args), ...mentions);
  // A comma inside a value is written twice, as in QEMU's options.
  const o = parseBootArgs(["--guest", "kernel=k,append=a,,b c,mem=256M", "--guest", "serial=s"]);
  assert.deepEqual(o.guests[0], {
    kernel: "k",
    bios: undefined,
    initrd: undefined,
    append: "a,b c",
    firmware: "guest",
    memory: 256 * 1024 * 1024,
    smp: 1,
    disk: undefined,
    serial: undefined,
  });
  assert.equal(o.guests[1].serial, "s");
  assert.equal(parseBootArgs(["--guest", "smp=3"]).guests[0].smp, 3);
});

Deno.test("cli: two --guest: the terminal types into guest 0, serial= takes guest 1's console, --stats per guest", async () => {
  await ensureGuests();
  await withTemp(async (dir) => {
    const serial = `${dir}/guest1.txt`;
    const r = await promptSession(
      Deno.execPath(),
      [
        "run",
        "-A",
        "boot.ts",
        ...["--clock", "virtual", "--stats", ...HANG_GUARD],
        ...["--guest", "mem=128M", "--guest", `kernel=${SMOKE},serial=${serial}`],
      ],
      ROOT,
      ["echo piped into zero", "poweroff"],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^piped into zero\r?$/m);
    assert.doesNotMatch(r.stdout, /smoke/i);
    assert.ok(exists(serial), "guest 1's serial file");
    for (const i of [0, 1]) {
      assert.match(r.stderr, new RegExp(`^guest ${i}:\\n  instructions retired  \\d+\\n`, "m"));
    }
    assert.equal(r.stderr.match(/state {17}guest poweroff/g)?.length, 2, r.stderr);
  });
});
