/**
 * Debian's riscv64 Linux (scripts/fetch-linux.ts) on rvisor, to the busybox
 * shell: bare and under the hypervisor with OpenSBI (fw_jump) as the guest's
 * firmware, under the hypervisor with the built-in SBI firmware, and bare
 * through U-Boot's booti (the Image and initrd copied into RAM as QEMU's
 * `-device loader` would). The last two also run with the block translator off
 * and must give the same console bytes, instruction counts and exits. The two OpenSBI boots run the whole session:
 * uname, /proc/cpuinfo, the virtio disk read whole, a block written, synced
 * and read back, poweroff; the host disk image must be unchanged without
 * --disk-write (a copy-on-write overlay) and changed with it.
 *
 * The images are about 140 MB to download, so the tests run only when the
 * cache already holds them (run `deno run -A scripts/fetch-linux.ts` once) or
 * when RVISOR_LINUX=1 asks this file to fetch them (`scripts/rvisor.sh test`
 * does); otherwise they are ignored with the reason in their names. Once
 * asked for, a fetch that fails (the archive out of reach, or a bug in
 * fetch-linux.ts) fails the tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type VirtConfig, VirtMachine } from "../devices/virt.ts";
import { createHypervisorMachine, type Hypervisor } from "../hypervisor/hypervisor.ts";
import { openDiskImage } from "../devices/host/disk.ts";
import { hex } from "../hypervisor/inspect.ts";
import {
  INIT_MARKER,
  linuxForTests,
  type LinuxImages,
  REPRODUCIBLE_RTC_BASE,
} from "../scripts/fetch-linux.ts";
import {
  hostTest,
  missing,
  OPENSBI_FW_JUMP as FW_JUMP,
  UBOOT_SMODE as UBOOT,
} from "../scripts/host-tools.ts";

/** panic=-1: a kernel panic reboots at once, which ends the run instead of spinning. */
const APPEND = "console=ttyS0 earlycon=sbi no4lvl panic=-1";
const MiB = 1024 * 1024;
/** QEMU measured about 1.0e9 instructions to /init; leave room for slower paths. */
const BOOT_BUDGET = 3e9;
/** Instructions a shell command may take (sha256sum of 1 MiB is the largest). */
const COMMAND_BUDGET = 1e9;
/** Instructions per run slice. */
const SLICE = 5_000_000;
/**
 * Wall time a slice may take before the test calls the guest stuck: about 100x
 * what it takes on a loaded 2-core machine. A hang guard, not a speed check.
 */
const SLICE_WALL_MS = 60_000;
/** Instructions U-Boot may take to its prompt (about 30 M) or to answer a command. */
const UBOOT_BUDGET = 2e8;
/** Where booti finds the Image and the initrd: 2 MiB aligned, clear of U-Boot at the top. */
const BOOTI_KERNEL = 0x8400_0000;
const BOOTI_INITRD = 0x8800_0000;
/** Block the test writes, and what it writes there. */
const WRITE_SECTOR = 8;
const WRITE_TEXT = "rvisor-linux-disk-write";

/** How Linux is started. */
type Boot = "bare" | "hypervisor" | "hypervisor-builtin" | "bare-booti";

const images = await linuxForTests();

/**
 * A Linux test: ignored with the reason in its name when the images were not
 * asked for; failing with the fetch's error when they were and did not come;
 * and needing Debian's firmware as any other host tool.
 */
function linuxTest(name: string, fn: (images: LinuxImages) => Promise<void>): Deno.TestDefinition {
  if (typeof images === "string") {
    return { name: `${name} (ignored: ${images})`, ignore: true, fn() {} };
  }
  return hostTest(name, missing(FW_JUMP, UBOOT), () => {
    if (images instanceof Error) throw images;
    return fn(images);
  });
}

/** Linux on rvisor, driven like a terminal. */
class Linux {
  readonly machine: VirtMachine;
  /** The hypervisor, when the guest runs under it. */
  readonly hypervisor: Hypervisor | undefined;
  /** The disk backend (closed by the test so --disk-write data is in the file). */
  readonly disk: ReturnType<typeof openDiskImage> | undefined;
  output = "";
  #tag = 0;

