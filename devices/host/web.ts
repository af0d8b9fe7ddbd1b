/**
 * The live web console of `rvisor --web [ADDR:]PORT`: an HTTP server (loopback
 * unless an address is named) that serves the page in web/ and the two
 * libraries it uses (xterm.js, uPlot) from rvisor itself, and a WebSocket at
 * `/ws` that carries the guest's serial console, run control, the run's
 * counters and, from a run report's sampler (hypervisor/report.ts), the
 * report's series and tables while the guest runs. The protocol is in the
 * README ("The web console"); its limits are the `WEB_LIMITS` below.
 *
 * The machine runs here, in Deno; this module owns its run loop while the
 * console is on (as the GDB stub does with `--gdb`): pause, step, snapshot and
 * reset happen between runs, never inside one.
 *
 * @module
 */

import xtermJs from "@xterm/xterm/lib/xterm.js" with { type: "text" };
import xtermCss from "@xterm/xterm/css/xterm.css" with { type: "text" };
import uplotJs from "uplot/dist/uPlot.esm.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import consoleHtml from "../../web/console.html" with { type: "text" };
import consoleJs from "../../web/console.js" with { type: "text" };
import chartsJs from "../../web/charts.js" with { type: "text" };
import type { RunSampler } from "../../hypervisor/report.ts";
import type { Halt, RunResult } from "../virt.ts";
import { ConsoleOutput, type ConsoleSink, InputPacer } from "./terminal.ts";
import { type GdbListenAddress, isLoopback, parseGdbAddress } from "./gdbserver.ts";
import { loadSnapshotFile, saveSnapshotFile } from "./snapshot.ts";

/** A --web address or server that cannot be used: printed as a usage error. */
export class WebListenError extends Error {
  /** Error name. */
  override name = "WebListenError";
}

/** The protocol's version, sent in `hello`. */
export const WEB_PROTOCOL = 2;

/** What the server accepts, sent in `hello` and documented in the README. */
export const WEB_LIMITS = {
  /** Longest text message from a browser, in UTF-16 code units (JSON included). */
  maxMessage: 4096,
  /** Longest `input` text in one message. */
  maxInput: 1024,
  /** Typed bytes waiting for the guest before more input is refused. */
  maxPendingInput: 65536,
  /** Browsers connected at once; more get HTTP 503. */
  maxClients: 8,
  /** Console output replayed to a browser when it connects (bytes). */
  history: 65536,
  /** A browser that falls this far behind (bytes queued) is disconnected. */
  maxBuffered: 4 * 1024 * 1024,
  /** Snapshot file names: letters, digits, '.', '_', '-', not starting with '.'. */
  snapshotName: /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/,
} as const;

/** How often the counters and the report's new samples go out (ms). */
export const STATS_PERIOD_MS = 500;
/**
 * The report's tables go out every this many counter periods: the top pcs
 * are looked up in a table of every trapping pc and symbolized (a few ms
 * for Linux), which the charts' new samples are not.
 */
export const TABLES_EVERY = 4;

/** What the console reads a run report's live figures from: a {@linkcode RunSampler}. */
export type LiveSource = Pick<
  RunSampler,
  "samplesSince" | "tables" | "pause" | "resume" | "rebase"
>;

/** What the console drives: hypervisor/machine.ts's `Machine` has all of it. */
export interface WebTarget {
  /** `hypervisor` or `bare`. */
  readonly mode: "bare" | "hypervisor";
  /** Runs until a halt, a pause, a stopping hook or the timeout. */
  run(options: { timeoutMs?: number }): Promise<RunResult>;
  /** Makes the current run return `pause` at the next instruction boundary. */
  pause(): void;
  /** Runs one guest instruction; returns the new pc. */
  step(): Promise<number>;
  /** The guest's pc. */
  readonly pc: number;
  /** Guest instructions since reset. */
  readonly guestInstructions: number;
  /** The halt that ended the machine, or null. */
  readonly halted: Halt | null;
  /** Snapshot bytes of the whole machine (between runs). */
  saveSnapshot(): Uint8Array;
  /** Restores snapshot bytes (between runs). */
  loadSnapshot(bytes: Uint8Array, source?: string): void;
  /** The hypervisor's exit counts by kind (empty when bare). */
  readonly host: { readonly exitCounts: ReadonlyMap<string, number> };
}

