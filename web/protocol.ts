/**
 * The messages between rvisor's web page (web/main.ts) and the Web Worker
 * that runs the machine (web/worker.ts). A worker runs one boot: the page
 * sends `boot` once, then console input; it starts a new worker to boot again.
 *
 * @module
 */

/** A file the user picked, as the worker gets it. */
export interface PickedFile {
  /** The file's name, shown in messages. */
  name: string;
  /** Its contents. */
  bytes: Uint8Array;
}

/** What to boot: with no kernel, tinyos (the embedded default guest). */
export interface BootRequest {
  /** A kernel (Linux Image, ELF); with no `bios` the hypervisor answers SBI calls itself. */
  kernel?: PickedFile;
  /** An initramfs for the kernel. */
  initrd?: PickedFile;
  /** M-mode firmware run in the guest's virtual M-mode (OpenSBI's fw_jump.elf). */
  bios?: PickedFile;
  /** Kernel command line. */
  append?: string;
  /** Guest RAM in MiB. */
  memoryMiB: number;
  /** Compile hot guest code (the block translator): true picks wasm where it can, `"js"`/`"wasm"` force one. */
  jit: boolean | "js" | "wasm";
}

/** A message from the page to the worker. */
export type ToWorker =
  | { type: "boot"; request: BootRequest }
  | { type: "input"; data: string };

/** A message from the worker to the page. */
export type FromWorker =
  /** The machine was made and runs; `what` names the guest. */
  | { type: "running"; what: string }
  /** Console output bytes. */
  | { type: "output"; bytes: Uint8Array }
  /** The guest halted (poweroff, failure, reset, a hypervisor panic's message). */
  | { type: "halted"; message: string; exitCode: number }
  /** The machine could not be made or its run threw: one line. */
  | { type: "error"; message: string };
