/**
 * A minimal virtio-mmio driver for tests: it programs a transport only through
 * its MMIO registers and keeps the split virtqueue in a Bus's RAM, as a guest
 * kernel would, so tests exercise the device the way Linux or U-Boot do.
 *
 * @module
 */

import { Bus, RAM_BASE } from "../core/bus.ts";
import { EventBus } from "../core/events.ts";
import type { IrqLine } from "../core/irq.ts";
import { type VirtioDevice, VirtioMmioTransport } from "../devices/virtio-mmio.ts";

/*
 * The numbers below are the virtio 1.1 specification's (and QEMU 7.2's where the
 * spec leaves a choice), written out here rather than imported from devices/, so
 * that a wrong constant in the device model fails the tests instead of agreeing
 * with itself.
 */

/** Slot 0 of QEMU's `virt` machine (hw/riscv/virt.c VIRT_VIRTIO). */
export const SLOT0 = 0x1000_1000;

/** virtio-mmio register offsets (virtio 1.1 section 4.2.2). */
export const R = {
  MAGIC_VALUE: 0x000,
  VERSION: 0x004,
  DEVICE_ID: 0x008,
  VENDOR_ID: 0x00c,
  DEVICE_FEATURES: 0x010,
  DEVICE_FEATURES_SEL: 0x014,
  DRIVER_FEATURES: 0x020,
  DRIVER_FEATURES_SEL: 0x024,
  QUEUE_SEL: 0x030,
  QUEUE_NUM_MAX: 0x034,
  QUEUE_NUM: 0x038,
  QUEUE_READY: 0x044,
  QUEUE_NOTIFY: 0x050,
  INTERRUPT_STATUS: 0x060,
  INTERRUPT_ACK: 0x064,
  STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080,
  QUEUE_DESC_HIGH: 0x084,
  QUEUE_DRIVER_LOW: 0x090,
  QUEUE_DRIVER_HIGH: 0x094,
  QUEUE_DEVICE_LOW: 0x0a0,
  QUEUE_DEVICE_HIGH: 0x0a4,
  SHM_LEN_LOW: 0x0b0,
  CONFIG_GENERATION: 0x0fc,
  CONFIG: 0x100,
} as const;

/** Device status bits (virtio 1.1 section 2.1). */
export const S = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 64,
  FAILED: 128,
} as const;

/** InterruptStatus bits (virtio 1.1 section 4.2.2). */
export const INTERRUPT = { USED_BUFFER: 1, CONFIG_CHANGE: 2 } as const;

/** MagicValue: "virt" little-endian (virtio 1.1 section 4.2.2). */
export const MAGIC = 0x74726976;
/** VendorID of QEMU's transports: "QEMU" little-endian (hw/virtio/virtio-mmio.c VIRT_VENDOR). */
export const VENDOR_QEMU = 0x554d4551;
/** DeviceID of a block device (virtio 1.1 section 5). */
export const ID_BLOCK = 2;
/** QueueNumMax on QEMU 7.2: VIRTQUEUE_MAX_SIZE whatever the device's queue size. */
export const QUEUE_NUM_MAX = 1024;
/** The available ring's flag that suppresses interrupts (virtio 1.1 section 2.6.7). */
export const AVAIL_F_NO_INTERRUPT = 1;

/** virtio-blk feature bits (virtio 1.1 section 5.2.3). */
export const BLK_F = { SEG_MAX: 2, RO: 5, BLK_SIZE: 6, FLUSH: 9, TOPOLOGY: 10 } as const;
/** virtio-blk request types (virtio 1.1 section 5.2.6). */
export const BLK_T = { IN: 0, OUT: 1, FLUSH: 4, GET_ID: 8, DISCARD: 11, WRITE_ZEROES: 13 } as const;
/** virtio-blk request status values (virtio 1.1 section 5.2.6). */
export const BLK_S = { OK: 0, IOERR: 1, UNSUPP: 2 } as const;
/** seg_max on QEMU 7.2 (seg-max-adjust: queue size 256 minus header and status). */
export const BLK_SEG_MAX = 254;

