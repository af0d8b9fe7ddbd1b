/**
 * Disk images on the host file system, for `--disk FILE` (copy-on-write, the
 * image stays untouched) and `--disk FILE --disk-write` (writes go to the file).
 *
 * The only block code that touches Deno: everything else sees a
 * {@linkcode BlockBackend}.
 *
 * @module
 */

import { type BlockBackend, CowOverlay, SECTOR_SIZE } from "../block.ts";

/**
 * A disk image accessed with positioned reads and writes, so that a large image
 * is never loaded into memory as a whole.
 */
export class FileBlockBackend implements BlockBackend {
  readonly #file: Deno.FsFile;
  readonly #path: string;
  #closed = false;

  /**
   * @param file an open file; the backend owns it and closes it in {@linkcode close}.
   * @param path the file's name, for error messages.
   * @param size the file size in bytes.
   * @param readOnly true if the file was opened without write access.
   */
  constructor(file: Deno.FsFile, path: string, readonly size: number, readonly readOnly: boolean) {
    this.#file = file;
    this.#path = path;
  }

  /** Reads `into.length` bytes at `offset`; bytes past the end of a shrunk file read as zero. */
  read(offset: number, into: Uint8Array): void {
    this.#checkRange(offset, into.length);
    this.#file.seekSync(offset, Deno.SeekMode.Start);
    let done = 0;
    while (done < into.length) {
      const n = this.#file.readSync(into.subarray(done));
      if (n === null || n === 0) {
        into.fill(0, done);
        break;
      }
      done += n;
    }
  }

  /** Writes `data` at `offset` in the file. */
  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new Error(`${this.#path}: write to a read-only disk image`);
    this.#checkRange(offset, data.length);
    this.#file.seekSync(offset, Deno.SeekMode.Start);
    let done = 0;
    while (done < data.length) done += this.#file.writeSync(data.subarray(done));
  }

  /** fsyncs the file, so that a guest's flush means the data reached the disk. */
  flush(): void {
    if (!this.readOnly) this.#file.syncSync();
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }

  #checkRange(offset: number, length: number): void {
    if (this.#closed) throw new Error(`${this.#path}: disk image is closed`);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > this.size) {
      throw new RangeError(
        `${this.#path}: access of ${length} bytes at ${offset} is outside the image`,
      );
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "is a directory";
  return error instanceof Error ? error.message : String(error);
}

/**
 * Opens a raw disk image. Without `writable`, guest writes land in an in-memory
 * {@linkcode CowOverlay} and the file is opened read-only, so it cannot change;
 * with `writable`, writes go to the file and a guest flush fsyncs it.
 *
 * Throws an Error whose one-line message names the file and the problem
 * (missing, a directory, not readable, size not a multiple of 512).
 */
export function openDiskImage(path: string, writable: boolean): BlockBackend {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    throw new Error(`disk image ${path}: ${describe(error)}`);
  }
  if (info.isDirectory) throw new Error(`disk image ${path}: is a directory`);
  if (!info.isFile) throw new Error(`disk image ${path}: not a regular file`);
  if (info.size % SECTOR_SIZE !== 0) {
    throw new Error(
      `disk image ${path}: size ${info.size} bytes is not a multiple of ${SECTOR_SIZE}`,
    );
  }
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: writable });
  } catch (error) {
    throw new Error(
      `disk image ${path}: cannot open${writable ? " for writing" : ""}: ${describe(error)}`,
    );
  }
  const base = new FileBlockBackend(file, path, info.size, !writable);
  return writable ? base : new CowOverlay(base);
}
