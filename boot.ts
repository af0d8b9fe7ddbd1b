/**
 * rvisor's command line: boots a guest on the emulated `virt` machine with the
 * host terminal as its serial console. `deno task boot -h` lists the flags.
 *
 * Without --bios and --kernel it boots the default guest (see
 * {@linkcode defaultGuest}).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type DiskSlot,
  MachineConfigError,
  MAX_HARTS,
  type VirtConfig,
  VirtMachine,
} from "./devices/virt.ts";
import { assignDiskSlots } from "./devices/board.ts";
import type { ImageFile } from "./devices/virt.ts";
import type { BlockBackend } from "./devices/block.ts";
import { openDiskImage } from "./devices/host/disk.ts";
import { ConsoleOutput, HostTerminal, writeStderr } from "./devices/host/terminal.ts";
import { createGuestsMachine, type GuestConfig, type GuestSwitcher } from "./hypervisor/guests.ts";
import { SnapshotError } from "./core/snapshot.ts";
import { DEFAULT_ISA, ISA_STRINGS } from "./core/fpu.ts";
import {
  createHypervisorMachine,
  DEFAULT_GUEST_OFFSET,
  type Hypervisor,
} from "./hypervisor/hypervisor.ts";
import { tinyosElf } from "./guests/tinyos/image.ts";
import { Machine } from "./hypervisor/machine.ts";
import { parseTraceTopics, traceEvents } from "./hypervisor/trace.ts";
import { statsLines, TrapCounter } from "./hypervisor/stats.ts";
import { RunSampler } from "./hypervisor/report.ts";
import {
  checkReportPath,
  reportFormat,
  ReportPathError,
  writeReportFile,
} from "./devices/host/report.ts";
import type { Topic } from "./core/events.ts";
import { loadScript, ScriptError } from "./devices/host/script.ts";
import { startStatusLine } from "./devices/host/status.ts";
import { GdbStub } from "./devices/gdb/stub.ts";
import { BareTarget } from "./devices/gdb/target.ts";
import { GuestTarget } from "./hypervisor/gdb.ts";
import {
  type GdbListenAddress,
  GdbListenError,
  parseGdbAddress,
  runWithGdb,
} from "./devices/host/gdbserver.ts";
import { isQemuCommandLine, QemuArgsError, translateQemuArgs } from "./devices/host/qemu-args.ts";
import { parseWebAddress, WebConsole, WebListenError } from "./devices/host/web.ts";

/** Process exit codes of rvisor (also listed in `-h`). */
export const ExitCode = {
  /** Guest powered off (syscon 0x5555) or passed (HTIF tohost = 1), or Ctrl-A x. */
  OK: 0,
  /** Guest reported failure without a usable code (0, or above 255). */
  GUEST_FAIL: 1,
  /** Bad command line or unusable input file. */
  USAGE: 2,
  /** rvisor itself failed (a bug). */
  INTERNAL: 70,
  /** --timeout expired; the same code as coreutils `timeout`. */
  TIMEOUT: 124,
  /** stdout was closed (as a process killed by SIGPIPE). */
  BROKEN_PIPE: 141,
} as const;

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** Default RAM, as QEMU's `virt`. */
const DEFAULT_MEMORY = 128 * MiB;
const MIN_MEMORY = MiB;
/**
 * Largest RAM: the hart indexes RAM with signed 32-bit shifts (`off >> 2`),
 * so offsets must stay below 2^31.
 */
const MAX_MEMORY = 2 * GiB;

/** tinyos does not read the device tree: it assumes QEMU's default 128 MiB (memlayout.h). */
const TINYOS_MEMORY = 128 * MiB;