/**
 * Parses `--web`'s `PORT` (loopback) or `ADDR:PORT` (any address, named
 * explicitly: the console has no authentication, as the GDB stub).
 */
export function parseWebAddress(text: string): GdbListenAddress {
  try {
    return parseGdbAddress(text, true);
  } catch (e) {
    throw new WebListenError((e as Error).message);
  }
}

/** Options of {@linkcode WebConsole.listen}. */
export interface WebConsoleOptions {
  /** Where to listen. */
  address: GdbListenAddress;
  /** The directory snapshot files are saved to and loaded from; none: snapshots refused. */
  snapshotDir?: string;
}

/** One connected browser. */
interface Client {
  socket: WebSocket;
  /** The report samples this browser has: the next index and the recording's epoch then. */
  samples: number;
  epoch: number;
}

/** A `series` message as sent, with the place in the recording it brings a browser to. */
interface SeriesText {
  text: string;
  samples: number;
  epoch: number;
}

/** The files the server serves: path -> [content type, body]. */
const FILES: Record<string, [string, string]> = {
  "/": ["text/html; charset=utf-8", consoleHtml],
  "/console.js": ["text/javascript; charset=utf-8", consoleJs],
  "/charts.js": ["text/javascript; charset=utf-8", chartsJs],
  // xterm.js 5.5 ships only a UMD build: given `module` and `exports` it is a CommonJS module.
  "/vendor/xterm.js": [
    "text/javascript; charset=utf-8",
    `const module = { exports: {} }, exports = module.exports;\n${xtermJs}\n` +
    "export const Terminal = module.exports.Terminal;\n",
  ],
  "/vendor/xterm.css": ["text/css; charset=utf-8", xtermCss],
  "/vendor/uplot.js": ["text/javascript; charset=utf-8", uplotJs],
  "/vendor/uplot.css": ["text/css; charset=utf-8", uplotCss],
};

/** The `control` message's actions. */
type Action = "pause" | "resume" | "step" | "reset" | "save" | "load" | "takeover";
const ACTIONS: ReadonlySet<string> = new Set<Action>([
  "pause",
  "resume",
  "step",
  "reset",
  "save",
  "load",
  "takeover",
]);

/** A listening web console. Create with {@linkcode WebConsole.listen}, then {@linkcode run}. */
export class WebConsole {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #options: WebConsoleOptions;
  readonly #clients: Client[] = [];
  /** The client whose keys reach the guest (and who controls the run). */
  #typist: Client | undefined;
  /** Recent console output, replayed to new clients. */
  #history = new Uint8Array(WEB_LIMITS.history);
  #historyLength = 0;
  readonly #output: ConsoleOutput;
  #target: WebTarget | undefined;
  #sink: ConsoleSink | undefined;
  #pacer: InputPacer | undefined;
  /** The machine at start-up, restored by `reset`. */
  #startSnapshot: Uint8Array | undefined;
  /** True while the user wants the guest running (false: paused). */
  #wantRun = true;
  #running = false;
  /** Work that needs the machine between runs (step, snapshots, reset). */
  #ops: (() => Promise<void> | void)[] = [];
  #wake: (() => void) | undefined;
  #stats: ReturnType<typeof setInterval> | undefined;
  #statsTicks = 0;
  #live: LiveSource | undefined;
  readonly #t0 = performance.now();
  #closed = false;
  #lastState = "";

