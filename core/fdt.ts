/**
 * Flattened device tree (DTB) builder, serializer and minimal parser.
 *
 * The machine's tree is generated from its configuration (devices/dtb.ts), and
 * the hypervisor reads the tree a guest hands to its kernel, so both directions
 * live here. Output follows the devicetree specification v0.4, chapter 5:
 * version 17, last compatible version 16, blocks laid out as libfdt does
 * (header, memory reservations, structure, strings).
 *
 * @module
 */

/** Big-endian magic that opens every DTB. */
export const FDT_MAGIC = 0xd00dfeed;
/** Format version we write (the one every current consumer reads). */
export const FDT_VERSION = 17;
/** Oldest version a reader of our output must understand. */
export const FDT_LAST_COMPATIBLE_VERSION = 16;

const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const HEADER_SIZE = 40;

/** Thrown for malformed device trees and values that cannot be encoded. */
export class FdtError extends Error {
  override name = "FdtError";
}

/**
 * A property value before encoding: a string, a string list, one u32 cell,
 * u32 cells, raw bytes, u64 values (two cells each, high first), or `null` for
 * an empty (boolean) property.
 */
export type FdtValue =
  | string
  | string[]
  | number
  | number[]
  | Uint8Array
  | { u64: number[] }
  | null;

/** A memory reservation entry (physical range the OS must not use). */
export interface FdtReservation {
  /** Physical start address. */
  address: number;
  /** Size in bytes. */
  size: number;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

function checkU32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new FdtError(`${what}: ${value} is not a u32`);
  }
  return value;
}

function checkU64(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new FdtError(`${what}: ${value} is not a u64 below 2^53`);
  }
  return value;
}

function cellsToBytes(cells: number[], what: string): Uint8Array {
  const bytes = new Uint8Array(cells.length * 4);
  const view = new DataView(bytes.buffer);
  cells.forEach((c, i) => view.setUint32(i * 4, checkU32(c, what)));
  return bytes;
}

/** Splits a u64 (exact JS number) into its high and low u32 cells. */
function u64Cells(value: number, what: string): [number, number] {
  checkU64(value, what);
  return [Math.floor(value / 0x1_0000_0000), value >>> 0];
}

/** Encodes a property value as the bytes the DTB stores. */
export function encodeFdtValue(value: FdtValue, what = "property"): Uint8Array {
  if (value === null) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value.slice();
  if (typeof value === "string") return utf8.encode(value + "\0");
  if (typeof value === "number") return cellsToBytes([value], what);
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === "string") {
      return utf8.encode((value as string[]).map((s) => s + "\0").join(""));
    }
    return cellsToBytes(value as number[], what);
  }
  return cellsToBytes(value.u64.flatMap((v) => u64Cells(v, what)), what);
}

/** A device tree node: ordered properties (raw bytes) and ordered children. */
export class FdtNode {
  /** Properties in insertion order, values already encoded. */
  readonly props: Map<string, Uint8Array> = new Map();
  /** Child nodes in insertion order. */
  readonly children: FdtNode[] = [];

  /** @param name node name with unit address (`serial@10000000`); `""` for the root. */
  constructor(readonly name: string) {
    if (name.includes("/") || name.includes("\0")) {
      throw new FdtError(`bad node name ${JSON.stringify(name)}`);
    }
  }

  /** Sets (or replaces, keeping its position) a property; returns this node for chaining. */
  prop(name: string, value: FdtValue): this {
    if (name.length === 0 || name.includes("\0")) {
      throw new FdtError(`bad property name ${JSON.stringify(name)}`);
    }
    this.props.set(name, encodeFdtValue(value, `${this.name || "/"}: ${name}`));
    return this;
  }

  /** The child called `name`, created (appended) if it does not exist yet. */
  child(name: string): FdtNode {
    const existing = this.children.find((c) => c.name === name);
    if (existing) return existing;
    const node = new FdtNode(name);
    this.children.push(node);
    return node;
  }

  /**
   * The node at `path` below this one (`"soc/serial@10000000"`; a leading `/`
   * is allowed), or null. A path component without `@` also matches a node
   * name with a unit address when that is the only such child.
   */
  find(path: string): FdtNode | null {
    return path.split("/").filter((p) => p !== "").reduce<FdtNode | null>(
      (node, part) => (node === null ? null : node.#childNamed(part)),
      this,
    );
  }

  #childNamed(part: string): FdtNode | null {
    const exact = this.children.find((c) => c.name === part);
    if (exact) return exact;
    if (part.includes("@")) return null;
    const byBase = this.children.filter((c) => c.name.split("@")[0] === part);
    return byBase.length === 1 ? byBase[0] : null;
  }

