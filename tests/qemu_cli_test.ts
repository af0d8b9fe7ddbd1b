/**
 * QEMU's command line on rvisor (devices/host/qemu-args.ts through boot.ts):
 * the translation to rvisor's flags, a one-line refusal for every option or
 * value rvisor cannot honour, and command lines written for QEMU (a teaching
 * kernel's Makefile) run through boot.ts and through QEMU 7.2 with the same
 * console output and exit codes.
 */

import assert from "node:assert/strict";
import { type BootOptions, parseBootArgs, UsageError } from "../boot.ts";
import {
  isQemuCommandLine,
  parseKeyval,
  QEMU_DEFAULT_BIOS,
  QemuArgsError,
  translateQemuArgs,
} from "../devices/host/qemu-args.ts";
import { buildGuests } from "../scripts/build-guests.ts";
import { parseFdt } from "../core/fdt.ts";
import {
  exists,
  HANG_GUARD_MS,
  hostTest,
  missing,
  QEMU,
  QEMU_CPU_FD,
  UBOOT_SMODE,
} from "../scripts/host-tools.ts";
import { assertGuestWrote, BLK_SLOT0, BLK_SLOT0_PASS, blkSlot0Image } from "./blk_slot0.ts";
import { promptSession } from "./prompt_session.ts";
import { runBoot } from "./boot_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TINYOS = `${ROOT}guests/tinyos/tinyos.elf`;
const FP_ARITH = `${ROOT}guests/isa/build/fp_arith.elf`;
const MiB = 1024 * 1024;

/** xv6-riscv's QEMUOPTS, with its kernel and disk image names. */
const XV6_LINE = [
  ...["-machine", "virt", "-bios", "none", "-kernel", "kernel/kernel", "-m", "128M"],
  ...["-smp", "1", "-nographic", "-global", "virtio-mmio.force-legacy=false"],
  ...["-drive", "file=fs.img,if=none,format=raw,id=x0"],
  ...["-device", "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0"],
];

/** A bare-metal program as QEMU runs one: `-bios none -kernel`. */
const BARE = ["-M", "virt", "-bios", "none", "-kernel", "k.elf"];

const noRvisorFlags = {};

Deno.test("qemu-cli: a command line with QEMU's single-dash options is QEMU's", () => {
  assert.ok(isQemuCommandLine(XV6_LINE));
  assert.ok(isQemuCommandLine(["-s"]));
  assert.ok(!isQemuCommandLine(["--kernel", "k.elf", "--stats"]));
  assert.ok(!isQemuCommandLine(["-h"]));
  assert.ok(!isQemuCommandLine([]));
});

Deno.test("qemu-cli: xv6's QEMUOPTS become rvisor's flags (disk in virtio-mmio slot 0)", () => {
  const t = translateQemuArgs(XV6_LINE, noRvisorFlags);
  assert.deepEqual(t.args, [
    "--mem=128M",
    "--disk=fs.img,slot=0",
    "--disk-write", // QEMU writes a -drive's file
    "--kernel=kernel/kernel",
  ]);
  assert.equal(t.origins.get("--disk"), "-device virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0");
});

Deno.test("qemu-cli: QEMU's option syntax: ,, escapes a comma, an implied first key", () => {
  assert.deepEqual(
    [...parseKeyval("-drive", "file=a,,b.img,if=none")],
    [["file", "a,b.img"], ["if", "none"]],
  );
  assert.deepEqual([...parseKeyval("-m", "256M", "size")], [["size", "256M"]]);
  assert.throws(() => parseKeyval("-rtc", "utc"), /^QemuArgsError: -rtc utc: expected key=value/);
});

/** parseBootArgs of BARE plus `extra`. */
const parse = (...extra: string[]): BootOptions => parseBootArgs([...BARE, ...extra]);

