/**
 * The `virt` board's device set and boot image placement, shared by the host
 * machine and by the hypervisor's guest machine: both are QEMU `virt` boards,
 * one wired to the emulated hart, the other to a guest vCPU.
 *
 * Boot conventions (as QEMU 7.2):
 * - kernel without bios (`-bios none -kernel`): the ELF's segments are loaded
 *   and the reset vector jumps to its entry in M-mode.
 * - bios (+ kernel): the firmware starts in M-mode; the kernel is placed at
 *   0x8020_0000 (fw_jump's next stage), a0 = hart id, a1 = DTB; the boot ROM
 *   also carries fw_dynamic_info for fw_dynamic firmware.
 *
 * @module
 */

import type { Bus } from "../core/bus.ts";
import { type Clock, TIMEBASE_HZ } from "../core/clock.ts";
import { type ElfImage, loadElf, parseElf } from "../core/elf.ts";
import type { EventBus, HaltReason } from "../core/events.ts";
import type { InterruptTarget } from "../core/irq.ts";
import { type BlockBackend, CowOverlay, type CowOverlayState, diskFingerprint } from "./block.ts";
import { fingerprint, type SnapshotConfig } from "../core/snapshot.ts";
import { bootRomImage, fdtLoadAddress, initrdLoadAddress, KERNEL_LOAD_ADDRESS } from "./bootrom.ts";
import { Clint, type ClintState } from "./clint.ts";
import { buildVirtDtb, VIRT_IRQ, VIRT_MEMMAP, VIRTIO_SLOTS } from "./dtb.ts";
import { Plic, type PlicState } from "./plic.ts";
import { GoldfishRtc, type RtcState } from "./rtc.ts";
import { Syscon } from "./syscon.ts";
import { Uart16550, type UartState } from "./uart.ts";
import { EmptyVirtioSlot, type VirtioMmioState, VirtioMmioTransport } from "./virtio-mmio.ts";
import { VirtioBlockDevice } from "./virtio-blk.ts";

/** An image to load: its bytes and a name used in error messages. */
export interface ImageFile {
  /** File name (or any label) for messages. */
  name: string;
  /** The file's bytes: an ELF64 RISC-V image or a raw binary. */
  bytes: Uint8Array;
}

/** The most harts a board has (QEMU's `virt` takes more; 8 is what rvisor schedules). */
export const MAX_HARTS = 8;

/** Nanoseconds per mtime tick: the RTC's time advances with mtime. */
const NS_PER_TICK = BigInt(1e9 / TIMEBASE_HZ);

/** Thrown for configurations and images that cannot boot; the message names the input. */
export class MachineConfigError extends Error {
  override name = "MachineConfigError";
}

/** What the devices of a board are connected to. */
export interface BoardWiring {
  /** The bus the devices are mapped on (and the RAM virtio reaches by DMA). */
  bus: Bus;
  /**
   * The harts (or vCPUs) whose mip lines the CLINT and PLIC drive, by hart id:
   * 1 to {@linkcode MAX_HARTS}.
   */
  cpus: readonly InterruptTarget[];
  /** mtime. */
  clock: Clock;
  /** Event bus for device events. */
  events: EventBus;
  /** Receives UART output. */
  console: (byte: number) => void;
  /** Called when the guest writes the syscon finisher. */
  halt: (reason: HaltReason, code: number) => void;
  /** Disks behind virtio block devices, each in its virtio-mmio slot. */
  disks?: readonly DiskSlot[];
  /** The RTC's time at mtime 0, in ms since the Unix epoch (default: the host's time now). */
  rtcBase?: number;
}

/** A disk for the board and the virtio-mmio slot it goes in. */
export interface DiskSlot {
  /** The disk. */
  backend: BlockBackend;
  /**
   * virtio-mmio slot 0..7 (QEMU's `virtio-mmio-bus.N`: 0x1000_1000 + N * 0x1000,
   * PLIC source N + 1). Without it, the highest slot still free, as QEMU places
   * a `-device virtio-blk-device` given no `bus=`.
   */
  slot?: number;
  /** The disk's name (file name) for error messages. */
  name?: string;
}

/**
 * The slot of each disk, in order, as QEMU places `-device virtio-blk-device`s:
 * devices are plugged in command-line order, an explicit slot must be free,
 * and a device without one goes to the highest free slot (QEMU finds the
 * newest virtio-mmio bus with room first, and the transports are created from
 * slot 0 up). Throws {@linkcode MachineConfigError} naming the disk.
 */
