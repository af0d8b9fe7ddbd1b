/**
 * A small driver of a real headless Chromium over the Chrome DevTools Protocol
 * (CDP), for tests that check rvisor's pages in a browser.
 *
 * Why not puppeteer-core: the tests need a dozen CDP calls (open a page,
 * evaluate, type, screenshot, set a file input), which Deno's built-in
 * WebSocket speaks directly; puppeteer-core would add an npm dependency tree,
 * its own browser-download and launch logic, and Node shims, to drive the same
 * protocol. Here the whole protocol surface the tests use is in this file.
 *
 * ```ts
 * await using browser = await launchBrowser();
 * const page = await browser.newPage("file:///path/index.html");
 * await page.waitFor("document.title === 'ready'");
 * await page.type("help\n");
 * await page.screenshot("tests/out/page.png");
 * ```
 *
 * The browser runs in its own process group with its own temporary profile;
 * `close()` (or leaving an `await using` block, even by a throw) ends the group
 * and removes the profile, and an unload listener kills it if the test process
 * exits first.
 *
 * @module
 */

import { CHROMIUM } from "../scripts/host-tools.ts";

/** Default limit (ms) of {@linkcode Page.waitFor} and of CDP calls: a hang guard, not a timing. */
export const CDP_TIMEOUT_MS = 120_000;

/** Where tests write screenshots and other files for people to look at (gitignored). */
export const TEST_OUT = new URL("./out/", import.meta.url).pathname;

/** Options of {@linkcode launchBrowser}. */
export interface LaunchOptions {
  /** Browser command; default {@linkcode CHROMIUM}. */
  executable?: string;
  /** Extra command-line flags. */
  args?: string[];
  /** Window size, which is also the screenshots' size. */
  width?: number;
  /** Window height in pixels. */
  height?: number;
  /** How long to wait for the browser to listen (ms). */
  timeoutMs?: number;
}

/** A CDP error answer or a broken connection, naming the method. */
export class CdpError extends Error {}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; method: string };
type Listener = (params: Record<string, unknown>, sessionId?: string) => void;

