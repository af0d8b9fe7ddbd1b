/**
 * The TCP side of `rvisor --gdb`: listens for a debugger and hands each
 * connection to the {@linkcode GdbStub}. Loopback only unless the caller
 * explicitly allows another address (`--gdb-listen`), because the protocol
 * has no authentication and gives full control of the guest and its memory.
 *
 * @module
 */

import type { GdbStub } from "../gdb/stub.ts";
import type { RunResult } from "../virt.ts";

/** A listen address refused or malformed: printed as a usage error. */
export class GdbListenError extends Error {
  /** Error name. */
  override name = "GdbListenError";
}

/** Where to listen. */
export interface GdbListenAddress {
  /** Host name or IP address. */
  hostname: string;
  /** TCP port (0: any free port). */
  port: number;
}

/** True for addresses that only this machine can reach. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Parses `PORT` (loopback) or `HOST:PORT`. A host that is not loopback is
 * refused unless `allowRemote` (the explicit --gdb-listen flag) is set.
 */
export function parseGdbAddress(text: string, allowRemote: boolean): GdbListenAddress {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(text.trim());
  if (!m) throw new GdbListenError(`${text}: expected PORT or HOST:PORT`);
  const port = Number(m[2]);
  if (port > 65535) throw new GdbListenError(`${text}: port must be 0-65535`);
  const hostname = (m[1] ?? "127.0.0.1").replace(/^\[|\]$/g, "");
  if (!allowRemote && !isLoopback(hostname)) {
    throw new GdbListenError(
      `${text}: the GDB stub listens on loopback only (it has no authentication); ` +
        `use --gdb-listen HOST:PORT to listen on ${hostname} anyway`,
    );
  }
  return { hostname, port };
}

/** A listening GDB server. */
export class GdbServer {
  readonly #listener: Deno.TcpListener;
  #closed = false;

  private constructor(listener: Deno.TcpListener, readonly stub: GdbStub) {
    this.#listener = listener;
    void this.#acceptLoop();
  }

  /** Starts listening at `address` for debuggers of `stub`. */
  static listen(stub: GdbStub, address: GdbListenAddress): GdbServer {
    try {
      const listener = Deno.listen({ hostname: address.hostname, port: address.port });
      return new GdbServer(listener, stub);
    } catch (e) {
      throw new GdbListenError(
        `cannot listen on ${address.hostname}:${address.port}: ${(e as Error).message}`,
      );
    }
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // listener closed
      }
      conn.setNoDelay(true); // one small packet per step: no Nagle delay
      // One debugger at a time, as QEMU: a second connection is closed at once.
      if (!this.stub.attach(conn)) conn.close();
    }
  }

  /** Stops listening (an attached debugger stays connected until the run ends). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
  }
}

/** Options of {@linkcode runWithGdb}. */
export interface RunWithGdbOptions {
  /** Where to listen. */
  address: GdbListenAddress;
  /** Hold the hart at reset until a debugger attaches. */
  wait: boolean;
  /** Wall-clock limit (ms). */
  timeoutMs?: number;
  /** Where to say which address the stub listens on (stderr). */
  announce?: (line: string) => void;
}

/**
 * Runs `stub`'s machine with a GDB server listening (rvisor --gdb): the run
 * loop belongs to the stub until the guest halts, the timeout passes or the
 * debugger kills the run. The result has the machine's {@linkcode RunResult}
 * shape, with `killed` for a debugger's kill.
 */
export async function runWithGdb(
  stub: GdbStub,
  options: RunWithGdbOptions,
): Promise<Omit<RunResult, "stop"> & { stop: RunResult["stop"] | "killed" }> {
  const server = GdbServer.listen(stub, options.address);
  options.announce?.(
    `GDB stub listening on ${options.address.hostname}:${server.port}` +
      (options.wait ? " (the hart waits for a debugger)" : ""),
  );
  const machine = stub.target.machine;
  const start = machine.hart.retired, startGuest = machine.guestInstructions;
  const t0 = performance.now();
  try {
    const r = await stub.run({ waitForDebugger: options.wait, timeoutMs: options.timeoutMs });
    return {
      stop: r.stop,
      reason: machine.halted?.reason,
      exitCode: machine.exitCode,
      guestInstructions: machine.guestInstructions - startGuest,
      hostInstructions: machine.hart.retired - start,
      wallMs: performance.now() - t0,
    };
  } finally {
    server.close();
  }
}