export function assignDiskSlots(disks: readonly { slot?: number; name?: string }[]): number[] {
  const holder: (string | undefined)[] = new Array(VIRTIO_SLOTS);
  return disks.map(({ slot, name }, i) => {
    const label = name ?? `disk ${i}`;
    if (slot !== undefined && !(Number.isInteger(slot) && slot >= 0 && slot < VIRTIO_SLOTS)) {
      throw new MachineConfigError(
        `${label}: slot ${slot} is not a virtio-mmio slot (0..${VIRTIO_SLOTS - 1})`,
      );
    }
    let at = slot ?? -1;
    if (slot === undefined) {
      for (let s = VIRTIO_SLOTS - 1; s >= 0 && at < 0; s--) if (!(s in holder)) at = s;
      if (at < 0) {
        throw new MachineConfigError(
          `${label}: no free virtio-mmio slot (there are ${VIRTIO_SLOTS})`,
        );
      }
    } else if (at in holder) {
      throw new MachineConfigError(`${label}: slot ${at} already holds ${holder[at]}`);
    }
    holder[at] = label;
    return at;
  });
}

/** The disks of a machine config: the single `disk` (placed first) and then `disks`. */
export function configDisks(
  config: { disk?: BlockBackend; disks?: readonly DiskSlot[] },
): DiskSlot[] {
  return [...(config.disk ? [{ backend: config.disk }] : []), ...(config.disks ?? [])];
}

/** A disk plugged into the board: its slot, its storage and its virtio-mmio transport. */
export interface AttachedDisk {
  /** virtio-mmio slot 0..7. */
  readonly slot: number;
  /** The disk. */
  readonly backend: BlockBackend;
  /** The transport in front of the virtio block device. */
  readonly transport: VirtioMmioTransport;
}

/** Saved state of one {@linkcode AttachedDisk}. */
export interface DiskState {
  /** Its slot, checked on restore. */
  slot: number;
  /** The virtio transport. */
  transport: VirtioMmioState;
  /** The copy-on-write disk's written chunks, if the disk is an overlay. */
  overlay: CowOverlayState | null;
}

/** Saved state of a {@linkcode VirtDevices} board. */
export interface VirtDevicesState {
  /** The RTC's start-up wall-clock time in ns. */
  epochNs: number;
  /** CLINT. */
  clint: ClintState;
  /** PLIC. */
  plic: PlicState;
  /** UART0. */
  uart: UartState;
  /** RTC. */
  rtc: RtcState;
  /** The disks, by increasing slot. */
  disks: DiskState[];
}

/** The devices of QEMU's `virt` board, mapped at QEMU's addresses. */
export class VirtDevices {
  /** Core-local interruptor. */
  readonly clint: Clint;
  /** Platform-level interrupt controller. */
  readonly plic: Plic;
  /** UART0. */
  readonly uart: Uart16550;
  /** Goldfish RTC. */
  readonly rtc: GoldfishRtc;
  /** The disks, by increasing slot. */
  readonly disks: readonly AttachedDisk[];
  /** Wall-clock ns at start-up: the RTC's time is this plus mtime (a snapshot keeps it). */
  #epochNs: number;
  readonly #clock: Clock;

