/**
 * The guest's view for the GDB stub: what a debugger attached to the guest
 * would see on its own machine. Its x registers and pc are the host hart's
 * (the guest runs on it in host U-mode); its CSRs and privilege are the
 * vCPU's virtual ones; its memory is guest-physical, reached through the
 * guest's own page tables.
 *
 * Breakpoints and watchpoints go on the host hart at guest virtual addresses,
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

/** A {@linkcode DebugTarget} that shows the guest of a hypervisor machine. */
export class GuestTarget implements DebugTarget {
  /** The host hart the guest's instructions run on. */
  readonly hart: Hart;
  /** The guest's one vCPU's hart. */
  readonly harts: readonly Hart[];
  /** The vCPU's CSRs. */
  readonly csrNumbers: readonly number[];
  /** For `monitor info`. */
  readonly description = "rvisor guest under the hypervisor (virtual M/S/U, guest addresses)";

  /** Shows the guest of `hypervisor`, which runs on `machine`. */
  constructor(readonly machine: VirtMachine, readonly hypervisor: Hypervisor) {
    this.hart = machine.hart;
    this.harts = [machine.hart];
    this.csrNumbers = existingCsrs(hypervisor.guest.vcpu.csr);
  }

  /** One vCPU: there is nothing else to select. */
  selectHart(_index: number): void {}

  /** A virtual CSR of the guest. */
  readCsr(num: number): bigint | null {
    return readCsrFile(this.hypervisor.guest.vcpu.csr, num);
  }

  /** Writes a virtual CSR; translation may have changed, so the shadow tables are dropped. */
  writeCsr(num: number, value: bigint): boolean {
    const ok = writeCsrFile(this.hypervisor.guest.vcpu.csr, num, value);
    this.hypervisor.memory.flush();
    this.hypervisor.guestCsrsChanged();
    return ok;
  }

  /** The guest's virtual privilege. */
  priv(): number {
    return this.hypervisor.guest.vcpu.priv;
  }

  /** Guest virtual to guest physical, through the guest's satp. */
  translate(va: number): number | null {
    const vcpu = this.hypervisor.guest.vcpu;
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
   * One guest instruction: host steps until the guest retired or emulated one,
   * or took a trap (pc or virtual privilege changed), since a host step may
   * be an exit that only filled a shadow page.
   */
  step(): number {
    const hart = this.hart, vcpu = this.hypervisor.guest.vcpu;
    if (!wakeForStep(this.machine)) return StopReason.WFI;
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
