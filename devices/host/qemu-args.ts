/**
 * QEMU's command line for rvisor: translates the subset of
 * `qemu-system-riscv64` options that describes what rvisor has into rvisor's
 * own flags, with QEMU's syntax and meaning, so that a Makefile's
 * `$(QEMU) $(QEMUOPTS)` runs with `QEMU="deno run -A boot.ts"`. Any other
 * option, and any value rvisor cannot honour, is refused with one line naming
 * it: a translator that ignored what it does not know would run a different
 * machine than the one the command line asks for.
 *
 * Arguments that start with `--` are rvisor's own flags and pass through
 * unchanged (e.g. `--no-hypervisor`, `--timeout 10`), so QEMU's spelling of
 * its options with two dashes is not taken.
 *
 * @module
 */

import { MAX_HARTS } from "../board.ts";

/** A QEMU option or value rvisor does not take; the message is one line naming it. */
export class QemuArgsError extends Error {
  override name = "QemuArgsError";
}

/** The result of {@linkcode translateQemuArgs}. */
export interface QemuTranslation {
  /** rvisor's flags for the same machine. */
  args: string[];
  /**
   * The QEMU option behind each rvisor flag (`--mem` -> `-m 4G`), so that an
   * error found later in rvisor's checks names what the user wrote.
   */
  origins: Map<string, string>;
}

/** How rvisor's own flags parse (boot.ts's option table): whether each takes a value. */
export type RvisorOptionTable = Readonly<Record<string, { readonly type: "string" | "boolean" }>>;

/**
 * The firmware QEMU 7.2 loads for `-bios default` (or no -bios) is OpenSBI's
 * fw_dynamic from QEMU's data directory; rvisor's boot ROM passes the same
 * `fw_dynamic_info`, so the same file works. Debian's own OpenSBI builds are
 * the fall-backs when QEMU is not installed (fw_jump expects the kernel at
 * 0x80200000, where rvisor puts it).
 */
export const QEMU_DEFAULT_BIOS: readonly string[] = [
  "/usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin",
  "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin",
  "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf",
];

/** The port of QEMU's `-s` (shorthand for `-gdb tcp::1234`). */
const QEMU_GDB_PORT = "1234";

/** virtio-mmio transports of the `virt` machine: buses virtio-mmio-bus.0 to .7. */
const VIRTIO_MMIO_BUSES = 8;

/**
 * True when `args` is written for QEMU: it has a single-dash option other than
 * `-h` (rvisor's own flags all have two dashes, and their values never start
 * with a dash).
 */
export function isQemuCommandLine(args: readonly string[]): boolean {
  return args.some((a) => /^-[A-Za-z]/.test(a) && a !== "-h");
}

/** QEMU's boolean property values (qapi's `on`/`off` and the older spellings). */
const BOOLEAN: Readonly<Record<string, boolean>> = {
  on: true,
  yes: true,
  true: true,
  y: true,
  off: false,
  no: false,
  false: false,
  n: false,
};

/**
 * Splits a QEMU option value into its comma-separated `key=value` items (`,,`
 * is a literal comma, as in QEMU's option parser). An item without `=` is the
 * value of `implied` (e.g. `-m 128M` is `size=128M`), allowed only first.
 */
export function parseKeyval(option: string, text: string, implied?: string): Map<string, string> {
  const items: string[] = [];
  let item = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== ",") item += text[i];
    else if (text[i + 1] === ",") item += ",", i++;
    else items.push(item), item = "";
  }
  items.push(item);
  const map = new Map<string, string>();
  items.forEach((it, i) => {
    const eq = it.indexOf("=");
    const key = eq < 0 && i === 0 && implied !== undefined ? implied : it.slice(0, eq);
    if (eq < 0 && key !== implied) {
      throw new QemuArgsError(`${option} ${text}: expected key=value, found '${it}'`);
    }
    if (map.has(key)) throw new QemuArgsError(`${option} ${text}: ${key} given twice`);
    map.set(key, eq < 0 ? it : it.slice(eq + 1));
  });
  return map;
}

/** Refuses the keys of `props` that are not in `allowed`, naming the first. */
function onlyKeys(option: string, text: string, props: Map<string, string>, allowed: string[]) {
  for (const key of props.keys()) {
    if (!allowed.includes(key)) {
      throw new QemuArgsError(
        `${option} ${text}: rvisor does not take '${key}' here (it takes ${allowed.join(", ")})`,
      );
    }
  }
}

