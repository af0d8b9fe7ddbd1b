/**
 * The `virt` board: one hart, RAM, and QEMU `virt`'s devices at QEMU's
 * addresses, with images placed the way QEMU places them, and the run loop
 * that interleaves the hart with time and devices.
 *
 * Boot conventions (as QEMU 7.2):
 * - kernel without bios (`-bios none -kernel`): the ELF's segments are loaded
 *   and the reset vector jumps to its entry in M-mode.
 * - bios (+ kernel): the firmware starts in M-mode; the kernel is placed at
 *   0x8020_0000 (fw_jump's next stage), a0 = hart id, a1 = DTB; the boot ROM
 *   also carries fw_dynamic_info for fw_dynamic firmware.
 *
 * @module
 */

import { Bus, RAM_BASE } from "../core/bus.ts";
import { Clock, type ClockMode, TIMEBASE_HZ } from "../core/clock.ts";
import { type ElfImage, loadElf, parseElf } from "../core/elf.ts";
import { EventBus, type HaltReason } from "../core/events.ts";
import { Hart, StopReason } from "../core/hart.ts";
import type { BlockBackend } from "./block.ts";
import {
  BOOT_ROM_BASE,
  BOOT_ROM_SIZE,
  BootRom,
  fdtLoadAddress,
  initrdLoadAddress,
  KERNEL_LOAD_ADDRESS,
} from "./bootrom.ts";
import { Clint } from "./clint.ts";
import { buildVirtDtb, VIRT_IRQ, VIRT_MEMMAP, VIRTIO_SLOTS } from "./dtb.ts";
import { Plic } from "./plic.ts";
import { GoldfishRtc } from "./rtc.ts";
import { Syscon } from "./syscon.ts";
import { Uart16550 } from "./uart.ts";
import { EmptyVirtioSlot, VirtioMmioTransport } from "./virtio-mmio.ts";
import { VirtioBlockDevice } from "./virtio-blk.ts";

/** An image to load: its bytes and a name used in error messages. */
export interface ImageFile {
  /** File name (or any label) for messages. */
  name: string;
  /** The file's bytes: an ELF64 RISC-V image or a raw binary. */
  bytes: Uint8Array;
}

/** Configuration of a `virt` machine. */
export interface VirtConfig {
  /** RAM size in bytes (default 128 MiB). */
  memory?: number;
  /** M-mode firmware (OpenSBI's fw_jump.elf, U-Boot's M-mode build, ...). */
  bios?: ImageFile;
  /** Kernel: started directly in M-mode without bios, or placed for the firmware. */
  kernel?: ImageFile;
  /** Initial ramdisk. */
  initrd?: ImageFile;
  /** Kernel command line (/chosen/bootargs). */
  append?: string;
  /** Backing store of the virtio block device in the first slot used by QEMU's first -drive. */
  disk?: BlockBackend;
  /** How mtime advances (default `host`). */
  clock?: ClockMode;
  /** Receives every byte the guest writes to the UART. */
  console?: (byte: number) => void;
}

/** Thrown for configurations and images that cannot boot; the message names the input. */
export class MachineConfigError extends Error {
  override name = "MachineConfigError";
}

/** How a run ended. */
export interface RunResult {
  /** `halt` (guest poweroff/fail/reset/tohost), `until` (console text seen), `limit`, `timeout`. */
  stop: "halt" | "until" | "limit" | "timeout";
  /** For halts: why. */
  reason?: HaltReason;
  /** Suggested process exit code: 0 for poweroff / tohost pass. */
  exitCode: number;
  /** Instructions retired in this run. */
  instructions: number;
  /** Wall-clock milliseconds of this run. */
  wallMs: number;
}

/** Options of {@linkcode VirtMachine.run}. */
export interface RunOptions {
  /** Stop after this many instructions. */
  maxInstructions?: number;
  /** Stop after this much wall-clock time (ms). */
  timeoutMs?: number;
  /** Stop as soon as the console output contains this text. */
  until?: string;
}

/** The hart runs this many instructions between device updates. */
const BATCH = 4096;
/** Yield to the JS event loop this often (ms) so that input and timers get through. */
const YIELD_MS = 50;
/** The kernel-ready offset for raw kernels started without firmware. */
const MiB = 1024 * 1024;

/** Exit code for a run that ended with the guest reporting failure code 0. */
const FAIL_WITHOUT_CODE = 1;

