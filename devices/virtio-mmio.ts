/**
 * The virtio-mmio transport (virtio 1.1 section 4.2, "modern" register layout,
 * Version 2) with split virtqueues, as QEMU's `virt` machine maps it: eight
 * slots of 0x1000 bytes from 0x1000_1000, PLIC sources 1..8. Slots without a
 * device are {@linkcode EmptyVirtioSlot}s so that probing drivers see "no device".
 *
 * Every guest-supplied address (rings, descriptor table, buffers) goes through
 * `Bus.dmaView`, so a bogus address can never reach host memory outside RAM.
 * Structural ring errors put the device in DEVICE_NEEDS_RESET, as the spec asks
 * of a device that cannot continue, instead of throwing out of an MMIO write.
 *
 * @module
 */

import type { AccessRule, Bus, DeviceAccessSize, MmioDevice } from "../core/bus.ts";
import type { IrqLine } from "../core/irq.ts";

/** "virt" in little-endian ASCII: what MagicValue reads. */
export const VIRTIO_MMIO_MAGIC = 0x74726976;
/** The modern (non-legacy) virtio-mmio interface version. */
export const VIRTIO_MMIO_VERSION = 2;
/** "QEMU" in little-endian ASCII: QEMU's VendorID, kept so guests see the same machine. */
export const VIRTIO_VENDOR_QEMU = 0x554d4551;

/** Physical address of slot 0 on the `virt` machine. */
export const VIRTIO_MMIO_BASE = 0x1000_1000;
/** Distance between slots. */
export const VIRTIO_MMIO_STRIDE = 0x1000;
/** Number of slots QEMU's `virt` machine has (VIRTIO_COUNT). */
export const VIRTIO_MMIO_SLOTS = 8;
/** PLIC source of slot 0; slot i uses source `VIRTIO_MMIO_FIRST_IRQ + i`. */
export const VIRTIO_MMIO_FIRST_IRQ = 1;

/**
 * QEMU 7.2's virtio-mmio transport, with or without a device: any width in its
 * 0x200 bytes (the rest of the slot is unmapped), 8 bytes as two 4-byte halves.
 */
const VIRTIO_MMIO_RULES: readonly AccessRule[] = [
  { offset: 0, size: 0x200, minWidth: 1, maxWidth: 8, implWidth: 4 },
];

/**
 * Largest queue QueueNumMax offers. QEMU's virtio-mmio reports
 * VIRTQUEUE_MAX_SIZE (1024) whatever the device's own queue size.
 */
export const VIRTQUEUE_MAX_SIZE = 1024;

/** Register offsets of the virtio-mmio block. */
export const VirtioMmioRegister = {
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
  SHM_SEL: 0x0ac,
  SHM_LEN_LOW: 0x0b0,
  SHM_LEN_HIGH: 0x0b4,
  SHM_BASE_LOW: 0x0b8,
  SHM_BASE_HIGH: 0x0bc,
  CONFIG_GENERATION: 0x0fc,
  CONFIG: 0x100,
} as const;

/** Bits of the device Status register. */
export const VirtioStatus = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 64,
  FAILED: 128,
} as const;

/** Bits of InterruptStatus / InterruptACK. */
export const VirtioInterrupt = {
  /** The device put buffers in a used ring. */
  USED_BUFFER: 1,
  /** The configuration changed (or the device needs a reset). */
  CONFIG_CHANGE: 2,
} as const;

/**
 * Feature bit number of VIRTIO_F_VERSION_1: the transport offers it; as on
 * QEMU, a driver that does not accept it still gets FEATURES_OK.
 */
export const VIRTIO_F_VERSION_1 = 32;

/** Flags of a split-virtqueue descriptor. */
export const VirtqDescFlag = {
  NEXT: 1,
  WRITE: 2,
  INDIRECT: 4,
} as const;

/** The driver's "don't interrupt me" flag in the available ring. */
export const VRING_AVAIL_F_NO_INTERRUPT = 1;

/** One buffer of a descriptor chain. */
export interface VirtqSegment {
  /** Guest physical address. */
  readonly addr: number;
  /** Length in bytes. */
  readonly length: number;
  /** The bytes in RAM, or null if the buffer is not entirely in RAM (the request must fail). */
  readonly view: Uint8Array | null;
}