/** Parses a QEMU boolean property value; throws naming the option. */
function bool(option: string, text: string, key: string, value: string): boolean {
  const v = BOOLEAN[value.toLowerCase()];
  if (v === undefined) throw new QemuArgsError(`${option} ${text}: ${key}=${value} is not on/off`);
  return v;
}

/**
 * `-cpu rv64` properties of extensions rvisor's hart has: they may be named,
 * but only switched on.
 */
const CPU_HAS = ["i", "m", "a", "c", "s", "u", "Zicsr", "Zifencei", "mmu", "pmp"];

/**
 * `-cpu rv64` properties of QEMU 7.2 extensions rvisor's hart lacks: they may
 * be named, but only switched off (QEMU's default rv64 has h, zba, zbb, zbc,
 * zbs, sstc and Zihintpause on; see the README).
 */
const CPU_LACKS = [
  "e",
  "v",
  "h",
  "zba",
  "zbb",
  "zbc",
  "zbs",
  "zbkb",
  "zbkc",
  "zbkx",
  "zk",
  "zkn",
  "zknd",
  "zkne",
  "zknh",
  "zkr",
  "zks",
  "zksed",
  "zksh",
  "zkt",
  "zmmul",
  "sstc",
  "svinval",
  "svnapot",
  "svpbmt",
  "Zihintpause",
  "Zfh",
  "Zfhmin",
  "zfinx",
  "zdinx",
  "zhinx",
  "zhinxmin",
  "Zve32f",
  "Zve64f",
];

/** `-cpu MODEL[,prop=on|off...]` -> rvisor's ISA string. */
function cpuIsa(text: string): string {
  const opt = "-cpu";
  const props = parseKeyval(opt, text, "model");
  const model = props.get("model");
  props.delete("model");
  if (model !== "rv64") {
    throw new QemuArgsError(`-cpu ${text}: rvisor's hart is QEMU's rv64 (with F and D, or not)`);
  }
  const fd = { f: true, d: true };
  for (const [key, value] of props) {
    const known = key === "f" || key === "d" || CPU_HAS.includes(key) || CPU_LACKS.includes(key);
    if (!known) {
      throw new QemuArgsError(`-cpu ${text}: rvisor does not take the CPU property '${key}'`);
    }
    const on = bool(opt, text, key, value);
    if (key === "f" || key === "d") fd[key] = on;
    else if (CPU_HAS.includes(key) && !on) {
      throw new QemuArgsError(`-cpu ${text}: rvisor's hart always has ${key}`);
    } else if (CPU_LACKS.includes(key) && on) {
      throw new QemuArgsError(`-cpu ${text}: rvisor's hart has no ${key}`);
    }
  }
  if (fd.f !== fd.d) {
    throw new QemuArgsError(
      `-cpu ${text}: rvisor's hart has F and D together or neither (f=${fd.f ? "on" : "off"}, ` +
        `d=${fd.d ? "on" : "off"})`,
    );
  }
  return fd.f ? "rv64imafdc" : "rv64imac";
}

/** `-m [size=]N[KMGT]` -> rvisor's --mem text (a number without a unit is MiB, as QEMU's). */
function memSize(text: string): string {
  const props = parseKeyval("-m", text, "size");
  onlyKeys("-m", text, props, ["size"]);
  const size = props.get("size")!.trim();
  if (/^\d+(\.\d+)?$/.test(size)) return `${size}M`;
  const bytes = /^(\d+)b$/i.exec(size);
  return bytes ? bytes[1] : size;
}

/** `-smp` keys QEMU 7.2 takes. */
const SMP_KEYS = ["cpus", "maxcpus", "sockets", "dies", "clusters", "cores", "threads"];

/**
 * The number of harts `-smp TEXT` gives QEMU 7.2's virt, by its smp_parse
 * (hw/core/machine-smp.c): a value left out (or 0) is computed from the
 * others, preferring cores; the topology must multiply out to maxcpus, which
 * must be at least cpus. virt makes `cpus` harts whatever their sockets,
 * cores and threads (its sockets are NUMA nodes, not -smp's), so those only
 * have to add up; it has no dies or clusters. rvisor takes 1 to MAX_HARTS.
 */
