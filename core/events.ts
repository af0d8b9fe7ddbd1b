/**
 * The typed, synchronous event bus between hart, MMU, devices and (later) the
 * hypervisor, and the place where user scripts attach hooks.
 *
 * Cost model: every topic keeps a plain array of listeners; a publisher checks
 * `bus.wants(topic)` (one property load and compare) before it builds an event, so
 * a topic with no subscriber costs one check on the hot path. Hot publishers reuse
 * one preallocated event object per topic rather than allocating per event.
 *
 * @module
 */

/** Privilege levels as encoded in mstatus.MPP and friends. */
export type Priv = 0 | 1 | 3;

/** A synchronous trap taken by the hart (exception or interrupt). */
export interface TrapEvent {
  /** mcause/scause value: interrupt bit folded in as `interrupt`. */
  cause: number;
  /** True for interrupts, false for exceptions. */
  interrupt: boolean;
  /** pc of the trapping instruction (or of the next one, for interrupts). */
  pc: number;
  /** The value written to mtval/stval. */
  tval: number;
  /** Privilege level the trap was taken from. */
  from: Priv;
  /** Privilege level the trap goes to (3 = M, 1 = S). */
  to: Priv;
  /** Set by a hook to suppress the architectural trap; the hook must then fix up the hart state. */
  handled: boolean;
  /** mhartid of the hart that took it. */
  hartId: number;
}

/** A CSR instruction (csrrw/csrrs/csrrc and immediate forms) that completed. */
export interface CsrEvent {
  /** CSR number (12 bits). */
  csr: number;
  /** True if the instruction wrote the CSR. */
  write: boolean;
  /** pc of the instruction. */
  pc: number;
  /** The old value, as a JS number (exact below 2^53, approximate above). */
  value: number;
  /** mhartid of the hart (under the hypervisor: of the vCPU) that ran it. */
  hartId: number;
}

/** An access that reached a memory-mapped device. */
export interface MmioEvent {
  /** Physical address of the access. */
  addr: number;
  /** Access size in bytes. */
  size: number;
  /** True for stores. */
  write: boolean;
  /** The value read or written (low 32 bits for 8-byte accesses split in halves). */
  value: number;
  /** Name of the device that answered. */
  device: string;
}

/** A change of an interrupt line: a PLIC source or a hart mip bit. */
export interface IrqEvent {
  /** `plic` for PLIC sources, `hart` for mip bits, `vcpu` for a guest's virtual mip bits. */
  controller: "plic" | "hart" | "vcpu";
  /** PLIC source number, or mip bit number. */
  line: number;
  /** The new level. */
  level: boolean;
  /** For `hart` and `vcpu` lines: whose mip bit it is. */
  hartId?: number;
}

/** Bytes the guest wrote to a console device. */
export interface ConsoleEvent {
  /** The device that printed them. */
  device: string;
  /** The bytes (the array is only valid during the handler). */
  bytes: Uint8Array;
}

/** Why a run stopped for good. */
export type HaltReason = "poweroff" | "fail" | "reset" | "htif" | "error";

/** The machine stopped: poweroff, failure code, reset request or error. */
export interface HaltEvent {
  /** What stopped it. */
  reason: HaltReason;
  /** Process exit code that reflects the guest's outcome. */
  code: number;
  /** Human-readable detail. */
  message: string;
}

/** Classes of hypervisor exits (host traps handled by the machine-mode hypervisor). */
export type ExitKind =
  | "csr-read"
  | "csr-write"
  | "mret"
  | "sret"
  | "wfi"
  | "sfence.vma"
  | "ecall"
  | "sbi"
  | "breakpoint"
  | "shadow-fill"
  | "guest-page-fault"
  | "guest-access-fault"
  | "mmio"
  | "mprv"
  | "timer"
  | "external-interrupt"
  | "illegal-instruction"
  | "misaligned";

/** A host trap the hypervisor handled, classified. */
export interface ExitEvent {
  /** What kind of exit. */
  kind: ExitKind;
  /** Host mcause (interrupt causes have `interrupt` set). */
  cause: number;
  /** True for host interrupts. */
  interrupt: boolean;
  /** Guest pc of the exit. */
  pc: number;
  /** Host mtval. */
  tval: number;
  /** Guest virtual privilege at the exit. */
  vpriv: Priv;
}

/** A trap the hypervisor injected into the guest (taken in virtual M or S). */
export interface GuestTrapEvent {
  /** Guest mcause/scause value (without the interrupt bit). */
  cause: number;
  /** True for interrupts. */
  interrupt: boolean;
  /** Guest pc of the trapping instruction. */
  pc: number;
  /** The tval given to the guest. */
  tval: number;
  /** Virtual mode before and after. */
  from: Priv;
  /** Virtual mode the trap is taken in. */
  to: Priv;
}

/** Every topic of the bus and the record it carries. */
export interface EventMap {
  /** Every trap the hart takes. */
  trap: TrapEvent;
  /** Every completed CSR instruction. */
  csr: CsrEvent;
  /** Every device access. */
  mmio: MmioEvent;
  /** Interrupt line changes, and PLIC lines signalled high again (each makes the source pending). */
  irq: IrqEvent;
  /** Console output. */
  console: ConsoleEvent;
  /** The machine halted. */
  halt: HaltEvent;
  /** A hypervisor exit. */
  exit: ExitEvent;
  /** A trap injected into the guest. */
  guestTrap: GuestTrapEvent;
}

/** Topic names of {@linkcode EventMap}. */
export type Topic = keyof EventMap;

/** A subscriber for one topic. */
export type Listener<T> = (event: T) => void;

/** Listener arrays by topic (a named type because `typeof this.#private` does not parse). */
type ListenerTable = { [K in Topic]: Listener<EventMap[K]>[] };

/** The typed event bus. */
export class EventBus {
  readonly #listeners: ListenerTable = {
    trap: [],
    csr: [],
    mmio: [],
    irq: [],
    console: [],
    halt: [],
    exit: [],
    guestTrap: [],
  };

  /** True if anyone listens on `topic`: publishers check this before building an event. */
  wants(topic: Topic): boolean {
    return this.#listeners[topic].length !== 0;
  }

  /** Subscribes `fn` to `topic`; returns a function that unsubscribes it. */
  on<K extends Topic>(topic: K, fn: Listener<EventMap[K]>): () => void {
    // Copy-on-write so that a listener may unsubscribe while the topic is being emitted.
    this.#listeners[topic] = [...this.#listeners[topic], fn] as ListenerTable[K];
    return () => {
      this.#listeners[topic] = this.#listeners[topic].filter((l) => l !== fn) as ListenerTable[K];
    };
  }

  /** Delivers `event` to every listener of `topic`, in subscription order. */
  emit<K extends Topic>(topic: K, event: EventMap[K]): void {
    for (const fn of this.#listeners[topic]) fn(event);
  }
}