/** A descriptor chain taken from the available ring. */
export interface DescriptorChain {
  /** Index of the head descriptor: what goes back in the used ring. */
  readonly head: number;
  /** Device-readable buffers, in order. */
  readonly readable: VirtqSegment[];
  /** Device-writable buffers, in order (they always follow the readable ones). */
  readonly writable: VirtqSegment[];
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

/** Guest addresses are 64-bit; anything past 2^53 is far outside RAM anyway. */
function joinAddress(low: number, high: number): number {
  return high * 0x1_0000_0000 + low;
}

/** Saved state of a {@linkcode Virtqueue} (plain JSON). */
export interface VirtqueueState {
  /** QueueNum. */
  size: number;
  /** QueueReady. */
  ready: boolean;
  /** Descriptor table address. */
  descAddr: number;
  /** Available ring address. */
  driverAddr: number;
  /** Used ring address. */
  deviceAddr: number;
  /** Next available index to read. */
  lastAvailIdx: number;
  /** Next used index to write. */
  usedIdx: number;
  /** Buffers used since the last interrupt decision. */
  usedSinceNotify: boolean;
}

/** Saved state of a {@linkcode VirtioMmioTransport}. */
export interface VirtioMmioState {
  /** Device ID, checked on restore (the same slot must hold the same kind of device). */
  deviceId: number;
  /** Status register. */
  status: number;
  /** InterruptStatus. */
  interruptStatus: number;
  /** ConfigGeneration. */
  configGeneration: number;
  /** Features the driver accepted. */
  driverFeatures: bigint;
  /** The two DriverFeatures words as last written (QEMU keeps them across a device reset). */
  driverFeatureWords: [number, number];
  /** Why the device last needed a reset. */
  lastError: string | null;
  /** DeviceFeaturesSel. */
  deviceFeaturesSel: number;
  /** DriverFeaturesSel. */
  driverFeaturesSel: number;
  /** QueueSel. */
  queueSel: number;
  /** Each virtqueue. */
  queues: VirtqueueState[];
}

/**
 * One split virtqueue: the driver-set layout plus the device's ring positions.
 * Devices call {@linkcode pop} and {@linkcode push}; the transport owns the rest.
 */
export class Virtqueue {
  /** Queue size (number of descriptors), as written to QueueNum. */
  size: number;
  /** QueueReady: the driver finished setting the queue up. */
  ready = false;
  /** Guest physical address of the descriptor table. */
  descAddr = 0;
  /** Guest physical address of the available ring (driver area). */
  driverAddr = 0;
  /** Guest physical address of the used ring (device area). */
  deviceAddr = 0;
  /** Next available-ring index the device will read (free-running, 16 bits). */
  lastAvailIdx = 0;
  /** Next used-ring index the device will write (free-running, 16 bits). */
  usedIdx = 0;
  #usedSinceNotify = false;

  /**
   * @param bus the bus whose RAM holds the rings.
   * @param index the queue number (QueueSel value).
   * @param sizeMax QueueNumMax.
   * @param onFault called when the guest broke the ring protocol; the device stops.
   */
  constructor(
    readonly bus: Bus,
    readonly index: number,
    readonly sizeMax: number,
    readonly onFault: (reason: string) => void,
  ) {
    this.size = sizeMax;
  }

  /** Back to the post-reset state. */
  reset(): void {
    this.size = this.sizeMax;
    this.ready = false;
    this.descAddr = this.driverAddr = this.deviceAddr = 0;
    this.lastAvailIdx = this.usedIdx = 0;
    this.#usedSinceNotify = false;
  }

  /** The driver-set layout and the device's ring positions, for a snapshot. */
  saveState(): VirtqueueState {
    return {
      size: this.size,
      ready: this.ready,
      descAddr: this.descAddr,
      driverAddr: this.driverAddr,
      deviceAddr: this.deviceAddr,
      lastAvailIdx: this.lastAvailIdx,
      usedIdx: this.usedIdx,
      usedSinceNotify: this.#usedSinceNotify,
    };
  }

  /** Restores {@linkcode saveState}'s state. */
  loadState(state: VirtqueueState): void {
    this.size = state.size;
    this.ready = state.ready;
    this.descAddr = state.descAddr;
    this.driverAddr = state.driverAddr;
    this.deviceAddr = state.deviceAddr;
    this.lastAvailIdx = state.lastAvailIdx;
    this.usedIdx = state.usedIdx;
    this.#usedSinceNotify = state.usedSinceNotify;
  }