/** An error the user can fix: printed as one line `rvisor: <message>`, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

const HELP = `Usage: rvisor [options]
Boots a RISC-V (RV64) guest on an emulated QEMU-compatible 'virt' machine; the
terminal is the guest's serial console. With neither --bios nor --kernel, boots
the default guest: tinyos (guests/tinyos), a small teaching OS embedded in
rvisor, to its shell prompt '$ ' (try help; poweroff exits 0). Debian's OpenSBI
and U-Boot (packages opensbi, u-boot-qemu) boot with
  --bios /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf
  --kernel /usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin

Options:
  --bios FILE       M-mode firmware (ELF or raw binary at 0x80000000), e.g.
                    OpenSBI's fw_jump.elf
  --kernel FILE     kernel: with --bios, placed for the firmware (0x80200000,
                    fw_jump convention); without, loaded and started in M-mode
                    at its entry (as QEMU's -bios none -kernel)
  --initrd FILE     initial ramdisk (its location goes in the device tree)
  --append STR      kernel command line (/chosen/bootargs)
  --load FILE@ADDR  copy FILE as raw bytes to physical address ADDR (hex with
                    0x, or decimal) before boot, as QEMU's -device
                    loader,file=FILE,addr=ADDR: e.g. a Linux Image for U-Boot's
                    booti; may be repeated
  --disk FILE[,slot=N]
                    raw disk image as a virtio block device; the file is opened
                    read-only and guest writes go to an in-memory overlay. May
                    be repeated. slot=N (0..7) plugs it into virtio-mmio slot N
                    (QEMU's bus=virtio-mmio-bus.N: 0x10001000 + N * 0x1000, PLIC
                    source N + 1); without it, the highest free slot, as QEMU
                    places a virtio-blk-device without bus= (the first in 7)
  --disk-write      let guest writes reach the --disk files (all of them)
  --mem SIZE        guest RAM size: bytes, or with a K, M or G suffix (256M,
                    1G, 131072K); a multiple of 4 KiB from 1M to 2G (default 128M)
  --no-hypervisor   run the guest directly on the emulated hart (bare mode)
                    instead of under the machine-mode hypervisor (the default:
                    the guest runs in host U-mode, its M/S/U modes emulated)
  --guest-offset SIZE
                    host offset of guest RAM under the hypervisor (default
                    0x5000000 = 80M, a multiple of 2M); host RAM below it holds
                    the hypervisor's shadow page tables
  --firmware MODE   who answers the guest's SBI calls under the hypervisor:
                    guest (default: the --bios firmware, e.g. OpenSBI, in
                    virtual M-mode) or builtin (the hypervisor itself: no
                    --bios; the --kernel starts in S-mode at 0x80200000 with
                    a0 = 0, a1 = DTB, as after OpenSBI's fw_jump)
  --isa ISA         the hart (and the guest's, under the hypervisor): rv64imafdc
                    / rv64gc (default: F and D, as QEMU's virt CPU) or rv64imac
  --smp N           N harts, 1 to 8 (default 1), as QEMU's -smp N: they take
                    turns of 4096 instructions on one thread, so --clock
                    virtual runs still repeat exactly; under the hypervisor
                    the guest's vCPUs (vCPU i on hart i; with --guest, its
                    smp= key)
  --timeout SEC     stop after SEC seconds of wall-clock time (exit 124)
  --clock MODE      how the timer advances: host (wall clock, default) or
                    virtual (from the instruction count: reproducible runs)
  --rtc-base DATE   the RTC's time at start-up, as QEMU's -rtc base=DATE: an
                    ISO 8601 UTC date or date-time (2026-01-01 or
                    2026-01-01T12:00:00Z; default: the host's time). Linux
                    seeds its randomness partly from it, so --clock virtual
                    with a fixed --rtc-base repeats a run exactly
  --snapshot-save FILE
                    save the whole machine (hart, devices, disk overlay,
                    hypervisor, RAM) to FILE when the run ends: guest halt,
                    Ctrl-A x, --timeout or a signal
  --snapshot-at N   with --snapshot-save: save after N instructions instead
                    (counted from the start of this run) and keep running
  --snapshot-load FILE
                    continue the machine saved in FILE instead of booting. The
                    flags that define the machine (--bios, --kernel, --initrd,
                    --append, --load, --disk, --mem, --no-hypervisor,
                    --guest-offset, --smp) must be those it was saved with (the disk
                    image must be unchanged: only a copy-on-write overlay is in
                    the file); with --clock virtual the run continues exactly
  --gdb PORT        GDB remote stub on 127.0.0.1:PORT (target remote :PORT);
                    under the hypervisor it shows the guest's view
  --gdb-wait        with --gdb: hold the hart at reset until a debugger
                    attaches (as QEMU's -S)
  --gdb-listen HOST:PORT
                    like --gdb, on another address: the protocol has no
                    authentication, so anyone who reaches it controls the guest
  --web [ADDR:]PORT
                    serve a live console page at http://127.0.0.1:PORT/ (or
                    ADDR): the serial console in the browser, run control
                    (pause, resume, step, snapshots, reset) and live charts;
                    several browsers may watch, one types. No authentication:
                    name an ADDR other than loopback only on a trusted network
  --web-snapshots DIR
                    with --web: the directory the page's snapshot save/load
                    use (without it, the page cannot touch files)
  --script FILE     a TypeScript/JavaScript module whose default export gets
                    the machine (the Machine API of mod.ts) before boot, to add
                    hooks; may be async (examples in scripts/)
  --trace TOPICS    print each event of the comma-separated topics to stderr,
                    one line each: trap, exit, guestTrap, csr, mmio, irq,
                    console, halt, or all
  --jit on|off|js|wasm
                    compile hot guest code (the block translator; default on):
                    same results, faster; on compiles to WebAssembly where it
                    can (else to JavaScript: --stats says why), js and wasm
                    pick one, off runs only the interpreter
  --jit-threshold N interpreter visits of an address before a block is compiled
                    there (1..65534, default 500 with wasm blocks and 5000
                    with js, 8x that after 4096 blocks compiled; 1 translates
                    all that runs)
  --stats           at exit, print instructions retired, wall time, MIPS,
                    trap counts by cause and (under the hypervisor) exits by
                    kind to stderr (and the translator's blocks and share)
  --report FILE     when the run ends, write a run report to FILE: FILE.html
                    is one self-contained page (charts of MIPS, exits per
                    second by kind, shadow pages and the hypervisor's share
                    over time; top trapping pcs with symbols, CSR and device
                    exits, configuration, the --stats table), FILE.json the
                    same data (README: Run reports)
  --guest KEY=VALUE,...
                    repeated: several guests under the hypervisor, time-sliced
                    on the harts, each with its own RAM, devices and vCPUs.
                    Keys: kernel, bios, initrd, append, firmware (guest or
                    builtin), mem (default 128M), smp (its vCPUs, 1 to 8:
                    vCPU i on hart i, all switched together; the machine has
                    the most any guest has), disk (its last virtio slot),
                    serial=FILE (its console to FILE, not the terminal); ",,"
                    is a comma in a value. Replaces --kernel, --bios, --mem,
                    --disk... The terminal shows guest 0; Ctrl-A 0..9 switches
  -h, --help        print this help

QEMU's command line: options with one dash are qemu-system-riscv64's, with
QEMU's syntax and meaning (QEMU="deno run -A boot.ts" in a Makefile). rvisor
takes this subset and refuses any other option or value with one line (exit 2):
  -machine virt, -M virt          the only machine
  -bios none|default|FILE         none: -kernel starts in M-mode; default (also
                                  without -bios): QEMU's OpenSBI, fw_dynamic
  -kernel FILE, -initrd FILE, -append STRING
  -m SIZE                         a plain number is MiB (-m 128 = 128M)
  -smp N                          N harts, 1 to 8 (also cpus=N,cores=..., as QEMU
                                  computes them; the topology does not change virt)
  -cpu rv64[,f=off,d=off]         F and D (default) or neither; extensions
                                  rvisor lacks (h, zba, zbb, zbc, zbs, sstc,
                                  Zihintpause, v, ...) may only be =off
  -nographic, -serial mon:stdio   the console is on stdio (Ctrl-A x quits)
  -display none, -monitor none    rvisor has neither
  -global virtio-mmio.force-legacy=false
  -drive file=FILE[,if=none],format=raw,id=ID[,snapshot=on] (or if=virtio);
                                  writes reach FILE unless snapshot=on
  -device virtio-blk-device,drive=ID[,bus=virtio-mmio-bus.N]
  -rtc base=utc|DATE              as --rtc-base
  -icount shift=0[,sleep=on|off]  as --clock virtual (idle time is skipped)
  -s, -gdb tcp::PORT, -S          GDB stub (on loopback), hold at reset
  -no-reboot                      accepted: a guest reset always ends the run
  -d int                          as --trace trap
rvisor's own --options may be added (e.g. --no-hypervisor, --timeout 10).

Console (when stdin is a terminal; it is put in raw mode, so Ctrl-C goes to
the guest):
  Ctrl-A x          quit (exit 0)
  Ctrl-A h          print the escape keys
  Ctrl-A Ctrl-A     send Ctrl-A to the guest
  Ctrl-A 0..9       with --guest: show and type into guest N (what it printed
                    meanwhile comes first)
When stdin is a pipe or file, its bytes are the guest's serial input; at its
end the guest keeps running.

Exit codes:
  0     guest powered off (syscon 0x5555) or passed (HTIF), or Ctrl-A x
  N     guest reported failure code N (syscon (N << 16) | 0x3333, or HTIF);
        1 if the code is 0 or above 255
  2     bad option or input file (one line on stderr names it)
  70    internal error (set RVISOR_DEBUG=1 for the stack trace)
  124   --timeout expired
  141   stdout was closed
Environment: RVISOR_DEBUG=1 prints stack traces of internal errors.
`;

/** Parsed command line. */
export interface BootOptions {
  /** M-mode firmware path. */
  bios?: string;
  /** Kernel path. */
  kernel?: string;
  /** Initrd path. */
  initrd?: string;
  /** Kernel command line. */
  append?: string;
  /** Raw files to copy to physical addresses (--load FILE@ADDR). */
  loads: { path: string; address: number }[];
  /** Disk images, each with its virtio-mmio slot (--disk FILE[,slot=N]). */
  disks: { path: string; slot: number }[];
  /** Let guest writes reach the disk files. */
  diskWrite: boolean;
  /** Guest RAM size in bytes. */
  memory: number;
  /** Run under the hypervisor (false: bare). */
  hypervisor: boolean;
  /** Who answers SBI calls under the hypervisor: the guest's --bios, or the hypervisor. */
  firmware: "guest" | "builtin";
  /** Host offset of guest RAM under the hypervisor. */
  guestOffset: number;
  /** The hart's ISA (core/fpu.ts ISA_STRINGS). */
  isa: string;
  /** Number of harts. */
  smp: number;
  /** Wall-clock limit in milliseconds. */
  timeoutMs?: number;
  /** Timer source. */
  clock: "host" | "virtual";
  /** The RTC's time at start-up (ms since the Unix epoch); the host's time if absent. */
  rtcBase?: number;
  /** Print statistics at exit. */
  stats: boolean;
  /** Write a run report (.html or .json) here when the run ends. */
  report?: string;
  /** Compile hot guest code (the block translator): wasm where it can, or `"js"`/`"wasm"`. */
  jit: boolean | "js" | "wasm";
  /** Interpreter visits before a block is compiled (the translator's default if absent). */
  jitThreshold?: number;
  /** Script module to run on the machine before boot. */
  script?: string;
  /** Event-bus topics to trace to stderr. */
  trace: Topic[];
  /** GDB stub address (--gdb / --gdb-listen). */
  gdb?: GdbListenAddress;
  /** Hold the hart until a debugger attaches. */
  gdbWait: boolean;
  /** Web console address (--web). */
  web?: GdbListenAddress;
  /** Where the web console's snapshots go (--web-snapshots). */
  webSnapshots?: string;
  /** Save a snapshot to this file (at the end, or at `snapshotAt`). */
  snapshotSave?: string;
  /** Save after this many instructions of the run instead of at the end. */
  snapshotAt?: number;
  /** Restore this snapshot instead of booting. */
  snapshotLoad?: string;
  /** Several guests under the hypervisor (--guest, repeated); empty for one. */
  guests: GuestOption[];
  /** Print help and exit. */
  help: boolean;
}

