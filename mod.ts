/**
 * rvisor's public API: everything a script may import.
 *
 * Scripts start from {@linkcode createMachine}:
 *
 * ```ts
 * import { createMachine } from "./mod.ts";
 *
 * const m = createMachine({ kernel: { name: "tinyos.elf", bytes: Deno.readFileSync("tinyos.elf") } });
 * m.hook("exit", (e) => console.log(e.kind, e.pc.toString(16)), { kind: "ecall" });
 * await m.run({ until: "$ " });
 * console.log(m.getReg("sp"), m.readCsr("satp"), m.host.exitCounts);
 * ```
 *
 * The layers below are exported too:
 *
 * ```ts
 * import { VirtMachine } from "./mod.ts";
 *
 * const m = new VirtMachine({
 *   kernel: { name: "prog.elf", bytes: Deno.readFileSync("prog.elf") },
 *   clock: "virtual",
 *   console: (byte) => Deno.stdout.writeSync(new Uint8Array([byte])),
 * });
 * m.events.on("trap", (t) => console.log(`trap ${t.cause} at 0x${t.pc.toString(16)}`));
 * const result = await m.run({ maxInstructions: 10_000_000 });
 * console.log(result.stop, result.exitCode);
 * ```
 *
 * Everything exported here is a plain ES module (no `Deno.*`), so it also runs
 * in a Worker or a browser; files and the terminal live in `devices/host/`.
 *
 * @module
 */

export {
  createMachine,
  type GuestSymbol,
  type Hook,
  type HostView,
  Machine,
  type MachineConfig,
  MachineGuest,
  type SbiCall,
  type SbiResult,
  type SystemCall,
} from "./hypervisor/machine.ts";
export {
  createGuestsMachine,
  DEFAULT_SLICE,
  type GuestConfig,
  type GuestPlacement,
  type GuestsConfig,
  type GuestStatus,
  GuestSwitcher,
  type GuestSwitcherState,
  placeGuests,
  roundRobin,
  type ScheduleInfo,
  type SchedulePolicy,
  type ScheduleReason,
} from "./hypervisor/guests.ts";
export {
  type AddressRange,
  type HookFilter,
  type HookHandle,
  type OneOrMany,
} from "./hypervisor/hooks.ts";
export {
  causeName,
  CORE_CSRS,
  type CoreCsrName,
  csrIndex,
  hex,
  privName,
  REG_NAMES,
  regIndex,
  type RegName,
} from "./hypervisor/inspect.ts";
export { type GuestException } from "./hypervisor/vcpu.ts";
export {
  type LiveSeries,
  type LiveTables,
  REPORT_VERSION,
  type ReportAccesses,
  type ReportData,
  type ReportPc,
  type ReportPrivilege,
  type ReportSeries,
  type ReportShadow,
  type ReportSummary,
  type ReportVcpu,
  RunSampler,
  type SamplerOptions,
} from "./hypervisor/report.ts";
export { statsLines, TrapCounter } from "./hypervisor/stats.ts";
export {
  createHypervisorMachine,
  DEFAULT_GUEST_OFFSET,
  type GuestPlace,
  Hypervisor,
  type HypervisorConfig,
  type HypervisorState,
  type ShadowStats,
  type VcpuState,
} from "./hypervisor/hypervisor.ts";
export {
  OPENSBI_MEDELEG,
  OPENSBI_MIDELEG,
  SBI_IMPL_ID,
  SBI_IMPL_VERSION,
  SBI_SPEC_VERSION,
  SbiError,
  SbiExt,
  SbiFirmware,
  type SbiHost,
} from "./hypervisor/sbi.ts";
export {
  type DiskSlot,
  type Halt,
  type ImageFile,
  MachineConfigError,
  type RunOptions,
  type RunResult,
  type VirtConfig,
  VirtMachine,
  type VirtMachineState,
} from "./devices/virt.ts";
export {
  readSnapshotHeader,
  SNAPSHOT_FORMAT_VERSION,
  type SnapshotConfig,
  SnapshotError,
  type SnapshotHeader,
} from "./core/snapshot.ts";
export {
  type ConsoleEvent,
  type CsrEvent,
  EventBus,
  type EventMap,
  type ExitEvent,
  type ExitKind,
  type GuestTrapEvent,
  type HaltEvent,
  type HaltReason,
  type IrqEvent,
  type Listener,
  type MmioEvent,
  type Priv,
  type Topic,
  type TrapEvent,
} from "./core/events.ts";
export { Hart, type HartState, StopReason, type WatchHit } from "./core/hart.ts";
export { Bus, BusConfigError, type MmioDevice, RAM_BASE } from "./core/bus.ts";
export { Clock, type ClockMode, type ClockState, TIMEBASE_HZ } from "./core/clock.ts";
export { Cause, Csr, CSR_NAMES } from "./core/csr.ts";
export { Irq } from "./core/irq.ts";
export { Access, Mmu, type MmuState } from "./core/mmu.ts";
export { ElfError, type ElfImage, loadElf, parseElf } from "./core/elf.ts";
export { FdtNode, parseFdt, serializeFdt } from "./core/fdt.ts";
export { buildVirtDtb, buildVirtFdt, VIRT_IRQ, VIRT_MEMMAP } from "./devices/dtb.ts";
export {
  type BlockBackend,
  CowOverlay,
  type CowOverlayState,
  MemoryBlockBackend,
} from "./devices/block.ts";
export { type RawLoad, type VirtDevicesState } from "./devices/board.ts";