  /** Marks the device broken (DEVICE_NEEDS_RESET); pop returns null afterwards. */
  fail(reason: string): void {
    this.onFault(reason);
  }

  /**
   * Takes the next chain from the available ring, or returns null if there is
   * none or the queue is unusable (bad ring address, bad descriptor index,
   * loop, readable after writable: the device is then marked broken).
   */
  pop(): DescriptorChain | null {
    const size = this.size;
    const avail = this.bus.dmaView(this.driverAddr, 4 + 2 * size);
    if (avail === null) return this.#fault("available ring is outside RAM");
    const pending = (u16(avail, 2) - this.lastAvailIdx) & 0xffff;
    if (pending === 0) return null;
    if (pending > size) {
      return this.#fault(`available index moved by ${pending}, more than the queue size ${size}`);
    }
    const table = this.bus.dmaView(this.descAddr, 16 * size);
    if (table === null) return this.#fault("descriptor table is outside RAM");
    // Checked before any request runs so that a request is never executed without a way to complete it.
    if (this.bus.dmaView(this.deviceAddr, 4 + 8 * size) === null) {
      return this.#fault("used ring is outside RAM");
    }
    const head = u16(avail, 4 + 2 * (this.lastAvailIdx % size));
    this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
    const chain: DescriptorChain = { head, readable: [], writable: [] };
    let index = head;
    for (let count = 1;; count++) {
      if (index >= size) return this.#fault(`descriptor index ${index} >= queue size ${size}`);
      if (count > size) return this.#fault("descriptor chain loops");
      const d = 16 * index;
      const addr = joinAddress(u32(table, d), u32(table, d + 4));
      const length = u32(table, d + 8);
      const flags = u16(table, d + 12);
      if (flags & VirtqDescFlag.INDIRECT) {
        return this.#fault("indirect descriptor, but VIRTIO_RING_F_INDIRECT_DESC is not offered");
      }
      if (flags & VirtqDescFlag.WRITE) {
        chain.writable.push({ addr, length, view: this.bus.dmaView(addr, length, true) });
      } else {
        if (chain.writable.length !== 0) {
          return this.#fault("device-readable descriptor after a device-writable one");
        }
        chain.readable.push({ addr, length, view: this.bus.dmaView(addr, length) });
      }
      if (!(flags & VirtqDescFlag.NEXT)) return chain;
      index = u16(table, d + 14);
    }
  }

  /** Returns a chain to the driver through the used ring, with the number of bytes written. */
  push(chain: DescriptorChain, writtenLength: number): void {
    const slot = this.usedIdx % this.size;
    const element = this.bus.dmaView(this.deviceAddr + 4 + 8 * slot, 8, true);
    const idx = this.bus.dmaView(this.deviceAddr + 2, 2, true);
    if (element === null || idx === null) {
      this.#fault("used ring is outside RAM");
      return;
    }
    put32(element, 0, chain.head);
    put32(element, 4, writtenLength);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    put16(idx, 0, this.usedIdx);
    this.#usedSinceNotify = true;
  }