  constructor(
    readonly boot: Boot,
    imgs: LinuxImages,
    disk?: string,
    diskWrite = false,
    smp = 1,
    jit: boolean | "js" | "wasm" = true,
  ) {
    this.disk = disk === undefined ? undefined : openDiskImage(disk, diskWrite);
    const read = (name: string) => ({ name, bytes: Deno.readFileSync(name) });
    const kernel = read(imgs.kernel), initrd = read(imgs.initrd);
    const firmware: Pick<VirtConfig, "bios" | "kernel" | "initrd" | "append" | "loads"> =
      boot === "bare-booti"
        ? {
          bios: read(FW_JUMP),
          kernel: read(UBOOT),
          loads: [
            { file: kernel, address: BOOTI_KERNEL },
            { file: initrd, address: BOOTI_INITRD },
          ],
        }
        : boot === "hypervisor-builtin"
        ? { kernel, initrd, append: APPEND }
        : { bios: read(FW_JUMP), kernel, initrd, append: APPEND };
    const config = {
      // No isa: the default hart has the D that busybox needs (glibc's setjmp saves fs0).
      memory: 256 * MiB,
      ...firmware,
      disk: this.disk,
      clock: "virtual" as const,
      rtcBase: REPRODUCIBLE_RTC_BASE,
      console: (b: number) => this.output += String.fromCharCode(b),
      smp,
      jit,
    };
    const hm = boot.startsWith("bare") ? null : createHypervisorMachine({
      ...config,
      firmware: boot === "hypervisor-builtin" ? "builtin" : "guest",
    });
    this.hypervisor = hm?.hypervisor;
    this.machine = hm ?? new VirtMachine(config);
  }

  /** The console's last lines, for failure messages. */
  tail(lines = 25): string {
    return this.output.split("\n").slice(-lines).join("\n");
  }

  /**
   * Runs until `text` appears after output position `from`; false on halt or
   * budget. The budget counts what each slice ran, instructions or the traps of
   * a trap loop, so a loop that retires nothing still ends. A slice that makes
   * no progress in SLICE_WALL_MS (a hart waiting for an interrupt nothing will
   * raise) fails the test instead of hanging it.
   */
  async waitFor(text: string, from: number, budget: number): Promise<boolean> {
    for (let ran = 0; !this.output.includes(text, from); ran += SLICE) {
      if (ran > budget) return false;
      const r = await this.machine.run({ maxInstructions: SLICE, timeoutMs: SLICE_WALL_MS });
      if (r.stop === "halt") return this.output.includes(text, from);
      assert.equal(r.stop, "limit", `${this.state()} after ${r.stop}:\n${this.tail()}`);
    }
    return true;
  }

  /** Where the hart is, for failure messages. */
  state(): string {
    const h = this.machine.hart;
    const idle = h.waiting ? ", waiting in wfi" : "";
    return `hart at pc ${hex(h.pc)} after ${h.retired} instructions${idle}`;
  }

  /** Runs until `text` appears in new output, or fails the test with the console's tail. */
  async expect(text: string, budget: number, what = `'${text}'`): Promise<void> {
    const from = this.output.length;
    assert.ok(
      await this.waitFor(text, from, budget),
      `no ${what} after ${this.machine.hart.retired} instructions:\n${this.tail()}`,
    );
  }

  /**
   * From reset to the kernel's /init. Through U-Boot: stop autoboot, set the
   * command line and booti the Image and initrd that were loaded into RAM.
   */
  async bootToInit(initrdBytes: number): Promise<void> {
    if (this.boot === "bare-booti") {
      await this.expect("Hit any key to stop autoboot", UBOOT_BUDGET);
      this.machine.input(" ");
      await this.expect("=> ", UBOOT_BUDGET);
      this.machine.input(`setenv bootargs "${APPEND}"\n`);
      await this.expect("=> ", UBOOT_BUDGET);
      const initrd = `0x${BOOTI_INITRD.toString(16)}:0x${initrdBytes.toString(16)}`;
      this.machine.input(`booti 0x${BOOTI_KERNEL.toString(16)} ${initrd} \${fdtcontroladdr}\n`);
      await this.expect("Starting kernel", UBOOT_BUDGET);
    }
    await this.expect(INIT_MARKER, BOOT_BUDGET);
    assert.match(this.output, /Linux version 6\.\d+/);
  }