  constructor(w: BoardWiring) {
    const base = w.rtcBase ?? Date.now();
    // Goldfish's time is an unsigned count of ns: dates before 1970 cannot be told.
    if (!(Number.isFinite(base) && base >= 0)) {
      throw new MachineConfigError(`RTC base ${base}: must be a time at or after 1970-01-01`);
    }
    this.#epochNs = base * 1e6;
    const harts = w.cpus.length;
    if (!(harts >= 1 && harts <= MAX_HARTS)) {
      throw new MachineConfigError(`${harts} harts: a board has 1 to ${MAX_HARTS}`);
    }
    this.clint = new Clint(w.cpus, w.clock);
    this.plic = new Plic(w.cpus, w.events);
    this.uart = new Uart16550(this.plic.line(VIRT_IRQ.UART0), w.console, w.events);
    // Wall-clock time at start-up, then advancing with mtime (so virtual runs stay reproducible).
    this.rtc = new GoldfishRtc(
      this.plic.line(VIRT_IRQ.RTC),
      () => BigInt(Math.floor(this.#epochNs)) + BigInt(w.clock.now()) * NS_PER_TICK,
    );
    this.#clock = w.clock;
    const m = VIRT_MEMMAP;
    w.bus.map(m.test.base, m.test.size, new Syscon(w.halt));
    w.bus.map(m.rtc.base, m.rtc.size, this.rtc);
    w.bus.map(m.clint.base, m.clint.size, this.clint);
    w.bus.map(m.plic.base, m.plic.size, this.plic);
    w.bus.map(m.uart0.base, m.uart0.size, this.uart);
    const disks = w.disks ?? [];
    const slots = assignDiskSlots(disks);
    const attached: AttachedDisk[] = [];
    for (let i = 0; i < VIRTIO_SLOTS; i++) {
      const base = m.virtio.base + i * m.virtio.size;
      const disk = disks[slots.indexOf(i)];
      if (disk === undefined) {
        w.bus.map(base, m.virtio.size, new EmptyVirtioSlot(`virtio${i}`));
        continue;
      }
      const transport = new VirtioMmioTransport(
        w.bus,
        this.plic.line(VIRT_IRQ.VIRTIO0 + i),
        new VirtioBlockDevice(disk.backend),
        `virtio${i}`,
      );
      attached.push({ slot: i, backend: disk.backend, transport });
      w.bus.map(base, m.virtio.size, transport);
    }
    this.disks = attached;
  }

  /**
   * What a snapshot of this board must be restored onto, as named settings
   * (`prefix` tells the host board from a guest's): the number of harts, the
   * slots that hold disks and, for each, its size, how its writes are kept,
   * and a fingerprint of its image. A copy-on-write disk's written chunks are
   * in the snapshot; a writable disk's writes are in its file, so its
   * fingerprint is that of the file as it is now.
   */
  snapshotConfig(prefix = ""): SnapshotConfig {
    const harts = this.clint.harts.length;
    const config: SnapshotConfig = {
      // Absent for one hart, as in snapshots taken before there could be more.
      ...(harts > 1 ? { [`${prefix}harts`]: String(harts) } : {}),
      [`${prefix}disks`]: this.disks.map((d) => `slot ${d.slot}`).join(", ") || "none",
    };
    for (const { slot, backend: disk } of this.disks) {
      const overlay = disk instanceof CowOverlay;
      const key = `${prefix}slot ${slot} disk`;
      config[key] = overlay ? "copy-on-write" : disk.readOnly ? "read-only" : "writable";
      config[`${key} size`] = `${disk.size} bytes`;
      config[`${key} contents`] = `fingerprint ${diskFingerprint(overlay ? disk.base : disk)}`;
    }
    return config;
  }

  /** Device state for a snapshot: CLINT, PLIC, UART, RTC, virtio transports, disk overlays. */
  saveState(): VirtDevicesState {
    return {
      epochNs: this.#epochNs,
      clint: this.clint.saveState(),
      plic: this.plic.saveState(),
      uart: this.uart.saveState(),
      rtc: this.rtc.saveState(),
      disks: this.disks.map((d) => ({
        slot: d.slot,
        transport: d.transport.saveState(),
        overlay: d.backend instanceof CowOverlay ? d.backend.saveState() : null,
      })),
    };
  }

  /**
   * Restores {@linkcode saveState}'s state onto a board built with the same
   * devices (the snapshot's config was checked first). The clock and the
   * interrupt target's mip must be restored before or after: nothing is driven.
   */
  loadState(state: VirtDevicesState): void {
    const slots = (disks: readonly { slot: number }[]) => disks.map((d) => d.slot).join(",");
    if (slots(state.disks) !== slots(this.disks)) {
      throw new RangeError(
        `virtio disks in slots [${slots(state.disks)}] in the saved state, [${
          slots(this.disks)
        }] here`,
      );
    }
    this.#epochNs = state.epochNs;
    this.clint.loadState(state.clint);
    this.plic.loadState(state.plic);
    this.uart.loadState(state.uart);
    this.rtc.loadState(state.rtc);
    state.disks.forEach((saved, i) => {
      const { transport, backend } = this.disks[i];
      transport.loadState(saved.transport);
      if (saved.overlay && backend instanceof CowOverlay) backend.loadState(saved.overlay);
    });
  }

  /** Time-driven device state: the timer comparator and the RTC alarm. */
  update(): void {
    this.clint.update();
    this.rtc.update();
  }

  /**
   * The mtime at which the RTC's armed alarm fires (Infinity: none armed):
   * its time advances with mtime, so the alarm is due at the first tick that
   * reaches it. With the virtual clock the machine ends a batch there, so the
   * alarm comes at its instruction whatever the batch size.
   */
  alarmDeadline(): number {
    const ns = this.rtc.nanosUntilAlarm();
    if (ns === null) return Infinity;
    return this.#clock.now() + (ns <= 0n ? 0 : Number((ns + NS_PER_TICK - 1n) / NS_PER_TICK));
  }

  /** The earliest of the CLINT's next timer deadline and the RTC alarm, in mtime. */
  nextDeadline(): number {
    return Math.min(this.clint.nextDeadline(), this.alarmDeadline());
  }
}

/** Images and command line to boot. */
export interface BootImages {
  /** M-mode firmware (OpenSBI's fw_jump.elf, U-Boot's M-mode build, ...). */
  bios?: ImageFile;
  /** Kernel: started directly in M-mode without bios, or placed for the firmware. */
  kernel?: ImageFile;
  /** Initial ramdisk. */
  initrd?: ImageFile;
  /** Kernel command line (/chosen/bootargs). */
  append?: string;
  /**
   * Raw files copied to fixed physical addresses, as QEMU's
   * `-device loader,file=F,addr=A`: a kernel and initrd for U-Boot's booti,
   * say. Nothing in the device tree mentions them.
   */
  loads?: RawLoad[];
}

/** A raw file at a physical address ({@linkcode BootImages.loads}). */
export interface RawLoad {
  /** The bytes and their name. */
  file: ImageFile;
  /** Physical address of the first byte. */
  address: number;
}

/** Where everything went: what the reset vector needs, and symbols. */
export interface BootLayout {
  /** Where the reset vector jumps. */
  start: number;
  /** The next stage for the firmware (fw_dynamic_info.next_addr). */
  kernelEntry: number;
  /** DTB address (a1). */
  dtbAddress: number;
  /** The DTB. */
  dtb: Uint8Array;
  /** The boot ROM contents (reset vector, addresses, fw_dynamic_info). */
  rom: Uint8Array;
  /** Parsed ELF images, for symbols. */
  images: { bios?: ElfImage; kernel?: ElfImage };
  /** Address of the HTIF `tohost` symbol, or -1. */
  tohost: number;
}

/**
 * The exit code an HTIF program asked for through `tohost` at `address` of
 * `bus` (a write of v with bit 0 set means exit code v >> 1, as QEMU's spike
 * machine reads it), or -1 while it has not (or there is no `tohost`: -1).
 * Polled between instruction batches: a store to RAM needs no hook that way.
 */
export function tohostExitCode(bus: Bus, address: number): number {
  const off = address < 0 ? -1 : bus.ramOffset(address, 8);
  if (off < 0) return -1;
  const lo = bus.ram32[off >> 2];
  return lo & 1 ? lo >>> 1 : -1;
}

/**
 * The boot images as snapshot settings (`prefix` tells a guest's from the
 * host's): size and fingerprint of each image, and the command line. The
 * images' bytes are in the snapshot's RAM already, but symbols (tohost, stack
 * traces) and the boot ROM come from the images given to the restoring
 * machine, so they must be the same files. Names are left out: the same file
 * may be reached by another path.
 */
export function imagesSnapshotConfig(images: BootImages, prefix = ""): SnapshotConfig {
  const describe = (file: ImageFile | undefined) =>
    file ? `${file.bytes.length} bytes, fingerprint ${fingerprint(file.bytes)}` : "none";
  return {
    [`${prefix}bios`]: describe(images.bios),
    [`${prefix}kernel`]: describe(images.kernel),
    [`${prefix}initrd`]: describe(images.initrd),
    [`${prefix}append`]: JSON.stringify(images.append ?? ""),
    [`${prefix}loads`]: (images.loads ?? [])
      .map((l) => `${describe(l.file)} at ${hex(l.address)}`).join("; ") || "none",
  };
}

/** Options of {@linkcode loadBoot}. */
export interface LoadBootOptions {
  /**
   * The machine software is the SBI firmware (the hypervisor's built-in one):
   * the kernel is placed as a firmware's next stage although there is no bios,
   * and the DTB is the one OpenSBI would pass on.
   */
  builtinFirmware?: boolean;
  /** The number of harts the device tree describes (default 1). */
  harts?: number;
}

/**
 * Loads bios/kernel/initrd and the generated DTB into `bus` RAM the way QEMU does;
 * `isa` is the DTB's riscv,isa (default: that of the default ISA, rv64imafdc).
 */
export function loadBoot(
  bus: Bus,
  boot: BootImages,
  isa?: string,
  options: LoadBootOptions = {},
): BootLayout {
  const nextStage = boot.bios !== undefined || options.builtinFirmware === true;
  const images: BootLayout["images"] = {};
  let tohost = -1;
  // Like QEMU's ROM blobs, no two images may share a byte: one would silently
  // overwrite the other.
  const claimed: { name: string; start: number; end: number }[] = [];
  const claim = (name: string, start: number, length: number) => {
    const end = start + length;
    const other = claimed.find((r) => start < r.end && r.start < end);
    if (other) {
      throw new Error(
        `${hex(start)}..${hex(end)} overlaps ${other.name} (${hex(other.start)}..${
          hex(other.end)
        })`,
      );
    }
    claimed.push({ name, start, end });
  };
  const claimNamed = (name: string, start: number, length: number) => {
    try {
      claim(name, start, length);
    } catch (e) {
      throw new MachineConfigError(`${name}: ${(e as Error).message}`);
    }
  };
  const place = (file: ImageFile, rawAddress: number, role: "bios" | "kernel"): number => {
    const b = file.bytes;
    const isElf = b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c &&
      b[3] === 0x46;
    try {
      if (isElf) {
        const image = parseElf(b);
        for (const seg of image.segments) claim(file.name, seg.paddr, seg.data.length);
        loadElf(image, bus);
        images[role] = image;
        tohost = image.symbols.get("tohost") ?? tohost;
        // A kernel started by firmware runs from where it was loaded (QEMU passes the
        // lowest physical load address: a vmlinux's entry is a virtual address).
        return role === "kernel" && nextStage ? image.loadBase : image.entry;
      }
      if (b.length === 0) throw new MachineConfigError("the file is empty");
      if (bus.ramOffset(rawAddress, b.length) < 0) {
        throw new MachineConfigError(
          `raw image of ${b.length} bytes does not fit in RAM at ${hex(rawAddress)} ` +
            `(RAM is ${hex(bus.ramBase)}..${hex(bus.ramBase + bus.ramSize)})`,
        );
      }
      claim(file.name, rawAddress, b.length);
      bus.loadBytes(rawAddress, b);
      return rawAddress;
    } catch (e) {
      throw new MachineConfigError(`${file.name}: ${(e as Error).message}`);
    }
  };

  let start = bus.ramBase;
  let kernelEntry = KERNEL_LOAD_ADDRESS;
  if (boot.bios) start = place(boot.bios, bus.ramBase, "bios");
  if (boot.kernel) {
    kernelEntry = place(boot.kernel, nextStage ? KERNEL_LOAD_ADDRESS : bus.ramBase, "kernel");
    if (!boot.bios) start = kernelEntry;
  }
  let initrd: { start: number; end: number } | undefined;
  if (boot.initrd) {
    const at = initrdLoadAddress(kernelEntry, bus.ramSize);
    if (bus.ramOffset(at, boot.initrd.bytes.length) < 0) {
      throw new MachineConfigError(
        `${boot.initrd.name}: initrd of ${boot.initrd.bytes.length} bytes does not fit in RAM ` +
          `at ${hex(at)}`,
      );
    }
    claimNamed(boot.initrd.name, at, boot.initrd.bytes.length);
    bus.loadBytes(at, boot.initrd.bytes);
    initrd = { start: at, end: at + boot.initrd.bytes.length };
  }
  const dtb = buildVirtDtb({
    ramSize: bus.ramSize,
    bootargs: boot.append,
    initrd,
    isa,
    firmwareFixups: options.builtinFirmware,
    harts: options.harts,
  });
  const dtbAddress = fdtLoadAddress(bus.ramBase, bus.ramSize);
  claimNamed("the device tree", dtbAddress, dtb.length);
  bus.loadBytes(dtbAddress, dtb);
  for (const { file, address } of boot.loads ?? []) {
    if (bus.ramOffset(address, file.bytes.length) < 0) {
      throw new MachineConfigError(
        `${file.name}: a file of ${file.bytes.length} bytes at ${
          hex(address)
        } does not fit in RAM ` +
          `(RAM is ${hex(bus.ramBase)}..${hex(bus.ramBase + bus.ramSize)})`,
      );
    }
    claimNamed(file.name, address, file.bytes.length);
    bus.loadBytes(address, file.bytes);
  }
  const rom = bootRomImage(start, dtbAddress, kernelEntry);
  return { start, kernelEntry, dtbAddress, dtb, rom, images, tohost };
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}