  /**
   * True if buffers were used since the last call and the driver did not
   * suppress interrupts (VRING_AVAIL_F_NO_INTERRUPT; EVENT_IDX is not offered).
   */
  takeUsedNotification(): boolean {
    if (!this.#usedSinceNotify) return false;
    this.#usedSinceNotify = false;
    const flags = this.bus.dmaView(this.driverAddr, 2);
    return flags === null || (u16(flags, 0) & VRING_AVAIL_F_NO_INTERRUPT) === 0;
  }

  #fault(reason: string): null {
    this.onFault(`queue ${this.index}: ${reason}`);
    return null;
  }
}

/** What a virtio device model provides to {@linkcode VirtioMmioTransport}. */
export interface VirtioDevice {
  /** Virtio device ID (2 = block). */
  readonly deviceId: number;
  /**
   * Device feature bits, computed once at construction. The transport adds
   * VIRTIO_F_VERSION_1 itself.
   */
  readonly features: bigint;
  /** Number of virtqueues. */
  readonly queueCount: number;
  /** Device configuration space, little-endian, read by the driver at offset 0x100. */
  readonly config: Uint8Array;
  /** Processes what the driver made available on `queue` (called on QueueNotify). */
  processQueue(queue: Virtqueue): void;
  /** Drops device state on a device reset (Status written 0). */
  reset(): void;
}

/** The virtio-mmio register block in front of one {@linkcode VirtioDevice}. */
export class VirtioMmioTransport implements MmioDevice {
  /** QEMU's transport rules. */
  readonly rules: readonly AccessRule[] = VIRTIO_MMIO_RULES;
  /** The device's virtqueues. */
  readonly queues: Virtqueue[];
  /** Device Status register. */
  status = 0;
  /** InterruptStatus register: {@linkcode VirtioInterrupt} bits. */
  interruptStatus = 0;
  /** ConfigGeneration: bumped on every configuration-change notification. */
  configGeneration = 0;
  /**
   * Features in effect: the DriverFeatures words, minus bits not offered, taken
   * when the driver sets FEATURES_OK (as QEMU's virtio_set_features).
   */
  driverFeatures = 0n;
  /** Why the device last entered DEVICE_NEEDS_RESET, for diagnostics (kept across resets). */
  lastError: string | null = null;
  readonly #featuresLow: number;
  readonly #featuresHigh: number;
  readonly #offered: bigint;
  #deviceFeaturesSel = 0;
  #driverFeaturesSel = 0;
  /** DriverFeatures as written, low and high word: they take effect only with FEATURES_OK. */
  #driverFeatureWords: [number, number] = [0, 0];
  #queueSel = 0;

  /**
   * @param bus the bus whose RAM the device reaches by DMA.
   * @param irq the interrupt line (a PLIC source) of this slot.
   * @param device the device model.
   * @param name device name for events and the DTB.
   */
  constructor(
    readonly bus: Bus,
    readonly irq: IrqLine,
    readonly device: VirtioDevice,
    readonly name = "virtio-mmio",
  ) {
    this.#offered = device.features | (1n << BigInt(VIRTIO_F_VERSION_1));
    this.#featuresLow = Number(this.#offered & 0xffff_ffffn);
    this.#featuresHigh = Number((this.#offered >> 32n) & 0xffff_ffffn);
    const onFault = (reason: string) => this.needsReset(reason);
    this.queues = Array.from(
      { length: device.queueCount },
      (_, i) => new Virtqueue(bus, i, VIRTQUEUE_MAX_SIZE, onFault),
    );
  }