  /**
   * Waits for the first prompt and types an empty line: busybox's line editor
   * asks the terminal for the cursor position (ESC [6n) and, with no terminal
   * to answer, the first characters typed are taken for the answer (QEMU
   * shows the same).
   */
  async settle(): Promise<void> {
    assert.ok(await this.waitFor("# ", 0, COMMAND_BUDGET), `no prompt:\n${this.tail()}`);
    const from = this.output.length;
    this.machine.input("\n");
    await this.waitFor("# ", from, COMMAND_BUDGET / 10);
  }

  /**
   * Types `line` and returns what it printed. The end marker is typed split
   * by quotes (`@@EN''D3`) so the terminal's echo of the line cannot match it.
   */
  async command(line: string): Promise<string> {
    const tag = `@@END${++this.#tag}@@`;
    const from = this.output.length;
    this.machine.input(`${line}; echo ${tag.slice(0, 4)}''${tag.slice(4)}\n`);
    assert.ok(
      await this.waitFor(`${tag}\r\n`, from, COMMAND_BUDGET),
      `no answer to '${line}':\n${this.tail()}`,
    );
    const text = this.output.slice(from, this.output.indexOf(`${tag}\r\n`, from));
    // Drop the echoed command line.
    return text.slice(text.indexOf("\n") + 1).replaceAll("\r\n", "\n");
  }

  /** uname and /proc/cpuinfo describe the machine rvisor gives the guest; returns cpuinfo. */
  async checkIdentity(): Promise<string> {
    assert.match(await this.command("uname -a"), /^Linux \S+ 6\.\d+\S* .* riscv64/m);
    const cpuinfo = await this.command("cat /proc/cpuinfo");
    assert.match(cpuinfo, /^isa\s*: rv64imafdc/m);
    assert.match(cpuinfo, /^mmu\s*: sv39/m);
    return cpuinfo;
  }

  /**
   * Reads the whole disk (`original` its bytes) through multi-descriptor
   * requests, then writes a block, flushes, drops the page cache and reads
   * it back from the device.
   */
  async checkDisk(original: Uint8Array): Promise<void> {
    const sum = await this.command("sha256sum /dev/vda");
    assert.match(sum, new RegExp(`^${await sha256(original)}\\s+/dev/vda`, "m"));
    const written = await this.command(
      `echo ${WRITE_TEXT} | dd of=/dev/vda bs=512 seek=${WRITE_SECTOR} conv=notrunc,fsync` +
        ` 2>/dev/null; sync; echo 3 > /proc/sys/vm/drop_caches;` +
        ` dd if=/dev/vda bs=512 skip=${WRITE_SECTOR} count=1 2>/dev/null | head -c ${WRITE_TEXT.length}; echo`,
    );
    assert.match(written, new RegExp(`^${WRITE_TEXT}$`, "m"));
  }

  /** What the translator must not change: console bytes, counts, hypervisor exits. */
  outcome(): string {
    const exits = this.hypervisor?.exitCounts ?? [];
    const counts = `${this.machine.guestInstructions} ${this.machine.hart.retired}`;
    return `${counts} ${JSON.stringify([...exits])}\n${this.output}`;
  }

  /** Share of the hart's instructions that ran in translated blocks. */
  translatedShare(): number {
    const t = this.machine.hart.translator;
    return (t?.stats.translatedInstructions ?? 0) / this.machine.hart.retired;
  }

  /** `poweroff -f` ends the run with a poweroff halt. */
  async powerOff(): Promise<void> {
    const from = this.output.length;
    this.machine.input("poweroff -f\n");
    await this.waitFor("\u0000never", from, COMMAND_BUDGET);
    assert.equal(this.machine.halted?.reason, "poweroff", this.tail());
  }
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A 1 MiB disk image with a pattern no block repeats exactly. */
function makeDisk(path: string): Uint8Array {
  const bytes = new Uint8Array(MiB);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 9) * 13) & 0xff;
  Deno.writeFileSync(path, bytes);
  return bytes;
}