/** One --guest KEY=VALUE,... (the per-guest flags, and serial=FILE for its console). */
export interface GuestOption {
  /** Kernel path. */
  kernel?: string;
  /** M-mode firmware path. */
  bios?: string;
  /** Initrd path. */
  initrd?: string;
  /** Kernel command line. */
  append?: string;
  /** Who answers its SBI calls. */
  firmware: "guest" | "builtin";
  /** Its RAM size. */
  memory: number;
  /** Its vCPUs. */
  smp: number;
  /** A disk image in its last virtio slot. */
  disk?: string;
  /** A file that gets its console output instead of the terminal. */
  serial?: string;
}

const GUEST_KEYS = [
  "kernel",
  "bios",
  "initrd",
  "append",
  "firmware",
  "mem",
  "smp",
  "disk",
  "serial",
];
/** Flags that --guest entries take instead. */
const PER_GUEST_FLAGS = [
  "kernel",
  "bios",
  "initrd",
  "append",
  "load",
  "disk",
  "mem",
  "firmware",
  "guest-offset",
  "no-hypervisor",
  "gdb",
  "gdb-listen",
];

/**
 * Parses one --guest value: KEY=VALUE pairs separated by commas (a comma in
 * a value is written ",,", as in QEMU's option syntax). Throws
 * {@linkcode UsageError}.
 */
export function parseGuest(text: string): GuestOption {
  const fields = new Map<string, string>();
  const parts = [""];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== ",") parts[parts.length - 1] += text[i];
    else if (text[i + 1] === ",") parts[parts.length - 1] += ",", i++;
    else parts.push("");
  }
  for (const part of parts) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    if (!GUEST_KEYS.includes(key) || eq < 0) {
      throw new UsageError(
        `--guest ${text}: '${part}' is not KEY=VALUE with KEY one of ${GUEST_KEYS.join(", ")}`,
      );
    }
    if (fields.has(key)) throw new UsageError(`--guest ${text}: ${key} given twice`);
    fields.set(key, part.slice(eq + 1));
  }
  const firmware = fields.get("firmware") ?? "guest";
  if (firmware !== "guest" && firmware !== "builtin") {
    throw new UsageError(`--guest ${text}: firmware=${firmware}: must be guest or builtin`);
  }
  if (firmware === "builtin" && (fields.has("bios") || !fields.has("kernel"))) {
    throw new UsageError(
      `--guest ${text}: firmware=builtin needs kernel= and no bios= (the hypervisor answers SBI calls)`,
    );
  }
  const mem = fields.get("mem");
  let memory = DEFAULT_MEMORY;
  try {
    if (mem !== undefined) memory = parseMemSize(mem);
  } catch (e) {
    throw new UsageError(`--guest ${text}: ${(e as Error).message.replace(/^--mem /, "mem=")}`);
  }
  const smp = Number(fields.get("smp") ?? "1");
  if (!/^\d+$/.test(fields.get("smp") ?? "1") || smp < 1 || smp > MAX_HARTS) {
    throw new UsageError(
      `--guest ${text}: smp=${fields.get("smp")}: the number of vCPUs must be 1 to ${MAX_HARTS}`,
    );
  }
  return {
    kernel: fields.get("kernel"),
    bios: fields.get("bios"),
    initrd: fields.get("initrd"),
    append: fields.get("append"),
    firmware,
    memory,
    smp,
    disk: fields.get("disk"),
    serial: fields.get("serial"),
  };
}

