/**
 * The guest's machine (the seed's virtmmdev.c and its memory layout): a QEMU
 * `virt` board of its own, seen through the guest-physical address space.
 *
 * - Guest RAM is a window of host RAM: guest-physical 0x8000_0000 is host
 *   physical 0x8000_0000 + offset. The guest bus is a view of exactly that
 *   window, so guest DMA (virtio) cannot reach anything else.
 * - Guest devices are the same device models as the host's, wired to the vCPU;
 *   they are reached only by emulating the guest's loads and stores.
 * - The guest boot ROM lives in one host page below the window, mapped into the
 *   guest read-only.
 *
 * @module
 */

import { Bus, RAM_BASE } from "../core/bus.ts";
import type { Clock } from "../core/clock.ts";
import type { EventBus, HaltReason } from "../core/events.ts";
import {
  type BootImages,
  type BootLayout,
  type DiskSlot,
  loadBoot,
  VirtDevices,
} from "../devices/board.ts";
import { BOOT_ROM_BASE, BOOT_ROM_SIZE, BootRom } from "../devices/bootrom.ts";
import { Vcpu } from "./vcpu.ts";
import { dtbIsaString } from "../core/fpu.ts";

/** Everything the guest machine is built from. */
export interface GuestSetup {
  /** Host bus: guest RAM is a window of its RAM. */
  hostBus: Bus;
  /** Host physical address of guest-physical RAM_BASE. */
  windowBase: number;
  /** Guest RAM size. */
  memory: number;
  /** Host physical address of the page that holds the guest boot ROM. */
  romPage: number;
  /** mtime, shared with the host. */
  clock: Clock;
  /** Event bus. */
  events: EventBus;
  /** Instructions vCPU `i` retired natively on its host hart. */
  hostRetired: (i: number) => number;
  /** vCPUs (default 1): vCPU i has mhartid i, and the DTB, CLINT and PLIC serve them all. */
  vcpus?: number;
  /** Guest console output. */
  console: (byte: number) => void;
  /** Guest poweroff/reset/fail. */
  halt: (reason: HaltReason, code: number) => void;
  /** Guest disks, each in its virtio-mmio slot. */
  disks?: readonly DiskSlot[];
  /** The guest RTC's time at start-up in ms since the Unix epoch (default: now). */
  rtcBase?: number;
  /** The hypervisor is the guest's SBI firmware: images and DTB placed as for a firmware. */
  builtinFirmware?: boolean;
  /** The guest hart has F and D (misa, mstatus.FS, the DTB's riscv,isa). */
  fpu?: boolean;
}

/** A guest: its vCPU, its bus and devices, and where its images went. */
export class Guest {
  /** Guest-physical address space. */
  readonly bus: Bus;
  /** The virtual hart this view of the guest addresses ({@linkcode forVcpu}): vCPU 0 but in views. */
  readonly vcpu: Vcpu;
  /** Every virtual hart, vCPU i with mhartid i. */
  readonly vcpus: readonly Vcpu[];
  /** The guest's board devices. */
  readonly devices: VirtDevices;
  /** Image placement in guest-physical memory. */
  readonly layout: BootLayout;
  /** Host physical address of guest-physical RAM_BASE. */
  readonly windowBase: number;
  /** Host page holding the boot ROM. */
  readonly romPage: number;

  constructor(setup: GuestSetup, images: BootImages) {
    const host = setup.hostBus;
    this.windowBase = setup.windowBase;
    this.romPage = setup.romPage;
    const byteOffset = host.ram.byteOffset + host.ramOffset(setup.windowBase, setup.memory);
    this.bus = new Bus(setup.memory, setup.events, RAM_BASE, {
      buffer: host.ram.buffer as ArrayBuffer,
      byteOffset,
    });
    // Writes behind the host hart's back (loaders, DMA) must drop its decoded code.
    this.bus.onRamWritten = (gpa, length) => host.onRamWritten?.(this.toHost(gpa), length);
    const vcpus: Vcpu[] = [];
    for (let i = 0; i < (setup.vcpus ?? 1); i++) {
      const v = new Vcpu(
        this.bus,
        setup.events,
        () => setup.hostRetired(i),
        () => setup.clock.now(),
      );
      v.csr.hartId = i;
      v.csr.reset();
      vcpus.push(v);
    }
    this.vcpus = vcpus;
    this.vcpu = vcpus[0];
    this.devices = new VirtDevices({
      bus: this.bus,
      cpus: vcpus,
      clock: setup.clock,
      events: setup.events,
      console: setup.console,
      halt: setup.halt,
      disks: setup.disks,
      rtcBase: setup.rtcBase,
    });
    for (const v of vcpus) v.csr.fpu = setup.fpu ?? false;
    this.layout = loadBoot(this.bus, images, dtbIsaString(this.vcpu.csr.fpu), {
      builtinFirmware: setup.builtinFirmware,
      harts: vcpus.length,
    });
    host.loadBytes(this.romPage, this.layout.rom);
    // The whole mask ROM is also a device of the guest bus: its first page is shadow-mapped
    // for speed (the reset vector runs from it); the rest reads as zeros and ignores
    // stores through emulated accesses, as on QEMU and bare.
    const l = this.layout;
    this.bus.map(BOOT_ROM_BASE, BOOT_ROM_SIZE, new BootRom(l.start, l.dtbAddress, l.kernelEntry));
  }

  /**
   * The same guest seen from vCPU `i`: its `vcpu` is that one, everything
   * else (bus, devices, layout) is shared. Each vCPU's exit handler, shadow
   * paging and SBI firmware take their own view, so they address their vCPU.
   */
  forVcpu(i: number): Guest {
    return i === 0 ? this : Object.assign(Object.create(Guest.prototype), this, {
      vcpu: this.vcpus[i],
    });
  }

  /** Host physical address of guest-physical `gpa` (which must be guest RAM). */
  toHost(gpa: number): number {
    return gpa - RAM_BASE + this.windowBase;
  }

  /** True if the 4 KiB page at `gpa` is guest RAM. */
  isRamPage(gpa: number): boolean {
    return this.bus.ramOffset(gpa - (gpa & 0xfff), 4096) >= 0;
  }

  /** True if `gpa` is in the guest boot ROM page. */
  isRomPage(gpa: number): boolean {
    return gpa >= BOOT_ROM_BASE && gpa < BOOT_ROM_BASE + 4096;
  }
}
