/**
 * Test helpers of the web console (`boot.ts --web`): a boot.ts with the
 * console on a free port, and a WebSocket client of its protocol.
 *
 * @module
 */

import { HANG_GUARD_MS } from "../scripts/host-tools.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** How long a test waits for one message or text: far beyond any passing run. */
const WAIT_MS = 120_000;

/** A boot.ts process serving the web console. */
export interface WebConsoleRun {
  /** The page's address (`http://127.0.0.1:PORT/`). */
  url: string;
  /** The process's end: exit code and everything it printed. */
  end: Promise<{ code: number; stdout: string; stderr: string }>;
  /** Writes to the process's stdin (the host terminal's side of the console). */
  type(text: string): Promise<void>;
  /** Kills the process if it still runs and waits for its end. */
  kill(): Promise<void>;
}

/** Starts `boot.ts --web 0 ...args` (tinyos by default) and waits for the console's address. */
export async function startWebConsole(args: string[] = []): Promise<WebConsoleRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "boot.ts",
      "--web",
      "0",
      "--timeout",
      String(HANG_GUARD_MS / 1000),
      ...args,
    ],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stdin = child.stdin.getWriter();
  const dec = new TextDecoder();
  let stdout = "", stderr = "";
  const readAll = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    for await (const chunk of s) add(dec.decode(chunk, { stream: true }));
  };
  const stdoutDone = readAll(child.stdout, (t) => stdout += t);
  let announced: (url: string) => void;
  const url = new Promise<string>((resolve) => announced = resolve);
  const stderrDone = readAll(child.stderr, (t) => {
    stderr += t;
    const m = /web console on (http:\/\/\S+)/.exec(stderr);
    if (m) announced(m[1]);
  });
  const end = (async () => {
    const { code } = await child.status;
    await Promise.all([stdoutDone, stderrDone]);
    return { code, stdout, stderr };
  })();
  const first = await Promise.race([url, end]);
  if (typeof first !== "string") {
    throw new Error(`boot.ts --web ended (${first.code}) before serving:\n${first.stderr}`);
  }
  return {
    url: first,
    end,
    type: (text) => stdin.write(new TextEncoder().encode(text)),
    async kill() {
      await stdin.close().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch {
        // Already ended.
      }
      await end;
    },
  };
}

/** A message of the protocol (README, "The web console"). */
export type WebMessage = Record<string, unknown> & { type: string };

/** A client of the web console's WebSocket, with waits that fail after {@linkcode WAIT_MS}. */
export class WebSocketClient {
  /** Console output received, as Latin-1 text. */
  text = "";
  readonly #messages: WebMessage[] = [];
  #changed: () => void = () => {};
  /** Resolves when the server closed the connection. */
  readonly closed: Promise<void>;

  private constructor(readonly socket: WebSocket) {
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => {
      if (e.data instanceof ArrayBuffer) {
        this.text += String.fromCharCode(...new Uint8Array(e.data));
      } else this.#messages.push(JSON.parse(e.data));
      this.#changed();
    };
    this.closed = new Promise((resolve) => socket.addEventListener("close", () => resolve()));
  }

  /** Connects to the console at page address `url`. */
  static async connect(url: string): Promise<WebSocketClient> {
    const socket = new WebSocket(new URL("/ws", url).href.replace(/^http/, "ws"));
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
    return new WebSocketClient(socket);
  }

  /** Length of {@linkcode text} now: a start for {@linkcode waitText}. */
  get textLength(): number {
    return this.text.length;
  }

  /** Waits until `check` is true, re-checked on every message. */
  async #until<T>(what: string, check: () => T | undefined): Promise<T> {
    const deadline = Date.now() + WAIT_MS;
    while (true) {
      const found = check();
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        throw new Error(`waited ${WAIT_MS} ms for ${what}; output so far:\n${this.text}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.#changed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Takes messages until one of `type` for which `pred` holds, and returns it. */
  next(type: string, pred: (m: WebMessage) => boolean = () => true): Promise<WebMessage> {
    return this.#until(`a ${type} message`, () => {
      while (this.#messages.length > 0) {
        const m = this.#messages.shift()!;
        if (m.type === type && pred(m)) return m;
      }
      return undefined;
    });
  }

  /** Waits until the console output from offset `from` on contains `text`. */
  waitText(text: string, what = JSON.stringify(text), from = 0): Promise<true> {
    return this.#until(what, () => this.text.includes(text, from) || undefined);
  }

  /** Types `data` into the guest's console. */
  input(data: string): void {
    this.sendRaw(JSON.stringify({ type: "input", data }));
  }

  /** Sends a run-control request. */
  control(action: string, fields: Record<string, unknown> = {}): void {
    this.sendRaw(JSON.stringify({ type: "control", action, ...fields }));
  }

  /** Sends a frame as is (text or binary). */
  sendRaw(data: string | Uint8Array): void {
    this.socket.send(data);
  }

  /** Closes the connection. */
  close(): void {
    this.socket.close();
  }
}