/** The `virt` machine. */
export class VirtMachine {
  /** Typed event bus of this machine. */
  readonly events = new EventBus();
  /** Physical bus with RAM and devices. */
  readonly bus: Bus;
  /** The hart. */
  readonly hart: Hart;
  /** Machine time. */
  readonly clock: Clock;
  /** Core-local interruptor. */
  readonly clint: Clint;
  /** Platform-level interrupt controller. */
  readonly plic: Plic;
  /** UART0. */
  readonly uart: Uart16550;
  /** Goldfish RTC. */
  readonly rtc: GoldfishRtc;
  /** Boot ROM (reset vector). */
  readonly rom: BootRom;
  /** The DTB given to the firmware or kernel, and where it is. */
  readonly dtb: { address: number; bytes: Uint8Array };
  /** Parsed ELF images by role, for symbols (tohost, stack traces). */
  readonly images: { bios?: ElfImage; kernel?: ElfImage } = {};
  /** The halt that ended the run, if any. */
  halted: { reason: HaltReason; code: number } | null = null;
  /** Console output so far (for `until` matching; capped). */
  #consoleTail = "";
  #tohost = -1;
  readonly #consoleOut: ((byte: number) => void) | undefined;

  constructor(readonly config: VirtConfig = {}) {
    const memory = config.memory ?? 128 * MiB;
    if (!Number.isInteger(memory) || memory < MiB || memory % 4096 !== 0) {
      throw new MachineConfigError(
        `memory size ${memory} must be a whole number of MiB, at least 1`,
      );
    }
    this.bus = new Bus(memory, this.events);
    this.hart = new Hart(this.bus, this.events);
    this.clock = new Clock(config.clock ?? "host", () => this.hart.retired);
    this.hart.clock = this.clock;
    this.#consoleOut = config.console;

    this.clint = new Clint(this.hart, this.clock);
    this.plic = new Plic(this.hart, this.events);
    this.uart = new Uart16550(
      this.plic.line(VIRT_IRQ.UART0),
      (b) => this.#onConsole(b),
      this.events,
    );
    const epochNs = Date.now() * 1e6;
    this.rtc = new GoldfishRtc(
      this.plic.line(VIRT_IRQ.RTC),
      () => epochNs + this.clock.now() * (1e9 / TIMEBASE_HZ),
    );
    const syscon = new Syscon((reason, code) => this.halt(reason, code));

    const m = VIRT_MEMMAP;
    this.bus.map(m.test.base, m.test.size, syscon);
    this.bus.map(m.rtc.base, m.rtc.size, this.rtc);
    this.bus.map(m.clint.base, m.clint.size, this.clint);
    this.bus.map(m.plic.base, m.plic.size, this.plic);
    this.bus.map(m.uart0.base, m.uart0.size, this.uart);
    for (let i = 0; i < VIRTIO_SLOTS; i++) {
      const base = m.virtio.base + i * m.virtio.size;
      // QEMU plugs the first -drive into the highest slot (devices are created in reverse).
      const dev = config.disk && i === VIRTIO_SLOTS - 1
        ? new VirtioMmioTransport(
          this.bus,
          this.plic.line(VIRT_IRQ.VIRTIO0 + i),
          new VirtioBlockDevice(config.disk),
          `virtio${i}`,
        )
        : new EmptyVirtioSlot(`virtio${i}`);
      this.bus.map(base, m.virtio.size, dev);
    }

    const { start, kernelEntry, initrd } = this.#loadImages(memory);
    const dtbBytes = buildVirtDtb({ ramSize: memory, bootargs: config.append, initrd });
    const dtbAddr = fdtLoadAddress(RAM_BASE, memory);
    this.bus.loadBytes(dtbAddr, dtbBytes);
    this.dtb = { address: dtbAddr, bytes: dtbBytes };
    this.rom = new BootRom(start, dtbAddr, kernelEntry);
    this.bus.map(BOOT_ROM_BASE, BOOT_ROM_SIZE, this.rom);
    this.hart.reset(BOOT_ROM_BASE);
  }

