/**
 * A writer for the "newc" cpio format (the SVR4 portable ASCII format without
 * CRC, magic `070701`), the only format the Linux kernel unpacks as an
 * initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * Written in TypeScript rather than calling `cpio` so the initramfs can hold
 * device nodes (/dev/console) without root, and so its bytes depend only on
 * the entries: every timestamp, owner and inode number is fixed, which makes
 * the archive reproducible.
 *
 * @module
 */

/** One file system object in the archive. */
export type CpioEntry =
  | { type: "dir"; path: string; mode?: number }
  | { type: "file"; path: string; data: Uint8Array; mode?: number }
  | { type: "symlink"; path: string; target: string }
  | { type: "char"; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = "TRAILER!!!";

/**
 * Builds a newc archive of `entries`, in order (a directory must come before
 * what is in it, as the kernel creates entries as it reads them). Paths are
 * relative to the archive root, without a leading slash. Owners are root,
 * times are 0.
 */
export function newcArchive(entries: CpioEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let length = 0;
  // Each part is padded to a 4-byte boundary: header + name as one, then the data.
  const push = (...parts: Uint8Array[]) => {
    for (const p of parts) {
      chunks.push(p);
      length += p.length;
    }
    const pad = (4 - (length % 4)) % 4;
    if (pad) {
      chunks.push(new Uint8Array(pad));
      length += pad;
    }
  };
  const record = (
    ino: number,
    name: string,
    mode: number,
    data: Uint8Array,
    rdev: [number, number] = [0, 0],
    nlink = 1,
  ) => {
    const nameBytes = enc.encode(name + "\0");
    const fields = [
      ino,
      mode,
      0, // uid
      0, // gid
      nlink,
      0, // mtime
      data.length,
      0, // devmajor
      0, // devminor
      rdev[0],
      rdev[1],
      nameBytes.length,
      0, // check (unused by newc)
    ];
    const header = "070701" + fields.map((f) => f.toString(16).padStart(8, "0")).join("");
    push(enc.encode(header), nameBytes);
    if (data.length) push(data);
  };
  let ino = 1;
  for (const e of entries) {
    if (e.path.startsWith("/") || e.path === "") {
      throw new RangeError(`cpio path ${JSON.stringify(e.path)} must be relative`);
    }
    switch (e.type) {
      case "dir":
        record(ino++, e.path, S_IFDIR | (e.mode ?? 0o755), new Uint8Array(0), [0, 0], 2);
        break;
      case "file":
        record(ino++, e.path, S_IFREG | (e.mode ?? 0o644), e.data);
        break;
      case "symlink":
        record(ino++, e.path, S_IFLNK | 0o777, enc.encode(e.target));
        break;
      case "char":
        record(ino++, e.path, S_IFCHR | (e.mode ?? 0o600), new Uint8Array(0), [e.major, e.minor]);
        break;
    }
  }
  record(0, TRAILER, 0, new Uint8Array(0), [0, 0], 1);
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
