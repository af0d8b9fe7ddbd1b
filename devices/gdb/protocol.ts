/**
 * The GDB remote serial protocol's wire format, shared by rvisor's stub
 * (devices/gdb/stub.ts) and its client (devices/host/gdbclient.ts): packet
 * framing (`$data#cs`), acknowledgements, escapes, run-length decoding, the
 * Ctrl-C interrupt byte, and the hex encodings of registers and memory.
 *
 * Plain ES code without Deno APIs, so that it runs wherever core/ does; the
 * sockets live in devices/host/.
 *
 * @module
 */

/** The interrupt byte gdb sends (outside any packet) to stop a running target. */
export const INTERRUPT = 0x03;
/** Largest packet body the decoder accepts; longer ones are dropped (and nacked). */
export const MAX_PACKET = 0x10000;

const DOLLAR = 0x24, HASH = 0x23, BRACE = 0x7d, STAR = 0x2a;

/** One thing that arrived on the wire. */
export type WireEvent =
  | {
    /** A complete packet. */
    kind: "packet";
    /** Its body as received (escapes and run-length encoding still in place). */
    data: Uint8Array;
    /** False if the checksum did not match (the receiver should nack it). */
    checksumOk: boolean;
  }
  | {
    /** The 0x03 interrupt byte. */
    kind: "interrupt";
  }
  | {
    /** `+` (ok) or `-` (resend). */
    kind: "ack";
    /** True for `+`. */
    ok: boolean;
  }
  | {
    /** A packet longer than {@linkcode MAX_PACKET}, dropped. */
    kind: "overflow";
  };

/**
 * Streaming decoder: feed it bytes as they arrive, in any split, and it returns
 * the events they complete. Bytes outside a packet other than `+`, `-` and 0x03
 * are ignored (line noise), as gdb does.
 */
export class PacketDecoder {
  #state: "idle" | "body" | "cs1" | "cs2" = "idle";
  #body: number[] = [];
  #sum = 0;
  #cs = 0;
  #overflow = false;

  /** Consumes `bytes` and returns the events they complete, in order. */
  push(bytes: Uint8Array): WireEvent[] {
    const events: WireEvent[] = [];
    for (const b of bytes) {
      switch (this.#state) {
        case "idle":
          if (b === DOLLAR) {
            this.#state = "body", this.#body = [], this.#sum = 0, this.#overflow = false;
          } else if (b === INTERRUPT) events.push({ kind: "interrupt" });
          else if (b === 0x2b) events.push({ kind: "ack", ok: true });
          else if (b === 0x2d) events.push({ kind: "ack", ok: false });
          break;
        case "body":
          if (b === HASH) this.#state = "cs1";
          else if (b === DOLLAR && !this.#escaping()) {
            // A new packet start inside a body: the old one was truncated; restart.
            this.#body = [], this.#sum = 0, this.#overflow = false;
          } else {
            this.#sum = (this.#sum + b) & 0xff;
            if (this.#body.length < MAX_PACKET) this.#body.push(b);
            else this.#overflow = true;
          }
          break;
        case "cs1":
          this.#cs = hexDigit(b) << 4;
          this.#state = "cs2";
          break;
        case "cs2": {
          const cs = this.#cs | hexDigit(b);
          this.#state = "idle";
          if (this.#overflow) events.push({ kind: "overflow" });
          else {
            events.push({
              kind: "packet",
              data: Uint8Array.from(this.#body),
              checksumOk: cs === this.#sum,
            });
          }
          break;
        }
      }
    }
    return events;
  }

  /** True if the last body byte is an unconsumed escape (so a `$` after it is data). */
  #escaping(): boolean {
    return this.#body.length > 0 && this.#body[this.#body.length - 1] === BRACE;
  }
}

/** Value of a hex digit, or 0x100 (so a bad checksum digit can never match). */
function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return 0x100;
}

/**
 * Frames `data` as a packet: escapes `$`, `#`, `}` and `*` (so binary replies
 * such as qXfer's survive and `*` is never taken for run-length encoding), then
 * appends the checksum of the escaped body.
 */
export function encodePacket(data: string | Uint8Array): Uint8Array {
  const body = typeof data === "string" ? latin1(data) : data;
  const out: number[] = [DOLLAR];
  let sum = 0;
  for (const b of body) {
    if (b === DOLLAR || b === HASH || b === BRACE || b === STAR) {
      out.push(BRACE, b ^ 0x20);
      sum += BRACE + (b ^ 0x20);
    } else {
      out.push(b);
      sum += b;
    }
  }
  out.push(HASH, ...latin1((sum & 0xff).toString(16).padStart(2, "0")));
  return Uint8Array.from(out);
}

/** Removes `}` escapes from a received binary body (X packets, qXfer replies). */
export function unescapeBinary(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (data[i] === BRACE && i + 1 < data.length) out.push(data[++i] ^ 0x20);
    else out.push(data[i]);
  }
  return Uint8Array.from(out);
}

/**
 * Expands run-length encoding in a reply (`X*n` repeats X n-29 more times) and
 * removes escapes: what a client does with every reply body. Stubs such as
 * QEMU's may use either.
 */
export function decodeReply(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (b === BRACE && i + 1 < data.length) out.push(data[++i] ^ 0x20);
    else if (b === STAR && out.length > 0 && i + 1 < data.length) {
      const n = data[++i] - 29;
      const prev = out[out.length - 1];
      for (let k = 0; k < n; k++) out.push(prev);
    } else out.push(b);
  }
  return Uint8Array.from(out);
}

/** Bytes of a string whose characters are all below 256 (packets are 8-bit). */
export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** A string with one character per byte (the inverse of {@linkcode latin1}). */
export function fromLatin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

/** Bytes as lowercase hex (memory reads, qRcmd output). */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += (b < 16 ? "0" : "") + b.toString(16);
  return s;
}

/** Hex text as bytes; null if it is not an even number of hex digits. */
export function fromHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
  return out;
}

/** A register value as gdb sends it: `bytes` bytes of target (little-endian) order, in hex. */
export function regToHex(value: bigint, bytes = 8): string {
  let v = BigInt.asUintN(bytes * 8, value);
  let s = "";
  for (let i = 0; i < bytes; i++) {
    const b = Number(v & 0xffn);
    s += (b < 16 ? "0" : "") + b.toString(16);
    v >>= 8n;
  }
  return s;
}

/** Parses a little-endian hex register value; null if malformed (`x` digits, unavailable, too). */
export function regFromHex(text: string): bigint | null {
  const bytes = fromHex(text);
  if (bytes === null || bytes.length === 0 || bytes.length > 8) return null;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

/** Parses an unsigned hex number of at most 16 digits (addresses, lengths); null if malformed. */
export function parseHexNumber(text: string): bigint | null {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) return null;
  return BigInt("0x" + text);
}