function smpHarts(text: string): number {
  const props = parseKeyval("-smp", text, "cpus");
  onlyKeys("-smp", text, props, SMP_KEYS);
  const n: Record<string, number> = {};
  for (const key of SMP_KEYS) {
    const value = props.get(key)?.trim() ?? "0";
    if (!/^\d+$/.test(value)) {
      throw new QemuArgsError(`-smp ${text}: ${key}=${value} is not a whole number`);
    }
    n[key] = Number(value);
  }
  for (const key of ["dies", "clusters"]) {
    if (n[key] > 1) {
      throw new QemuArgsError(`-smp ${text}: ${key} not supported by virt's CPU topology`);
    }
  }
  let { cpus, maxcpus, sockets, cores, threads } = n;
  if (cpus === 0 && maxcpus === 0) {
    sockets ||= 1;
    cores ||= 1;
    threads ||= 1;
  } else {
    maxcpus ||= cpus;
    if (cores === 0) {
      sockets ||= 1;
      threads ||= 1;
      cores = Math.floor(maxcpus / (sockets * threads));
    } else if (sockets === 0) {
      threads ||= 1;
      sockets = Math.floor(maxcpus / (cores * threads));
    }
    threads ||= Math.floor(maxcpus / (sockets * cores));
  }
  maxcpus ||= sockets * cores * threads;
  cpus ||= maxcpus;
  if (sockets * cores * threads !== maxcpus) {
    throw new QemuArgsError(
      `-smp ${text}: sockets (${sockets}) * cores (${cores}) * threads (${threads}) ` +
        `is not maxcpus (${maxcpus})`,
    );
  }
  if (maxcpus < cpus) {
    throw new QemuArgsError(`-smp ${text}: maxcpus (${maxcpus}) is below cpus (${cpus})`);
  }
  if (cpus > MAX_HARTS) {
    throw new QemuArgsError(`-smp ${text}: rvisor's virt has 1 to ${MAX_HARTS} harts, not ${cpus}`);
  }
  return cpus;
}

/** `-rtc base=utc|DATE[,clock=host]` -> rvisor's --rtc-base value (undefined: the host's time). */
function rtcBase(text: string): string | undefined {
  const props = parseKeyval("-rtc", text);
  onlyKeys("-rtc", text, props, ["base", "clock"]);
  const clock = props.get("clock");
  if (clock !== undefined && clock !== "host") {
    throw new QemuArgsError(`-rtc ${text}: rvisor's RTC runs from the host clock (clock=host)`);
  }
  const base = props.get("base");
  if (base === "localtime") {
    throw new QemuArgsError(`-rtc ${text}: rvisor's RTC keeps UTC (base=utc or a date)`);
  }
  return base === undefined || base === "utc" ? undefined : base;
}

/** `-icount [shift=]0[,sleep=on|off]`: rvisor's virtual clock is QEMU's shift=0. */
function checkIcount(text: string): void {
  const props = parseKeyval("-icount", text, "shift");
  onlyKeys("-icount", text, props, ["shift", "sleep"]);
  if (props.has("sleep")) bool("-icount", text, "sleep", props.get("sleep")!);
  if (props.get("shift")?.trim() !== "0") {
    throw new QemuArgsError(
      `-icount ${text}: rvisor's virtual clock is one instruction per ns (shift=0 only)`,
    );
  }
}

/** `-gdb tcp:[HOST]:PORT` -> [rvisor flag, value]. */
function gdbFlag(text: string): [string, string] {
  const m = /^tcp:([^:]*|\[[^\]]*\]):(\d{1,5})$/.exec(text);
  if (!m) throw new QemuArgsError(`-gdb ${text}: rvisor's stub takes tcp::PORT or tcp:HOST:PORT`);
  const [, host, port] = m;
  // QEMU's tcp::PORT listens on every interface; the stub has no authentication, so
  // rvisor keeps to loopback unless a host is named.
  if (host === "") return ["--gdb", port];
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(host);
  return [loopback ? "--gdb" : "--gdb-listen", `${host}:${port}`];
}

/** `-d ITEMS` -> rvisor trace topics: only QEMU's `int` (interrupts and exceptions) has one. */
const LOG_TOPICS: Readonly<Record<string, string>> = { int: "trap" };

/** One -drive, as the -device that uses it needs it. */
interface Drive {
  file: string;
  /** QEMU's snapshot=on: writes go to a temporary overlay. */
  snapshot: boolean;
  used: boolean;
}