  private constructor(server: Deno.HttpServer<Deno.NetAddr>, options: WebConsoleOptions) {
    this.#server = server;
    this.#options = options;
    // Small packets at most every 10 ms: typing echoes fast, boot logs do not flood.
    this.#output = new ConsoleOutput((bytes) => this.#broadcastOutput(bytes), 10);
  }

  /**
   * Starts serving at `options.address`; throws {@linkcode WebListenError}
   * with one line if the address cannot be bound (in use, not local, unknown).
   */
  static listen(options: WebConsoleOptions): WebConsole {
    let web: WebConsole | undefined;
    const { hostname, port } = options.address;
    try {
      const server = Deno.serve({ hostname, port, onListen() {} }, (req) => web!.#handle(req));
      web = new WebConsole(server, options);
      return web;
    } catch (e) {
      throw new WebListenError(`cannot listen on ${hostname}:${port}: ${(e as Error).message}`);
    }
  }

  /** The page's address, e.g. `http://127.0.0.1:8080/`. */
  get url(): string {
    const { hostname, port } = this.#server.addr;
    return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/`;
  }

  /** One byte of guest console output (the machine's `console` callback). */
  put(byte: number): void {
    this.#output.put(byte);
  }

  /**
   * Runs `target` under the console's control until the guest halts or
   * `timeoutMs` passes; `sink` takes the typed keys. A pause from a script
   * (a stopping hook) pauses the console too, so a browser can step on.
   * With `live`, the browsers get its series and tables, and it records
   * only while the guest runs (not while a browser holds it paused).
   */
  async run(
    target: WebTarget,
    sink: ConsoleSink,
    timeoutMs?: number,
    live?: LiveSource,
  ): Promise<RunResult> {
    this.#target = target;
    this.#live = live;
    this.#sink = sink;
    this.#pacer = new InputPacer(sink);
    this.#startSnapshot = target.saveSnapshot();
    this.#stats = setInterval(() => this.#sendStats(), STATS_PERIOD_MS);
    const t0 = performance.now(), start = target.guestInstructions;
    const deadline = t0 + (timeoutMs ?? Infinity);
    try {
      while (true) {
        await this.#drainOps();
        // A step can reach the guest's poweroff: the run then reports the halt at once.
        if (target.halted) return await target.run({});
        if (this.#wantRun) {
          this.#running = true;
          this.#broadcastState();
          const left = Number.isFinite(deadline)
            ? Math.max(0, deadline - performance.now())
            : undefined;
          live?.resume();
          const r = await target.run({ timeoutMs: left });
          live?.pause();
          this.#running = false;
          if (r.stop === "halt" || r.stop === "timeout") return r;
          // A pause with no work queued came from a script's hook: stay paused for the browser.
          if (this.#ops.length === 0 && this.#wantRun) {
            this.#wantRun = false;
            this.#broadcastState(r.stop);
          }
          continue;
        }
        this.#broadcastState();
        const left = deadline - performance.now();
        if (left <= 0) {
          return {
            stop: "timeout",
            exitCode: 0,
            guestInstructions: target.guestInstructions - start,
            hostInstructions: 0,
            wallMs: performance.now() - t0,
          };
        }
        await new Promise<void>((resolve) => {
          const timer = Number.isFinite(left) ? setTimeout(resolve, left) : undefined;
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    } finally {
      this.#running = false;
    }
  }

  /**
   * Tells the browsers how the run ended, sends the last output and closes
   * every connection and the server (waiting at most `graceMs`).
   */
  async close(graceMs = 1000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#stats);
    this.#pacer?.close();
    this.#output.flush();
    this.#broadcastState();
    for (const c of this.#clients) {
      try {
        c.socket.close(1000, "rvisor: the run ended");
      } catch {
        // Already closing.
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#server.shutdown(),
      new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
    ]);
    clearTimeout(timer);
  }

  // ---------------------------------------------------------------- HTTP

  #handle(req: Request): Response {
    const url = new URL(req.url);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return text(405, `${req.method}: only GET is served`);
    }
    if (url.pathname === "/ws") return this.#upgrade(req);
    const file = FILES[url.pathname];
    if (!file) return text(404, `${url.pathname}: no such page`);
    return new Response(req.method === "HEAD" ? null : file[1], {
      headers: { "content-type": file[0], "cache-control": "no-store" },
    });
  }

  #upgrade(req: Request): Response {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return text(400, "/ws: expected a WebSocket upgrade");
    }
    // A page from another site must not drive the guest through the user's browser.
    const origin = req.headers.get("origin"), host = req.headers.get("host") ?? "";
    if (origin !== null && URL.parse(origin)?.host !== host) {
      return text(403, `/ws: origin ${origin} refused (only the console's own page may connect)`);
    }
    // Nor a site whose name its DNS points at 127.0.0.1 (DNS rebinding): on loopback, only
    // loopback names are this machine.
    const hostname = URL.parse(`http://${host}`)?.hostname ?? "";
    if (isLoopback(this.#options.address.hostname) && !isLoopback(hostname)) {
      return text(403, `/ws: host ${host} refused (the console listens on loopback)`);
    }
    if (this.#closed) return text(503, "/ws: the run has ended");
    if (this.#clients.length >= WEB_LIMITS.maxClients) {
      return text(503, `/ws: ${WEB_LIMITS.maxClients} browsers are connected already`);
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    const client: Client = { socket, samples: 0, epoch: -1 };
    socket.binaryType = "arraybuffer";
    socket.onopen = () => this.#onOpen(client);
    socket.onmessage = (e) => this.#onMessage(client, e.data);
    socket.onclose = () => this.#onClose(client);
    socket.onerror = () => {}; // a dropped connection is reported by onclose
    return response;
  }

  // ----------------------------------------------------------- WebSocket

  #onOpen(client: Client): void {
    this.#clients.push(client);
    this.#typist ??= client;
    this.#send(client, {
      type: "hello",
      protocol: WEB_PROTOCOL,
      mode: this.#target?.mode ?? null,
      typist: this.#typist === client,
      snapshots: this.#options.snapshotDir !== undefined,
      limits: {
        maxMessage: WEB_LIMITS.maxMessage,
        maxInput: WEB_LIMITS.maxInput,
        history: WEB_LIMITS.history,
      },
    });
    this.#output.flush();
    if (this.#historyLength > 0) {
      this.#sendRaw(client, this.#history.slice(0, this.#historyLength));
    }
    this.#send(client, this.#stateMessage());
    if (this.#live) {
      this.#sendSeries(client, new Map());
      this.#send(client, { type: "tables", ...this.#live.tables() });
    }
  }

  #onClose(client: Client): void {
    const i = this.#clients.indexOf(client);
    if (i < 0) return;
    this.#clients.splice(i, 1);
    if (this.#typist === client) {
      this.#typist = this.#clients[0];
      if (this.#typist) this.#send(this.#typist, { type: "typist", typist: true });
    }
  }

  #onMessage(client: Client, data: unknown): void {
    if (typeof data !== "string") {
      return this.#error(client, "binary messages are not accepted: send JSON text");
    }
    if (data.length > WEB_LIMITS.maxMessage) {
      return this.#error(
        client,
        `message of ${data.length} characters refused: at most ${WEB_LIMITS.maxMessage}`,
      );
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return this.#error(client, `malformed message (not JSON): ${clip(data)}`);
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
      return this.#error(client, `malformed message (not a JSON object): ${clip(data)}`);
    }
    const m = msg as Record<string, unknown>;
    if (m.type === "input") return this.#onInput(client, m);
    if (m.type === "control") return this.#onControl(client, m);
    this.#error(
      client,
      `unknown message type ${clip(JSON.stringify(m.type) ?? "undefined")}: ` +
        "expected input or control",
    );
  }

  #onInput(client: Client, m: Record<string, unknown>): void {
    if (typeof m.data !== "string") return this.#error(client, "input: data must be a string");
    if (m.data.length > WEB_LIMITS.maxInput) {
      return this.#error(
        client,
        `input of ${m.data.length} characters refused: at most ${WEB_LIMITS.maxInput}`,
      );
    }
    if (client !== this.#typist) {
      return this.#error(client, "input refused: another browser types (take over first)");
    }
    const pacer = this.#pacer;
    if (!pacer) return this.#error(client, "input refused: the machine is not running yet");
    if (pacer.pending + m.data.length > WEB_LIMITS.maxPendingInput) {
      return this.#error(client, "input refused: the guest has not read the earlier input yet");
    }
    pacer.push(new TextEncoder().encode(m.data));
  }

  #onControl(client: Client, m: Record<string, unknown>): void {
    if (typeof m.action !== "string" || !ACTIONS.has(m.action)) {
      return this.#error(
        client,
        `control: unknown action ${clip(JSON.stringify(m.action) ?? "undefined")}: ` +
          `expected one of ${[...ACTIONS].join(", ")}`,
      );
    }
    const action = m.action as Action;
    if (action === "takeover") return this.#takeOver(client);
    if (client !== this.#typist) {
      return this.#error(client, `${action} refused: only the typing browser controls the run`);
    }
    const target = this.#target;
    if (!target || this.#closed) {
      return this.#error(client, `${action} refused: the machine is not running`);
    }
    switch (action) {
      case "pause":
        this.#wantRun = false;
        if (this.#running) target.pause();
        return;
      case "resume":
        this.#wantRun = true;
        this.#wake?.();
        return;
      case "step":
        if (this.#wantRun) return this.#error(client, "step refused: pause first");
        return this.#queue(async () => {
          const pc = await target.step();
          this.#send(client, { type: "done", action, pc });
        });
      case "reset":
        return this.#queue(() => {
          this.#restore(() => target.loadSnapshot(this.#startSnapshot!, "start-up state"));
          this.#broadcast({ type: "notice", text: "machine reset" });
        });
      case "save":
      case "load":
        return this.#snapshot(client, action, m.name);
    }
  }

  #takeOver(client: Client): void {
    const before = this.#typist;
    if (before === client) return;
    this.#typist = client;
    if (before) this.#send(before, { type: "typist", typist: false });
    this.#send(client, { type: "typist", typist: true });
  }

  #snapshot(client: Client, action: "save" | "load", name: unknown): void {
    const dir = this.#options.snapshotDir;
    if (dir === undefined) {
      return this.#error(client, `${action} refused: start rvisor with --web-snapshots DIR`);
    }
    if (typeof name !== "string" || !WEB_LIMITS.snapshotName.test(name)) {
      return this.#error(
        client,
        `${action}: name ${clip(JSON.stringify(name) ?? "undefined")} refused: ` +
          "1-64 letters, digits, '.', '_' or '-', not starting with '.'",
      );
    }
    const path = `${dir}/${name}`;
    this.#queue(() => {
      try {
        if (action === "save") saveSnapshotFile(this.#target!, path);
        else this.#restore(() => loadSnapshotFile(this.#target!, path));
      } catch (e) {
        return this.#error(client, `${action}: ${(e as Error).message.split("\n")[0]}`);
      }
      this.#send(client, { type: "done", action, name });
      if (action === "load") this.#broadcast({ type: "notice", text: `snapshot ${name} loaded` });
    });
  }

  /**
   * Restores a snapshot with `load`; the live report's counts go on from where
   * they were (the restored machine's counters jump); the input pacer starts
   * again from the restored UART.
   */
  #restore(load: () => void): void {
    if (this.#live) this.#live.rebase(load);
    else load();
    this.#pacer?.close();
    this.#pacer = new InputPacer(this.#sink!);
  }

  /** Runs `op` between runs: pauses a running machine, which the run loop then resumes. */
  #queue(op: () => Promise<void> | void): void {
    this.#ops.push(op);
    if (this.#running) this.#target!.pause();
    else this.#wake?.();
  }

  async #drainOps(): Promise<void> {
    while (this.#ops.length > 0) {
      await this.#ops.shift()!();
      this.#broadcastState(undefined, true);
    }
  }

  // ------------------------------------------------------------- sending

  #stateMessage(reason?: string): Record<string, unknown> {
    const t = this.#target;
    const halted = t?.halted;
    return {
      type: "state",
      state: halted ? "halted" : this.#wantRun ? "running" : "paused",
      ...(reason === undefined ? {} : { reason }),
      ...(halted ? { message: halted.message } : {}),
      pc: t?.pc ?? null,
      guestInstructions: t?.guestInstructions ?? 0,
    };
  }

  /**
   * Sends the state when it changed since the last time (the run loop passes
   * here often), or always (`force`: after a request, whose sender waits for it).
   */
  #broadcastState(reason?: string, force = false): void {
    const msg = this.#stateMessage(reason);
    const key = JSON.stringify(msg);
    if (key === this.#lastState && !force) return;
    this.#lastState = key;
    this.#broadcast(msg);
  }

  #sendStats(): void {
    const t = this.#target;
    if (!t || this.#clients.length === 0) return;
    this.#broadcast({
      type: "stats",
      t: Math.round(performance.now() - this.#t0),
      guestInstructions: t.guestInstructions,
      exits: Object.fromEntries(t.host.exitCounts),
    });
    const live = this.#live;
    if (!live) return;
    // Browsers that have the same samples get the same message, made once.
    const made = new Map<string, SeriesText | null>();
    for (const c of [...this.#clients]) this.#sendSeries(c, made);
    if (++this.#statsTicks % TABLES_EVERY === 0) {
      this.#broadcast({ type: "tables", ...live.tables() });
    }
  }

  /** Sends `client` the report samples it has not had, if there are any. */
  #sendSeries(client: Client, made: Map<string, SeriesText | null>): void {
    const key = `${client.epoch}:${client.samples}`;
    let msg = made.get(key);
    if (msg === undefined) {
      const live = this.#live!.samplesSince(client.samples, client.epoch);
      const mode = this.#target?.mode ?? null;
      msg = live.start === live.samples && live.epoch === client.epoch ? null : {
        text: JSON.stringify({ type: "series", mode, ...live }),
        samples: live.samples,
        epoch: live.epoch,
      };
      made.set(key, msg);
    }
    if (msg === null) return;
    client.samples = msg.samples, client.epoch = msg.epoch;
    this.#sendRaw(client, msg.text);
  }

  #broadcastOutput(bytes: Uint8Array): void {
    const keep = Math.min(bytes.length, this.#history.length);
    const old = Math.min(this.#historyLength, this.#history.length - keep);
    this.#history.copyWithin(0, this.#historyLength - old, this.#historyLength);
    this.#history.set(bytes.subarray(bytes.length - keep), old);
    this.#historyLength = old + keep;
    for (const c of [...this.#clients]) this.#sendRaw(c, bytes);
  }

  #error(client: Client, message: string): void {
    this.#send(client, { type: "error", message });
  }

  #broadcast(msg: Record<string, unknown>): void {
    for (const c of [...this.#clients]) this.#send(c, msg);
  }

  #send(client: Client, msg: Record<string, unknown>): void {
    this.#sendRaw(client, JSON.stringify(msg));
  }

  #sendRaw(client: Client, data: string | Uint8Array): void {
    const s = client.socket;
    if (s.readyState !== WebSocket.OPEN) return;
    if (s.bufferedAmount > WEB_LIMITS.maxBuffered) {
      s.close(1008, "rvisor: this browser fell too far behind the console");
      return;
    }
    try {
      s.send(data);
    } catch {
      // The connection is going away; onclose removes it.
    }
  }
}

/** A plain-text HTTP answer (errors). */
function text(status: number, body: string): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** The start of a refused message, for the error text. */
function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}
