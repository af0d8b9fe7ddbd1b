/**
 * Seeded device-fuzz tables for guests/adversarial/mmio_fuzz.S: random MMIO
 * loads and stores of every width (1, 2, 4, 8 bytes) at random offsets of
 * every device range of the `virt` map (syscon, RTC, CLINT, PLIC, UART and the
 * eight virtio-mmio slots), biased towards the register blocks, aligned three
 * times in four, and a tenth near the end of a range (straddling it).
 *
 * To make the virtio devices do DMA, one draw in eight starts a
 * burst: a reset and set-up of queue 0 of a slot (mostly the disk's) with
 * rings in a scratch area of guest RAM, at its end or outside RAM, then
 * DRIVER_OK and a notify; or a block request (header, data and status
 * descriptors, the header, an avail index) written into the scratch area's
 * rings, with buffers in the scratch area, across the end of RAM or outside
 * it, and a notify of the disk. One draw in eight stores random values and
 * such addresses into the rings. The scratch area lies above the table, and
 * the generated addresses avoid the program and the table (no lone bit 31,
 * RAM_BASE, among the random values), so DMA does not overwrite them.
 *
 * Writes that would stop the machine through the syscon (0x5555 poweroff,
 * 0x7777 reset, 0x3333 fail in the low 16 bits at offset 0) get bit 0 of the
 * value flipped: the run must end with the program's own verdict.
 *
 * @module
 */

import { parseElf } from "../core/elf.ts";
import { ClintReg } from "../devices/clint.ts";
import { VIRT_MEMMAP, VIRTIO_SLOTS } from "../devices/dtb.ts";
import { PlicReg } from "../devices/plic.ts";
import { FinisherStatus } from "../devices/syscon.ts";
import { VirtioMmioRegister as V } from "../devices/virtio-mmio.ts";
import { GdbClient } from "../devices/host/gdbclient.ts";
import { xorshift32 } from "./decoder-diff.ts";
import { HANG_GUARD_MS, QEMU, QEMU_CPU } from "./host-tools.ts";
import { freePort } from "./lockstep.ts";

/** One access of the table: `width` bytes at guest-physical `address`. */
export interface FuzzAccess {
  /** Guest-physical address. */
  address: number;
  /** Value stored (low `width` bytes); ignored by loads. */
  value: bigint;
  /** Access width in bytes. */
  width: 1 | 2 | 4 | 8;
  /** Store (true) or load. */
  write: boolean;
}

/** Bytes of the table header: count, then the failing entry, mcause and mtval. */
export const FUZZ_HEADER = 32;
/** Bytes per table entry (mmio_fuzz.S's layout). */
export const FUZZ_ENTRY = 24;

/** A device address range of the `virt` map. */
export interface DeviceRange {
  /** VIRT_MEMMAP's name (`virtio0`..`virtio7` for the slots). */
  name: string;
  /** Physical base address. */
  base: number;
  /** Size in bytes. */
  size: number;
}

/** Every device range of VIRT_MEMMAP, with the virtio slots one by one. */
export function deviceRanges(): DeviceRange[] {
  const ranges: DeviceRange[] = [];
  for (const [name, { base, size }] of Object.entries(VIRT_MEMMAP)) {
    if (name !== "virtio") ranges.push({ name, base, size });
  }
  const v = VIRT_MEMMAP.virtio;
  for (let i = 0; i < VIRTIO_SLOTS; i++) {
    ranges.push({ name: `virtio${i}`, base: v.base + i * v.size, size: v.size });
  }
  return ranges;
}

/** Register blocks the offsets gather around (the first 256 bytes of each). */
const HOT: Record<string, number[]> = {
  clint: [ClintReg.MSIP, ClintReg.MTIMECMP_LO, ClintReg.MTIME_LO - 0xf8],
  plic: [
    PlicReg.PRIORITY,
    PlicReg.PENDING,
    PlicReg.ENABLE,
    PlicReg.ENABLE + PlicReg.ENABLE_STRIDE,
    PlicReg.CONTEXT,
    PlicReg.CONTEXT + PlicReg.CONTEXT_STRIDE,
  ],
};

/** Where the generated accesses may point DMA: guest RAM `[scratch, ramEnd)`. */
export interface FuzzLayout {
  /** Start of the scratch area (4 KiB-aligned, above the table). */
  scratch: number;
  /** End of guest RAM. */
  ramEnd: number;
}

const WIDTHS = [1, 2, 4, 8] as const;
/** Descriptor flags (virtio 1.1 2.6.5): chained, device-writable. */
const NEXT = 1, WRITE = 2;
const SYSCON_STOPS: number[] = Object.values(FinisherStatus);