/** An interrupt line that remembers its level and how often it was raised. */
export class RecordingIrq implements IrqLine {
  /** Current level. */
  level = false;
  /** Number of low-to-high transitions. */
  raised = 0;

  /** Sets the level. */
  set(level: boolean): void {
    if (level && !this.level) this.raised++;
    this.level = level;
  }
}

/** One buffer of a chain to submit. */
export interface Buffer {
  /** Guest physical address. */
  addr: number;
  /** Length in bytes. */
  len: number;
  /** Device-writable. */
  write?: boolean;
}

/** A used-ring element. */
export interface UsedElement {
  /** Head descriptor index. */
  id: number;
  /** Bytes written by the device. */
  len: number;
}

/** Test RAM: 1 MiB at RAM_BASE. */
export const TEST_RAM_SIZE = 1 << 20;
/** Descriptor table address (room for 1024 descriptors). */
export const DESC_ADDR = RAM_BASE;
/** Available ring address. */
export const AVAIL_ADDR = RAM_BASE + 0x4000;
/** Used ring address. */
export const USED_ADDR = RAM_BASE + 0x5000;
/** First address free for buffers. */
export const BUFFER_ADDR = RAM_BASE + 0x10000;

/** Drives one transport mapped at {@linkcode SLOT0} on a fresh bus. */
export class VirtioTestDriver {
  /** The bus whose RAM holds the rings and buffers. */
  readonly bus: Bus;
  /** The slot's interrupt line. */
  readonly irq = new RecordingIrq();
  /** The device under test, behind its transport. */
  readonly transport: VirtioMmioTransport;
  /** Queue size chosen in {@linkcode init}. */
  queueSize = 0;
  /** The driver's free-running available index. */
  availIdx = 0;
  /** Used index up to which {@linkcode takeUsed} has consumed. */
  lastUsedIdx = 0;

  /** @param device the device to plug into the transport. */
  constructor(device: VirtioDevice) {
    this.bus = new Bus(TEST_RAM_SIZE, new EventBus());
    this.transport = new VirtioMmioTransport(this.bus, this.irq, device, "virtio-test");
    this.bus.map(SLOT0, 0x1000, this.transport);
  }

  /** Reads a 32-bit register. */
  reg(offset: number): number {
    return this.bus.readDevice(SLOT0 + offset, 4);
  }

  /** Writes a 32-bit register. */
  setReg(offset: number, value: number): void {
    this.bus.writeDevice(SLOT0 + offset, 4, value);
  }

  /** The 64-bit DeviceFeatures, read through the selector. */
  deviceFeatures(): bigint {
    this.setReg(R.DEVICE_FEATURES_SEL, 0);
    const low = BigInt(this.reg(R.DEVICE_FEATURES));
    this.setReg(R.DEVICE_FEATURES_SEL, 1);
    return (BigInt(this.reg(R.DEVICE_FEATURES)) << 32n) | low;
  }

  /** Writes the 64-bit DriverFeatures through the selector. */
  setDriverFeatures(features: bigint): void {
    this.setReg(R.DRIVER_FEATURES_SEL, 0);
    this.setReg(R.DRIVER_FEATURES, Number(features & 0xffff_ffffn));
    this.setReg(R.DRIVER_FEATURES_SEL, 1);
    this.setReg(R.DRIVER_FEATURES, Number(features >> 32n));
  }

