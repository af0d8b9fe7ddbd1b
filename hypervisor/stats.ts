/**
 * The `--stats` table: instructions, wall time, MIPS, traps by cause, the
 * translator's figures and the hypervisor's exits by kind. boot.ts prints it
 * at exit and run reports (hypervisor/report.ts) carry the same lines.
 *
 * @module
 */

import type { EventBus, TrapEvent } from "../core/events.ts";
import { causeName } from "../core/names.ts";
import type { VirtMachine } from "../devices/virt.ts";
import type { GuestSwitcher } from "./guests.ts";
import type { Hypervisor } from "./hypervisor.ts";

/** Counts traps by cause, exceptions and interrupts apart. */
export class TrapCounter {
  /** Exceptions by cause at [cause], interrupts at [64 + cause] (a Map costs more per trap). */
  readonly #counts = new Float64Array(128);
  /** Unsubscribes from the trap topic. */
  readonly remove: () => void;

  /** Subscribes to the trap topic of `events` (only when asked for: it costs per trap). */
  constructor(events: EventBus) {
    this.remove = events.on("trap", (e: TrapEvent) => {
      this.#counts[(e.interrupt ? 64 : 0) + (e.cause & 63)]++;
    });
  }

  /** Traps counted so far. */
  get total(): number {
    return this.#counts.reduce((a, b) => a + b, 0);
  }

  /** Lines "  count  name (kind N)", most frequent first. */
  lines(): string[] {
    return [...this.#counts.entries()].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])
      .map(([i, n]) => {
        const irq = i >= 64, cause = i & 63;
        const kind = irq ? "interrupt" : "exception";
        return `  ${String(n).padStart(12)}  ${causeName(cause, irq)} (${kind} ${cause})`;
      });
  }
}

/** The translator's lines of the table (hart 0's, the boot hart, with several; none when it is off). */
function translatorLines(m: VirtMachine): string[] {
  const t = m.hart.translator?.stats;
  if (t === undefined) return [];
  const share = t.translatedInstructions / Math.max(1, m.hart.retired);
  return [
    `  translator            ${m.jitTier === "wasm" ? "wasm" : "JavaScript"} blocks${
      m.jitNote === undefined ? "" : ` (${m.jitNote})`
    }`,
    `  blocks compiled       ${t.compiled} (${t.live} live, ${t.liveInstructions} instructions, ` +
    `~${Math.round(t.liveBytes / 1024)} KB of code)`,
    `  compile time          ${t.compileMs.toFixed(1)} ms`,
    `  block invalidations   ${t.invalidations} pages, ${t.flushes} flushes, ${t.evictions} pages evicted`,
    `  run translated        ${(share * 100).toFixed(1)} % of instructions`,
    `  block entries         ${t.entries} (${
      (t.translatedInstructions / Math.max(1, t.entries)).toFixed(1)
    } instructions each)`,
    ...(t.regionJumps + t.dispatches === 0 ? [] : [
      `  regions compiled      ${t.regions} (${(t.compiled / Math.max(1, t.regions)).toFixed(1)} ` +
      `blocks each), ${t.regionJumps} jumps inside, ${t.dispatches} calls between blocks`,
    ]),
  ];
}

/** Exits by kind, most frequent first. */
const byCount = (counts: ReadonlyMap<string, number>) => [...counts].sort((a, b) => b[1] - a[1]);

/**
 * The hypervisor's exits: with several vCPUs a line per vCPU (its total and
 * kinds), then the table of all the guest's exits, most frequent first.
 */
function exitLines(hv: Hypervisor | null): string[] {
  if (!hv) return [];
  const vcpus = hv.vcpus.length > 1
    ? hv.vcpus.map((v) => {
      const exits = byCount(v.vcpuExitCounts);
      const total = exits.reduce((a, [, n]) => a + n, 0);
      const kinds = exits.map(([kind, n]) => `${kind} ${n}`).join(", ");
      return `  ${`vCPU ${v.vcpuIndex} exits`.padEnd(22)}${total}${kinds ? ` (${kinds})` : ""}`;
    })
    : [];
  const exits = byCount(hv.exitCounts);
  const total = exits.reduce((a, [, n]) => a + n, 0);
  return [
    ...vcpus,
    `  hypervisor exits      ${total}`,
    ...exits.map(([kind, n]) => `  ${String(n).padStart(12)}  ${kind}`),
  ];
}

/**
 * Per guest of a machine with several: instructions (and each vCPU's, with
 * several), slices, how it ended, and its exits.
 */
function guestLines(g: GuestSwitcher): string[] {
  return g.hypervisors.flatMap((hv, i) => [
    `guest ${i}:`,
    `  instructions retired  ${g.instructions(i)}`,
    ...(hv.vcpus.length > 1
      ? hv.vcpus.map((v) =>
        `  vCPU ${v.vcpuIndex}                ${
          g.vcpuRetired(i, v.vcpuIndex) + v.guest.vcpu.emulated
        } instructions, ${sum(v.exitCounts)} exits` + (v.stopped ? ", stopped" : "")
      )
      : []),
    `  slices                ${g.slices[i]}`,
    `  state                 ${g.ended[i]?.message ?? "running"}`,
    ...exitLines(hv),
  ]);
}

function sum(counts: ReadonlyMap<unknown, number>): number {
  let n = 0;
  for (const c of counts.values()) n += c;
  return n;
}

/**
 * The `--stats` table's lines for machine `m` (under `hv`, or bare when null)
 * after `wallMs` of running; `traps` counted the traps, if anyone did; with
 * several guests, `guests` switched them and each has its lines.
 */
export function statsLines(
  m: VirtMachine,
  hv: Hypervisor | null,
  traps: TrapCounter | undefined,
  wallMs: number,
  guests?: GuestSwitcher,
): string[] {
  const wallS = wallMs / 1000;
  const n = m.guestInstructions;
  return [
    "rvisor stats:",
    `  instructions retired  ${n}`,
    ...(hv ? [`  host instructions     ${m.hostInstructions}`] : []),
    // Per hart with several: instructions, traps and whether it ended in wfi.
    ...(m.harts.length > 1
      ? m.harts.map((h) =>
        `  hart ${h.hartId}                ${h.retired} instructions, ${h.trapsTaken} traps` +
        (h.waiting ? ", in wfi" : "")
      )
      : []),
    `  wall time             ${wallS.toFixed(3)} s`,
    `  MIPS                  ${(wallS > 0 ? n / wallS / 1e6 : 0).toFixed(1)}`,
    `  traps                 ${traps?.total ?? 0}`,
    ...(traps?.lines() ?? []),
    ...translatorLines(m),
    ...(guests ? guestLines(guests) : exitLines(hv)),
  ];
}