/** `count` accesses (bursts may add up to 8 more) drawn from `seed`. */
export function generateAccesses(seed: number, count: number, layout: FuzzLayout): FuzzAccess[] {
  const next = xorshift32(seed);
  const pick = <T>(list: readonly T[]) => list[next() % list.length];
  const u64 = () => (BigInt(next()) << 32n) | BigInt(next());
  const ranges = deviceRanges();
  const virtio = ranges.filter((r) => r.name.startsWith("virtio"));
  const disk = virtio[virtio.length - 1]; // QEMU plugs the first drive into the last slot
  // An address DMA may be pointed at: the scratch area, the end of RAM, or outside RAM.
  const dmaAddress = (): bigint => {
    switch (next() % 4) {
      case 0:
      case 1:
        return BigInt(layout.scratch + (next() % 0x4000) * 16);
      case 2:
        return BigInt(layout.ramEnd - (next() % 0x2000));
      default:
        return u64();
    }
  };
  const value = (): bigint => {
    switch (next() % 6) {
      case 0:
        return BigInt(next() % 16);
      case 1:
        return 0xffff_ffff_ffff_ffffn;
      case 2: { // one bit, but not bit 31 alone: that is RAM_BASE, the program
        const bit = next() % 63;
        return 1n << BigInt(bit < 31 ? bit : bit + 1);
      }
      case 3:
        return dmaAddress();
      default:
        return u64();
    }
  };
  const list: FuzzAccess[] = [];
  const store = (address: number, width: 1 | 2 | 4 | 8, v: bigint) =>
    list.push({ address, value: v, width, write: true });
  while (list.length < count) {
    const kind = next() % 32;
    if (kind < 2) {
      // Reset a slot (mostly), set up its queue 0 and notify it.
      const slot = kind === 0 ? disk : pick(virtio);
      const rings = next() % 2 ? BigInt(layout.scratch) : dmaAddress();
      store(slot.base + V.STATUS, 4, next() % 4 ? 0n : BigInt(next() % 16));
      store(slot.base + V.QUEUE_SEL, 4, 0n);
      store(slot.base + V.QUEUE_NUM, 4, BigInt(1 << (next() % 11)));
      store(slot.base + V.QUEUE_DESC_LOW, 8, rings);
      store(slot.base + V.QUEUE_DRIVER_LOW, 8, rings + 0x1000n);
      store(slot.base + V.QUEUE_DEVICE_LOW, 8, rings + 0x2000n);
      store(slot.base + V.QUEUE_READY, 4, 1n);
      store(slot.base + V.STATUS, 4, 0xfn);
      store(slot.base + V.QUEUE_NOTIFY, 4, 0n);
      continue;
    }
    if (kind < 4) {
      // A block request in the scratch area's rings: header, data, status
      // descriptors, the header, an avail index, and a notify of the disk.
      const at = layout.scratch;
      const desc = (i: number, addr: bigint, len: number, flags: number, next: number) => {
        store(at + 16 * i, 8, addr);
        store(at + 16 * i + 8, 8, BigInt(len) | (BigInt(flags) << 32n) | (BigInt(next) << 48n));
      };
      const length = pick([512, 512 * (1 + (next() % 8)), next() % 0x2000, 0xffff_ffff]);
      desc(0, BigInt(at + 0x3000), 16, NEXT, 1);
      desc(1, next() % 2 ? BigInt(at + 0x4000) : dmaAddress(), length, NEXT | (next() & WRITE), 2);
      desc(2, next() % 2 ? BigInt(at + 0x6000) : dmaAddress(), 1, WRITE, 0);
      store(at + 0x3000, 8, BigInt(pick([0, 1, 4, 8, next() % 32])));
      store(at + 0x3008, 8, BigInt(next() % 2 ? next() % 160 : next()));
      store(at + 0x1000, 8, BigInt(1 + (next() % 4)) << 16n); // flags 0, idx, ring[0..1] = 0
      store(disk.base + V.QUEUE_NOTIFY, 4, 0n);
      continue;
    }
    if (kind < 8) {
      // Random descriptor and ring contents.
      const v = next() % 3;
      store(
        layout.scratch + (next() % 0x600) * 8,
        8,
        v === 0 ? dmaAddress() : v === 1 ? u64() : BigInt(next() % 8),
      );
      continue;
    }
    const range = pick(ranges);
    const width = pick(WIDTHS);
    let offset: number;
    const where = next() % 10;
    if (where < 5) offset = pick(HOT[range.name] ?? [0]) + (next() % 0x100);
    else if (where < 9) offset = next() % range.size;
    else offset = range.size - 16 + (next() % 16);
    if (next() % 4 !== 0) offset -= offset % width;
    const access: FuzzAccess = {
      address: range.base + offset,
      value: value(),
      width,
      write: next() % 2 === 0,
    };
    if (
      access.write && range.name === "test" && offset === 0 && width >= 2 &&
      SYSCON_STOPS.includes(Number(access.value & 0xffffn))
    ) {
      access.value ^= 1n;
    }
    list.push(access);
  }
  return list;
}