Deno.test("qemu-cli: each supported option means what it means on QEMU", () => {
  assert.equal(parse().kernel, "k.elf");
  assert.equal(parse().bios, undefined, "-bios none: the kernel runs in M-mode");
  assert.equal(parse().isa, "rv64imafdc", "QEMU's rv64 has F and D");
  assert.equal(parse("-m", "256").memory, 256 * MiB, "a plain -m number is MiB");
  assert.equal(parse("-m", "size=1G").memory, 1024 * MiB);
  assert.equal(parse("-m", "1.5G").memory, 1536 * MiB);
  assert.equal(parse("-smp", "cpus=1,cores=1,threads=1").kernel, "k.elf");
  assert.equal(parse("-cpu", "rv64").isa, "rv64imafdc");
  assert.equal(parse("-cpu", "rv64,f=off,d=false").isa, "rv64imac");
  assert.equal(parse("-cpu", "rv64,h=false,zba=off,Zihintpause=no,pmp=on").isa, "rv64imafdc");
  assert.equal(parse("-icount", "shift=0,sleep=off").clock, "virtual");
  assert.equal(parse("-icount", "0").clock, "virtual");
  assert.equal(parse().clock, "host");
  assert.equal(parse("-rtc", "base=2026-01-01T12:00:00").rtcBase, Date.UTC(2026, 0, 1, 12));
  assert.equal(parse("-rtc", "base=utc,clock=host").rtcBase, undefined);
  assert.deepEqual(parse("-s", "-S").gdb, { hostname: "127.0.0.1", port: 1234 });
  assert.equal(parse("-s", "-S").gdbWait, true);
  assert.deepEqual(parse("-gdb", "tcp::4321").gdb, { hostname: "127.0.0.1", port: 4321 });
  assert.deepEqual(parse("-gdb", "tcp:localhost:4321").gdb, { hostname: "localhost", port: 4321 });
  assert.deepEqual(parse("-d", "int").trace, ["trap"]);
  const misc = parse("-nographic", "-serial", "mon:stdio", "-no-reboot", "-append", "-x y");
  const quiet = parse("-display", "none", "-monitor", "none");
  assert.equal(quiet.kernel, "k.elf");
  assert.equal(misc.append, "-x y");
  assert.equal(misc.initrd, undefined);
  assert.equal(parse("-initrd", "r.cpio").initrd, "r.cpio");
  assert.deepEqual(parse("-global", "virtio-mmio.force-legacy=false").disks, []);
  // rvisor's own flags pass through.
  const own = parse("--no-hypervisor", "--timeout", "5", "--stats");
  assert.equal(own.hypervisor, false);
  assert.equal(own.timeoutMs, 5000);
  assert.equal(own.stats, true);
});

Deno.test("qemu-cli: disks: if=virtio, an unplaced device and a drive without if= as QEMU; snapshot=on keeps the file", () => {
  const drive = ["-drive", "file=d.img,if=none,format=raw,id=d"];
  const placed = parse(...drive, "-device", "virtio-blk-device,drive=d");
  assert.deepEqual(placed.disks.map((d) => d.path), ["d.img"]);
  assert.equal(placed.diskWrite, true);
  const virtio = parse("-drive", "file=v.img,if=virtio,format=raw,snapshot=on");
  assert.deepEqual(virtio.disks.map((d) => d.path), ["v.img"]);
  assert.equal(virtio.diskWrite, false);
  // A drive no device uses does nothing, on QEMU too.
  assert.deepEqual(parse(...drive).disks, []);
  // Without if=, as Buildroot's qemu_riscv64_virt line: only a -device uses it.
  const buildroot = ["-drive", "file=rootfs.ext2,format=raw,id=hd0"];
  const used = parse(...buildroot, "-device", "virtio-blk-device,drive=hd0");
  assert.deepEqual(used.disks.map((d) => d.path), ["rootfs.ext2"]);
  assert.deepEqual(parse(...buildroot).disks, []);
  assert.deepEqual(parse("-drive", "file=rootfs.ext2,format=raw").disks, []);
});

