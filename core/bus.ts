/**
 * The physical bus: one RAM region backed by a single ArrayBuffer, and
 * memory-mapped devices. Addresses here are physical and non-negative JS numbers
 * (below 2^56, so always exact).
 *
 * Devices see accesses at offsets relative to their base. A device may declare
 * its access rules (QEMU 7.2's MemoryRegionOps `.valid` and `.impl` and its
 * region size): the bus then refuses the widths and offsets QEMU's model
 * refuses (the hart turns that into an access fault, as QEMU's unassigned
 * accesses) and splits 8-byte accesses into two 4-byte halves (low half first)
 * where the model implements only 4 bytes, as QEMU's memory core does.
 *
 * @module
 */

import type { EventBus } from "./events.ts";

/**
 * Access widths a device sees: 8 only where its rule says `implWidth: 8`, and
 * such a device's values fit in 32 bits (the high word reads 0).
 */
export type DeviceAccessSize = 1 | 2 | 4 | 8;

/**
 * The accesses a device's register range takes, as QEMU 7.2's model declares
 * them (`MemoryRegionOps.valid` / `.impl` and the region's size).
 */
export interface AccessRule {
  /** First offset of the range. */
  readonly offset: number;
  /** Bytes in the range; accesses that do not lie wholly in a range fault. */
  readonly size: number;
  /** Narrowest access taken (`.valid.min_access_size`); narrower ones fault. */
  readonly minWidth: 1 | 2 | 4 | 8;
  /** Widest access taken (`.valid.max_access_size`); wider ones fault. */
  readonly maxWidth: 1 | 2 | 4 | 8;
  /**
   * Widest access the model is called with (`.impl.max_access_size`): 8 gives
   * the device an 8-byte access as one call, 4 makes it two, low half first.
   */
  readonly implWidth: 4 | 8;
}

/** A memory-mapped device. Values are the low `size * 8` bits, unsigned. */
export interface MmioDevice {
  /** Short name used in events, errors and the DTB (e.g. `uart0`). */
  readonly name: string;
  /**
   * The accesses the device takes, by register range; without rules, every
   * aligned access in the mapped range completes (8 bytes as two halves).
   */
  readonly rules?: readonly AccessRule[];
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

/** The rule of a device without rules: every aligned access, 8 bytes as two halves. */
const ANY_ACCESS: AccessRule = {
  offset: 0,
  size: Infinity,
  minWidth: 1,
  maxWidth: 8,
  implWidth: 4,
};

/**
 * QEMU 7.2's misaligned device load (accel/tcg/cputlb.c, load_helper): the
 * `size`-byte value at byte `shift` of the two aligned `size`-byte loads `r1`
 * (below) and `r2` (above), combined little-endian.
 */
export function combineSplitLoad(r1: bigint, r2: bigint, shift: number, size: number): bigint {
  const bits = BigInt(8 * shift), width = 8 * size;
  return BigInt.asUintN(
    width,
    (BigInt.asUintN(width, r1) >> bits) | (r2 << (BigInt(width) - bits)),
  );
}

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
   * The rule under which the device at `paddr` takes an aligned `size`-byte
   * access, or null if QEMU's model would refuse it (an access fault). A
   * device without rules gets a rule that takes any access in its range.
   */
  deviceRule(paddr: number, size: number): AccessRule | null {
    const r = this.findRegion(paddr);
    if (r === null || paddr + size > r.base + r.size) return null;
    const rules = r.device.rules;
    if (rules === undefined) return ANY_ACCESS;
    const offset = paddr - r.base;
    for (const rule of rules) {
      if (offset >= rule.offset && offset + size <= rule.offset + rule.size) {
        return size >= rule.minWidth && size <= rule.maxWidth ? rule : null;
      }
    }
    return null;
  }

  /**
   * Loads an aligned access that {@linkcode deviceRule} gave `rule` for: the
   * low word, zero-extended; the high word of an 8-byte access in `loadHi`.
   */
  loadDevice(paddr: number, size: 1 | 2 | 4 | 8, rule: AccessRule): number {
    if (size === 8 && rule.implWidth === 4) {
      const lo = this.readDevice(paddr, 4);
      this.loadHi = this.readDevice(paddr + 4, 4);
      return lo;
    }
    this.loadHi = 0;
    return this.readDevice(paddr, size);
  }

  /** The high word of {@linkcode loadDevice}'s last 8-byte access. */
  loadHi = 0;

  /** Stores an aligned access that {@linkcode deviceRule} gave `rule` for. */
  storeDevice(paddr: number, size: 1 | 2 | 4 | 8, rule: AccessRule, lo: number, hi: number): void {
    if (size === 8 && rule.implWidth === 4) {
      this.writeDevice(paddr, 4, lo);
      this.writeDevice(paddr + 4, 4, hi);
    } else {
      this.writeDevice(paddr, size, lo);
    }
  }

  /**
   * Reads a value from a device (no rule check: the caller has checked
   * `isMapped`, or `deviceRule` for guest accesses). Returns it zero-extended.
   */
  readDevice(paddr: number, size: DeviceAccessSize): number {
    const r = this.findRegion(paddr)!;
    const value = r.device.read(paddr - r.base, size);
    if (this.events.wants("mmio")) {
      this.events.emit("mmio", { addr: paddr, size, write: false, value, device: r.device.name });
    }
    return value;
  }

  /** Writes a value to a device (no rule check, as {@linkcode readDevice}). */
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