const initrdBytes = (images: LinuxImages) => Deno.statSync(images.initrd).size;

for (const [boot, diskWrite] of [["bare", false], ["hypervisor", true]] as const) {
  const flag = diskWrite ? "--disk-write" : "a copy-on-write disk";
  Deno.test(linuxTest(
    `linux: busybox shell, virtio disk and poweroff ${boot} with ${flag}`,
    async (images) => {
      const dir = Deno.makeTempDirSync({ prefix: "rvisor-linux-" });
      try {
        const diskPath = `${dir}/disk.img`;
        const original = makeDisk(diskPath);
        const linux = new Linux(boot, images, diskPath, diskWrite);
        await linux.bootToInit(initrdBytes(images));
        await linux.settle();
        await linux.checkIdentity();

        await linux.checkDisk(original);
        await linux.powerOff();
        linux.disk?.close?.();

        const after = Deno.readFileSync(diskPath);
        const at = WRITE_SECTOR * 512;
        if (diskWrite) {
          const text = new TextDecoder().decode(after.subarray(at, at + WRITE_TEXT.length));
          assert.equal(text, WRITE_TEXT, "--disk-write: the write did not reach the file");
        } else {
          assert.equal(await sha256(after), await sha256(original), "the host disk changed");
        }
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    },
  ));
}

for (
  const [boot, how] of [
    ["hypervisor-builtin", "under the hypervisor with the built-in SBI firmware"],
    ["bare-booti", "bare through U-Boot's booti"],
  ] as const
) {
  // The differential of the translator: the same run with it off (the interpreter alone).
  Deno.test(linuxTest(
    `linux: busybox shell and poweroff ${how}, identical with the translator off and with wasm blocks`,
    async (images) => {
      const outcomes: string[] = [];
      for (const jit of ["js", "wasm", false] as const) {
        const linux = new Linux(boot, images, undefined, false, 1, jit);
        await linux.bootToInit(initrdBytes(images));
        await linux.settle();
        await linux.checkIdentity();
        await linux.powerOff();
        if (jit) {
          const share = linux.translatedShare();
          assert.ok(share > 0.5, `only ${(share * 100).toFixed(1)} % translated`);
        }
        outcomes.push(linux.outcome());
      }
      for (const outcome of outcomes) assert.equal(outcome, outcomes[0]);
    },
  ));
}

Deno.test(linuxTest(
  "linux: --smp 2 bare boots to the shell; cpuinfo lists both harts, nproc says 2; two virtual-clock runs are identical",
  async (images) => {
    const boot = async () => {
      const linux = new Linux("bare", images, undefined, false, 2);
      await linux.bootToInit(initrdBytes(images));
      await linux.settle();
      return linux;
    };
    const a = await boot();
    assert.match(a.output, /smp: Brought up 1 node, 2 CPUs/);
    const b = await boot();
    assert.equal(b.output, a.output, "the same console output to the prompt");
    assert.deepEqual(
      b.machine.harts.map((h) => h.retired),
      a.machine.harts.map((h) => h.retired),
      "the same instructions on each hart",
    );
    const cpuinfo = await a.command("cat /proc/cpuinfo");
    assert.deepEqual([...cpuinfo.matchAll(/^processor\s*: (\d+)/gm)].map((m) => m[1]), ["0", "1"]);
    assert.deepEqual([...cpuinfo.matchAll(/^hart\s*: (\d+)/gm)].map((m) => m[1]), ["0", "1"]);
    assert.match(await a.command("nproc"), /^2$/m);
    await a.powerOff();
  },
));

Deno.test(linuxTest(
  "linux: --smp 4 bare boots to the shell; cpuinfo lists the 4 harts, nproc says 4",
  async (images) => {
    const linux = new Linux("bare", images, undefined, false, 4);
    await linux.bootToInit(initrdBytes(images));
    assert.match(linux.output, /smp: Brought up 1 node, 4 CPUs/);
    await linux.settle();
    const cpuinfo = await linux.command("cat /proc/cpuinfo");
    assert.deepEqual(
      [...cpuinfo.matchAll(/^hart\s*: (\d+)/gm)].map((m) => m[1]),
      ["0", "1", "2", "3"],
    );
    assert.match(await linux.command("nproc"), /^4$/m);
    await linux.powerOff();
  },
));

/** The hart numbers /proc/cpuinfo lists. */
const cpuinfoHarts = (cpuinfo: string) =>
  [...cpuinfo.matchAll(/^hart\s*: (\d+)/gm)].map((m) => m[1]);

for (
  const [boot, how] of [
    ["hypervisor-builtin", "the built-in firmware (HSM, IPI, RFENCE)"],
    ["hypervisor", "OpenSBI in virtual M-mode (its harts through the guest CLINT)"],
  ] as const
) {
  Deno.test(linuxTest(
    `linux: --smp 2 under the hypervisor with ${how} boots to the shell; cpuinfo lists both vCPUs, nproc says 2` +
      (boot === "hypervisor-builtin" ? "; saved at the prompt, restored, it answers the same" : ""),
    async (images) => {
      const linux = new Linux(boot, images, undefined, false, 2);
      await linux.bootToInit(initrdBytes(images));
      assert.match(linux.output, /smp: Brought up 1 node, 2 CPUs/);
      await linux.settle();
      assert.deepEqual(cpuinfoHarts(await linux.command("cat /proc/cpuinfo")), ["0", "1"]);
      assert.match(await linux.command("nproc"), /^2$/m);
      // Both vCPUs ran on their own host harts.
      assert.equal(linux.hypervisor!.vcpus.length, 2);
      assert.ok(linux.machine.harts[1].retired > 1e6, `${linux.machine.harts[1].retired}`);
      if (boot === "hypervisor-builtin") {
        // Saved at the prompt and restored into a new machine (one boot for both): typed
        // the same line, the restored Linux answers as the original, at the same counts.
        const restored = new Linux(boot, images, undefined, false, 2);
        restored.machine.restore(linux.machine.saveSnapshot());
        const answer = async (l: Linux) => {
          const from = l.output.length;
          l.machine.input("echo restored''-ok; nproc\n");
          assert.ok(await l.waitFor("restored-ok\r\n2\r\n~ # ", from, COMMAND_BUDGET), l.tail());
          return [l.output.slice(from), l.machine.harts.map((h) => h.retired)];
        };
        assert.deepEqual(await answer(restored), await answer(linux));
        assert.deepEqual(
          restored.hypervisor!.vcpus.map((v) => [...v.exitCounts].sort()),
          linux.hypervisor!.vcpus.map((v) => [...v.exitCounts].sort()),
        );
      }
      await linux.powerOff();
    },
  ));

  // The single-hart session (identity, the disk read whole, a block written and read back) on
  // 4 vCPUs, where the disk's interrupts and the page cache's work land on any of them.
  Deno.test(linuxTest(
    `linux: --smp 4 under the hypervisor with ${how}: the single-hart session, cpuinfo lists the 4 vCPUs, nproc says 4`,
    async (images) => {
      const dir = Deno.makeTempDirSync({ prefix: "rvisor-linux-" });
      try {
        const diskPath = `${dir}/disk.img`;
        const original = makeDisk(diskPath);
        const linux = new Linux(boot, images, diskPath, false, 4);
        await linux.bootToInit(initrdBytes(images));
        assert.match(linux.output, /smp: Brought up 1 node, 4 CPUs/);
        await linux.settle();
        assert.deepEqual(cpuinfoHarts(await linux.checkIdentity()), ["0", "1", "2", "3"]);
        assert.match(await linux.command("nproc"), /^4$/m);
        await linux.checkDisk(original);
        assert.equal(linux.hypervisor!.vcpus.length, 4);
        for (const h of linux.machine.harts) {
          assert.ok(h.retired > 1e6, `hart ${h.hartId}: ${h.retired}`);
        }
        // What lost IPIs or a vCPU starved of its turns would make the kernel say.
        assert.doesNotMatch(linux.output, /rcu.*stall|soft lockup|BUG:|WARNING:/i);
        await linux.powerOff();
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    },
  ));
}