Deno.test("qemu-cli: -bios default (or none given) is QEMU's own OpenSBI, then Debian's", () => {
  const only = (path: string) => (p: string) => p === path;
  const kernel = ["-M", "virt", "-kernel", "Image"];
  assert.deepEqual(translateQemuArgs(kernel, noRvisorFlags, only(QEMU_DEFAULT_BIOS[0])).args, [
    `--bios=${QEMU_DEFAULT_BIOS[0]}`,
    "--kernel=Image",
  ]);
  assert.deepEqual(
    translateQemuArgs(["-bios", "default", ...kernel], noRvisorFlags, only(QEMU_DEFAULT_BIOS[2]))
      .args,
    [`--bios=${QEMU_DEFAULT_BIOS[2]}`, "--kernel=Image"],
  );
  assert.throws(
    () => translateQemuArgs(kernel, noRvisorFlags, () => false),
    /^QemuArgsError: -bios default: QEMU's OpenSBI is not installed/,
  );
  assert.deepEqual(translateQemuArgs(["-bios", "fw.bin", ...kernel], noRvisorFlags).args, [
    "--bios=fw.bin",
    "--kernel=Image",
  ]);
});

Deno.test("qemu-cli: -h prints rvisor's help, which lists the QEMU subset", () => {
  assert.equal(parseBootArgs(["-M", "virt", "-h"]).help, true);
  assert.equal(parseBootArgs(["-help"]).help, true);
});