const OPTIONS = {
  bios: { type: "string" },
  kernel: { type: "string" },
  initrd: { type: "string" },
  append: { type: "string" },
  load: { type: "string", multiple: true },
  disk: { type: "string", multiple: true },
  "disk-write": { type: "boolean" },
  mem: { type: "string" },
  "no-hypervisor": { type: "boolean" },
  firmware: { type: "string" },
  "guest-offset": { type: "string" },
  isa: { type: "string" },
  smp: { type: "string" },
  timeout: { type: "string" },
  clock: { type: "string" },
  "rtc-base": { type: "string" },
  stats: { type: "boolean" },
  report: { type: "string" },
  jit: { type: "string" },
  "jit-threshold": { type: "string" },
  script: { type: "string" },
  trace: { type: "string" },
  gdb: { type: "string" },
  "gdb-listen": { type: "string" },
  "gdb-wait": { type: "boolean" },
  web: { type: "string" },
  "web-snapshots": { type: "string" },
  "snapshot-save": { type: "string" },
  "snapshot-at": { type: "string" },
  "snapshot-load": { type: "string" },
  guest: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

/** ISO 8601 dates and date-times as --rtc-base takes them (the zone, if any, must be UTC). */
const RTC_BASE = /^(\d{4}-\d{2}-\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?Z?)?$/;

/**
 * Parses a --rtc-base value to ms since the Unix epoch. A date-time without a
 * zone is UTC, as QEMU reads it (JavaScript would read it as local time).
 */
export function parseRtcBase(text: string): number {
  const value = text.trim();
  const match = RTC_BASE.exec(value);
  const zoned = value.includes("T") && !value.endsWith("Z") ? `${value}Z` : value;
  const ms = match ? Date.parse(zoned) : NaN;
  // Date.parse takes 2026-02-30 for March 2: the date must come back as written.
  if (!match || !Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== match[1]) {
    throw new UsageError(
      `--rtc-base ${text}: not a UTC date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS]Z)`,
    );
  }
  if (ms < 0) throw new UsageError(`--rtc-base ${text}: the RTC cannot go before 1970-01-01`);
  return ms;
}

/** Unit multipliers of --mem suffixes (binary, as QEMU's -m). */
const UNITS: Record<string, bigint> = {
  "": 1n,
  k: 1024n,
  m: 1024n ** 2n,
  g: 1024n ** 3n,
  t: 1024n ** 4n,
};

/**
 * Parses a --mem value: a byte count or a number with a K/M/G/T suffix
 * (optionally followed by "iB"/"B"); a fraction must come out as whole bytes.
 * Throws {@linkcode UsageError} with a one-line reason.
 */
export function parseMemSize(text: string): number {
  const bad = (why: string) => new UsageError(`--mem ${text}: ${why}`);
  const m = /^(\d+)(?:\.(\d+))?\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw bad("not a size (examples: 256M, 1G, 131072K, 268435456)");
  const [, whole, frac = "", unit] = m;
  const scale = 10n ** BigInt(frac.length);
  const scaled = (BigInt(whole) * scale + BigInt(frac || "0")) * UNITS[unit.toLowerCase()];
  if (scaled % scale !== 0n) throw bad("not a whole number of bytes");
  const bytes = scaled / scale;
  if (bytes === 0n) throw bad("RAM size must be more than 0");
  if (bytes < BigInt(MIN_MEMORY)) {
    const asMiB = Number(whole) * MiB;
    const hint = unit === "" && frac === "" && asMiB >= MIN_MEMORY && asMiB <= MAX_MEMORY
      ? ` (a plain number is bytes: did you mean ${text}M?)`
      : "";
    throw bad(`RAM must be at least 1M${hint}`);
  }
  if (bytes > BigInt(MAX_MEMORY)) throw bad("RAM can be at most 2G");
  if (bytes % 4096n !== 0n) throw bad("RAM size must be a multiple of 4K");
  return Number(bytes);
}

/** Parses `--guest-offset` (hex address or size); throws {@linkcode UsageError}. */
export function parseGuestOffset(text: string): number {
  const bad = (why: string) => new UsageError(`--guest-offset ${text}: ${why}`);
  let bytes: number;
  if (/^0x[0-9a-f]+$/i.test(text.trim())) {
    bytes = parseInt(text.trim(), 16);
  } else {
    try {
      bytes = parseMemSize(text);
    } catch {
      throw bad("not a size (examples: 0x5000000, 80M)");
    }
  }
  if (bytes < 2 * MiB || bytes % (2 * MiB) !== 0) {
    throw bad("must be a multiple of 2M, at least 2M");
  }
  if (bytes > GiB) throw bad("can be at most 1G");
  return bytes;
}

/** Parses one `--load FILE@ADDR`; throws {@linkcode UsageError}. */
export function parseLoad(text: string): { path: string; address: number } {
  const at = text.lastIndexOf("@");
  const path = text.slice(0, at), where = text.slice(at + 1).trim();
  if (at <= 0 || where === "") {
    throw new UsageError(`--load ${text}: expected FILE@ADDRESS (e.g. Image@0x84000000)`);
  }
  const address = /^0x[0-9a-f]+$/i.test(where)
    ? parseInt(where, 16)
    : /^\d+$/.test(where)
    ? Number(where)
    : NaN;
  if (!Number.isSafeInteger(address)) {
    throw new UsageError(`--load ${text}: ${where} is not an address (hex with 0x, or decimal)`);
  }
  return { path, address };
}

/**
 * Parses one `--disk FILE[,slot=N]` (the text after the last comma is an
 * option only if it reads `name=value`, so file names may hold commas);
 * throws {@linkcode UsageError}.
 */
export function parseDisk(text: string): { path: string; slot?: number } {
  const comma = text.lastIndexOf(",");
  const option = /^([a-z-]+)=(.*)$/.exec(text.slice(comma + 1));
  if (comma < 0 || option === null) return { path: text };
  const [, key, value] = option;
  if (key !== "slot") throw new UsageError(`--disk ${text}: unknown option ${key}= (only slot=N)`);
  const path = text.slice(0, comma);
  if (path === "") throw new UsageError(`--disk ${text}: no file name before ,slot=`);
  if (!/^\d+$/.test(value)) {
    throw new UsageError(`--disk ${text}: slot ${value} is not a virtio-mmio slot (0..7)`);
  }
  return { path, slot: Number(value) };
}

/** Parses `--trace`; throws {@linkcode UsageError}. */
function parseTrace(text: string, hypervisor: boolean): Topic[] {
  try {
    return parseTraceTopics(text, hypervisor);
  } catch (e) {
    throw new UsageError(`--trace ${text}: ${(e as Error).message}`);
  }
}

/** Turns node:util's parse errors into one line naming the flag. */
function describeParseError(e: Error): string {
  const code = (e as { code?: string }).code;
  const flag = /'(-[^' <]*)/.exec(e.message)?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `${flag ?? "option"}: unknown option (see rvisor -h)`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /does not take an argument/.test(e.message)
        ? `${flag}: takes no value`
        : `${flag ?? "option"}: needs a value (use ${flag}=VALUE if it starts with '-')`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL": {
      const arg = /'([^']*)'/.exec(e.message)?.[1];
      return `${arg ?? "argument"}: unexpected argument (images are given with --kernel/--bios)`;
    }
    default:
      return e.message.split("\n")[0];
  }
}

