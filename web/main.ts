/// <reference lib="dom" />
/**
 * rvisor's web page: a terminal (xterm.js) on the guest's UART, and the
 * controls that boot tinyos or a kernel + initramfs picked with file inputs.
 * The machine runs in a Web Worker (web/worker.ts) made from the source that
 * worker.js, loaded before this script, leaves in `rvisorWorkerSource`: a
 * worker from a blob URL starts from file:// pages too, where a worker script
 * file is refused.
 *
 * `globalThis.rvisor` ({@linkcode PageState}) tells scripts and tests what runs.
 *
 * Its types include the DOM (the reference above); `deno task check` checks
 * web/ as a program of its own, so the DOM's globals stay out of the Deno code.
 *
 * @module
 */

import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import type { BootRequest, FromWorker, PickedFile, ToWorker } from "./protocol.ts";

declare const rvisorWorkerSource: string;

/** What the page shows, for scripts and tests (`globalThis.rvisor`). */
export interface PageState {
  /** `booting` until the worker's machine runs, then `running`, `halted` or `error`. */
  state: "booting" | "running" | "halted" | "error";
  /** The status line: what runs, or why it stopped. */
  message: string;
  /** Console output of the current boot, decoded as UTF-8. */
  output: string;
  /** The terminal's lines, scrollback included, as text. */
  screen(): string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusLine = $<HTMLElement>("status");
const kernelInput = $<HTMLInputElement>("kernel");
const initrdInput = $<HTMLInputElement>("initrd");
const biosInput = $<HTMLInputElement>("bios");
const bootLinux = $<HTMLButtonElement>("boot-linux");

const term = new Terminal({ convertEol: true, cols: 100, rows: 30, scrollback: 10_000 });
term.open($("terminal"));

const workerUrl = URL.createObjectURL(
  new Blob([rvisorWorkerSource], { type: "text/javascript" }),
);
let worker: Worker | undefined;
let decoder = new TextDecoder();

const page: PageState = {
  state: "booting",
  message: "",
  output: "",
  screen() {
    const b = term.buffer.active, lines: string[] = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? "");
    return lines.join("\n");
  },
};
(globalThis as { rvisor?: PageState }).rvisor = page;

function show(state: PageState["state"], message: string) {
  page.state = state;
  page.message = message;
  statusLine.textContent = message;
  statusLine.className = state;
}

function send(msg: ToWorker) {
  worker?.postMessage(msg);
}

term.onData((data) => send({ type: "input", data }));

/** Ends the running machine, if any, and boots `request` in a new worker. */
function boot(request: BootRequest) {
  worker?.terminate();
  term.reset();
  page.output = "";
  decoder = new TextDecoder();
  show("booting", "booting...");
  worker = new Worker(workerUrl);
  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    const msg = e.data;
    switch (msg.type) {
      case "running":
        return show("running", `running ${msg.what}`);
      case "output":
        page.output += decoder.decode(msg.bytes, { stream: true });
        return term.write(msg.bytes);
      case "halted":
        return show("halted", `${msg.message} (exit code ${msg.exitCode})`);
      case "error":
        return show("error", msg.message);
    }
  };
  worker.onerror = (e) => show("error", `worker: ${e.message}`);
  send({ type: "boot", request });
  term.focus();
}

async function picked(input: HTMLInputElement): Promise<PickedFile | undefined> {
  const file = input.files?.[0];
  return file && { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
}

const memoryMiB = () => Number($<HTMLSelectElement>("memory").value);
const jit = (): boolean | "js" | "wasm" => {
  const v = $<HTMLSelectElement>("jit").value;
  return v === "wasm" || v === "js" ? v : v === "on";
};

$("boot-tinyos").onclick = () => boot({ memoryMiB: memoryMiB(), jit: jit() });
kernelInput.onchange = () => bootLinux.disabled = !kernelInput.files?.length;
bootLinux.onclick = async () => {
  boot({
    kernel: await picked(kernelInput),
    initrd: await picked(initrdInput),
    bios: await picked(biosInput),
    append: $<HTMLInputElement>("append").value,
    memoryMiB: memoryMiB(),
    jit: jit(),
  });
};

boot({ memoryMiB: memoryMiB(), jit: jit() });
