/**
 * The Web Worker of rvisor's web page: runs one machine (core/, devices/,
 * hypervisor/, through mod.ts) and speaks web/protocol.ts with the page. The
 * run loop yields to the worker's event loop every few tens of milliseconds,
 * which is when console input from the page arrives.
 *
 * This module's graph must stay free of `Deno.*`: `deno task check` checks it
 * against the browser's worker library only (web/worker.jsonc), and
 * scripts/build-web.ts refuses a bundle that names Deno.
 *
 * @module
 */

import { createMachine, type Machine, type MachineConfig } from "../mod.ts";
import type { BootRequest, FromWorker, ToWorker } from "./protocol.ts";

const MiB = 1024 * 1024;

/** The worker global scope's messaging, typed for this protocol under any lib. */
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: ArrayBuffer[]): void;
};

let machine: Machine | undefined;

scope.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === "input") machine?.send(msg.data);
  else if (msg.type === "boot" && !machine) void boot(msg.request);
};

/** The createMachine config for a request: a picked kernel, or tinyos. */
function configOf(r: BootRequest): MachineConfig {
  const config: MachineConfig = { memory: r.memoryMiB * MiB, jit: r.jit };
  if (!r.kernel) return config;
  return {
    ...config,
    kernel: r.kernel,
    initrd: r.initrd,
    bios: r.bios,
    append: r.append,
    // Without a firmware file the hypervisor is the SBI firmware (boot.ts --firmware builtin).
    firmware: r.bios ? "guest" : "builtin",
  };
}

async function boot(r: BootRequest): Promise<void> {
  try {
    machine = createMachine(configOf(r));
  } catch (e) {
    scope.postMessage({ type: "error", message: (e as Error).message });
    return;
  }
  const what =
    (r.kernel
      ? [r.bios, r.kernel, r.initrd].filter((f) => f).map((f) => f!.name).join(" + ")
      : "tinyos") + (r.jit === "wasm" ? " with wasm blocks" : "");
  scope.postMessage({ type: "running", what });
  const output = (async () => {
    for await (const bytes of machine.stdout) {
      scope.postMessage({ type: "output", bytes }, [bytes.buffer as ArrayBuffer]);
    }
  })();
  try {
    const result = await machine.run();
    await output;
    scope.postMessage({
      type: "halted",
      message: result.message ?? result.stop,
      exitCode: result.exitCode,
    });
  } catch (e) {
    scope.postMessage({ type: "error", message: `rvisor: ${(e as Error).message}` });
  }
}
