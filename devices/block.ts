/**
 * Block storage behind block devices (virtio-blk): a byte-addressed backend
 * interface, an in-memory backend, and a copy-on-write overlay that keeps a
 * disk image untouched unless the user explicitly asked for writes.
 *
 * Plain ES module: file-backed backends live in `devices/host/disk.ts`.
 *
 * @module
 */

/** Sector size of the block layer: image sizes and virtio-blk offsets count in these. */
export const SECTOR_SIZE = 512;

/**
 * Storage a block device reads and writes. Offsets and lengths are bytes; the
 * device checks ranges before calling, so a backend may throw on a range that
 * runs past `size` (a bug, not a guest error).
 */
export interface BlockBackend {
  /** Size in bytes (a multiple of {@linkcode SECTOR_SIZE}). */
  readonly size: number;
  /** True if writes are refused: the device then advertises a read-only disk. */
  readonly readOnly: boolean;
  /** Fills `into` with the bytes at `[offset, offset + into.length)`. */
  read(offset: number, into: Uint8Array): void;
  /** Stores `data` at `offset`. Throws if the backend is read-only. */
  write(offset: number, data: Uint8Array): void;
  /** Makes earlier writes durable (a no-op for memory-only backends). */
  flush(): void;
  /**
   * Releases host resources (open files). Optional because memory backends hold
   * none; owners of file-backed backends call it when the machine goes away.
   */
  close?(): void;
}

function checkRange(backend: BlockBackend, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > backend.size) {
    throw new RangeError(
      `block access of ${length} bytes at ${offset} is outside the ${backend.size}-byte disk`,
    );
  }
}

/** A disk held entirely in memory, e.g. for tests or images fetched over the network. */
export class MemoryBlockBackend implements BlockBackend {
  /** The disk contents; writes land here directly. */
  readonly bytes: Uint8Array;
  /** True if writes are refused. */
  readonly readOnly: boolean;

  /**
   * @param bytes disk contents, used in place (not copied); length must be a multiple of 512.
   * @param options `readOnly` makes the disk refuse writes.
   */
  constructor(bytes: Uint8Array, options: { readOnly?: boolean } = {}) {
    if (bytes.length % SECTOR_SIZE !== 0) {
      throw new RangeError(`disk size ${bytes.length} is not a multiple of ${SECTOR_SIZE} bytes`);
    }
    this.bytes = bytes;
    this.readOnly = options.readOnly ?? false;
  }

  /** Size in bytes. */
  get size(): number {
    return this.bytes.length;
  }

  /** Copies disk bytes into `into`. */
  read(offset: number, into: Uint8Array): void {
    checkRange(this, offset, into.length);
    into.set(this.bytes.subarray(offset, offset + into.length));
  }

  /** Copies `data` onto the disk. */
  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new Error("write to a read-only disk");
    checkRange(this, offset, data.length);
    this.bytes.set(data, offset);
  }

  /** Nothing to make durable. */
  flush(): void {}
}

/** Granularity of {@linkcode CowOverlay}: one host page, so sequential writes stay cheap. */
export const COW_CHUNK_SIZE = 4096;

/** Saved state of a {@linkcode CowOverlay}: the chunks written so far. */
export interface CowOverlayState {
  /** Chunk index and full contents. */
  chunks: { index: number; bytes: Uint8Array }[];
}

/**
 * Copy-on-write overlay: reads come from the base until a chunk is written,
 * writes go to private in-memory chunks. The base is never written, which is
 * what lets `--disk FILE` boot a guest without modifying the image.
 */
export class CowOverlay implements BlockBackend {
  /** Written chunks by chunk index; each holds the full chunk (base bytes merged in). */
  readonly #chunks = new Map<number, Uint8Array>();
  readonly #base: BlockBackend;
  /** Always false: the overlay absorbs writes even over a read-only base. */
  readonly readOnly = false;

  /** @param base the backend read for unwritten chunks; never written through. */
  constructor(base: BlockBackend) {
    this.#base = base;
  }

  /** Size in bytes, that of the base. */
  get size(): number {
    return this.#base.size;
  }

  /** Number of chunks that differ from the base (diagnostics and tests). */
  get dirtyChunks(): number {
    return this.#chunks.size;
  }

  /** The backend unwritten chunks are read from. */
  get base(): BlockBackend {
    return this.#base;
  }

