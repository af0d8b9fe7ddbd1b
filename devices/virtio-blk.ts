/**
 * The virtio block device (virtio 1.1 section 5.2), behaving like QEMU 7.2's
 * `virtio-blk-device` for the requests it implements: IN, OUT, FLUSH and GET_ID.
 *
 * A request is a descriptor chain: a 16-byte header (type, reserved, sector) in
 * device-readable buffers, then data, then one status byte at the very end of
 * the device-writable buffers. The split between descriptors is free
 * (VIRTIO_F_VERSION_1 implies ANY_LAYOUT), so the header, data and status are
 * read as byte streams over the chain.
 *
 * @module
 */

import { type BlockBackend, SECTOR_SIZE } from "./block.ts";
import type { DescriptorChain, VirtioDevice, VirtqSegment, Virtqueue } from "./virtio-mmio.ts";

/** Virtio device ID of a block device. */
export const VIRTIO_ID_BLOCK = 2;

/** virtio-blk feature bit numbers. */
export const VirtioBlkFeature = {
  SIZE_MAX: 1,
  SEG_MAX: 2,
  GEOMETRY: 4,
  RO: 5,
  BLK_SIZE: 6,
  FLUSH: 9,
  TOPOLOGY: 10,
  CONFIG_WCE: 11,
  MQ: 12,
  DISCARD: 13,
  WRITE_ZEROES: 14,
} as const;

/** Request types (the header's first field). */
export const VirtioBlkRequestType = {
  IN: 0,
  OUT: 1,
  FLUSH: 4,
  GET_ID: 8,
  DISCARD: 11,
  WRITE_ZEROES: 13,
} as const;

/** Values of the status byte that ends every request. */
export const VirtioBlkStatus = {
  OK: 0,
  IOERR: 1,
  UNSUPP: 2,
} as const;

/** Size of the request header in device-readable buffers. */
export const VIRTIO_BLK_HEADER_SIZE = 16;
/** Length of the GET_ID answer (VIRTIO_BLK_ID_BYTES). */
export const VIRTIO_BLK_ID_BYTES = 20;
/** Size of `struct virtio_blk_config` up to and including the write-zeroes fields. */
export const VIRTIO_BLK_CONFIG_SIZE = 60;
/**
 * seg_max: QEMU (seg-max-adjust, the default since 5.0) reports its queue size
 * (256) minus 2 for header and status.
 */
export const VIRTIO_BLK_SEG_MAX = 254;

/** Options of {@linkcode VirtioBlockDevice}. */
export interface VirtioBlockOptions {
  /** What GET_ID returns (at most 20 bytes are visible); QEMU's default is empty. */
  serial?: string;
}

/** A virtio block device over a {@linkcode BlockBackend}. */
export class VirtioBlockDevice implements VirtioDevice {
  /** Always {@linkcode VIRTIO_ID_BLOCK}. */
  readonly deviceId = VIRTIO_ID_BLOCK;
  /** One request queue, as QEMU's default (num-queues resolves to 1 off PCI). */
  readonly queueCount = 1;
  /** Offered features: what QEMU offers by default, minus the requests we do not implement. */
  readonly features: bigint;
  /** Configuration space (capacity, seg_max, blk_size, ...). */
  readonly config: Uint8Array;
  readonly #backend: BlockBackend;
  readonly #id = new Uint8Array(VIRTIO_BLK_ID_BYTES);

  /**
   * @param backend the disk; its `readOnly` decides VIRTIO_BLK_F_RO.
   * @param options serial number for GET_ID.
   */
  constructor(backend: BlockBackend, options: VirtioBlockOptions = {}) {
    this.#backend = backend;
    const serial = new TextEncoder().encode(options.serial ?? "");
    this.#id.set(serial.subarray(0, VIRTIO_BLK_ID_BYTES));

    const F = VirtioBlkFeature;
    let features = (1n << BigInt(F.SEG_MAX)) | (1n << BigInt(F.BLK_SIZE)) |
      (1n << BigInt(F.FLUSH)) | (1n << BigInt(F.TOPOLOGY));
    if (backend.readOnly) features |= 1n << BigInt(F.RO);
    this.features = features;

    this.config = new Uint8Array(VIRTIO_BLK_CONFIG_SIZE);
    const view = new DataView(this.config.buffer);
    const sectors = Math.floor(backend.size / SECTOR_SIZE);
    view.setBigUint64(0, BigInt(sectors), true); // capacity
    view.setUint32(12, VIRTIO_BLK_SEG_MAX, true); // seg_max
    view.setUint32(20, SECTOR_SIZE, true); // blk_size
    // Topology (offsets 24..31) stays 0: one logical block per physical block, no hints.
    view.setUint8(32, 1); // writeback, as QEMU's default cache mode reports
    view.setUint16(34, this.queueCount, true); // num_queues
  }

  /** Nothing is cached between requests. */
  reset(): void {}

