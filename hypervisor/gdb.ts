/**
 * The guest's view for the GDB stub: what a debugger attached to the guest
 * would see on its own machine. Each vCPU is a thread; its x registers and pc
 * are its host hart's (it runs there in host U-mode); its CSRs and privilege
 * are its virtual ones; memory is guest-physical, reached through the
 * selected vCPU's own page tables.
 *
 * Breakpoints and watchpoints go on every vCPU's host hart at guest virtual addresses,
 * which shadow paging keeps equal to host virtual addresses. Accesses the
 * hypervisor emulates (MMIO, MPRV in virtual M-mode) trigger watchpoints too:
 * its emulator reports them to the hart (Hart.watchAccess).
 *
 * @module
 */

import type { Hart } from "../core/hart.ts";
import { StopReason } from "../core/hart.ts";
import {
  type DebugTarget,
  debugTranslate,
  existingCsrs,
  readBus,
  readCsrFile,
  wakeForStep,
  writeBus,
  writeCsrFile,
} from "../devices/gdb/target.ts";
import type { VirtMachine } from "../devices/virt.ts";
import type { Hypervisor } from "./hypervisor.ts";

/** Host hart steps one guest step may take (shadow fills and other exits make no guest progress). */
const STEP_ATTEMPTS = 1000;

/**
 * A {@linkcode DebugTarget} that shows the guest of a hypervisor machine: its
 * vCPUs are the threads (vCPU i on host hart i), and registers, CSRs,
 * privilege, virtual memory and steps are the selected vCPU's.
 */
export class GuestTarget implements DebugTarget {
  /** The host harts the guest's vCPUs run on, by vCPU index. */
  readonly harts: readonly Hart[];
  /** The vCPUs' CSRs (every vCPU has the same ones). */
  readonly csrNumbers: readonly number[];
  /** For `monitor info`. */
  readonly description = "rvisor guest under the hypervisor (virtual M/S/U, guest addresses)";
  #selected = 0;

  /** Shows the guest of `hypervisor` (any of its vCPUs' hypervisors), which runs on `machine`. */
  constructor(readonly machine: VirtMachine, readonly hypervisor: Hypervisor) {
    this.harts = hypervisor.vcpus.map((v) => v.hart);
    this.csrNumbers = existingCsrs(hypervisor.guest.vcpu.csr);
  }

  /** The host hart of the selected vCPU (vCPU 0 until gdb selects another thread). */
  get hart(): Hart {
    return this.harts[this.#selected];
  }

  /** The selected vCPU's hypervisor. */
  get #vcpu(): Hypervisor {
    return this.hypervisor.vcpus[this.#selected];
  }

  /** Selects the vCPU registers, CSRs, translation and steps go to. */
  selectHart(index: number): void {
    this.#selected = index;
  }

  /** A virtual CSR of the selected vCPU. */
  readCsr(num: number): bigint | null {
    return readCsrFile(this.#vcpu.guest.vcpu.csr, num);
  }

  /** Writes a virtual CSR; translation may have changed, so the vCPU's shadow tables are dropped. */
  writeCsr(num: number, value: bigint): boolean {
    const v = this.#vcpu;
    const ok = writeCsrFile(v.guest.vcpu.csr, num, value);
    v.memory.flush();
    v.guestCsrsChanged();
    return ok;
  }

  /** The selected vCPU's virtual privilege. */
  priv(): number {
    return this.#vcpu.guest.vcpu.priv;
  }

  /** Guest virtual to guest physical, through the selected vCPU's satp. */
  translate(va: number): number | null {
    const vcpu = this.#vcpu.guest.vcpu;
    return debugTranslate(vcpu.mmu, vcpu.priv, va);
  }

  /** Guest-physical memory (guest RAM and its boot ROM). */
  readPhysical(pa: number, length: number): Uint8Array | null {
    return readBus(this.hypervisor.guest.bus, pa, length);
  }

  /** Guest RAM. */
  writePhysical(pa: number, bytes: Uint8Array): boolean {
    return writeBus(this.hypervisor.guest.bus, pa, bytes);
  }

  /**
   * One guest instruction of the selected vCPU (the others wait): host steps
   * until it retired or emulated one, or took a trap (pc or virtual privilege
   * changed), since a host step may be an exit that only filled a shadow page.
   */
  step(): number {
    const hart = this.hart, vcpu = this.#vcpu.guest.vcpu;
    if (!wakeForStep(this.machine, hart)) return StopReason.WFI;
    const progress = () => hart.retired + vcpu.emulated;
    const before = progress(), pc = hart.pc, priv = vcpu.priv;
    let reason: number = StopReason.BUDGET;
    for (let i = 0; i < STEP_ATTEMPTS; i++) {
      reason = hart.run(1);
      if (reason === StopReason.BREAKPOINT || this.machine.halted) break;
      if (progress() !== before || hart.pc !== pc || vcpu.priv !== priv) break;
    }
    this.machine.devices.update();
    this.hypervisor.poll();
    return reason;
  }
}