  /**
   * Transport registers and virtqueues, for a snapshot. The device models
   * behind it (virtio-blk) keep no state between requests; a disk's contents
   * are the board's to save.
   */
  saveState(): VirtioMmioState {
    return {
      deviceId: this.device.deviceId,
      status: this.status,
      interruptStatus: this.interruptStatus,
      configGeneration: this.configGeneration,
      driverFeatures: this.driverFeatures,
      driverFeatureWords: [...this.#driverFeatureWords],
      lastError: this.lastError,
      deviceFeaturesSel: this.#deviceFeaturesSel,
      driverFeaturesSel: this.#driverFeaturesSel,
      queueSel: this.#queueSel,
      queues: this.queues.map((q) => q.saveState()),
    };
  }

  /** Restores {@linkcode saveState}'s state; throws if it is another kind of device. */
  loadState(state: VirtioMmioState): void {
    if (state.deviceId !== this.device.deviceId || state.queues.length !== this.queues.length) {
      throw new RangeError(
        `${this.name}: saved device ${state.deviceId} with ${state.queues.length} queues, ` +
          `this is device ${this.device.deviceId} with ${this.queues.length}`,
      );
    }
    this.status = state.status;
    this.interruptStatus = state.interruptStatus;
    this.configGeneration = state.configGeneration;
    this.driverFeatures = state.driverFeatures;
    this.#driverFeatureWords = [...state.driverFeatureWords];
    this.lastError = state.lastError;
    this.#deviceFeaturesSel = state.deviceFeaturesSel;
    this.#driverFeaturesSel = state.driverFeaturesSel;
    this.#queueSel = state.queueSel;
    state.queues.forEach((q, i) => this.queues[i].loadState(q));
  }

  /** Reads a register or, from 0x100, the device configuration space. */
  read(offset: number, size: DeviceAccessSize): number {
    if (offset >= VirtioMmioRegister.CONFIG) return this.#readConfig(offset - 0x100, size);
    // QEMU ignores narrow accesses to registers; so do we.
    if (size !== 4) return 0;
    const R = VirtioMmioRegister;
    const queue = this.queues[this.#queueSel];
    switch (offset) {
      case R.MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
      case R.VERSION:
        return VIRTIO_MMIO_VERSION;
      case R.DEVICE_ID:
        return this.device.deviceId;
      case R.VENDOR_ID:
        return VIRTIO_VENDOR_QEMU;
      case R.DEVICE_FEATURES:
        return this.#deviceFeaturesSel === 0 ? this.#featuresLow : this.#featuresHigh;
      case R.QUEUE_NUM_MAX:
        return queue ? queue.sizeMax : 0;
      case R.QUEUE_READY:
        return queue?.ready ? 1 : 0;
      case R.INTERRUPT_STATUS:
        return this.interruptStatus;
      case R.STATUS:
        return this.status;
      case R.QUEUE_DESC_LOW:
        return queue ? queue.descAddr >>> 0 : 0;
      case R.QUEUE_DESC_HIGH:
        return queue ? Math.floor(queue.descAddr / 0x1_0000_0000) : 0;
      case R.QUEUE_DRIVER_LOW:
        return queue ? queue.driverAddr >>> 0 : 0;
      case R.QUEUE_DRIVER_HIGH:
        return queue ? Math.floor(queue.driverAddr / 0x1_0000_0000) : 0;
      case R.QUEUE_DEVICE_LOW:
        return queue ? queue.deviceAddr >>> 0 : 0;
      case R.QUEUE_DEVICE_HIGH:
        return queue ? Math.floor(queue.deviceAddr / 0x1_0000_0000) : 0;
      case R.SHM_LEN_LOW:
      case R.SHM_LEN_HIGH:
        // All ones: "no shared memory region with this id".
        return 0xffff_ffff;
      case R.CONFIG_GENERATION:
        return this.configGeneration;
      default:
        return 0;
    }
  }

  /** Writes a register. Never throws: guest mistakes end in DEVICE_NEEDS_RESET at worst. */
  write(offset: number, size: DeviceAccessSize, value: number): void {
    // The configuration space of the devices we model is read-only.
    if (offset >= VirtioMmioRegister.CONFIG || size !== 4) return;
    value >>>= 0;
    const R = VirtioMmioRegister;
    const queue = this.queues[this.#queueSel];
    switch (offset) {
      // QEMU's selectors are one bit: any non-zero value selects the high word.
      case R.DEVICE_FEATURES_SEL:
        this.#deviceFeaturesSel = value === 0 ? 0 : 1;
        break;
      case R.DRIVER_FEATURES:
        this.#driverFeatureWords[this.#driverFeaturesSel] = value;
        break;
      case R.DRIVER_FEATURES_SEL:
        this.#driverFeaturesSel = value === 0 ? 0 : 1;
        break;
      case R.QUEUE_SEL:
        this.#queueSel = value;
        break;
      case R.QUEUE_NUM:
        if (queue && value >= 1 && value <= queue.sizeMax) queue.size = value;
        break;
      case R.QUEUE_READY:
        if (queue) queue.ready = (value & 1) === 1;
        break;
      case R.QUEUE_NOTIFY:
        this.#notify(value);
        break;
      case R.INTERRUPT_ACK:
        this.interruptStatus &= ~value;
        this.irq.set(this.interruptStatus !== 0);
        break;
      case R.STATUS:
        this.#writeStatus(value & 0xff);
        break;
      case R.QUEUE_DESC_LOW:
        if (queue) queue.descAddr = setLow(queue.descAddr, value);
        break;
      case R.QUEUE_DESC_HIGH:
        if (queue) queue.descAddr = setHigh(queue.descAddr, value);
        break;
      case R.QUEUE_DRIVER_LOW:
        if (queue) queue.driverAddr = setLow(queue.driverAddr, value);
        break;
      case R.QUEUE_DRIVER_HIGH:
        if (queue) queue.driverAddr = setHigh(queue.driverAddr, value);
        break;
      case R.QUEUE_DEVICE_LOW:
        if (queue) queue.deviceAddr = setLow(queue.deviceAddr, value);
        break;
      case R.QUEUE_DEVICE_HIGH:
        if (queue) queue.deviceAddr = setHigh(queue.deviceAddr, value);
        break;
    }
  }

  /**
   * Puts the device in DEVICE_NEEDS_RESET and, if the driver is running,
   * raises a configuration-change interrupt so it notices (virtio 1.1 2.1.2).
   */
  needsReset(reason: string): void {
    if (this.status & VirtioStatus.DEVICE_NEEDS_RESET) return;
    this.lastError = reason;
    this.status |= VirtioStatus.DEVICE_NEEDS_RESET;
    if (this.status & VirtioStatus.DRIVER_OK) {
      this.configGeneration = (this.configGeneration + 1) >>> 0;
      this.interruptStatus |= VirtioInterrupt.CONFIG_CHANGE;
      this.irq.set(true);
    }
  }

  /** Device reset: what writing 0 to Status does. */
  reset(): void {
    this.status = 0;
    this.interruptStatus = 0;
    this.driverFeatures = 0n;
    // QEMU's soft reset leaves the feature selectors and the written feature words alone.
    this.#queueSel = 0;
    for (const q of this.queues) q.reset();
    this.device.reset();
    this.irq.set(false);
  }

  #readConfig(offset: number, size: DeviceAccessSize): number {
    const config = this.device.config;
    // Past the end reads as all ones, as QEMU's virtio_config_modern_read*.
    if (offset + size > config.length) return size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
    if (size === 1) return config[offset];
    if (size === 2) return u16(config, offset);
    return u32(config, offset);
  }

  /**
   * As QEMU 7.2's modern virtio-mmio: a Status write with FEATURES_OK takes the
   * written feature words, dropping bits not offered (virtio_set_features; a
   * no-op once FEATURES_OK is set, so features are frozen). QEMU then validates
   * them only if VIRTIO_F_VERSION_1 was accepted, and its checks (an offered
   * but refused VIRTIO_F_IOMMU_PLATFORM, a device's validate_features) cannot
   * fail for a virtio-blk that offers no such bit: a driver that accepts only
   * the low 32 bits, or bits never offered, keeps FEATURES_OK.
   */
  #writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const S = VirtioStatus;
    if ((value & S.FEATURES_OK) && !(this.status & S.FEATURES_OK)) {
      const [low, high] = this.#driverFeatureWords;
      this.driverFeatures = ((BigInt(high) << 32n) | BigInt(low)) & this.#offered;
    }
    this.status = value | (this.status & S.DEVICE_NEEDS_RESET);
  }

  #notify(index: number): void {
    const queue = this.queues[index];
    if (queue === undefined || !queue.ready) return;
    if (this.status & VirtioStatus.DEVICE_NEEDS_RESET) return;
    try {
      this.device.processQueue(queue);
    } catch (error) {
      // A device bug must not take the machine down from inside a guest store.
      this.needsReset(`queue ${index}: ${error instanceof Error ? error.message : error}`);
    }
    if (queue.takeUsedNotification()) {
      this.interruptStatus |= VirtioInterrupt.USED_BUFFER;
      this.irq.set(true);
    }
  }
}

function setLow(address: number, low: number): number {
  return Math.floor(address / 0x1_0000_0000) * 0x1_0000_0000 + low;
}

function setHigh(address: number, high: number): number {
  return high * 0x1_0000_0000 + (address % 0x1_0000_0000);
}

/**
 * A virtio-mmio slot with nothing plugged in, as QEMU's: MagicValue, Version
 * and VendorID read normally, DeviceID and everything else read 0, writes are
 * ignored. Linux and U-Boot probe all eight slots and skip DeviceID 0.
 */
export class EmptyVirtioSlot implements MmioDevice {
  /** QEMU's transport rules. */
  readonly rules: readonly AccessRule[] = VIRTIO_MMIO_RULES;
  /**
   * @param name device name for events and the DTB.
   * @param version what Version reads: 2 to match modern transports on the same machine.
   */
  constructor(readonly name = "virtio-mmio", readonly version = VIRTIO_MMIO_VERSION) {}

  /** Reads the identification registers; everything else is 0. */
  read(offset: number, size: DeviceAccessSize): number {
    let value = 0;
    if (offset === VirtioMmioRegister.MAGIC_VALUE) value = VIRTIO_MMIO_MAGIC;
    else if (offset === VirtioMmioRegister.VERSION) value = this.version;
    else if (offset === VirtioMmioRegister.VENDOR_ID) value = VIRTIO_VENDOR_QEMU;
    return size === 4 ? value : value & ((1 << (8 * size)) - 1);
  }

  /** Ignored. */
  write(_offset: number, _size: DeviceAccessSize, _value: number): void {}
}