  /** Executes every available request and returns it through the used ring. */
  processQueue(queue: Virtqueue): void {
    for (let chain = queue.pop(); chain !== null; chain = queue.pop()) {
      const written = this.#execute(queue, chain);
      if (written < 0) return;
      queue.push(chain, written);
    }
  }

  /** Runs one request; returns the used length, or -1 if the queue was marked broken. */
  #execute(queue: Virtqueue, chain: DescriptorChain): number {
    const { readable, writable } = chain;
    const readableLength = totalLength(readable);
    const writableLength = totalLength(writable);
    // Malformed requests break the device, as in QEMU (virtio_error).
    if (readableLength < VIRTIO_BLK_HEADER_SIZE) {
      queue.fail("virtio-blk request header missing or short");
      return -1;
    }
    const last = writable[writable.length - 1];
    if (last === undefined || last.length === 0) {
      queue.fail("virtio-blk request without a status byte");
      return -1;
    }
    const statusByte = last.view ?? queue.bus.dmaView(last.addr + last.length - 1, 1, true);
    if (statusByte === null) {
      queue.fail("virtio-blk status byte is outside RAM");
      return -1;
    }
    const status = this.#run(readable, writable, readableLength, writableLength);
    statusByte[statusByte.length - 1] = status;
    return writableLength;
  }

  #run(
    readable: VirtqSegment[],
    writable: VirtqSegment[],
    readableLength: number,
    writableLength: number,
  ): number {
    const S = VirtioBlkStatus;
    // A buffer outside RAM fails the request before anything moves.
    if (readable.some((s) => s.view === null) || writable.some((s) => s.view === null)) {
      return S.IOERR;
    }
    const header = new Uint8Array(VIRTIO_BLK_HEADER_SIZE);
    copyFromStream(readable, 0, header);
    const headerView = new DataView(header.buffer);
    const type = headerView.getUint32(0, true);
    const sectorLow = headerView.getUint32(8, true);
    const sectorHigh = headerView.getUint32(12, true);
    const T = VirtioBlkRequestType;
    try {
      switch (type) {
        case T.IN:
        case T.OUT: {
          const isWrite = type === T.OUT;
          const length = isWrite ? readableLength - VIRTIO_BLK_HEADER_SIZE : writableLength - 1;
          if (!this.#inDisk(sectorLow, sectorHigh, length)) return S.IOERR;
          if (isWrite && this.#backend.readOnly) return S.IOERR;
          const offset = (sectorHigh * 0x1_0000_0000 + sectorLow) * SECTOR_SIZE;
          if (isWrite) {
            forEachPiece(readable, VIRTIO_BLK_HEADER_SIZE, length, (bytes, at) => {
              this.#backend.write(offset + at, bytes);
            });
          } else {
            forEachPiece(writable, 0, length, (bytes, at) => {
              this.#backend.read(offset + at, bytes);
            });
          }
          return S.OK;
        }
        case T.FLUSH:
          this.#backend.flush();
          return S.OK;
        case T.GET_ID: {
          const length = Math.min(VIRTIO_BLK_ID_BYTES, writableLength - 1);
          forEachPiece(writable, 0, length, (bytes, at) => {
            bytes.set(this.#id.subarray(at, at + bytes.length));
          });
          return S.OK;
        }
        default:
          return S.UNSUPP;
      }
    } catch {
      // Host I/O failures (a file write error) are the guest's IOERR, not our crash.
      return S.IOERR;
    }
  }

  /** Same checks as QEMU's virtio_blk_sect_range_ok: whole sectors, inside the disk. */
  #inDisk(sectorLow: number, sectorHigh: number, length: number): boolean {
    if (length % SECTOR_SIZE !== 0) return false;
    const totalSectors = Math.floor(this.#backend.size / SECTOR_SIZE);
    if (sectorHigh >= 0x20_0000) return false; // past 2^53: far beyond any disk
    const sector = sectorHigh * 0x1_0000_0000 + sectorLow;
    return sector <= totalSectors && length / SECTOR_SIZE <= totalSectors - sector;
  }
}

function totalLength(segments: VirtqSegment[]): number {
  let total = 0;
  for (const s of segments) total += s.length;
  return total;
}

/**
 * Calls `fn` for each RAM piece of bytes `[start, start + length)` of the
 * stream formed by `segments` (all in RAM), with the piece's offset from `start`.
 */
function forEachPiece(
  segments: VirtqSegment[],
  start: number,
  length: number,
  fn: (bytes: Uint8Array, at: number) => void,
): void {
  let streamPos = 0;
  let done = 0;
  for (const s of segments) {
    if (done === length) return;
    const segEnd = streamPos + s.length;
    if (segEnd > start + done) {
      const from = start + done - streamPos;
      const n = Math.min(s.length - from, length - done);
      if (n > 0) fn(s.view!.subarray(from, from + n), done);
      done += n;
    }
    streamPos = segEnd;
  }
}

function copyFromStream(segments: VirtqSegment[], start: number, into: Uint8Array): void {
  forEachPiece(segments, start, into.length, (bytes, at) => into.set(bytes, at));
}