  /** Places bios/kernel/initrd in RAM; returns the reset vector's target and the kernel entry. */
  #loadImages(memory: number): {
    start: number;
    kernelEntry: number;
    initrd?: { start: number; end: number };
  } {
    const { bios, kernel, initrd } = this.config;
    let start = RAM_BASE;
    let kernelEntry = KERNEL_LOAD_ADDRESS;
    if (bios) start = this.#place(bios, RAM_BASE, "bios");
    if (kernel) {
      kernelEntry = this.#place(kernel, bios ? KERNEL_LOAD_ADDRESS : RAM_BASE, "kernel");
      if (!bios) start = kernelEntry;
    }
    let initrdRange: { start: number; end: number } | undefined;
    if (initrd) {
      const at = initrdLoadAddress(kernelEntry, memory);
      if (this.bus.ramOffset(at, initrd.bytes.length) < 0) {
        throw new MachineConfigError(
          `${initrd.name}: initrd of ${initrd.bytes.length} bytes does not fit in RAM at 0x${
            at.toString(16)
          }`,
        );
      }
      this.bus.loadBytes(at, initrd.bytes);
      initrdRange = { start: at, end: at + initrd.bytes.length };
    }
    return { start, kernelEntry, initrd: initrdRange };
  }

  /** Loads one image (ELF by its headers, raw binary at `rawAddress`); returns its entry. */
  #place(file: ImageFile, rawAddress: number, role: "bios" | "kernel"): number {
    const b = file.bytes;
    const isElf = b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
    try {
      if (isElf) {
        const image = parseElf(b);
        loadElf(image, this.bus);
        this.images[role] = image;
        const tohost = image.symbols.get("tohost");
        if (tohost !== undefined) this.#tohost = tohost;
        // A kernel started by firmware runs from where it was loaded (QEMU passes the
        // lowest physical load address: a vmlinux's entry is a virtual address).
        return role === "kernel" && this.config.bios ? image.loadBase : image.entry;
      }
      if (b.length === 0) throw new MachineConfigError("the file is empty");
      if (this.bus.ramOffset(rawAddress, b.length) < 0) {
        throw new MachineConfigError(
          `raw image of ${b.length} bytes does not fit in RAM at 0x${rawAddress.toString(16)} ` +
            `(RAM is 0x${this.bus.ramBase.toString(16)}..0x${
              (this.bus.ramBase + this.bus.ramSize).toString(16)
            })`,
        );
      }
      this.bus.loadBytes(rawAddress, b);
      return rawAddress;
    } catch (e) {
      throw new MachineConfigError(`${file.name}: ${(e as Error).message}`);
    }
  }

  #onConsole(byte: number): void {
    this.#consoleOut?.(byte);
    this.#consoleTail += String.fromCharCode(byte);
    if (this.#consoleTail.length > 8192) this.#consoleTail = this.#consoleTail.slice(-4096);
  }

  /** Console output seen so far (the last few KiB, as Latin-1 text). */
  get consoleText(): string {
    return this.#consoleTail;
  }

  /** Feeds bytes to the UART as if typed on its line. */
  input(bytes: Uint8Array | string): void {
    this.uart.pushInput(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  }

  /** Stops the machine for good (syscon, tohost, a hook, an error). */
  halt(reason: HaltReason, code: number): void {
    if (this.halted) return;
    this.halted = { reason, code };
    this.hart.requestStop();
    if (this.events.wants("halt")) {
      this.events.emit("halt", {
        reason,
        code: this.exitCode,
        message: reason === "fail" ? `guest reported failure ${code}` : `guest ${reason}`,
      });
    }
  }

  /** Process exit code that reflects the halt: 0 for poweroff and HTIF pass. */
  get exitCode(): number {
    const h = this.halted;
    if (!h) return 0;
    if (h.reason === "fail" || h.reason === "htif") {
      return h.code || (h.reason === "fail" ? FAIL_WITHOUT_CODE : 0);
    }
    return h.reason === "error" ? (h.code || 1) : 0;
  }

  /** HTIF: a write of value v with bit 0 set to `tohost` ends the run with exit code v >> 1. */
  #checkTohost(): void {
    const off = this.bus.ramOffset(this.#tohost, 8);
    if (off < 0) return;
    const lo = this.bus.ram32[off >> 2];
    if (lo === 0) return;
    if (lo & 1) this.halt("htif", lo >>> 1);
  }

  /** Runs until a halt, the console shows `until`, or a limit. */
  async run(options: RunOptions = {}): Promise<RunResult> {
    const hart = this.hart;
    const startRetired = hart.retired;
    const t0 = performance.now();
    const limit = options.maxInstructions ?? Infinity;
    const deadline = options.timeoutMs === undefined ? Infinity : t0 + options.timeoutMs;
    let lastYield = t0;
    const result = (stop: RunResult["stop"]): RunResult => ({
      stop,
      reason: this.halted?.reason,
      exitCode: this.exitCode,
      instructions: hart.retired - startRetired,
      wallMs: performance.now() - t0,
    });
    while (true) {
      if (this.halted) return result("halt");
      const done = hart.retired - startRetired;
      if (done >= limit) return result("limit");
      const stop = hart.run(Math.min(BATCH, limit - done));
      this.clint.update();
      this.rtc.update();
      if (this.#tohost >= 0) this.#checkTohost();
      if (this.halted) return result("halt");
      if (options.until !== undefined && this.#consoleTail.includes(options.until)) {
        return result("until");
      }
      const now = performance.now();
      if (now >= deadline) return result("timeout");
      if (stop === StopReason.WFI && !hart.interruptPending) {
        // Idle: jump virtual time to the next timer deadline, or wait for real time/input.
        const next = this.clint.nextDeadline();
        if (Number.isFinite(next) && this.clock.skipTo(next)) {
          this.clint.update();
        } else {
          await sleep(Math.min(1, Math.max(0, deadline - now)));
          this.clint.update();
          lastYield = performance.now();
        }
        if (hart.interruptPending) hart.waiting = false;
        continue;
      }
      if (now - lastYield >= YIELD_MS) {
        await sleep(0);
        lastYield = performance.now();
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