  /** The written chunks, in chunk order, for a snapshot (the base is not saved). */
  saveState(): CowOverlayState {
    const chunks = [...this.#chunks].sort((a, b) => a[0] - b[0]);
    return { chunks: chunks.map(([index, bytes]) => ({ index, bytes: bytes.slice() })) };
  }

  /** Replaces the written chunks with {@linkcode saveState}'s. */
  loadState(state: CowOverlayState): void {
    this.#chunks.clear();
    for (const { index, bytes } of state.chunks) {
      const start = index * COW_CHUNK_SIZE;
      if (start >= this.size || bytes.length !== Math.min(COW_CHUNK_SIZE, this.size - start)) {
        throw new RangeError(`overlay chunk ${index} does not fit the ${this.size}-byte disk`);
      }
      this.#chunks.set(index, bytes.slice());
    }
  }

  /** Reads merged contents: written chunks from memory, the rest from the base. */
  read(offset: number, into: Uint8Array): void {
    checkRange(this, offset, into.length);
    let done = 0;
    while (done < into.length) {
      const pos = offset + done;
      const index = Math.floor(pos / COW_CHUNK_SIZE);
      const within = pos - index * COW_CHUNK_SIZE;
      const n = Math.min(COW_CHUNK_SIZE - within, into.length - done);
      const chunk = this.#chunks.get(index);
      if (chunk !== undefined) {
        into.set(chunk.subarray(within, within + n), done);
        done += n;
        continue;
      }
      // Coalesce a run of unwritten chunks into one base read.
      let run = n;
      while (done + run < into.length) {
        const next = Math.floor((pos + run) / COW_CHUNK_SIZE);
        if (this.#chunks.has(next)) break;
        run += Math.min(COW_CHUNK_SIZE, into.length - done - run);
      }
      this.#base.read(pos, into.subarray(done, done + run));
      done += run;
    }
  }

  /** Stores `data` in overlay chunks, filling partially written chunks from the base first. */
  write(offset: number, data: Uint8Array): void {
    checkRange(this, offset, data.length);
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const index = Math.floor(pos / COW_CHUNK_SIZE);
      const within = pos - index * COW_CHUNK_SIZE;
      const n = Math.min(COW_CHUNK_SIZE - within, data.length - done);
      let chunk = this.#chunks.get(index);
      if (chunk === undefined) {
        const start = index * COW_CHUNK_SIZE;
        // The last chunk is short when the size is not a multiple of the chunk size.
        chunk = new Uint8Array(Math.min(COW_CHUNK_SIZE, this.size - start));
        if (n !== chunk.length) this.#base.read(start, chunk);
        this.#chunks.set(index, chunk);
      }
      chunk.set(data.subarray(done, done + n), within);
      done += n;
    }
  }

  /** Nothing to make durable: overlay writes are meant to vanish with the process. */
  flush(): void {}

  /** Closes the base. */
  close(): void {
    this.#base.close?.();
  }
}

/** Bytes read from each sampled window by {@linkcode diskFingerprint}. */
const FINGERPRINT_WINDOW = 64 * 1024;
/** Windows sampled across a disk besides the first. */
const FINGERPRINT_SAMPLES = 16;

/**
 * A cheap identity of a disk's contents: FNV-1a over its first 64 KiB and 16
 * windows spread over the rest (the whole disk when it is small). Snapshots
 * record it so that a snapshot is never restored onto another disk of the same
 * size; reading the whole of a multi-GiB image for this would be too slow.
 */
export function diskFingerprint(disk: BlockBackend): string {
  let h = 0x811c9dc5;
  const window = new Uint8Array(Math.min(FINGERPRINT_WINDOW, disk.size));
  const offsets = [0];
  if (disk.size > FINGERPRINT_WINDOW * (FINGERPRINT_SAMPLES + 1)) {
    const step = Math.floor(disk.size / FINGERPRINT_SAMPLES / SECTOR_SIZE) * SECTOR_SIZE;
    for (let i = 1; i < FINGERPRINT_SAMPLES; i++) offsets.push(i * step);
    offsets.push(disk.size - FINGERPRINT_WINDOW);
  } else {
    for (let o = FINGERPRINT_WINDOW; o < disk.size; o += FINGERPRINT_WINDOW) offsets.push(o);
  }
  for (const offset of offsets) {
    const part = window.subarray(0, Math.min(window.length, disk.size - offset));
    disk.read(offset, part);
    for (let i = 0; i < part.length; i++) h = Math.imul(h ^ part[i], 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}