  /** Every node of this subtree, depth first, with its path from this node. */
  *walk(prefix = ""): Generator<[string, FdtNode]> {
    const path = prefix === "" && this.name === "" ? "/" : `${prefix}${this.name}`;
    yield [path, this];
    const childPrefix = path.endsWith("/") ? path : path + "/";
    for (const c of this.children) yield* c.walk(childPrefix);
  }

  /** The node whose `phandle` property equals `phandle`, searching this subtree. */
  findByPhandle(phandle: number): FdtNode | null {
    for (const [, node] of this.walk()) if (node.u32("phandle") === phandle) return node;
    return null;
  }

  /** The first cell of a property, or null when absent or shorter than 4 bytes. */
  u32(name: string): number | null {
    const v = this.props.get(name);
    return v && v.length >= 4 ? new DataView(v.buffer, v.byteOffset).getUint32(0) : null;
  }

  /** A property as u32 cells (a trailing partial cell is dropped), or null when absent. */
  cells(name: string): number[] | null {
    const v = this.props.get(name);
    if (!v) return null;
    const view = new DataView(v.buffer, v.byteOffset, v.length);
    return Array.from({ length: v.length >> 2 }, (_, i) => view.getUint32(i * 4));
  }

  /** A property read as u64 values (pairs of cells), or null when absent. */
  u64s(name: string): number[] | null {
    const c = this.cells(name);
    if (!c) return null;
    const out: number[] = [];
    for (let i = 0; i + 1 < c.length; i += 2) out.push(c[i] * 0x1_0000_0000 + c[i + 1]);
    return out;
  }

  /** A property as its first NUL-terminated string, or null when absent. */
  str(name: string): string | null {
    const list = this.strs(name);
    return list === null ? null : (list[0] ?? "");
  }

  /** A property as a string list, or null when absent. */
  strs(name: string): string[] | null {
    const v = this.props.get(name);
    if (!v) return null;
    const parts = utf8Decoder.decode(v).split("\0");
    if (parts.at(-1) === "") parts.pop();
    return parts;
  }
}

/** Options of {@linkcode serializeFdt}. */
export interface SerializeFdtOptions {
  /** Physical id of the hart that boots (header field boot_cpuid_phys). */
  bootCpuId?: number;
  /** Memory reservation block entries. */
  reservations?: FdtReservation[];
}

/** A growable big-endian byte buffer. */
class ByteWriter {
  bytes = new Uint8Array(1024);
  length = 0;

  #reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }

  u32(value: number): void {
    this.#reserve(4);
    new DataView(this.bytes.buffer).setUint32(this.length, value);
    this.length += 4;
  }

  raw(data: Uint8Array): void {
    this.#reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  align4(): void {
    const pad = (4 - (this.length & 3)) & 3;
    this.raw(new Uint8Array(pad));
  }

