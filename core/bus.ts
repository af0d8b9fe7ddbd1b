/**
 * The physical bus: one RAM region backed by a single ArrayBuffer, and
 * memory-mapped devices. Addresses here are physical and non-negative JS numbers
 * (below 2^56, so always exact).
 *
 * Devices see only 1-, 2- and 4-byte accesses at offsets relative to their base;
 * the bus splits 8-byte accesses into two 4-byte halves (low half first), which
 * is how QEMU's `virt` devices that are 32-bit wide behave too.
 *
 * @module
 */

import type { EventBus } from "./events.ts";

/** Access widths a device sees. */
export type DeviceAccessSize = 1 | 2 | 4;

/** A memory-mapped device. Values are the low `size * 8` bits, unsigned. */
export interface MmioDevice {
  /** Short name used in events, errors and the DTB (e.g. `uart0`). */
  readonly name: string;
  /** Reads `size` bytes at `offset` from the device's base. */
  read(offset: number, size: DeviceAccessSize): number;
  /** Writes the low `size` bytes of `value` at `offset` from the device's base. */
  write(offset: number, size: DeviceAccessSize, value: number): void;
}

/** A device mapped at a physical address range. */
export interface MmioRegion {
  /** First physical address. */
  readonly base: number;
  /** Size in bytes. */
  readonly size: number;
  /** The device behind the range. */
  readonly device: MmioDevice;
}

/** Physical address where RAM starts on the `virt` machine. */
export const RAM_BASE = 0x8000_0000;

/** Thrown by the bus for configuration mistakes (overlapping regions and the like). */
export class BusConfigError extends Error {
  override name = "BusConfigError";
}

/** RAM plus MMIO regions; the hart's slow path and DMA-capable devices use it. */
export class Bus {
  /** RAM bytes. */
  readonly ram: Uint8Array;
  /** RAM as 16-bit halfwords (instruction fetch). */
  readonly ram16: Uint16Array;
  /** RAM as 32-bit words (aligned loads and stores). */
  readonly ram32: Int32Array;
  /** Physical address of RAM byte 0. */
  readonly ramBase: number;
  /** RAM size in bytes (a multiple of 4 KiB). */
  readonly ramSize: number;
  /** Mapped devices, sorted by base address. */
  readonly regions: MmioRegion[] = [];
  #last: MmioRegion | null = null;

  /**
   * @param ramSize RAM size in bytes, a multiple of 4096.
   * @param events the bus on which MMIO accesses are published.
   * @param ramBase physical address of RAM.
   * @param backing use this memory (a 4 KiB-aligned window of another buffer) as RAM.
   */
  constructor(
    ramSize: number,
    readonly events: EventBus,
    ramBase = RAM_BASE,
    backing?: { buffer: ArrayBuffer; byteOffset: number },
  ) {
    if (!Number.isInteger(ramSize) || ramSize <= 0 || ramSize % 4096 !== 0) {
      throw new BusConfigError(`RAM size ${ramSize} is not a positive multiple of 4096`);
    }
    // A bus may see a window of another bus's RAM: the hypervisor's guest bus does,
    // so that guest DMA can only ever reach the guest's own memory.
    const buffer = backing?.buffer ?? new ArrayBuffer(ramSize);
    const offset = backing?.byteOffset ?? 0;
    this.ram = new Uint8Array(buffer, offset, ramSize);
    this.ram16 = new Uint16Array(buffer, offset, ramSize / 2);
    this.ram32 = new Int32Array(buffer, offset, ramSize / 4);
    this.ramBase = ramBase;
    this.ramSize = ramSize;
  }

  /** Maps `device` at `[base, base + size)`. */
  map(base: number, size: number, device: MmioDevice): void {
    for (const r of this.regions) {
      if (base < r.base + r.size && r.base < base + size) {
        throw new BusConfigError(
          `${device.name} at 0x${base.toString(16)} overlaps ${r.device.name} at 0x${
            r.base.toString(16)
          }`,
        );
      }
    }
    if (base < this.ramBase + this.ramSize && this.ramBase < base + size) {
      throw new BusConfigError(`${device.name} at 0x${base.toString(16)} overlaps RAM`);
    }
    this.regions.push({ base, size, device });
    this.regions.sort((a, b) => a.base - b.base);
  }

  /** Byte offset into RAM of `[paddr, paddr + size)`, or -1 if that range is not all RAM. */
  ramOffset(paddr: number, size = 1): number {
    const off = paddr - this.ramBase;
    return off >= 0 && off + size <= this.ramSize ? off : -1;
  }

  /** The device region containing `paddr`, or null. */
  findRegion(paddr: number): MmioRegion | null {
    const last = this.#last;
    if (last !== null && paddr >= last.base && paddr < last.base + last.size) return last;
    for (const r of this.regions) {
      if (paddr >= r.base && paddr < r.base + r.size) return (this.#last = r);
    }
    return null;
  }

  /** True if `[paddr, paddr + size)` is RAM or lies inside one device. */
  isMapped(paddr: number, size: number): boolean {
    if (this.ramOffset(paddr, size) >= 0) return true;
    const r = this.findRegion(paddr);
    return r !== null && paddr + size <= r.base + r.size;
  }

  /**
   * Reads a 1-, 2- or 4-byte value from a device. The caller has checked
   * `isMapped`. Returns the value zero-extended.
   */
  readDevice(paddr: number, size: DeviceAccessSize): number {
    const r = this.findRegion(paddr)!;
    const value = r.device.read(paddr - r.base, size);
    if (this.events.wants("mmio")) {
      this.events.emit("mmio", { addr: paddr, size, write: false, value, device: r.device.name });
    }
    return value;
  }

  /** Writes a 1-, 2- or 4-byte value to a device. The caller has checked `isMapped`. */
  writeDevice(paddr: number, size: DeviceAccessSize, value: number): void {
    const r = this.findRegion(paddr)!;
    if (this.events.wants("mmio")) {
      this.events.emit("mmio", { addr: paddr, size, write: true, value, device: r.device.name });
    }
    r.device.write(paddr - r.base, size, value);
  }

  /** Copies `data` into RAM at physical `paddr`; throws if it does not fit. */
  loadBytes(paddr: number, data: Uint8Array): void {
    const off = this.ramOffset(paddr, Math.max(1, data.length));
    if (off < 0) {
      throw new BusConfigError(
        `0x${data.length.toString(16)} bytes at 0x${paddr.toString(16)} do not fit in RAM ` +
          `(0x${this.ramBase.toString(16)}..0x${(this.ramBase + this.ramSize).toString(16)})`,
      );
    }
    this.ram.set(data, off);
    this.onRamWritten?.(paddr, data.length);
  }

  /**
   * Called after RAM was written behind the hart's back (DMA, loaders), so that
   * caches of decoded instructions can drop the range. Set by the hart.
   */
  onRamWritten: ((paddr: number, length: number) => void) | null = null;

  /**
   * DMA access to RAM: a view of `[paddr, paddr + length)`, or null if the range
   * is not entirely RAM. Devices must check for null (addresses come from the
   * guest). Pass `forWrite` when the device will write into the view.
   */
  dmaView(paddr: number, length: number, forWrite = false): Uint8Array | null {
    const off = this.ramOffset(paddr, length);
    if (off < 0) return null;
    if (forWrite) this.onRamWritten?.(paddr, length);
    return this.ram.subarray(off, off + length);
  }
}