/**
 * Parses and validates the command line, rvisor's own or QEMU's (see
 * devices/host/qemu-args.ts); throws {@linkcode UsageError}.
 */
export function parseBootArgs(args: string[]): BootOptions {
  if (!isQemuCommandLine(args)) return parseRvisorArgs(args);
  let translated;
  try {
    translated = translateQemuArgs(args, OPTIONS);
  } catch (e) {
    throw e instanceof QemuArgsError ? new UsageError(e.message) : e;
  }
  try {
    return parseRvisorArgs(translated.args);
  } catch (e) {
    // "--mem 4096M: why" names the flag rvisor made of "-m 4096"; name what the user wrote.
    const flag = e instanceof UsageError ? /^--[\w-]+/.exec(e.message)?.[0] : undefined;
    const origin = flag === undefined ? undefined : translated.origins.get(flag);
    const why = (e as Error).message.indexOf(": ");
    if (origin === undefined || why < 0) throw e;
    throw new UsageError(`${origin}: ${(e as Error).message.slice(why + 2)}`);
  }
}

function parseRvisorArgs(args: string[]): BootOptions {
  let values;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UsageError(describeParseError(e as Error));
  }
  let timeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    const t = Number(values.timeout);
    if (values.timeout.trim() === "" || !Number.isFinite(t) || t <= 0) {
      throw new UsageError(`--timeout ${values.timeout}: not a positive number of seconds`);
    }
    timeoutMs = t * 1000;
  }
  const clock = values.clock ?? "host";
  if (clock !== "host" && clock !== "virtual") {
    throw new UsageError(`--clock ${clock}: must be host or virtual`);
  }
  let gdb: GdbListenAddress | undefined;
  try {
    if (values.gdb !== undefined && values["gdb-listen"] !== undefined) {
      throw new GdbListenError("--gdb and --gdb-listen: give one");
    }
    if (values.gdb !== undefined) gdb = parseGdbAddress(values.gdb, false);
    if (values["gdb-listen"] !== undefined) gdb = parseGdbAddress(values["gdb-listen"], true);
  } catch (e) {
    throw new UsageError(`--gdb ${(e as Error).message}`);
  }
  if (values["gdb-wait"] && gdb === undefined) throw new UsageError("--gdb-wait: needs --gdb PORT");
  let web: GdbListenAddress | undefined;
  if (values.web !== undefined) {
    try {
      web = parseWebAddress(values.web);
    } catch (e) {
      throw new UsageError(`--web ${(e as Error).message}`);
    }
    // Each of them owns the run loop.
    if (gdb !== undefined) throw new UsageError("--web and --gdb: give one");
    if (values["snapshot-at"] !== undefined) {
      throw new UsageError("--web and --snapshot-at: give one (save from the page instead)");
    }
  }
  const webSnapshots = values["web-snapshots"];
  if (webSnapshots !== undefined) {
    if (web === undefined) throw new UsageError("--web-snapshots: needs --web PORT");
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(webSnapshots);
    } catch (e) {
      throw new UsageError(`--web-snapshots ${webSnapshots}: ${describeFsError(e)}`);
    }
    if (!info.isDirectory) {
      throw new UsageError(`--web-snapshots ${webSnapshots}: not a directory`);
    }
  }
  const diskArgs = values.disk ?? [];
  const parsedDisks = diskArgs.map(parseDisk);
  let slots: number[];
  try {
    slots = assignDiskSlots(parsedDisks.map((d, i) => ({ ...d, name: `--disk ${diskArgs[i]}` })));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values["disk-write"] && diskArgs.length === 0) {
    throw new UsageError("--disk-write: needs --disk FILE");
  }
  const firmware = values.firmware ?? "guest";
  if (firmware !== "guest" && firmware !== "builtin") {
    throw new UsageError(`--firmware ${firmware}: must be guest or builtin`);
  }
  if (firmware === "builtin") {
    if (values["no-hypervisor"]) {
      throw new UsageError(
        "--firmware builtin: the hypervisor is the firmware, so it cannot run bare " +
          "(--no-hypervisor); give bare mode an M-mode firmware with --bios",
      );
    }
    if (values.bios !== undefined) {
      throw new UsageError("--firmware builtin: no --bios (the hypervisor answers SBI calls)");
    }
    if (values.kernel === undefined) {
      throw new UsageError("--firmware builtin: needs --kernel (an S-mode kernel to start)");
    }
  }
  const isa = (values.isa ?? DEFAULT_ISA).toLowerCase();
  if (!Object.hasOwn(ISA_STRINGS, isa)) {
    throw new UsageError(`--isa ${values.isa}: one of ${Object.keys(ISA_STRINGS).join(", ")}`);
  }
  const smp = values.smp === undefined ? 1 : Number(values.smp);
  if (!/^\d+$/.test(values.smp ?? "1") || smp < 1 || smp > MAX_HARTS) {
    throw new UsageError(`--smp ${values.smp}: the number of harts must be 1 to ${MAX_HARTS}`);
  }
  if (smp > 1 && (values.guest?.length ?? 0) > 0) {
    throw new UsageError(`--smp ${smp}: with --guest, give each guest's vCPUs as its smp= key`);
  }
  if (values.report !== undefined) {
    try {
      reportFormat(values.report);
    } catch (e) {
      throw new UsageError(`--report ${(e as Error).message}`);
    }
  }
  const jit = values.jit ?? "on";
  if (jit !== "on" && jit !== "off" && jit !== "js" && jit !== "wasm") {
    throw new UsageError(`--jit ${jit}: must be on, off, js or wasm`);
  }
  let jitThreshold: number | undefined;
  if (values["jit-threshold"] !== undefined) {
    jitThreshold = Number(values["jit-threshold"]);
    if (!/^\d+$/.test(values["jit-threshold"].trim()) || jitThreshold < 1 || jitThreshold > 65534) {
      throw new UsageError(
        `--jit-threshold ${values["jit-threshold"]}: not a number from 1 to 65534`,
      );
    }
    if (jit === "off") {
      throw new UsageError("--jit-threshold: needs the translator (not --jit off)");
    }
  }
  let snapshotAt: number | undefined;
  if (values["snapshot-at"] !== undefined) {
    snapshotAt = Number(values["snapshot-at"]);
    if (!/^\d+$/.test(values["snapshot-at"].trim()) || !Number.isSafeInteger(snapshotAt)) {
      throw new UsageError(`--snapshot-at ${values["snapshot-at"]}: not a number of instructions`);
    }
    if (values["snapshot-save"] === undefined) {
      throw new UsageError("--snapshot-at: needs --snapshot-save FILE");
    }
  }
  return {
    bios: values.bios,
    kernel: values.kernel,
    initrd: values.initrd,
    append: values.append,
    loads: (values.load ?? []).map(parseLoad),
    disks: parsedDisks.map((d, i) => ({ path: d.path, slot: slots[i] })),
    diskWrite: values["disk-write"] ?? false,
    memory: values.mem === undefined ? DEFAULT_MEMORY : parseMemSize(values.mem),
    hypervisor: !values["no-hypervisor"],
    firmware,
    isa,
    smp,
    guestOffset: values["guest-offset"] === undefined
      ? DEFAULT_GUEST_OFFSET
      : parseGuestOffset(values["guest-offset"]),
    timeoutMs,
    clock,
    rtcBase: values["rtc-base"] === undefined ? undefined : parseRtcBase(values["rtc-base"]),
    stats: values.stats ?? false,
    report: values.report,
    jit: jit === "wasm" || jit === "js" ? jit : jit === "on",
    jitThreshold,
    script: values.script,
    trace: values.trace === undefined ? [] : parseTrace(values.trace, !values["no-hypervisor"]),
    gdb,
    gdbWait: values["gdb-wait"] ?? false,
    web,
    webSnapshots,
    snapshotSave: values["snapshot-save"],
    snapshotAt,
    snapshotLoad: values["snapshot-load"],
    guests: parseGuests(values.guest ?? [], values),
    help: values.help ?? false,
  };
}

