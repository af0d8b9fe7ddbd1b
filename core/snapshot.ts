/**
 * The machine snapshot file format: one versioned binary container that holds
 * the configuration a snapshot needs to be restored into, the register and
 * device state as JSON, binary blobs referenced from that JSON (disk overlay
 * chunks), and RAM with its zero pages left out.
 *
 * This module only knows the container. What goes into the state (hart,
 * devices, hypervisor) is assembled by `VirtMachine.saveSnapshot` from each
 * component's `saveState()`; core/ does not know the devices.
 *
 * Layout (integers little-endian):
 *
 * ```
 * "RVSNAP"            6 bytes: magic
 * version             u16: SNAPSHOT_FORMAT_VERSION
 * header length, JSON u32 + UTF-8: { config, info } (SnapshotHeader)
 * state length, JSON  u32 + UTF-8: component states; {"$blob": i}, {"$bigint": "…"}
 *                     and {"$number": "Infinity"} stand for what JSON cannot hold
 * blob count, blobs   u32, then per blob: u32 length + bytes
 * RAM size            u32 number of 4 KiB pages
 * run count           u32, then per run: u32 zero words, u32 literal words,
 *                     the literal words; the runs cover RAM exactly
 * checksum            u32 hash of everything before it
 * ```
 *
 * RAM is mostly zeros, but not in whole pages: tinyos (like xv6) threads its
 * free list through every free page, so each page holds one pointer. Runs of
 * zero 32-bit words instead of a zero-page bitmap keep such a 128 MiB machine
 * under a megabyte, with a scan cheap enough to save in tens of milliseconds
 * and no compressor (CompressionStream would make saving asynchronous). The
 * checksum turns a truncated or damaged file into one clear error instead of
 * a machine that misbehaves later.
 *
 * @module
 */

/** The first bytes of every snapshot. */
export const SNAPSHOT_MAGIC = "RVSNAP";
/**
 * Version of the container and of the state it holds: bumped whenever a
 * component's saved state changes shape, so an old file is refused with a
 * clear message instead of being half-restored.
 */
export const SNAPSHOT_FORMAT_VERSION = 5;

const PAGE = 4096;
/** Zero words that end a literal run: shorter gaps stay in it (a run costs 8 bytes). */
const MIN_ZERO_RUN = 4;

/**
 * A snapshot that cannot be read or does not fit the machine it is restored
 * into. The message is one line that starts with the snapshot's name.
 */
export class SnapshotError extends Error {
  override name = "SnapshotError";
}

/**
 * Settings that must be equal for a snapshot to be restored, by human-readable
 * name ("RAM size", "hypervisor", "disk size", ...), values as text so that a
 * mismatch message can show both sides as they are.
 */
export type SnapshotConfig = Record<string, string>;

/** What the header of a snapshot says, readable without decoding the rest. */
export interface SnapshotHeader {
  /** Must match the restoring machine's (see {@linkcode checkSnapshotConfig}). */
  config: SnapshotConfig;
  /** Informational: clock mode, instructions retired, and the like. */
  info: Record<string, string | number | boolean>;
}

/** A decoded snapshot. */
export interface DecodedSnapshot {
  /** The header. */
  header: SnapshotHeader;
  /** Component states, with blobs, bigints and non-finite numbers revived. */
  state: unknown;
  /** RAM size in bytes. */
  ramSize: number;
  /** Writes the saved RAM into `ram` (which must be `ramSize` bytes): zero pages become zeros. */
  restoreRam(ram: Uint8Array): void;
}

/** FNV-1a (32-bit) of `bytes` as 8 hex digits: cheap identity of images and disks. */
export function fingerprint(bytes: Uint8Array, seed = 0x811c9dc5): string {
  return (fnv1a(bytes, seed) >>> 0).toString(16).padStart(8, "0");
}

function fnv1a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed | 0;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/**
 * Encodes a snapshot. `state` may hold Uint8Arrays (stored as blobs, not as
 * JSON number lists), bigints and non-finite numbers besides plain JSON.
 */
