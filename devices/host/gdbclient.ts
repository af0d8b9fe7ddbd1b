/**
 * A GDB remote protocol client over TCP, for scripts that drive a debug stub
 * (QEMU's `-gdb`, or rvisor's `--gdb`): registers, memory, single steps,
 * breakpoints and the target description. It speaks the same wire format as
 * rvisor's stub (devices/gdb/protocol.ts) and turns off acknowledgements
 * when the stub allows it (each step is then one round trip).
 *
 * @module
 */

import {
  decodeReply,
  encodePacket,
  fromHex,
  fromLatin1,
  INTERRUPT,
  latin1,
  PacketDecoder,
  regFromHex,
  toHex,
  type WireEvent,
} from "../gdb/protocol.ts";

/** A reply was an error (`Exx`) or the connection broke. */
export class GdbClientError extends Error {
  /** Error name. */
  override name = "GdbClientError";
}

/** A register of the target description. */
export interface RegisterInfo {
  /** Name (gdb's). */
  name: string;
  /** gdb register number. */
  regnum: number;
  /** Size in bits. */
  bitsize: number;
  /** The feature it belongs to (org.gnu.gdb.riscv.cpu, ...). */
  feature: string;
}

/** A connected client; one request at a time. */
export class GdbClient {
  readonly #conn: Deno.TcpConn;
  readonly #decoder = new PacketDecoder();
  readonly #pending: WireEvent[] = [];
  readonly #buf = new Uint8Array(65536);
  #noAck = false;
  /** The stub's qSupported reply. */
  features = "";

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /**
   * Connects to a stub on 127.0.0.1 (or `hostname`), retrying until `timeoutMs`
   * passes (the stub's process may still be starting), then negotiates features.
   */
  static async connect(
    port: number,
    hostname = "127.0.0.1",
    timeoutMs = 10_000,
  ): Promise<GdbClient> {
    const end = performance.now() + timeoutMs;
    while (true) {
      try {
        const conn = await Deno.connect({ hostname, port });
        conn.setNoDelay(true);
        const client = new GdbClient(conn);
        await client.#handshake();
        return client;
      } catch (e) {
        if (performance.now() >= end) {
          throw new GdbClientError(
            `cannot connect to ${hostname}:${port}: ${(e as Error).message}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async #handshake(): Promise<void> {
    this.features = await this.request("qSupported:swbreak+;hwbreak+;vContSupported+");
    if (this.features.includes("QStartNoAckMode+")) {
      if (await this.request("QStartNoAckMode") === "OK") this.#noAck = true;
    }
  }

  async #nextEvent(): Promise<WireEvent> {
    while (this.#pending.length === 0) {
      const n = await this.#conn.read(this.#buf);
      if (n === null) throw new GdbClientError("connection closed by the stub");
      this.#pending.push(...this.#decoder.push(this.#buf.subarray(0, n)));
    }
    return this.#pending.shift()!;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) done += await this.#conn.write(bytes.subarray(done));
  }

  /** Sends a packet without waiting for a reply (kill, interrupt-style requests). */
  async send(packet: string): Promise<void> {
    await this.#writeAll(encodePacket(packet));
  }

  /** Sends `packet` and returns the reply's text (escapes and run-length encoding removed). */
  async request(packet: string): Promise<string> {
    const bytes = encodePacket(packet);
    await this.#writeAll(bytes);
    return await this.#readReply(bytes);
  }

  /** The next reply packet; `resend` is what to send again on a nack (ack mode). */
  async #readReply(resend?: Uint8Array): Promise<string> {
    while (true) {
      const e = await this.#nextEvent();
      if (e.kind === "ack") {
        if (!e.ok && resend !== undefined) await this.#writeAll(resend);
        continue;
      }
      if (e.kind !== "packet") continue;
      if (!this.#noAck) await this.#writeAll(latin1(e.checksumOk ? "+" : "-"));
      if (!e.checksumOk && !this.#noAck) continue;
      const text = fromLatin1(decodeReply(e.data));
      if (text.startsWith("O") && text.length > 1 && /^O([0-9a-f]{2})+$/.test(text)) {
        continue; // console output of a monitor command; the real reply follows
      }
      return text;
    }
  }

  /** Like {@linkcode request}, but an `Exx` reply throws. */
  async command(packet: string): Promise<string> {
    const r = await this.request(packet);
    if (/^E[0-9a-fA-F]{2}$/.test(r)) throw new GdbClientError(`${packet}: stub replied ${r}`);
    return r;
  }

  /** The target description (qXfer:features:read:target.xml, following includes). */
  async targetXml(annex = "target.xml"): Promise<string> {
    let xml = "";
    while (true) {
      const r = await this.command(
        `qXfer:features:read:${annex}:${xml.length.toString(16)},3fff`,
      );
      if (r === "") break;
      xml += r.slice(1);
      if (r[0] === "l") break;
    }
    return xml;
  }

  /** Every register of the target description (includes resolved), in document order. */
  async registers(): Promise<RegisterInfo[]> {
    const regs: RegisterInfo[] = [];
    let next = 0;
    const walk = async (xml: string) => {
      const tokens = xml.matchAll(/<(feature|reg|xi:include)\b([^>]*)>/g);
      let feature = "";
      for (const [, tag, attrs] of tokens) {
        const attr = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(attrs)?.[1];
        if (tag === "feature") feature = attr("name") ?? "";
        else if (tag === "xi:include") await walk(await this.targetXml(attr("href")!));
        else {
          const regnum = attr("regnum") === undefined ? next : Number(attr("regnum"));
          next = regnum + 1;
          regs.push({
            name: attr("name") ?? "",
            regnum,
            bitsize: Number(attr("bitsize") ?? 64),
            feature,
          });
        }
      }
    };
    await walk(await this.targetXml());
    return regs;
  }

  /** The `g` packet as 64-bit values (x0..x31 and pc on RISC-V). */
  async readGeneralRegisters(): Promise<bigint[]> {
    const hex = await this.command("g");
    const out: bigint[] = [];
    for (let i = 0; i + 16 <= hex.length; i += 16) out.push(regFromHex(hex.slice(i, i + 16)) ?? 0n);
    return out;
  }

  /** One register by gdb number; null if the stub cannot read it. */
  async readRegister(regnum: number): Promise<bigint | null> {
    const r = await this.request(`p${regnum.toString(16)}`);
    if (r.startsWith("E") || r === "" || /x/.test(r)) return null;
    return regFromHex(r);
  }

  /** Reads target memory. */
  async readMemory(addr: bigint, length: number): Promise<Uint8Array> {
    const r = await this.command(
      `m${BigInt.asUintN(64, addr).toString(16)},${length.toString(16)}`,
    );
    const bytes = fromHex(r);
    if (bytes === null) throw new GdbClientError(`m: malformed reply ${r.slice(0, 40)}`);
    return bytes;
  }

  /** Writes target memory. */
  async writeMemory(addr: bigint, bytes: Uint8Array): Promise<void> {
    await this.command(
      `M${BigInt.asUintN(64, addr).toString(16)},${bytes.length.toString(16)}:${toHex(bytes)}`,
    );
  }

  /** Single-steps; returns the stop reply (T05...). */
  step(): Promise<string> {
    return this.command("s");
  }

  /** Continues until the target stops; returns the stop reply. */
  cont(): Promise<string> {
    return this.command("c");
  }

  /** Sends Ctrl-C (the stop reply arrives as the reply of the pending `c`). */
  async interrupt(): Promise<void> {
    await this.#writeAll(Uint8Array.of(INTERRUPT));
  }

  /** Runs a monitor command and returns its output text. */
  async monitor(cmd: string): Promise<string> {
    const r = await this.command(`qRcmd,${toHex(latin1(cmd))}`);
    return r === "OK" ? "" : fromLatin1(fromHex(r) ?? new Uint8Array());
  }

  /** Closes the connection (the stub decides what the target does then). */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}