  result(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** Serializes the tree rooted at `root` (whose name must be `""`) into DTB bytes. */
export function serializeFdt(root: FdtNode, options: SerializeFdtOptions = {}): Uint8Array {
  if (root.name !== "") throw new FdtError(`root node must be unnamed, got "${root.name}"`);
  const strings = new ByteWriter();
  const stringOffsets = new Map<string, number>();
  const stringOffset = (name: string): number => {
    let off = stringOffsets.get(name);
    if (off === undefined) {
      off = strings.length;
      stringOffsets.set(name, off);
      strings.raw(utf8.encode(name + "\0"));
    }
    return off;
  };

  const struct = new ByteWriter();
  const emit = (node: FdtNode): void => {
    struct.u32(FDT_BEGIN_NODE);
    struct.raw(utf8.encode(node.name + "\0"));
    struct.align4();
    for (const [name, value] of node.props) {
      struct.u32(FDT_PROP);
      struct.u32(value.length);
      struct.u32(stringOffset(name));
      struct.raw(value);
      struct.align4();
    }
    for (const child of node.children) emit(child);
    struct.u32(FDT_END_NODE);
  };
  emit(root);
  struct.u32(FDT_END);

  const reservations = options.reservations ?? [];
  const rsvOffset = HEADER_SIZE; // already 8-aligned, as the spec requires
  const structOffset = rsvOffset + (reservations.length + 1) * 16;
  const stringsOffset = structOffset + struct.length;
  const totalSize = stringsOffset + strings.length;

  const out = new Uint8Array(totalSize);
  const view = new DataView(out.buffer);
  const header = [
    FDT_MAGIC,
    totalSize,
    structOffset,
    stringsOffset,
    rsvOffset,
    FDT_VERSION,
    FDT_LAST_COMPATIBLE_VERSION,
    checkU32(options.bootCpuId ?? 0, "bootCpuId"),
    strings.length,
    struct.length,
  ];
  header.forEach((v, i) => view.setUint32(i * 4, v));
  reservations.forEach((r, i) => {
    const [ah, al] = u64Cells(r.address, "reservation address");
    const [sh, sl] = u64Cells(r.size, "reservation size");
    const at = rsvOffset + i * 16;
    view.setUint32(at, ah);
    view.setUint32(at + 4, al);
    view.setUint32(at + 8, sh);
    view.setUint32(at + 12, sl);
  });
  out.set(struct.result(), structOffset);
  out.set(strings.result(), stringsOffset);
  return out;
}

/** What {@linkcode parseFdt} returns. */
export interface ParsedFdt {
  /** The root node (name `""`). */
  root: FdtNode;
  /** Header field boot_cpuid_phys. */
  bootCpuId: number;
  /** Header field version. */
  version: number;
  /** Header field totalsize (the DTB may sit in a larger buffer). */
  totalSize: number;
  /** Memory reservation block entries. */
  reservations: FdtReservation[];
}

/**
 * Parses a DTB (version 16 or later). Guest-supplied trees are untrusted, so
 * every offset is bounds-checked and errors name what is wrong.
 */
export function parseFdt(bytes: Uint8Array): ParsedFdt {
  if (bytes.length < HEADER_SIZE) throw new FdtError(`DTB truncated: ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const h = (i: number) => view.getUint32(i * 4);
  if (h(0) !== FDT_MAGIC) throw new FdtError(`bad DTB magic 0x${h(0).toString(16)}`);
  const [totalSize, structOffset, stringsOffset, rsvOffset, version, , bootCpuId] = [
    h(1),
    h(2),
    h(3),
    h(4),
    h(5),
    h(6),
    h(7),
  ];
  const stringsSize = h(8);
  const structSize = h(9);
  if (version < 16) throw new FdtError(`DTB version ${version} is older than 16`);
  if (totalSize > bytes.length) {
    throw new FdtError(`DTB truncated: totalsize ${totalSize} > ${bytes.length} bytes`);
  }
  const inside = (off: number, len: number) => off + len <= totalSize;
  if (!inside(structOffset, structSize) || !inside(stringsOffset, stringsSize)) {
    throw new FdtError("DTB block offsets point beyond totalsize");
  }

  const reservations: FdtReservation[] = [];
  for (let at = rsvOffset;; at += 16) {
    if (!inside(at, 16)) throw new FdtError("DTB memory reservation block is unterminated");
    const address = view.getUint32(at) * 0x1_0000_0000 + view.getUint32(at + 4);
    const size = view.getUint32(at + 8) * 0x1_0000_0000 + view.getUint32(at + 12);
    if (address === 0 && size === 0) break;
    reservations.push({ address, size });
  }

  const structEnd = structOffset + structSize;
  let pos = structOffset;
  const word = (): number => {
    if (pos + 4 > structEnd) throw new FdtError("DTB structure block ends early");
    const v = view.getUint32(pos);
    pos += 4;
    return v;
  };
  const cString = (from: number, limit: number): [string, number] => {
    const nul = bytes.indexOf(0, from);
    if (nul < 0 || nul >= limit) throw new FdtError("DTB string is not NUL-terminated");
    return [utf8Decoder.decode(bytes.subarray(from, nul)), nul];
  };

  const stack: FdtNode[] = [];
  let root: FdtNode | null = null;
  for (;;) {
    const token = word();
    if (token === FDT_NOP) continue;
    if (token === FDT_END) break;
    if (token === FDT_BEGIN_NODE) {
      const [name, nul] = cString(pos, structEnd);
      pos = (nul + 4) & ~3;
      const node = new FdtNode(name);
      if (stack.length > 0) stack[stack.length - 1].children.push(node);
      else if (root === null) root = node;
      else throw new FdtError("DTB has more than one root node");
      stack.push(node);
    } else if (token === FDT_END_NODE) {
      if (stack.pop() === undefined) throw new FdtError("DTB has an unmatched END_NODE");
    } else if (token === FDT_PROP) {
      const len = word();
      const nameOffset = word();
      if (stack.length === 0) throw new FdtError("DTB property outside any node");
      if (pos + len > structEnd) throw new FdtError("DTB property value runs past the block");
      if (nameOffset >= stringsSize) throw new FdtError("DTB property name offset out of range");
      const [name] = cString(stringsOffset + nameOffset, stringsOffset + stringsSize);
      stack[stack.length - 1].props.set(name, bytes.slice(pos, pos + len));
      pos = (pos + len + 3) & ~3;
    } else {
      throw new FdtError(`DTB bad token 0x${token.toString(16)} at offset ${pos - 4}`);
    }
  }
  if (root === null || stack.length !== 0) throw new FdtError("DTB node nesting is unbalanced");
  return { root, bootCpuId, version, totalSize, reservations };
}