export function encodeSnapshot(
  header: SnapshotHeader,
  state: unknown,
  ram: Uint8Array,
): Uint8Array {
  if (ram.length % PAGE !== 0) throw new RangeError(`RAM size ${ram.length} is not whole pages`);
  const blobs: Uint8Array[] = [];
  const text = new TextEncoder();
  const headerBytes = text.encode(JSON.stringify(header));
  const stateBytes = text.encode(JSON.stringify(state, (_key, value: unknown) => {
    if (typeof value === "bigint") return { $bigint: value.toString() };
    if (typeof value === "number" && !Number.isFinite(value)) return { $number: String(value) };
    if (value instanceof Uint8Array) return { $blob: blobs.push(value) - 1 };
    return value;
  }));
  const pages = ram.length / PAGE;
  const words = new Int32Array(ram.buffer, ram.byteOffset, ram.length / 4);
  const runs = zeroRuns(words);
  let literalWords = 0;
  for (let i = 1; i < runs.length; i += 2) literalWords += runs[i];
  const blobBytes = blobs.reduce((n, b) => n + 4 + b.length, 0);
  const size = 8 + 4 + headerBytes.length + 4 + stateBytes.length + 4 + blobBytes + 4 + 4 +
    runs.length * 4 + literalWords * 4 + 4;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let pos = 0;
  const put = (bytes: Uint8Array) => {
    out.set(bytes, pos);
    pos += bytes.length;
  };
  const u32 = (v: number) => {
    view.setUint32(pos, v, true);
    pos += 4;
  };
  put(text.encode(SNAPSHOT_MAGIC));
  view.setUint16(pos, SNAPSHOT_FORMAT_VERSION, true);
  pos += 2;
  u32(headerBytes.length);
  put(headerBytes);
  u32(stateBytes.length);
  put(stateBytes);
  u32(blobs.length);
  for (const b of blobs) {
    u32(b.length);
    put(b);
  }
  u32(pages);
  u32(runs.length / 2);
  let at = 0;
  for (let i = 0; i < runs.length; i += 2) {
    u32(runs[i]);
    u32(runs[i + 1]);
    at += runs[i];
    put(ram.subarray(at * 4, (at + runs[i + 1]) * 4));
    at += runs[i + 1];
  }
  u32(checksum(out.subarray(0, pos)));
  return out;
}

/** RAM as (zero words, literal words) pairs covering it exactly. */
function zeroRuns(words: Int32Array): number[] {
  const runs: number[] = [];
  const n = words.length;
  let i = 0;
  while (i < n) {
    const zeroStart = i;
    while (i < n && words[i] === 0) i++;
    const literalStart = i;
    while (i < n) {
      if (words[i] !== 0) {
        i++;
        continue;
      }
      let z = i;
      while (z < n && z - i < MIN_ZERO_RUN && words[z] === 0) z++;
      if (z - i >= MIN_ZERO_RUN || z === n) break;
      i = z;
    }
    runs.push(literalStart - zeroStart, i - literalStart);
  }
  return runs;
}

/**
 * FNV-1a-style hash over 32-bit words (and the tail bytes): four times fewer
 * steps than a byte-wise hash, which matters for snapshots of busy RAM.
 */
function checksum(bytes: Uint8Array): number {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const count = aligned.length >>> 2;
  const words = new Int32Array(aligned.buffer, aligned.byteOffset, count);
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < count; i++) {
    h = Math.imul(h ^ words[i], 0x01000193);
    h ^= h >>> 15;
  }
  for (let i = count * 4; i < aligned.length; i++) h = Math.imul(h ^ aligned[i], 0x01000193);
  return h >>> 0;
}

/** Reads fields in order; every read past the end is a "truncated" error. */
class Reader {
  pos = 0;
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array, readonly fail: (why: string) => never) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  take(n: number): Uint8Array {
    if (n > this.bytes.length - this.pos) this.fail("truncated (the file ends too early)");
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  u32(): number {
    const b = this.take(4);
    return (b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24) >>> 0;
  }
  json(what: string, reviver?: (key: string, value: unknown) => unknown): unknown {
    const bytes = this.take(this.u32());
    try {
      return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes), reviver);
    } catch {
      return this.fail(`damaged ${what} section`);
    }
  }
}

function checkHead(r: Reader): void {
  const magic = r.bytes.length >= 6 ? new TextDecoder().decode(r.bytes.subarray(0, 6)) : "";
  if (magic !== SNAPSHOT_MAGIC) r.fail(`not an rvisor snapshot (no "${SNAPSHOT_MAGIC}" magic)`);
  r.take(6);
  const b = r.take(2);
  const version = b[0] | b[1] << 8;
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    r.fail(
      `snapshot format version ${version}, but this rvisor reads version ${SNAPSHOT_FORMAT_VERSION}`,
    );
  }
}