/** The table as mmio_fuzz.S reads it (outcomes and failure fields zero). */
export function encodeTable(accesses: FuzzAccess[]): Uint8Array {
  const bytes = new Uint8Array(FUZZ_HEADER + accesses.length * FUZZ_ENTRY);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(accesses.length), true);
  accesses.forEach((a, i) => {
    const at = FUZZ_HEADER + i * FUZZ_ENTRY;
    view.setBigUint64(at, BigInt(a.address), true);
    view.setBigUint64(at + 8, BigInt.asUintN(64, a.value), true);
    view.setUint8(at + 16, a.width);
    view.setUint8(at + 17, a.write ? 1 : 0);
  });
  return bytes;
}

/** What a run left in the table: per entry and pass (0 = M, 1 = S), the trap cause or 0. */
export interface FuzzResult {
  /** `outcomes[pass][i]`: mcause of entry i's trap in that pass, 0 if it completed. */
  outcomes: [number[], number[]];
  /**
   * `mtvals[pass][i]`: where entry i's trap was, as mtval minus the address
   * aligned down to the width (0 if it completed).
   */
  mtvals: [number[], number[]];
  /** The entry a bad trap hit (index), with its mcause and mtval, or null. */
  failure: { index: number; mcause: bigint; mtval: bigint } | null;
}

/** Decodes the table of `count` entries at `table` (guest-physical `tableAddress`) after a run. */
export function readResult(table: Uint8Array, tableAddress: number, count: number): FuzzResult {
  const view = new DataView(table.buffer, table.byteOffset, table.length);
  const outcomes: [number[], number[]] = [[], []];
  const mtvals: [number[], number[]] = [[], []];
  for (let i = 0; i < count; i++) {
    for (const pass of [0, 1]) {
      outcomes[pass].push(view.getUint8(FUZZ_HEADER + i * FUZZ_ENTRY + 18 + pass));
      mtvals[pass].push(view.getUint8(FUZZ_HEADER + i * FUZZ_ENTRY + 20 + pass));
    }
  }
  const entry = Number(view.getBigUint64(8, true));
  const failure = entry === 0 ? null : {
    index: (entry - tableAddress - FUZZ_HEADER) / FUZZ_ENTRY,
    mcause: view.getBigUint64(16, true),
    mtval: view.getBigUint64(24, true),
  };
  return { outcomes, mtvals, failure };
}

/** Bytes per gdb memory packet: QEMU's stub drops packets over 4 KiB (PacketSize=1000 hex). */
const GDB_CHUNK = 1024;

/**
 * Runs mmio_fuzz.S (`elf`) on QEMU 7.2 with
 * `table` at its `fuzz_table` and `disk` (a raw image file) as the virtio disk
 * in QEMU's default slot (the last), modern virtio-mmio as rvisor's. The table
 * goes in over QEMU's GDB stub before the first instruction, and comes back
 * when the program reaches its `pass` or `fail` label (the syscon write after
 * them would end QEMU and its memory with it). Returns the table after the run.
 */
export async function runOnQemu(elf: string, table: Uint8Array, disk: string): Promise<Uint8Array> {
  const symbols = parseElf(Deno.readFileSync(elf)).symbols;
  const address = BigInt(symbols.get("fuzz_table")!);
  const port = freePort();
  const qemu = new Deno.Command(QEMU, {
    args: [
      ...["-M", "virt", "-m", "128M", "-cpu", QEMU_CPU, "-bios", "none", "-kernel", elf],
      ...["-display", "none", "-serial", "null", "-monitor", "none"],
      ...["-global", "virtio-mmio.force-legacy=false"],
      ...[
        "-drive",
        `if=none,format=raw,file=${disk},id=d0`,
        "-device",
        "virtio-blk-device,drive=d0",
      ],
      ...["-gdb", `tcp:127.0.0.1:${port}`, "-S"],
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null", // QEMU's virtio complaints about the fuzzed rings
  }).spawn();
  const guard = setTimeout(() => qemu.kill("SIGKILL"), HANG_GUARD_MS);
  let client: GdbClient | undefined;
  try {
    client = await GdbClient.connect(port);
    for (let at = 0; at < table.length; at += GDB_CHUNK) {
      await client.writeMemory(address + BigInt(at), table.subarray(at, at + GDB_CHUNK));
    }
    for (const label of ["pass", "fail"]) {
      await client.command(`Z0,${symbols.get(label)!.toString(16)},4`);
    }
    await client.cont();
    const after = new Uint8Array(table.length);
    for (let at = 0; at < table.length; at += GDB_CHUNK) {
      const n = Math.min(GDB_CHUNK, table.length - at);
      after.set(await client.readMemory(address + BigInt(at), n), at);
    }
    return after;
  } finally {
    clearTimeout(guard);
    client?.close();
    try {
      qemu.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await qemu.status;
  }
}