/**
 * `-drive` -> its id and description (if=none, or no if=), or the --disk it is
 * (if=virtio). Without if=, QEMU's `virt` gives the drive its default
 * interface, which it has no controller for: only a -device can use it (as
 * Buildroot's `-drive file=rootfs.ext2,format=raw,id=hd0 -device
 * virtio-blk-device,drive=hd0` does), and one no -device names does nothing.
 */
function parseDrive(text: string): { id?: string; drive: Drive; virtio: boolean } {
  const props = parseKeyval("-drive", text);
  onlyKeys("-drive", text, props, ["file", "if", "format", "id", "snapshot", "readonly"]);
  const file = props.get("file");
  if (!file) throw new QemuArgsError(`-drive ${text}: needs file=FILE`);
  const format = props.get("format");
  if (format !== "raw") {
    throw new QemuArgsError(`-drive ${text}: rvisor reads raw images only (format=raw)`);
  }
  if (props.has("readonly") && bool("-drive", text, "readonly", props.get("readonly")!)) {
    throw new QemuArgsError(`-drive ${text}: rvisor's virtio disk cannot be read-only`);
  }
  const iface = props.get("if");
  if (iface !== undefined && iface !== "none" && iface !== "virtio") {
    throw new QemuArgsError(
      `-drive ${text}: rvisor's disks are virtio (if=none with -device virtio-blk-device, ` +
        `or if=virtio)`,
    );
  }
  const snapshot = props.has("snapshot") &&
    bool("-drive", text, "snapshot", props.get("snapshot")!);
  if (iface === "none" && !props.get("id")) {
    throw new QemuArgsError(`-drive ${text}: if=none needs id=ID for -device ... drive=ID`);
  }
  return {
    id: props.get("id"),
    drive: { file, snapshot, used: false },
    virtio: iface === "virtio",
  };
}

/** `-device virtio-blk-device,drive=ID[,bus=virtio-mmio-bus.N]` -> rvisor's --disk value. */
function deviceDisk(text: string, drives: Map<string, Drive>): Drive & { slot?: number } {
  const props = parseKeyval("-device", text, "driver");
  const driver = props.get("driver");
  if (driver !== "virtio-blk-device") {
    throw new QemuArgsError(
      `-device ${text}: rvisor has no ${driver} (its devices: virtio-blk-device)`,
    );
  }
  onlyKeys("-device", text, props, ["driver", "drive", "bus"]);
  const drive = drives.get(props.get("drive") ?? "");
  if (drive === undefined) {
    throw new QemuArgsError(`-device ${text}: no -drive with id=${props.get("drive") ?? "?"}`);
  }
  if (drive.used) throw new QemuArgsError(`-device ${text}: the drive is already in use`);
  drive.used = true;
  const bus = props.get("bus");
  if (bus === undefined) return drive;
  const m = /^virtio-mmio-bus\.(\d)$/.exec(bus);
  if (!m || Number(m[1]) >= VIRTIO_MMIO_BUSES) {
    throw new QemuArgsError(
      `-device ${text}: bus must be virtio-mmio-bus.0 to virtio-mmio-bus.${VIRTIO_MMIO_BUSES - 1}`,
    );
  }
  return { ...drive, slot: Number(m[1]) };
}

/** What the options seen so far ask of rvisor; the handlers of {@linkcode QEMU_OPTIONS} fill it. */
interface Request {
  /** Adds rvisor's `flag` (with `value`), remembering the QEMU option behind it. */
  emit(flag: string, value: string | undefined, origin: string): void;
  bios?: string;
  kernel?: string;
  gdb: boolean;
  wait: boolean;
  serials: number;
  help: boolean;
  drives: Map<string, Drive>;
  disks: (Drive & { slot?: number; origin: string })[];
  topics: string[];
  /** The last -smp's harts (QEMU's later -smp keys override earlier ones). */
  smp?: { harts: number; origin: string };
}

/** Applies one option: its value (or "") and its text as given (`-m 4G`), for messages. */
type Handler = (r: Request, value: string, origin: string, arg: string) => void;

/** `-machine` / `-M`: only `virt`, without properties. */
const machine: Handler = (_, value, origin, arg) => {
  const props = parseKeyval(arg, value, "type");
  onlyKeys(arg, value, props, ["type"]);
  if (props.get("type") !== "virt") {
    throw new QemuArgsError(`${origin}: rvisor has only QEMU's virt machine`);
  }
};