/** The --guest entries, refused beside the flags they replace. */
function parseGuests(texts: string[], values: Record<string, unknown>): GuestOption[] {
  if (texts.length === 0) return [];
  for (const flag of PER_GUEST_FLAGS) {
    if (values[flag] === undefined) continue;
    throw new UsageError(
      flag.startsWith("gdb")
        ? `--guest: --${flag} does not support several guests yet`
        : `--guest: cannot be combined with --${flag} (give each guest's settings in its --guest)`,
    );
  }
  if (texts.length > 10) throw new UsageError("--guest: at most 10 guests (Ctrl-A 0..9)");
  return texts.map(parseGuest);
}

/** Reads an image file; throws {@linkcode UsageError} naming it on any problem. */
export function readImage(path: string, memory: number): ImageFile {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (e) {
    throw new UsageError(`${path}: ${describeFsError(e)}`);
  }
  if (info.isDirectory) throw new UsageError(`${path}: is a directory`);
  if (!info.isFile) throw new UsageError(`${path}: not a regular file`);
  // An ELF may be larger than RAM (debug sections are not loaded), but not absurdly so.
  if (info.size > Math.max(4 * memory, 1 * GiB)) {
    throw new UsageError(
      `${path}: ${info.size} bytes is far larger than RAM (${memory} bytes; see --mem)`,
    );
  }
  try {
    return { name: path, bytes: Deno.readFileSync(path) };
  } catch (e) {
    throw new UsageError(`${path}: ${describeFsError(e)}`);
  }
}

/** Reads a --snapshot-load file; throws {@linkcode UsageError} naming it. */
function readSnapshot(path: string): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    throw new UsageError(`${path}: ${describeFsError(e)}`);
  }
}

function describeFsError(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  return `cannot read: ${(e as Error).message ?? e}`;
}

/**
 * The guest booted when neither --bios nor --kernel is given: tinyos, started
 * in M-mode as QEMU's `-bios none -kernel`. Its bytes come from the generated
 * module guests/tinyos/image.ts rather than a file read at run time, so a
 * bundled (`deno task bundle`) or compiled rvisor carries it inside.
 * Throws {@linkcode UsageError} if `memory` is below the 128 MiB tinyos assumes.
 */
export function defaultGuest(memory: number): Pick<VirtConfig, "bios" | "kernel"> {
  if (memory < TINYOS_MEMORY) {
    throw new UsageError(
      `--mem ${memory}: the default guest (tinyos) needs at least 128M of RAM`,
    );
  }
  return { kernel: { name: "tinyos.elf (embedded)", bytes: tinyosElf() } };
}

/**
 * One --guest's machine configuration: its images and disk read, its console
 * on the terminal while it is shown (else kept until it is) or in its
 * serial= file. Throws {@linkcode UsageError} naming the file.
 */
function guestConfig(s: Session, g: GuestOption, i: number, options: BootOptions): GuestConfig {
  if (!g.kernel && !g.bios && g.memory < TINYOS_MEMORY) {
    throw new UsageError(
      `--guest (guest ${i}): mem=${g.memory}: the default guest (tinyos) needs at least 128M`,
    );
  }
  const images = g.kernel || g.bios
    ? {
      bios: g.bios === undefined ? undefined : readImage(g.bios, g.memory),
      kernel: g.kernel === undefined ? undefined : readImage(g.kernel, g.memory),
    }
    : defaultGuest(g.memory);
  const disks: DiskSlot[] = [];
  if (g.disk !== undefined) {
    try {
      s.disks.push(openDiskImage(g.disk, options.diskWrite));
    } catch (e) {
      throw new UsageError(`--guest disk=${(e as Error).message}`);
    }
    disks.push({ backend: s.disks[s.disks.length - 1], name: g.disk });
  }
  s.hidden[i] = [];
  let console: (b: number) => void;
  if (g.serial !== undefined) {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(g.serial, { write: true, create: true, truncate: true });
    } catch (e) {
      throw new UsageError(`--guest serial=${g.serial}: ${describeFsError(e)}`);
    }
    const out = new ConsoleOutput((bytes) => file.writeSync(bytes));
    s.serials.push(out);
    console = (b) => out.put(b);
  } else {
    console = (b) => {
      if (s.guests?.focused === i) s.terminal!.output.put(b);
      else if (s.hidden[i].length < HIDDEN_LIMIT) s.hidden[i].push(b);
    };
  }
  return {
    ...images,
    memory: g.memory,
    initrd: g.initrd === undefined ? undefined : readImage(g.initrd, g.memory),
    append: g.append,
    firmware: g.firmware,
    smp: g.smp,
    disks,
    rtcBase: options.rtcBase,
    console,
  };
}

/** Output bytes kept for a guest the terminal does not show. */
const HIDDEN_LIMIT = 1 << 20;