function failWith(source: string): (why: string) => never {
  return (why) => {
    throw new SnapshotError(`${source}: ${why}`);
  };
}

/** Reads only the header (magic and version checked), e.g. to describe a file. */
export function readSnapshotHeader(bytes: Uint8Array, source = "snapshot"): SnapshotHeader {
  const r = new Reader(bytes, failWith(source));
  checkHead(r);
  return parseHeader(r);
}

function parseHeader(r: Reader): SnapshotHeader {
  const header = r.json("header") as SnapshotHeader;
  if (
    typeof header !== "object" || header === null || typeof header.config !== "object" ||
    typeof header.info !== "object"
  ) r.fail("damaged header section");
  return header;
}

/**
 * Decodes a snapshot. Throws {@linkcode SnapshotError} naming `source` for a
 * bad magic, another format version, a checksum mismatch or a truncated file.
 */
export function decodeSnapshot(bytes: Uint8Array, source = "snapshot"): DecodedSnapshot {
  const fail = failWith(source);
  const r = new Reader(bytes, fail);
  checkHead(r);
  // The checksum comes first so that damage anywhere is reported as damage,
  // not as whatever odd value the damaged byte turned into.
  if (bytes.length >= 12) {
    const stored = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4)
      .getUint32(0, true);
    if (stored !== checksum(bytes.subarray(0, bytes.length - 4))) {
      fail("checksum mismatch: the file is damaged or truncated");
    }
  }
  const header = parseHeader(r);
  const stateStart = r.pos;
  r.take(r.u32()); // parsed below, once the blobs it refers to are known
  const blobs: Uint8Array[] = [];
  for (let i = r.u32(); i > 0; i--) blobs.push(r.take(r.u32()).slice());
  const pages = r.u32();
  const runs: { zeros: number; literal: Uint8Array }[] = [];
  let covered = 0;
  for (let i = r.u32(); i > 0; i--) {
    const zeros = r.u32();
    const literal = r.take(r.u32() * 4);
    runs.push({ zeros, literal });
    covered += zeros + literal.length / 4;
  }
  if (covered * 4 !== pages * PAGE) fail("damaged RAM section (runs do not cover RAM)");
  r.take(4);
  if (r.pos !== bytes.length) fail("damaged: unexpected bytes after the end");
  const end = r.pos;
  r.pos = stateStart;
  const state = r.json("state", (_key, value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    const v = value as Record<string, unknown>;
    if (typeof v.$bigint === "string") return BigInt(v.$bigint);
    if (typeof v.$number === "string") return Number(v.$number);
    if (typeof v.$blob === "number") {
      const blob = blobs[v.$blob];
      if (blob === undefined) fail("damaged state section (missing blob)");
      return blob;
    }
    return value;
  });
  r.pos = end;
  return {
    header,
    state,
    ramSize: pages * PAGE,
    restoreRam(ram: Uint8Array): void {
      if (ram.length !== pages * PAGE) {
        fail(`RAM is ${ram.length} bytes here, ${pages * PAGE} in the snapshot`);
      }
      let at = 0;
      for (const { zeros, literal } of runs) {
        ram.fill(0, at, at + zeros * 4);
        at += zeros * 4;
        ram.set(literal, at);
        at += literal.length;
      }
    },
  };
}

/**
 * Throws {@linkcode SnapshotError} (one line naming `source` and every
 * differing setting) unless the snapshot's config equals the machine's.
 */
export function checkSnapshotConfig(
  saved: SnapshotConfig,
  current: SnapshotConfig,
  source = "snapshot",
): void {
  // In the restoring machine's order, which puts the decisive settings first.
  const keys = [...new Set([...Object.keys(current), ...Object.keys(saved)])];
  const problems = keys.filter((k) => saved[k] !== current[k]).map((k) =>
    `${k} is ${saved[k] ?? "absent"} in the snapshot but ${current[k] ?? "absent"} here`
  );
  if (problems.length > 0) {
    throw new SnapshotError(
      `${source}: snapshot taken on a different machine: ${problems.join("; ")}`,
    );
  }
}