/** A QEMU option that maps to rvisor's flag of the same meaning and value. */
const same = (flag: string): Handler => (r, value, origin) => r.emit(flag, value, origin);

/** Accepted without effect, because rvisor already behaves as the option asks. */
const already: Handler = () => {};

/** `-display none`, `-monitor none`: rvisor has neither, so `none` is the only value it can honour. */
const none = (what: string): Handler => (_, value, origin) => {
  if (value !== "none") throw new QemuArgsError(`${origin}: rvisor has no ${what} (only none)`);
};

/** QEMU options rvisor takes: whether each has a value, and what it asks of rvisor. */
const QEMU_OPTIONS: Readonly<Record<string, { value: boolean; apply: Handler }>> = {
  machine: { value: true, apply: machine },
  M: { value: true, apply: machine },
  bios: { value: true, apply: (r, value) => r.bios = value },
  kernel: { value: true, apply: (r, value) => r.kernel = value },
  initrd: { value: true, apply: same("--initrd") },
  append: { value: true, apply: same("--append") },
  m: { value: true, apply: (r, value, origin) => r.emit("--mem", memSize(value), origin) },
  smp: { value: true, apply: (r, value, origin) => r.smp = { harts: smpHarts(value), origin } },
  cpu: { value: true, apply: (r, value, origin) => r.emit("--isa", cpuIsa(value), origin) },
  // rvisor has no display: the serial console is always on stdio.
  nographic: { value: false, apply: already },
  display: { value: true, apply: none("display") },
  monitor: { value: true, apply: none("monitor") },
  serial: {
    value: true,
    apply: (r, value, origin) => {
      if (value !== "mon:stdio" && value !== "stdio") {
        throw new QemuArgsError(`${origin}: rvisor's serial console is on stdio (mon:stdio)`);
      }
      if (++r.serials > 1) throw new QemuArgsError(`${origin}: rvisor's virt has one UART`);
    },
  },
  global: {
    value: true,
    apply: (_, value, origin, arg) => {
      const m = /^virtio-mmio\.force-legacy=(.*)$/.exec(value);
      if (!m || bool(arg, value, "force-legacy", m[1])) {
        throw new QemuArgsError(
          `${origin}: rvisor takes only virtio-mmio.force-legacy=false (its virtio-mmio is ` +
            `the modern version 2)`,
        );
      }
    },
  },
  drive: {
    value: true,
    apply: (r, value, origin) => {
      const d = parseDrive(value);
      if (d.virtio) r.disks.push({ ...d.drive, origin });
      else if (d.id === undefined) return; // no if= and no id: nothing can use it
      else if (r.drives.has(d.id)) throw new QemuArgsError(`${origin}: id=${d.id} given twice`);
      else r.drives.set(d.id, d.drive);
    },
  },
  device: {
    value: true,
    apply: (r, value, origin) => r.disks.push({ ...deviceDisk(value, r.drives), origin }),
  },
  rtc: {
    value: true,
    apply: (r, value, origin) => {
      const base = rtcBase(value);
      if (base !== undefined) r.emit("--rtc-base", base, origin);
    },
  },
  icount: {
    value: true,
    apply: (r, value, origin) => {
      checkIcount(value);
      r.emit("--clock", "virtual", origin);
    },
  },
  s: {
    value: false,
    apply: (r, _, origin) => {
      r.emit("--gdb", QEMU_GDB_PORT, origin);
      r.gdb = true;
    },
  },
  gdb: {
    value: true,
    apply: (r, value, origin) => {
      r.emit(...gdbFlag(value), origin);
      r.gdb = true;
    },
  },
  S: { value: false, apply: (r) => r.wait = true },
  // rvisor never reboots: a guest reset ends the run, as QEMU's -no-reboot asks.
  "no-reboot": { value: false, apply: already },
  d: {
    value: true,
    apply: (r, value, origin) => {
      for (const item of value.split(",")) {
        const topic = LOG_TOPICS[item];
        if (topic === undefined) {
          throw new QemuArgsError(`${origin}: rvisor has no log item '${item}' (it has: int)`);
        }
        r.topics.push(topic);
      }
    },
  },
  h: { value: false, apply: (r) => r.help = true },
  help: { value: false, apply: (r) => r.help = true },
};