/** The running session: machine, console, and the single way out. */
class Session {
  machine: VirtMachine | undefined;
  disks: BlockBackend[] = [];
  terminal: HostTerminal | undefined;
  web: WebConsole | undefined;
  traps: TrapCounter | undefined;
  hypervisor: Hypervisor | undefined;
  /** Records the run for --report and --web's live charts (one sampler for both). */
  sampler: RunSampler | undefined;
  /** With several guests: their switcher, and output of guests not on the terminal. */
  guests: GuestSwitcher | undefined;
  hidden: number[][] = [];
  /** Console outputs of serial= files, flushed at exit. */
  serials: ConsoleOutput[] = [];
  startMs = performance.now();
  #finished = false;
  #snapshotSaved = false;

  constructor(readonly options: BootOptions | undefined, readonly args: string[] = []) {}

  /** Writes --report's file with the --stats lines `stats`; throws {@linkcode UsageError}. */
  #writeReport(stats: string[]): void {
    const path = this.options?.report;
    if (path === undefined || this.sampler === undefined) return;
    this.sampler.pause();
    const data = this.sampler.report({ stats, config: { "command line": this.args.join(" ") } });
    try {
      writeReportFile(path, data);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }

  /** Writes --snapshot-save's file; throws {@linkcode UsageError} if it cannot. */
  saveSnapshot(): void {
    const path = this.options?.snapshotSave;
    if (path === undefined || this.machine === undefined) return;
    this.#snapshotSaved = true;
    try {
      Deno.writeFileSync(path, this.machine.saveSnapshot());
    } catch (e) {
      throw new UsageError(`${path}: cannot write the snapshot: ${describeFsError(e)}`);
    }
  }

  /**
   * Flushes, saves --snapshot-save's file (unless `save` is false: the run
   * failed), restores the terminal, prints stats, and exits the process.
   */
  finish(code: number, message?: string, save = true): never {
    if (!this.#finished) {
      this.#finished = true;
      if (save && this.options?.snapshotSave !== undefined && !this.#snapshotSaved) {
        try {
          if (this.options.snapshotAt === undefined) this.saveSnapshot();
          else {
            writeStderr(
              `rvisor: --snapshot-at ${this.options.snapshotAt}: the run ended first, ` +
                `no snapshot saved\n`,
            );
          }
        } catch (e) {
          writeStderr(`rvisor: ${(e as Error).message}\n`);
          if (code === ExitCode.OK) code = ExitCode.USAGE;
        }
      }
      this.terminal?.restore();
      for (const out of this.serials) out.flush();
      // On a terminal, start our message on a fresh line rather than after a guest prompt.
      if (message !== undefined && this.terminal && !this.terminal.output.atLineStart) {
        if (Deno.stdout.isTerminal()) writeStdout("\r\n");
      }
      for (const disk of this.disks) {
        try {
          disk.close?.();
        } catch {
          // Closing a file we only read cannot lose data; the exit code matters more.
        }
      }
      if (message !== undefined) writeStderr(`rvisor: ${message}\n`);
      if (this.machine) {
        const wallMs = performance.now() - this.startMs;
        const stats = statsLines(
          this.machine,
          this.hypervisor ?? null,
          this.traps,
          wallMs,
          this.guests,
        );
        if (this.options?.stats) writeStderr(stats.join("\n") + "\n");
        try {
          if (save) this.#writeReport(stats);
        } catch (e) {
          writeStderr(`rvisor: ${(e as Error).message}\n`);
          if (code === ExitCode.OK) code = ExitCode.USAGE;
        }
      }
    }
    Deno.exit(code);
  }

  /**
   * Ctrl-A and a digit: the terminal shows guest `i` from now on, starting
   * with what it printed while another guest was shown.
   */
  switchConsole(i: number): void {
    const g = this.guests!, out = this.terminal!.output;
    g.focus(i);
    for (const b of new TextEncoder().encode(`\r\n[rvisor: guest ${i}]\r\n`)) out.put(b);
    for (const b of this.hidden[i].splice(0)) out.put(b);
  }
}