  /**
   * The virtio 1.1 section 3.1.1 initialisation sequence with one queue of
   * `queueSize` entries. Accepts every offered feature unless `features` is given.
   */
  init(queueSize = 8, features?: bigint): void {
    this.setReg(R.STATUS, 0);
    this.setReg(R.STATUS, S.ACKNOWLEDGE);
    this.setReg(R.STATUS, S.ACKNOWLEDGE | S.DRIVER);
    this.setDriverFeatures(features ?? this.deviceFeatures());
    this.setReg(R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
    if (!(this.reg(R.STATUS) & S.FEATURES_OK)) throw new Error("device refused the features");
    this.setReg(R.QUEUE_SEL, 0);
    if (this.reg(R.QUEUE_READY) !== 0) throw new Error("queue 0 already ready");
    if (this.reg(R.QUEUE_NUM_MAX) < queueSize) throw new Error("queue too large");
    this.setReg(R.QUEUE_NUM, queueSize);
    this.setReg(R.QUEUE_DESC_LOW, DESC_ADDR);
    this.setReg(R.QUEUE_DESC_HIGH, 0);
    this.setReg(R.QUEUE_DRIVER_LOW, AVAIL_ADDR);
    this.setReg(R.QUEUE_DRIVER_HIGH, 0);
    this.setReg(R.QUEUE_DEVICE_LOW, USED_ADDR);
    this.setReg(R.QUEUE_DEVICE_HIGH, 0);
    this.setReg(R.QUEUE_READY, 1);
    this.setReg(R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
    this.queueSize = queueSize;
    this.availIdx = 0;
    this.lastUsedIdx = 0;
  }

  /** A DataView over `length` RAM bytes at physical `addr`. */
  mem(addr: number, length: number): DataView {
    const view = this.bus.dmaView(addr, length)!;
    return new DataView(view.buffer, view.byteOffset, view.byteLength);
  }

  /** Writes descriptor `index`. */
  writeDescriptor(index: number, addr: number, len: number, flags: number, next: number): void {
    const d = this.mem(DESC_ADDR + 16 * index, 16);
    d.setUint32(0, addr % 0x1_0000_0000, true);
    d.setUint32(4, Math.floor(addr / 0x1_0000_0000), true);
    d.setUint32(8, len, true);
    d.setUint16(12, flags, true);
    d.setUint16(14, next, true);
  }

  /** Makes head descriptor `head` available without notifying. */
  makeAvailable(head: number): void {
    this.mem(AVAIL_ADDR + 4 + 2 * (this.availIdx % this.queueSize), 2).setUint16(0, head, true);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.mem(AVAIL_ADDR + 2, 2).setUint16(0, this.availIdx, true);
  }

  /** Sets the available ring's flags (VRING_AVAIL_F_NO_INTERRUPT). */
  setAvailFlags(flags: number): void {
    this.mem(AVAIL_ADDR, 2).setUint16(0, flags, true);
  }

  /**
   * Writes each chain into consecutive descriptors (the device completes
   * everything on notify, so all descriptors are free again), makes them
   * available, notifies queue 0 and returns the head indices.
   */
  submit(...chains: Buffer[][]): number[] {
    const heads: number[] = [];
    let index = 0;
    for (const chain of chains) {
      heads.push(index);
      chain.forEach((b, i) => {
        const more = i + 1 < chain.length;
        this.writeDescriptor(index, b.addr, b.len, (more ? 1 : 0) | (b.write ? 2 : 0), index + 1);
        index++;
      });
    }
    if (index > this.queueSize) throw new Error("batch does not fit in the queue");
    for (const head of heads) this.makeAvailable(head);
    this.notify();
    return heads;
  }

  /** Writes QueueNotify for queue 0. */
  notify(): void {
    this.setReg(R.QUEUE_NOTIFY, 0);
  }

  /** The device's used index. */
  usedIdx(): number {
    return this.mem(USED_ADDR + 2, 2).getUint16(0, true);
  }

  /** Used elements added since the last call. */
  takeUsed(): UsedElement[] {
    const out: UsedElement[] = [];
    const end = this.usedIdx();
    while (this.lastUsedIdx !== end) {
      const e = this.mem(USED_ADDR + 4 + 8 * (this.lastUsedIdx % this.queueSize), 8);
      out.push({ id: e.getUint32(0, true), len: e.getUint32(4, true) });
      this.lastUsedIdx = (this.lastUsedIdx + 1) & 0xffff;
    }
    return out;
  }

  /** Writes `bytes` to RAM. */
  poke(addr: number, bytes: Uint8Array): void {
    this.bus.loadBytes(addr, bytes);
  }

  /** A copy of RAM bytes. */
  peek(addr: number, length: number): Uint8Array {
    return this.bus.dmaView(addr, length)!.slice();
  }
}

/** VIRTIO_F_VERSION_1 (virtio 1.1 section 6), which a modern transport offers. */
export const VERSION_1 = 1n << 32n;