/** True if `path` names an existing file. */
function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Translates a QEMU-style command line (see {@linkcode isQemuCommandLine})
 * into rvisor's flags. `rvisorOptions` is boot.ts's option table (for the
 * `--` flags that pass through); `exists` finds the `-bios default` firmware.
 * Throws {@linkcode QemuArgsError} naming the first option rvisor cannot honour.
 */
export function translateQemuArgs(
  argv: readonly string[],
  rvisorOptions: RvisorOptionTable,
  exists: (path: string) => boolean = fileExists,
): QemuTranslation {
  const out: string[] = [];
  const origins = new Map<string, string>();
  const r: Request = {
    // FLAG=VALUE: a value that starts with a dash (-append "-x") stays a value.
    emit(flag, value, origin) {
      out.push(value === undefined ? flag : `${flag}=${value}`);
      origins.set(flag, origin);
    },
    gdb: false,
    wait: false,
    serials: 0,
    help: false,
    drives: new Map(),
    disks: [],
    topics: [],
  };
  const passed: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith("--")) {
      // rvisor's own flag: passes through with its value.
      const name = arg.slice(2).split("=")[0];
      const spec = rvisorOptions[name];
      if (spec === undefined) {
        throw new QemuArgsError(`${arg}: not an rvisor option (QEMU options take one dash)`);
      }
      out.push(arg);
      passed.push(`--${name}`);
      if (spec.type === "string" && !arg.includes("=") && i + 1 < argv.length) out.push(argv[++i]);
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      throw new QemuArgsError(`${arg}: unexpected argument (images are given with -kernel/-bios)`);
    }
    const option = QEMU_OPTIONS[arg.slice(1)];
    if (option === undefined) {
      throw new QemuArgsError(
        `${arg}: unknown option (rvisor takes a subset of QEMU's: rvisor -h)`,
      );
    }
    let value = "";
    if (option.value) {
      if (i + 1 >= argv.length) throw new QemuArgsError(`${arg}: needs a value`);
      value = argv[++i];
    }
    option.apply(r, value, option.value ? `${arg} ${value}` : arg, arg);
    // As QEMU: help at once, whatever else is given.
    if (r.help) return { args: ["--help"], origins: new Map() };
  }
  const { emit, bios, kernel, disks } = r;

  if (r.wait) {
    if (!r.gdb) {
      throw new QemuArgsError(
        "-S: rvisor holds the hart only for a debugger (add -s or -gdb tcp::PORT)",
      );
    }
    emit("--gdb-wait", undefined, "-S");
  }
  if (r.topics.length > 0) emit("--trace", r.topics.join(","), "-d");
  // One hart is rvisor's default too: the flag is left out, as for QEMU's other defaults.
  if (r.smp && r.smp.harts > 1) emit("--smp", String(r.smp.harts), r.smp.origin);
  if (disks.some((d) => d.snapshot) && disks.some((d) => !d.snapshot)) {
    throw new QemuArgsError(
      "-drive: snapshot=on on some drives only (rvisor's --disk-write covers every disk)",
    );
  }
  for (const d of disks) {
    emit("--disk", d.slot === undefined ? d.file : `${d.file},slot=${d.slot}`, d.origin);
  }
  // QEMU writes a -drive's file unless snapshot=on; rvisor only with --disk-write.
  if (disks.length > 0 && !disks[0].snapshot) emit("--disk-write", undefined, "-drive");

  if (bios === "none") {
    if (kernel === undefined) throw new QemuArgsError("-bios none: needs -kernel (nothing to run)");
    emit("--kernel", kernel, `-kernel ${kernel}`);
  } else {
    const firmware = bios === undefined || bios === "default"
      ? QEMU_DEFAULT_BIOS.find(exists)
      : bios;
    if (firmware === undefined) {
      throw new QemuArgsError(
        `-bios ${bios ?? "default"}: QEMU's OpenSBI is not installed (${QEMU_DEFAULT_BIOS[0]}; ` +
          "packages qemu-system-data or opensbi); give -bios FILE or -bios none",
      );
    }
    emit("--bios", firmware, `-bios ${bios ?? "default"}`);
    if (kernel !== undefined) emit("--kernel", kernel, `-kernel ${kernel}`);
  }
  // Both spellings of one setting: which was meant is a guess rvisor does not make.
  const twice = passed.find((flag) => origins.has(flag));
  if (twice !== undefined) {
    throw new QemuArgsError(`${twice}: also given as QEMU's ${origins.get(twice)}; give one`);
  }
  return { args: out, origins };
}