/** Refused QEMU command lines (after BARE unless `alone`), and what the one line must say. */
const REFUSED: { args: string[]; message: RegExp; alone?: boolean }[] = [
  {
    args: ["-D", "qemu.log"],
    message: /^-D: unknown option \(rvisor takes a subset of QEMU's: rvisor -h\)$/,
  },
  { args: ["-monitor", "stdio"], message: /^-monitor stdio: rvisor has no monitor \(only none\)$/ },
  { args: ["-display", "gtk"], message: /^-display gtk: rvisor has no display \(only none\)$/ },
  { args: ["-netdev", "user,id=n"], message: /^-netdev: unknown option/ },
  { args: ["-snapshot"], message: /^-snapshot: unknown option/ },
  { args: ["-M", "sifive_u"], message: /^-M sifive_u: rvisor has only QEMU's virt machine/ },
  { args: ["-machine", "virt,aclint=on"], message: /^-machine virt,aclint=on: .*'aclint'/ },
  { args: ["-smp", "9"], message: /^-smp 9: rvisor's virt has 1 to 8 harts, not 9$/ },
  {
    args: ["-smp", "cpus=1,cores=2"],
    message:
      /^-smp cpus=1,cores=2: sockets \(0\) \* cores \(2\) \* threads \(1\) is not maxcpus \(1\)$/,
  },
  {
    args: ["-smp", "2,maxcpus=1"],
    message: /^-smp 2,maxcpus=1: maxcpus \(1\) is below cpus \(2\)$/,
  },
  { args: ["-smp", "4,dies=2"], message: /^-smp 4,dies=2: dies not supported by virt's/ },
  { args: ["-smp", "cores=two"], message: /^-smp cores=two: cores=two is not a whole number$/ },
  { args: ["-smp", "1,nodes=1"], message: /^-smp 1,nodes=1: rvisor does not take 'nodes'/ },
  { args: ["-cpu", "sifive-u54"], message: /^-cpu sifive-u54: rvisor's hart is QEMU's rv64/ },
  { args: ["-cpu", "rv64,v=on"], message: /^-cpu rv64,v=on: rvisor's hart has no v$/ },
  { args: ["-cpu", "rv64,h=true"], message: /^-cpu rv64,h=true: rvisor's hart has no h$/ },
  { args: ["-cpu", "rv64,f=off"], message: /^-cpu rv64,f=off: .*F and D together or neither/ },
  { args: ["-cpu", "rv64,c=off"], message: /^-cpu rv64,c=off: rvisor's hart always has c$/ },
  { args: ["-cpu", "rv64,vlen=128"], message: /^-cpu rv64,vlen=128: .* property 'vlen'/ },
  { args: ["-cpu", "rv64,f=maybe"], message: /^-cpu rv64,f=maybe: f=maybe is not on\/off/ },
  { args: ["-cpu", "rv64,f"], message: /^-cpu rv64,f: expected key=value/ },
  { args: ["-m", "4G"], message: /^-m 4G: RAM can be at most 2G$/ },
  { args: ["-m", "128M,maxmem=1G"], message: /^-m 128M,maxmem=1G: .*'maxmem'/ },
  { args: ["-serial", "pty"], message: /^-serial pty: rvisor's serial console is on stdio/ },
  { args: ["-serial", "stdio", "-serial", "stdio"], message: /^-serial stdio: .* one UART/ },
  {
    args: ["-global", "virtio-mmio.force-legacy=true"],
    message: /^-global virtio-mmio\.force-legacy=true: rvisor takes only .*=false/,
  },
  { args: ["-global", "foo.bar=1"], message: /^-global foo\.bar=1: rvisor takes only/ },
  {
    args: ["-drive", "file=x.img,if=none,format=qcow2,id=a"],
    message: /^-drive file=x\.img,if=none,format=qcow2,id=a: rvisor reads raw images only/,
  },
  {
    args: ["-drive", "file=x.img,if=none,id=a"],
    message: /^-drive file=x\.img,if=none,id=a: rvisor reads raw images only \(format=raw\)/,
  },
  {
    args: ["-drive", "file=x.img,if=ide,format=raw"],
    message: /^-drive .*: rvisor's disks are virtio/,
  },
  { args: ["-drive", "if=virtio,format=raw"], message: /^-drive if=virtio,format=raw: needs file/ },
  {
    args: ["-drive", "file=x.img,if=none,format=raw,id=a,cache=none"],
    message: /^-drive .*: rvisor does not take 'cache'/,
  },
  {
    args: ["-drive", "file=x.img,if=virtio,format=raw,readonly=on"],
    message: /^-drive .*: rvisor's virtio disk cannot be read-only/,
  },
  {
    args: ["-drive", "file=x.img,if=none,format=raw"],
    message: /^-drive .*: if=none needs id=ID/,
  },
  {
    args: [
      ...["-drive", "file=a.img,if=virtio,format=raw,snapshot=on"],
      ...["-drive", "file=b.img,if=virtio,format=raw"],
    ],
    message: /^-drive: snapshot=on on some drives only/,
  },
  { args: ["-device", "virtio-net-device"], message: /^-device virtio-net-device: rvisor has no/ },
  { args: ["-device", "loader,file=x,addr=0x1"], message: /^-device loader,.*: rvisor has no/ },
  {
    args: ["-device", "virtio-blk-device,drive=nope"],
    message: /^-device virtio-blk-device,drive=nope: no -drive with id=nope/,
  },
  {
    args: [
      ...["-drive", "file=x.img,if=none,format=raw,id=a"],
      ...["-device", "virtio-blk-device,drive=a,bus=virtio-mmio-bus.8"],
    ],
    message: /: bus must be virtio-mmio-bus\.0 to virtio-mmio-bus\.7$/,
  },
  {
    args: [
      ...["-drive", "file=x.img,if=none,format=raw,id=a"],
      ...["-device", "virtio-blk-device,drive=a,num-queues=2"],
    ],
    message: /: rvisor does not take 'num-queues'/,
  },
  { args: ["-rtc", "base=localtime"], message: /^-rtc base=localtime: rvisor's RTC keeps UTC/ },
  { args: ["-rtc", "clock=vm"], message: /^-rtc clock=vm: .*host clock/ },
  { args: ["-rtc", "base=yesterday"], message: /^-rtc base=yesterday: not a UTC date/ },
  { args: ["-icount", "shift=3"], message: /^-icount shift=3: .*\(shift=0 only\)$/ },
  { args: ["-icount", "shift=auto"], message: /^-icount shift=auto: .*\(shift=0 only\)$/ },
  { args: ["-icount", "0,align=on"], message: /^-icount 0,align=on: .*'align'/ },
  { args: ["-gdb", "unix:/tmp/gdb.sock"], message: /^-gdb unix:\/tmp\/gdb\.sock: .*tcp::PORT/ },
  { args: ["-S"], message: /^-S: rvisor holds the hart only for a debugger/ },
  { args: ["-d", "in_asm"], message: /^-d in_asm: rvisor has no log item 'in_asm'/ },
  { args: ["-kernel"], message: /^-kernel: needs a value$/ },
  { args: ["stray.img"], message: /^stray\.img: unexpected argument/ },
  { args: ["--frobnicate"], message: /^--frobnicate: not an rvisor option/ },
  {
    args: ["-m", "128", "--mem", "64M"],
    message: /^--mem: also given as QEMU's -m 128; give one$/,
  },
  {
    args: ["-M", "virt", "-bios", "none"],
    message: /^-bios none: needs -kernel \(nothing to run\)$/,
    alone: true,
  },
];

for (const { args, message, alone } of REFUSED) {
  const line = (alone ? args : [...BARE, ...args]).join(" ");
  Deno.test(`qemu-cli: refused with one line naming it: ${line}`, () => {
    assert.throws(() => parseBootArgs(alone ? args : [...BARE, ...args]), (e: Error) => {
      assert.ok(e instanceof UsageError, `${e}`);
      assert.ok(!e.message.includes("\n"), e.message);
      assert.match(e.message, message);
      return true;
    });
  });
}

/**
 * -smp values and the harts QEMU 7.2's virt makes of them (the cpu nodes of its
 * `dumpdtb`, checked below): sockets, cores and threads only have to multiply out.
 */
const SMP_HARTS: [string, number][] = [
  ["1", 1],
  ["0", 1],
  ["2", 2],
  ["cpus=4", 4],
  ["4,sockets=2", 4],
  ["4,cores=2,threads=2", 4],
  ["sockets=2,cores=2", 4],
  ["4,maxcpus=8", 4],
  ["cores=4", 4],
  ["threads=4", 4],
  ["maxcpus=3", 3],
  ["8", 8],
];

Deno.test("qemu-cli: -smp gives rvisor's --smp the harts QEMU's virt has (none for one hart)", () => {
  for (const [value, harts] of SMP_HARTS) {
    const t = translateQemuArgs([...BARE, "-smp", value], noRvisorFlags);
    assert.deepEqual(
      t.args.filter((a) => a.startsWith("--smp")),
      harts === 1 ? [] : [`--smp=${harts}`],
      `-smp ${value}`,
    );
    if (harts > 1) assert.equal(t.origins.get("--smp"), `-smp ${value}`);
  }
  // As QEMU's, a later -smp overrides an earlier one.
  const twice = translateQemuArgs([...BARE, "-smp", "4", "-smp", "2"], noRvisorFlags).args;
  assert.deepEqual(twice.filter((a) => a.startsWith("--smp")), ["--smp=2"]);
});

Deno.test(hostTest(
  "qemu-cli: QEMU 7.2 makes those -smp values the same harts, and refuses what rvisor refuses",
  missing(QEMU),
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const qemu = (value: string) =>
        new Deno.Command(QEMU, {
          args: ["-M", `virt,dumpdtb=${dir}/t.dtb`, "-smp", value, "-nographic", "-bios", "none"],
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).output();
      for (const [value, harts] of SMP_HARTS) {
        const { success, stderr } = await qemu(value);
        assert.ok(success, new TextDecoder().decode(stderr));
        const cpus = parseFdt(await Deno.readFile(`${dir}/t.dtb`)).root.find("/cpus")!;
        assert.equal(cpus.children.filter((c) => c.name.startsWith("cpu@")).length, harts, value);
      }
      for (const value of ["cpus=1,cores=2", "2,maxcpus=1", "4,dies=2"]) {
        assert.equal((await qemu(value)).success, false, `QEMU takes -smp ${value}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
));

Deno.test("qemu-cli: the translator's errors are its own class (boot.ts makes them usage errors)", () => {
  assert.throws(() => translateQemuArgs(["-D", "x"], noRvisorFlags), QemuArgsError);
});

Deno.test("qemu-cli: boot.ts refuses an unknown QEMU option with one line on stderr, exit 2", async () => {
  for (const args of [[...XV6_LINE, "-D", "qemu.log"], [...XV6_LINE, "-smp", "16"]]) {
    const r = await runBoot(args);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^rvisor: -(D|smp 16): [^\n]+\n$/);
  }
});

Deno.test("qemu-cli: boot.ts -h documents the QEMU subset", async () => {
  const r = await runBoot(["-h"]);
  assert.equal(r.code, 0);
  for (const option of ["-machine virt", "-bios none", "-smp N", "-cpu rv64", "-icount shift=0"]) {
    assert.ok(r.stdout.includes(option), `-h lacks ${option}`);
  }
  assert.match(r.stdout, /-device virtio-blk-device,drive=ID\[,bus=virtio-mmio-bus\.N\]/);
});

const NEED_QEMU = missing(QEMU);
const NEED_MAKE = missing(QEMU, "make");

/** A teaching kernel's Makefile, as xv6-riscv writes its qemu target. */
const MAKEFILE = `K = kernel.elf
QEMU = qemu-system-riscv64
QEMUOPTS = -machine virt -bios none -kernel $(K) -m 128M -smp 1 -nographic
QEMUOPTS += -global virtio-mmio.force-legacy=false
QEMUOPTS += -drive file=fs.img,if=none,format=raw,id=x0
QEMUOPTS += -device virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0

qemu: $(K) fs.img
\t$(QEMU) $(QEMUOPTS)
`;

/** Commands typed at tinyos's prompt, one per prompt. */
const COMMANDS = ["help", "echo hi", "poweroff"];

Deno.test(hostTest(
  `qemu-cli: a Makefile written for QEMU runs tinyos with QEMU="deno run -A boot.ts", ` +
    "bare and under the hypervisor, with QEMU's console output",
  NEED_MAKE,
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "rvisor-qemu-cli-" });
    try {
      Deno.writeTextFileSync(`${dir}/Makefile`, MAKEFILE);
      Deno.copyFileSync(TINYOS, `${dir}/kernel.elf`);
      const image = new Uint8Array(MiB).map((_, i) => i * 7);
      Deno.writeFileSync(`${dir}/fs.img`, image);
      const make = (qemu: string) =>
        promptSession(
          "make",
          ["-s", "qemu", `QEMU=${qemu}`],
          dir,
          COMMANDS,
        );
      const deno = `${Deno.execPath()} run -A ${ROOT}boot.ts`;
      const reference = await make(QEMU);
      assert.equal(reference.code, 0, reference.stderr);
      assert.match(reference.stdout, /\$ echo hi\r\nhi\r\n/);
      for (const rvisor of [deno, `${deno} --no-hypervisor`]) {
        const r = await make(rvisor);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
        assert.equal(r.stdout, reference.stdout, rvisor);
      }
      // tinyos never touches the disk; QEMU and rvisor leave it as it was.
      assert.deepEqual(Deno.readFileSync(`${dir}/fs.img`), image);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
));

Deno.test(hostTest(
  "qemu-cli: the same Makefile runs a disk driver that knows only virtio-mmio slot 0 " +
    "(guests/drivers/blk_slot0.c): it writes fs.img on QEMU and on rvisor, bare and under the " +
    "hypervisor",
  NEED_MAKE,
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "rvisor-qemu-cli-" });
    try {
      Deno.writeTextFileSync(`${dir}/Makefile`, MAKEFILE);
      Deno.copyFileSync(BLK_SLOT0, `${dir}/kernel.elf`);
      const image = blkSlot0Image();
      const deno = `${Deno.execPath()} run -A ${ROOT}boot.ts`;
      for (const qemu of [QEMU, deno, `${deno} --no-hypervisor`]) {
        Deno.writeFileSync(`${dir}/fs.img`, image);
        const out = await new Deno.Command("make", {
          args: ["-s", "qemu", `QEMU=${qemu}`],
          cwd: dir,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(HANG_GUARD_MS),
        }).output();
        const stdout = new TextDecoder().decode(out.stdout);
        assert.equal(out.code, 0, `${qemu}: ${new TextDecoder().decode(out.stderr)}`);
        assert.ok(stdout.includes(BLK_SLOT0_PASS), `${qemu}: ${stdout}`);
        assertGuestWrote(Deno.readFileSync(`${dir}/fs.img`), image);
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
));

Deno.test(hostTest(
  "qemu-cli: with no -cpu the hart has F and D on rvisor as on QEMU; -cpu rv64,f=off,d=off " +
    "takes them away on both",
  NEED_QEMU,
  async () => {
    if (!exists(FP_ARITH)) await buildGuests();
    const line = ["-machine", "virt", "-bios", "none", "-kernel", FP_ARITH, "-nographic"];
    for (const cpu of [[], ["-cpu", "rv64,f=off,d=off"]]) {
      const qemu = await new Deno.Command("timeout", {
        args: ["60", QEMU, ...line, ...cpu],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      for (const mode of [[], ["--no-hypervisor"]]) {
        const r = await runBoot([...line, ...cpu, ...mode, "--timeout", "60"]);
        assert.equal(r.code, qemu.code, `${cpu} ${mode}: ${r.stderr}`);
      }
      // fp_arith passes with F and D and fails its first case (illegal instruction) without.
      assert.equal(qemu.code, cpu.length === 0 ? 0 : 0x7f, new TextDecoder().decode(qemu.stderr));
    }
  },
));

/** Runs `cmd args` until its stdout shows `text` (or a hang guard of 120 s), then kills it. */
async function outputUntil(cmd: string, args: string[], text: string): Promise<string> {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "null" })
    .spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const dec = new TextDecoder();
  let out = "";
  try {
    for await (const chunk of child.stdout) {
      out += dec.decode(chunk, { stream: true });
      if (out.includes(text)) break;
    }
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch {
      // It had already exited.
    }
    await child.status;
  }
  return out;
}

/** OpenSBI's lines that say which firmware ran, where it went next, and for which hart. */
const OPENSBI_LINES =
  /^(Platform Name|Firmware Base|Domain0 Next Address|Domain0 Next Mode|Boot HART Base ISA|Boot HART ISA Extensions) +:.*$/gm;

Deno.test(hostTest(
  "qemu-cli: with no -bios, OpenSBI (QEMU's own fw_dynamic) starts U-Boot on rvisor as on QEMU",
  missing(QEMU, QEMU_DEFAULT_BIOS[0], UBOOT_SMODE),
  async () => {
    // QEMU_CPU_FD: QEMU's rv64 without the extensions rvisor lacks, so the ISA lines agree.
    const line = ["-M", "virt", "-nographic", "-cpu", QEMU_CPU_FD, "-kernel", UBOOT_SMODE];
    const mark = "Hit any key to stop autoboot";
    const qemu = await outputUntil(QEMU, line, mark);
    const rvisor = await outputUntil(
      Deno.execPath(),
      ["run", "-A", `${ROOT}boot.ts`, ...line],
      mark,
    );
    const lines = (text: string) => text.replaceAll("\r", "").match(OPENSBI_LINES);
    assert.equal(lines(qemu)?.length, 6, qemu);
    assert.deepEqual(lines(rvisor), lines(qemu));
    assert.match(rvisor, /U-Boot 2023\.01/);
    assert.ok(rvisor.includes(mark));
  },
));

Deno.test(hostTest(
  "qemu-cli: -no-reboot: a guest reset ends the run with exit 0 on rvisor as on QEMU",
  NEED_QEMU,
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "rvisor-qemu-cli-" });
    try {
      // sw 0x7777 to the syscon at 0x100000 (reset), then j .
      const words = [0x001002b7, 0x00007337, 0x77730313, 0x0062a023, 0x0000006f];
      const image = new Uint8Array(new Uint32Array(words).buffer);
      Deno.writeFileSync(`${dir}/reset.bin`, image);
      const line = [...["-M", "virt", "-bios", "none", "-kernel", `${dir}/reset.bin`]]
        .concat(["-nographic", "-no-reboot"]);
      const qemu = await new Deno.Command("timeout", {
        args: ["60", QEMU, ...line],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      assert.equal(qemu.code, 0);
      for (const mode of [[], ["--no-hypervisor"]]) {
        const r = await runBoot([...line, ...mode, "--timeout", "60"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /guest requested a reset/);
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
));
