/**
 * Debian's riscv64 Linux (scripts/fetch-linux.ts) on rvisor: the kernel
 * reaches /init, and with F/D in the hart busybox answers shell commands,
 * reads and writes the virtio disk, and powers off, bare and under the
 * hypervisor. The host disk image must be unchanged without --disk-write (a
 * copy-on-write overlay) and changed with it.
 *
 * The images are about 140 MB to download, so the tests run only when the
 * cache already holds them (run `deno run -A scripts/fetch-linux.ts` once) or
 * when RVISOR_LINUX=1 asks this file to fetch them; otherwise they are
 * ignored with the reason in their names.
 *
 * @module
 */

import assert from "node:assert/strict";
import { VirtMachine } from "../devices/virt.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";
import { openDiskImage } from "../devices/host/disk.ts";
import { cachedLinux, fetchLinux, INIT_MARKER, type LinuxImages } from "../scripts/fetch-linux.ts";

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
/** panic=-1: a kernel panic reboots at once, which ends the run instead of spinning. */
const APPEND = "console=ttyS0 earlycon=sbi no4lvl panic=-1";
const MiB = 1024 * 1024;
/** QEMU measured about 1.0e9 instructions to /init; leave room for slower paths. */
const BOOT_BUDGET = 3e9;
/** Instructions a shell command may take (sha256sum of 1 MiB is the largest). */
const COMMAND_BUDGET = 1e9;
const ISA = "rv64imafdc";
/** Block the test writes, and what it writes there. */
const WRITE_SECTOR = 8;
const WRITE_TEXT = "rvisor-linux-disk-write";

type Mode = "bare" | "hypervisor";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The images, or why the tests cannot run. */
async function findImages(): Promise<LinuxImages | string> {
  if (!exists(FW_JUMP)) return `no ${FW_JUMP} (Debian package opensbi)`;
  const cached = cachedLinux();
  if (cached) return cached;
  if (Deno.env.get("RVISOR_LINUX") !== "1") {
    return "no images in the cache: run scripts/fetch-linux.ts or set RVISOR_LINUX=1";
  }
  return await fetchLinux({ log: (line) => console.error(`fetch-linux: ${line}`) });
}

const images = await findImages();
const skip = typeof images === "string" ? images : undefined;

/**
 * Whether a machine of `mode` gives the guest F and D: the ISA option is
 * being added to the hart (core/fpu.ts); until then busybox cannot run. The
 * guest's device tree says what it gets.
 */
function hasFd(mode: Mode): boolean {
  const config = { memory: 2 * MiB, isa: ISA };
  try {
    const m = mode === "bare" ? new VirtMachine(config) : createHypervisorMachine(config);
    const guest = (m as { hypervisor?: { guest?: { layout?: { dtb?: Uint8Array } } } })
      .hypervisor?.guest?.layout?.dtb;
    const dtb = new TextDecoder("latin1").decode(guest ?? m.dtb.bytes);
    return /rv64imafd/.test(dtb);
  } catch {
    return false;
  }
}

/** Linux on rvisor, driven like a terminal. */
class Linux {
  readonly machine: VirtMachine;
  /** The disk backend (closed by the test so --disk-write data is in the file). */
  readonly disk: ReturnType<typeof openDiskImage> | undefined;
  output = "";
  #tag = 0;

  constructor(mode: Mode, imgs: LinuxImages, disk?: string, diskWrite = false) {
    this.disk = disk === undefined ? undefined : openDiskImage(disk, diskWrite);
    const read = (name: string) => ({ name, bytes: Deno.readFileSync(name) });
    const config = {
      memory: 256 * MiB,
      isa: ISA,
      bios: read(FW_JUMP),
      kernel: read(imgs.kernel),
      initrd: read(imgs.initrd),
      append: APPEND,
      disk: this.disk,
      clock: "virtual" as const,
      console: (b: number) => this.output += String.fromCharCode(b),
    };
    this.machine = mode === "bare" ? new VirtMachine(config) : createHypervisorMachine(config);
  }

  /** The console's last lines, for failure messages. */
  tail(lines = 25): string {
    return this.output.split("\n").slice(-lines).join("\n");
  }

  /** Runs until `text` appears after output position `from`; false on halt or budget. */
  async waitFor(text: string, from: number, budget: number): Promise<boolean> {
    const start = this.machine.hart.retired;
    while (!this.output.includes(text, from)) {
      if (this.machine.hart.retired - start > budget) return false;
      const r = await this.machine.run({ maxInstructions: 5_000_000 });
      if (r.stop === "halt") return this.output.includes(text, from);
    }
    return true;
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

Deno.test({
  name: `linux: the kernel boots to /init bare${skip ? ` (ignored: ${skip})` : ""}`,
  ignore: skip !== undefined,
  async fn() {
    const linux = new Linux("bare", images as LinuxImages);
    const reached = await linux.waitFor("Run /init as init process", 0, BOOT_BUDGET);
    assert.ok(
      reached,
      `no /init after ${linux.machine.hart.retired} instructions:\n${linux.tail()}`,
    );
    assert.match(linux.output, /Linux version 6\.\d+/);
  },
});

for (const [mode, diskWrite] of [["bare", false], ["hypervisor", true]] as const) {
  const why = skip ?? (hasFd(mode) ? undefined : `the ${mode} hart has no F/D for busybox`);
  const flag = diskWrite ? "--disk-write" : "a copy-on-write disk";
  Deno.test({
    name: `linux: busybox shell, virtio disk and poweroff ${mode} with ${flag}${
      why ? ` (ignored: ${why})` : ""
    }`,
    ignore: why !== undefined,
    async fn() {
      const dir = Deno.makeTempDirSync({ prefix: "rvisor-linux-" });
      try {
        const diskPath = `${dir}/disk.img`;
        const original = makeDisk(diskPath);
        const linux = new Linux(mode, images as LinuxImages, diskPath, diskWrite);
        assert.ok(
          await linux.waitFor(INIT_MARKER, 0, BOOT_BUDGET),
          `no '${INIT_MARKER}' after ${linux.machine.hart.retired} instructions:\n${linux.tail()}`,
        );

        await linux.settle();
        assert.match(await linux.command("uname -a"), /^Linux \S+ 6\.\d+\S* .* riscv64/m);
        const cpuinfo = await linux.command("cat /proc/cpuinfo");
        assert.match(cpuinfo, /^isa\s*: rv64imafdc/m);
        assert.match(cpuinfo, /^mmu\s*: sv39/m);

        // Reading the whole disk through multi-descriptor requests gives the host's bytes.
        const sum = await linux.command("sha256sum /dev/vda");
        assert.match(sum, new RegExp(`^${await sha256(original)}\\s+/dev/vda`, "m"));

        // Write a block, flush, drop the page cache, read it back from the device.
        const written = await linux.command(
          `echo ${WRITE_TEXT} | dd of=/dev/vda bs=512 seek=${WRITE_SECTOR} conv=notrunc,fsync` +
            ` 2>/dev/null; sync; echo 3 > /proc/sys/vm/drop_caches;` +
            ` dd if=/dev/vda bs=512 skip=${WRITE_SECTOR} count=1 2>/dev/null | head -c ${WRITE_TEXT.length}; echo`,
        );
        assert.match(written, new RegExp(`^${WRITE_TEXT}$`, "m"));

        const from = linux.output.length;
        linux.machine.input("poweroff -f\n");
        await linux.waitFor("\u0000never", from, COMMAND_BUDGET);
        assert.equal(linux.machine.halted?.reason, "poweroff", linux.tail());
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
  });
}