/** Runs rvisor with `args`; never returns (exits the process). */
export async function main(args: string[]): Promise<void> {
  let session = new Session(undefined);
  try {
    const options = parseBootArgs(args);
    if (options.help) {
      writeStdout(HELP);
      Deno.exit(ExitCode.OK);
    }
    if (options.report !== undefined) {
      try {
        checkReportPath(options.report);
      } catch (e) {
        throw e instanceof ReportPathError ? new UsageError(`--report ${e.message}`) : e;
      }
    }
    session = new Session(options, args);
    const s = session;
    for (const sig of ["SIGTERM", "SIGHUP", "SIGINT"] as const) {
      // SIGINT arrives only when stdin is not a raw terminal (raw mode passes Ctrl-C as 0x03).
      Deno.addSignalListener(sig, () => s.finish(128 + SIGNAL_NUMBERS[sig], `killed by ${sig}`));
    }

    const images: Pick<VirtConfig, "bios" | "kernel"> = options.bios || options.kernel
      ? {
        bios: options.bios === undefined ? undefined : readImage(options.bios, options.memory),
        kernel: options.kernel === undefined
          ? undefined
          : readImage(options.kernel, options.memory),
      }
      : defaultGuest(options.memory);
    const initrd = options.initrd === undefined
      ? undefined
      : readImage(options.initrd, options.memory);
    const loads = options.loads.map(({ path, address }) => ({
      file: readImage(path, options.memory),
      address,
    }));
    const disks: DiskSlot[] = [];
    for (const { path, slot } of options.disks) {
      try {
        s.disks.push(openDiskImage(path, options.diskWrite));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      disks.push({ backend: s.disks[s.disks.length - 1], slot, name: path });
    }

    const script = options.script === undefined ? undefined : await loadScript(options.script);
    const terminal = new HostTerminal({
      onQuit: () => s.finish(ExitCode.OK, "terminated"),
      onBrokenPipe: () => s.finish(ExitCode.BROKEN_PIPE),
      onSwitch: (i) => s.switchConsole(i),
    });
    s.terminal = terminal;
    if (options.hypervisor && options.guestOffset + options.memory > MAX_MEMORY) {
      throw new UsageError(
        `--mem ${options.memory}: guest RAM plus the guest offset (${options.guestOffset}) ` +
          `must fit in 2G of host RAM`,
      );
    }
    const toTerminal = (b: number) => terminal.output.put(b);
    const config = {
      memory: options.memory,
      ...images,
      initrd,
      append: options.append,
      loads,
      disks,
      clock: options.clock,
      rtcBase: options.rtcBase,
      // Only a --web run pays for the second copy of every console byte.
      console: options.web ? (b: number) => (toTerminal(b), s.web?.put(b)) : toTerminal,
      isa: options.isa,
      smp: options.smp,
      jit: options.jit,
      jitThreshold: options.jitThreshold,
    };
    try {
      if (options.guests.length > 0) {
        const m = createGuestsMachine({
          guests: options.guests.map((g, i) => guestConfig(s, g, i, options)),
          clock: options.clock,
          isa: options.isa,
          jit: options.jit,
          jitThreshold: options.jitThreshold,
        });
        s.guests = m.guests;
        s.machine = m;
      } else if (options.hypervisor) {
        const m = createHypervisorMachine({
          ...config,
          guestOffset: options.guestOffset,
          firmware: options.firmware,
        });
        s.hypervisor = m.hypervisor;
        s.machine = m;
      } else {
        s.machine = new VirtMachine(config);
      }
    } catch (e) {
      if (e instanceof RangeError && /allocat/i.test(e.message)) {
        throw new UsageError(`--mem: cannot allocate ${options.memory} bytes of RAM`);
      }
      throw e;
    }
    const machine = s.machine;
    if (options.web) {
      try {
        s.web = WebConsole.listen({ address: options.web, snapshotDir: options.webSnapshots });
      } catch (e) {
        throw e instanceof WebListenError ? new UsageError(`--web ${e.message}`) : e;
      }
    }
    if (options.snapshotLoad !== undefined) {
      machine.restore(readSnapshot(options.snapshotLoad), options.snapshotLoad);
    }
    const api = new Machine(machine);
    if (options.report !== undefined || s.web) s.sampler = new RunSampler(api);
    if (options.stats) s.traps = s.sampler?.traps ?? new TrapCounter(machine.events);
    if (options.trace.length !== 0) {
      // Raw terminal mode needs the carriage return; one write per line keeps lines whole.
      const eol = Deno.stderr.isTerminal() ? "\r\n" : "\n";
      traceEvents(machine.events, options.trace, (line) => writeStderr(line + eol));
    }
    if (script) await script(api);
    const hv = s.hypervisor;
    startStatusLine({
      retired: () => machine.hostInstructions,
      exits: () => hv ? [...hv.exitCounts.values()].reduce((a, b) => a + b, 0) : null,
    });

    const switcher = s.guests;
    terminal.start(
      switcher
        ? switcher.hypervisors.map((hv, i) => ({
          input: (bytes: Uint8Array) => hv.guest.devices.uart.pushInput(bytes),
          uart: hv.guest.devices.uart,
          events: machine.events,
          running: () => switcher.current === i,
        }))
        : machine,
    );
    s.startMs = performance.now();
    s.sampler?.resume();
    const deadline = s.startMs + (options.timeoutMs ?? Infinity);
    const timeLeft = () => Number.isFinite(deadline) ? deadline - performance.now() : undefined;
    if (s.web) writeStderr(`rvisor: web console on ${s.web.url}\n`);
    let result = options.gdb
      ? await runWithGdb(
        new GdbStub(
          s.hypervisor ? new GuestTarget(machine, s.hypervisor) : new BareTarget(machine),
        ),
        {
          address: options.gdb,
          wait: options.gdbWait,
          timeoutMs: timeLeft(),
          announce: (line) => writeStderr(`rvisor: ${line}\n`),
        },
      )
      : s.web
      ? await s.web.run(api, machine, timeLeft(), s.sampler)
      : await machine.run({ timeoutMs: timeLeft(), maxInstructions: options.snapshotAt });
    await s.web?.close();
    if (result.stop === "killed") s.finish(ExitCode.OK, "killed by the debugger");
    if (result.stop === "limit") {
      s.saveSnapshot();
      result = await machine.run({ timeoutMs: timeLeft() });
    }
    if (result.stop === "timeout") {
      s.finish(
        ExitCode.TIMEOUT,
        `timeout: guest still running after ${options.timeoutMs! / 1000} s`,
      );
    }
    if (result.stop === "pause" || result.stop === "breakpoint" || result.stop === "watchpoint") {
      s.finish(
        ExitCode.OK,
        `stopped by the script (${result.stop}) at pc 0x${machine.hart.pc.toString(16)}`,
      );
    }
    const halted = machine.halted;
    if (!halted) return s.finish(ExitCode.INTERNAL, "the machine stopped without a halt");
    // Whichever vCPU panicked has the report.
    const panicOf = (hv: Hypervisor) => hv.vcpus.find((v) => v.panicReport);
    const single = s.hypervisor && panicOf(s.hypervisor);
    if (single) {
      s.finish(
        single.panicIsGuestFault ? ExitCode.GUEST_FAIL : ExitCode.INTERNAL,
        single.panicReport!,
      );
    }
    const panicked = switcher?.hypervisors.map(panicOf).filter((v) => v) ?? [];
    if (panicked.length > 0) {
      s.finish(
        panicked.every((v) => v!.panicIsGuestFault) ? ExitCode.GUEST_FAIL : ExitCode.INTERNAL,
        switcher!.hypervisors.map((hv, i) =>
          `guest ${i}: ${panicOf(hv)?.panicReport ?? switcher!.ended[i]?.message ?? "running"}`
        ).join("\n"),
      );
    }
    const code = machine.exitCode;
    switch (halted.reason) {
      case "poweroff":
        s.finish(ExitCode.OK);
        break;
      case "reset":
        s.finish(ExitCode.OK, "guest requested a reset; rvisor does not reboot, exiting");
        break;
      case "fail":
      case "htif":
        if (code > 255) {
          s.finish(ExitCode.GUEST_FAIL, `guest reported failure ${code} (exit code 1)`);
        }
        s.finish(code);
        break;
      default:
        s.finish(code || ExitCode.GUEST_FAIL, `machine halted: ${halted.reason} ${halted.code}`);
    }
  } catch (e) {
    if (
      e instanceof ScriptError || e instanceof UsageError || e instanceof MachineConfigError ||
      e instanceof SnapshotError
    ) {
      session.finish(ExitCode.USAGE, e.message.split("\n")[0], false);
    }
    const err = e as Error;
    const detail = Deno.env.get("RVISOR_DEBUG") === "1" ? `\n${err?.stack ?? err}` : "";
    session.finish(
      ExitCode.INTERNAL,
      `${err?.message?.split("\n")[0] ?? String(e)} (internal error; please report)${detail}`,
      false,
    );
  }
}

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

function writeStdout(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let done = 0;
  while (done < bytes.length) done += Deno.stdout.writeSync(bytes.subarray(done));
}

if (import.meta.main) await main(Deno.args);
