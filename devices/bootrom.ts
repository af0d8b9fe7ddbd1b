/**
 * The `virt` machine's mask ROM at 0x1000 and QEMU 7.2's boot placement rules.
 *
 * The hart resets to 0x1000, where QEMU puts a 6-instruction reset vector
 * (hw/riscv/boot.c, riscv_setup_rom_reset_vec) that enters the first stage with
 * a0 = hart id, a1 = DTB address and a2 = a `fw_dynamic_info` record for
 * OpenSBI's fw_dynamic. Reproducing it word for word lets firmware that
 * inspects a2 (or the ROM) behave as on QEMU. The DTB itself lives in RAM (see
 * {@linkcode fdtLoadAddress}), as on QEMU; the rest of the ROM reads as zero.
 *
 * @module
 */

import type { DeviceAccessSize, MmioDevice } from "../core/bus.ts";

/** Base of the mask ROM (`VIRT_MROM`). */
export const BOOT_ROM_BASE = 0x1000;
/** Size of the mask ROM window (`VIRT_MROM`: 0xf000 bytes, up to 0x10000). */
export const BOOT_ROM_SIZE = 0xf000;
/**
 * Where the stage after the firmware goes (OpenSBI fw_jump's FW_JUMP_ADDR, and
 * QEMU's kernel address after a firmware that ends below 2 MiB into RAM).
 */
export const KERNEL_LOAD_ADDRESS = 0x8020_0000;
/**
 * The size QEMU 7.2 uses when placing the DTB: it computes the address from
 * `fdt_totalsize()` before `fdt_pack()`, i.e. from its 1 MiB working buffer.
 */
export const QEMU_FDT_BUFFER_SIZE = 0x10_0000;

/** OpenSBI's `FW_DYNAMIC_INFO_MAGIC_VALUE` ("OSBI"). */
export const FW_DYNAMIC_INFO_MAGIC = 0x4942534f;
/** The `fw_dynamic_info` version QEMU 7.2 writes. */
export const FW_DYNAMIC_INFO_VERSION = 2;
/** Privilege mode OpenSBI enters the next stage in (`FW_DYNAMIC_INFO_NEXT_MODE_S`). */
export const FW_DYNAMIC_INFO_NEXT_MODE_S = 1;

const MiB = 1024 * 1024;

/** The RV64 reset vector; the loads read start_addr and fdt_addr placed right after it. */
const RESET_VECTOR = [
  0x00000297, // 1: auipc t0, %pcrel_hi(fw_dyn)
  0x02828613, //    addi  a2, t0, %pcrel_lo(1b)   (a2 = &fw_dynamic_info)
  0xf1402573, //    csrr  a0, mhartid
  0x0202b583, //    ld    a1, 32(t0)               (a1 = fdt_addr)
  0x0182b283, //    ld    t0, 24(t0)               (t0 = start_addr)
  0x00028067, //    jr    t0
];

/** Options of {@linkcode BootRom}. */
export interface BootRomOptions {
  /** fw_dynamic_info.boot_hart; QEMU writes 0. */
  bootHart?: number;
}

/**
 * Builds the ROM contents: reset vector, start_addr, fdt_addr and
 * `fw_dynamic_info` {magic, version, next_addr, next_mode, options, boot_hart},
 * all 64-bit little-endian, 0x58 bytes in total.
 */
export function bootRomImage(
  startAddr: number,
  fdtAddr: number,
  nextAddr: number,
  options: BootRomOptions = {},
): Uint8Array {
  const u64s = [
    startAddr,
    fdtAddr,
    FW_DYNAMIC_INFO_MAGIC,
    FW_DYNAMIC_INFO_VERSION,
    nextAddr,
    FW_DYNAMIC_INFO_NEXT_MODE_S,
    0, // options
    options.bootHart ?? 0,
  ];
  const bytes = new Uint8Array(RESET_VECTOR.length * 4 + u64s.length * 8);
  const view = new DataView(bytes.buffer);
  RESET_VECTOR.forEach((w, i) => view.setUint32(i * 4, w, true));
  u64s.forEach((v, i) => {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`boot ROM value ${v} is not a u64`);
    const at = RESET_VECTOR.length * 4 + i * 8;
    view.setUint32(at, v >>> 0, true);
    view.setUint32(at + 4, Math.floor(v / 0x1_0000_0000), true);
  });
  return bytes;
}

/** The mask ROM device, mapped at {@linkcode BOOT_ROM_BASE}; writes are ignored. */
export class BootRom implements MmioDevice {
  /** Device name, as QEMU's memory region. */
  readonly name = "mrom";
  /** ROM bytes that are not zero (the rest of the window reads as zero). */
  readonly image: Uint8Array;
  #view: DataView;

  /**
   * @param startAddr where the reset vector jumps (the firmware, or the kernel with `-bios none`).
   * @param fdtAddr DTB address passed in a1.
   * @param nextAddr `fw_dynamic_info.next_addr`: the stage the firmware starts next.
   */
  constructor(
    readonly startAddr: number,
    readonly fdtAddr: number,
    readonly nextAddr: number,
    options: BootRomOptions = {},
  ) {
    this.image = bootRomImage(startAddr, fdtAddr, nextAddr, options);
    this.#view = new DataView(this.image.buffer);
  }

  /** Reads ROM bytes little-endian; beyond the image, zero. */
  read(offset: number, size: DeviceAccessSize): number {
    if (offset + size > this.image.length) {
      let value = 0;
      for (let i = size - 1; i >= 0; i--) value = value * 256 + (this.image[offset + i] ?? 0);
      return value;
    }
    if (size === 4) return this.#view.getUint32(offset, true);
    if (size === 2) return this.#view.getUint16(offset, true);
    return this.image[offset];
  }

  /** ROM: writes are dropped, as QEMU drops writes to the mrom region. */
  write(_offset: number, _size: DeviceAccessSize, _value: number): void {}
}

/**
 * Where QEMU 7.2 puts the DTB (riscv_load_fdt): the highest 2 MiB-aligned
 * address that leaves `fdtSize` bytes before the end of RAM, or before 3 GiB
 * when RAM starts below 3 GiB (so 32-bit kernels can reach it).
 * `fdtSize` defaults to QEMU's 1 MiB buffer, which is what 7.2 measures.
 */
export function fdtLoadAddress(
  ramBase: number,
  ramSize: number,
  fdtSize = QEMU_FDT_BUFFER_SIZE,
): number {
  const ramEnd = ramBase + ramSize;
  const limit = ramBase < 3072 * MiB ? Math.min(ramEnd, 3072 * MiB) : ramEnd;
  const addr = Math.floor((limit - fdtSize) / (2 * MiB)) * (2 * MiB);
  if (addr < ramBase) {
    throw new RangeError(`a ${fdtSize}-byte DTB does not fit in 0x${ramSize.toString(16)} of RAM`);
  }
  return addr;
}

/**
 * Where QEMU 7.2 puts the initrd (riscv_load_initrd): half the RAM size past
 * the kernel on machines under 256 MiB, else 128 MiB past it, far enough that
 * the kernel does not overwrite it while unpacking and low enough to stay in
 * the kernel's low memory.
 */
export function initrdLoadAddress(kernelEntry: number, ramSize: number): number {
  return kernelEntry + Math.min(Math.floor(ramSize / 2), 128 * MiB);
}