/** One WebSocket to the browser, multiplexing page sessions (CDP's flat mode). */
class Connection {
  #ws: WebSocket;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #listeners = new Map<string, Set<Listener>>();
  #closed: Error | undefined;

  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (ev) => this.#receive(JSON.parse(ev.data as string));
    ws.onclose = () => this.#fail(new CdpError("browser connection closed"));
    ws.onerror = () => this.#fail(new CdpError("browser connection failed"));
  }

  #receive(msg: {
    id?: number;
    method?: string;
    params?: Record<string, unknown>;
    sessionId?: string;
    result?: unknown;
    error?: { message: string; data?: string };
  }) {
    if (msg.id !== undefined) {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) {
        const data = msg.error.data ? ` (${msg.error.data})` : "";
        p.reject(new CdpError(`${p.method}: ${msg.error.message}${data}`));
      } else p.resolve(msg.result);
    } else if (msg.method) {
      for (const l of this.#listeners.get(msg.method) ?? []) l(msg.params ?? {}, msg.sessionId);
    }
  }

  #fail(e: Error) {
    this.#closed ??= e;
    for (const p of this.#pending.values()) p.reject(new CdpError(`${p.method}: ${e.message}`));
    this.#pending.clear();
  }

  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
    timeoutMs = CDP_TIMEOUT_MS,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(new CdpError(`${method}: ${this.#closed.message}`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new CdpError(`${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      const done = <A>(f: (a: A) => void) => (a: A) => {
        clearTimeout(timer);
        f(a);
      };
      this.#pending.set(id, {
        resolve: done(resolve as (v: unknown) => void),
        reject: done(reject),
        method,
      });
      this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  on(method: string, l: Listener): () => void {
    let set = this.#listeners.get(method);
    if (!set) this.#listeners.set(method, set = new Set());
    set.add(l);
    return () => set.delete(l);
  }

  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((r) => this.#ws.addEventListener("close", r, { once: true }));
    this.#ws.close();
    await closed;
  }
}

/** What {@linkcode Page.evaluate} got back when the expression threw or its promise rejected. */
export class PageError extends Error {}

/** Keys {@linkcode Page.press} knows beyond printable characters: CDP key event fields. */
const KEYS: Readonly<Record<string, { code: string; keyCode: number; text?: string }>> = {
  Enter: { code: "Enter", keyCode: 13, text: "\r" },
  Backspace: { code: "Backspace", keyCode: 8 },
  Tab: { code: "Tab", keyCode: 9, text: "\t" },
  Escape: { code: "Escape", keyCode: 27 },
  ArrowUp: { code: "ArrowUp", keyCode: 38 },
  ArrowDown: { code: "ArrowDown", keyCode: 40 },
  ArrowLeft: { code: "ArrowLeft", keyCode: 37 },
  ArrowRight: { code: "ArrowRight", keyCode: 39 },
};

/**
 * The US keyboard's keys for printable ASCII other than letters and digits:
 * unshifted character, shifted character, Windows virtual key code. Pages
 * (xterm.js among them) read the key code: '-' sent with '-'.charCodeAt(0) =
 * 45 would be the Insert key.
 */
const PUNCTUATION: readonly (readonly [string, string, number])[] = [
  [" ", " ", 32],
  [";", ":", 186],
  ["=", "+", 187],
  [",", "<", 188],
  ["-", "_", 189],
  [".", ">", 190],
  ["/", "?", 191],
  ["`", "~", 192],
  ["[", "{", 219],
  ["\\", "|", 220],
  ["]", "}", 221],
  ["'", '"', 222],
];

/** Shift held for each digit key 0..9. */
const SHIFTED_DIGITS = ")!@#$%^&*(";

/** The key code and Shift state typing `ch` takes on a US keyboard, or undefined if it has no key. */
function usKey(ch: string): { keyCode: number; shift: boolean } | undefined {
  if (/^[a-z]$/.test(ch)) return { keyCode: ch.toUpperCase().charCodeAt(0), shift: false };
  if (/^[A-Z]$/.test(ch)) return { keyCode: ch.charCodeAt(0), shift: true };
  if (/^[0-9]$/.test(ch)) return { keyCode: ch.charCodeAt(0), shift: false };
  const digit = SHIFTED_DIGITS.indexOf(ch);
  if (digit >= 0) return { keyCode: 48 + digit, shift: true };
  const p = PUNCTUATION.find(([plain, shifted]) => ch === plain || ch === shifted);
  return p && { keyCode: p[2], shift: ch !== p[0] };
}

/** CDP's Shift bit in Input.dispatchKeyEvent's modifiers. */
const SHIFT = 8;

/** A browser tab attached through a CDP session. */
export class Page {
  /** Console messages and uncaught exceptions of the page (not of its workers), in order. */
  readonly log: string[] = [];
  #conn: Connection;
  #session: string;
  #off: (() => void)[] = [];

  /** @internal Use {@linkcode Browser.newPage}. */
  constructor(conn: Connection, session: string) {
    this.#conn = conn;
    this.#session = session;
    this.#off.push(
      conn.on("Runtime.consoleAPICalled", (p, s) => {
        if (s !== session) return;
        const args = p.args as { value?: unknown; description?: string }[];
        this.log.push(`${p.type}: ${args.map((a) => a.value ?? a.description).join(" ")}`);
      }),
      conn.on("Runtime.exceptionThrown", (p, s) => {
        if (s !== session) return;
        const d = p.exceptionDetails as { text: string; exception?: { description?: string } };
        this.log.push(`exception: ${d.exception?.description ?? d.text}`);
      }),
    );
  }

  /** Sends a raw CDP command to this page's session. */
  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<T> {
    return this.#conn.send<T>(method, params, this.#session);
  }

  /**
   * Calls `listener` with the params of each CDP event `method` of this page
   * (enable its domain first, e.g. `Network.enable`); returns the unsubscribe.
   */
  on(method: string, listener: (params: Record<string, unknown>) => void): () => void {
    const off = this.#conn.on(method, (p, s) => {
      if (s === this.#session) listener(p);
    });
    this.#off.push(off);
    return off;
  }

  /** Navigates to `url` (file:// or http://) and waits for its load event. */
  async goto(url: string): Promise<void> {
    const loaded = new Promise<void>((resolve) => {
      const off = this.#conn.on("Page.loadEventFired", (_p, s) => {
        if (s !== this.#session) return;
        off();
        resolve();
      });
    });
    const nav = await this.send<{ errorText?: string }>("Page.navigate", { url });
    if (nav.errorText) throw new CdpError(`cannot open ${url}: ${nav.errorText}`);
    await loaded;
  }

  /**
   * The value of a JavaScript expression in the page, after awaiting it if it
   * is a promise; values come back as JSON. Throws {@linkcode PageError} with
   * the page's message when the expression throws or the promise rejects.
   */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = await this.send<{
      result: { value?: T; type: string };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    }>("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new PageError(`${expression}: ${d.exception?.description ?? d.text}`);
    }
    return r.result.value as T;
  }

  /**
   * Polls `expression` until it is truthy and returns its value; after
   * `timeoutMs` throws naming the expression, with the page's log.
   */
  async waitFor<T = unknown>(
    expression: string,
    { timeoutMs = CDP_TIMEOUT_MS, intervalMs = 100 } = {},
  ): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await this.evaluate<T>(expression);
      if (v) return v;
      if (Date.now() > end) {
        const log = this.log.length ? `\npage log:\n  ${this.log.join("\n  ")}` : "";
        throw new CdpError(`waited ${timeoutMs} ms for ${expression}${log}`);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /**
   * Presses and releases one key: a named key of KEYS ("Enter", "Backspace",
   * ...) or a character, with Shift where a US keyboard needs it. A character
   * no key types (non-ASCII) is inserted as text input instead.
   */
  async press(key: string): Promise<void> {
    const named = KEYS[key];
    if (named) {
      const ev = { key, code: named.code, windowsVirtualKeyCode: named.keyCode };
      await this.send("Input.dispatchKeyEvent", {
        type: named.text ? "keyDown" : "rawKeyDown",
        ...ev,
        text: named.text,
      });
      await this.send("Input.dispatchKeyEvent", { type: "keyUp", ...ev });
      return;
    }
    const us = usKey(key);
    if (!us) {
      await this.send("Input.insertText", { text: key });
      return;
    }
    const ev = { key, windowsVirtualKeyCode: us.keyCode, modifiers: us.shift ? SHIFT : 0 };
    await this.send("Input.dispatchKeyEvent", { type: "keyDown", ...ev, text: key });
    await this.send("Input.dispatchKeyEvent", { type: "keyUp", ...ev });
  }

  /** Types `text` into the focused element key by key; "\n" presses Enter. */
  async type(text: string): Promise<void> {
    for (const ch of text) await this.press(ch === "\n" ? "Enter" : ch);
  }

  /** Sets the files of the `<input type=file>` matching `selector` (host paths), firing its change event. */
  async setFiles(selector: string, paths: string[]): Promise<void> {
    const { root } = await this.send<{ root: { nodeId: number } }>("DOM.getDocument", {});
    const { nodeId } = await this.send<{ nodeId: number }>("DOM.querySelector", {
      nodeId: root.nodeId,
      selector,
    });
    if (!nodeId) throw new CdpError(`no element matches ${selector}`);
    await this.send("DOM.setFileInputFiles", { nodeId, files: paths });
  }

  /** Writes a PNG screenshot of the viewport to `path`, creating its folder. */
  async screenshot(path: string): Promise<void> {
    const { data } = await this.send<{ data: string }>("Page.captureScreenshot", {
      format: "png",
    });
    const dir = path.replace(/\/[^/]*$/, "");
    if (dir !== path) await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(path, Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
  }

  /** @internal Stops listening for this page's events. */
  detach(): void {
    for (const off of this.#off) off();
  }
}

/** A running headless browser; {@linkcode close} (or `await using`) ends it. */
export class Browser implements AsyncDisposable {
  #proc: Deno.ChildProcess;
  #conn: Connection;
  #profile: string;
  #pages: Page[] = [];
  #width: number;
  #height: number;
  #onUnload: () => void;
  #drained: Promise<void>;
  #closed = false;

  /** @internal Use {@linkcode launchBrowser}. */
  constructor(
    proc: Deno.ChildProcess,
    conn: Connection,
    profile: string,
    width: number,
    height: number,
    drained: Promise<void>,
  ) {
    this.#proc = proc;
    this.#drained = drained;
    this.#conn = conn;
    this.#profile = profile;
    this.#width = width;
    this.#height = height;
    // If the test process ends without close(), the browser must not outlive it.
    this.#onUnload = () => killGroup(proc.pid, "SIGKILL");
    globalThis.addEventListener("unload", this.#onUnload);
  }

  /** The browser's process id (its process group's too). */
  get pid(): number {
    return this.#proc.pid;
  }

  /** Opens a new tab, attaches to it and navigates to `url` if given. */
  async newPage(url?: string): Promise<Page> {
    const { targetId } = await this.#conn.send<{ targetId: string }>("Target.createTarget", {
      url: "about:blank",
      width: this.#width,
      height: this.#height,
    });
    const { sessionId } = await this.#conn.send<{ sessionId: string }>("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    const page = new Page(this.#conn, sessionId);
    this.#pages.push(page);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Emulation.setDeviceMetricsOverride", {
      width: this.#width,
      height: this.#height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    if (url) await page.goto(url);
    return page;
  }

  /** Ends the browser and all its processes and removes its profile. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    globalThis.removeEventListener("unload", this.#onUnload);
    for (const p of this.#pages) p.detach();
    try {
      await this.#conn.send("Browser.close", {}, undefined, 5_000);
    } catch { /* already gone or stuck: the kill below ends it */ }
    await this.#conn.close();
    // Renderers and the GPU process are in the browser's group: wait for the
    // whole group to end, and end what is left after a grace period.
    if (!await groupEnded(this.#proc.pid, 5_000)) {
      killGroup(this.#proc.pid, "SIGKILL");
      await groupEnded(this.#proc.pid, 10_000);
    }
    await this.#proc.status;
    await this.#drained;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  /** `await using` support: closes the browser. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Polls until no process of group `pid` is left (true) or `ms` pass (false). */
async function groupEnded(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      Deno.kill(-pid, "SIGCONT"); // a no-op signal that fails once the group is empty
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

function killGroup(pid: number, signal: Deno.Signal) {
  try {
    Deno.kill(-pid, signal);
  } catch { /* the group has ended */ }
}

/**
 * Starts a headless browser with a fresh temporary profile, listening for CDP
 * on a port the OS picks (read back from the profile's DevToolsActivePort),
 * and connects to it.
 */
export async function launchBrowser(opts: LaunchOptions = {}): Promise<Browser> {
  const { executable = CHROMIUM, width = 1024, height = 768, timeoutMs = 30_000 } = opts;
  const profile = await Deno.makeTempDir({ prefix: "rvisor-chromium-" });
  let proc: Deno.ChildProcess;
  try {
    proc = new Deno.Command(executable, {
      args: [
        "--headless",
        // The tests load only rvisor's own pages; the sandbox needs user
        // namespaces or a non-root user, which CI containers often lack.
        "--no-sandbox",
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-gpu",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--mute-audio",
        `--window-size=${width},${height}`,
        ...(opts.args ?? []),
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      // Its own process group, so close() can end the renderers with it.
      detached: true,
    }).spawn();
  } catch (e) {
    await Deno.remove(profile, { recursive: true });
    throw new Error(`cannot start ${executable}: ${(e as Error).message}`);
  }
  // Keep the last lines of stderr for the error message; reading also keeps the pipe from filling.
  let stderr = "";
  const drained = proc.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (s) => void (stderr = (stderr + s).slice(-4000)) }),
  ).catch(() => {});
  const fail = async (why: string): Promise<never> => {
    killGroup(proc.pid, "SIGKILL");
    await proc.status;
    await drained;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    const tail = stderr.trim().split("\n").slice(-5).join("\n  ");
    throw new Error(`${executable}: ${why}${tail ? `\n  ${tail}` : ""}`);
  };
  let exited = false;
  proc.status.then(() => exited = true);
  const end = Date.now() + timeoutMs;
  let endpoint: string | undefined;
  while (!endpoint) {
    try {
      const [port, path] = (await Deno.readTextFile(`${profile}/DevToolsActivePort`)).split("\n");
      if (port && path) endpoint = `ws://127.0.0.1:${port}${path}`;
    } catch { /* not written yet */ }
    if (endpoint) break;
    if (exited) return fail("exited before listening for DevTools");
    if (Date.now() > end) return fail(`not listening for DevTools after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const ws = new WebSocket(endpoint);
  const opened = await new Promise<boolean>((resolve) => {
    ws.onopen = () => resolve(true);
    ws.onerror = () => resolve(false);
  });
  if (!opened) return fail(`cannot connect to ${endpoint}`);
  return new Browser(proc, new Connection(ws), profile, width, height, drained);
}
