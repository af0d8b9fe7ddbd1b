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
import type { Hypervisor } from "./hypervisor.ts";

/** Counts traps by cause: keys are `cause` for exceptions and `-1 - cause` for interrupts. */
export class TrapCounter {
  /** Traps by key. */
  readonly counts: Map<number, number> = new Map();
  /** Unsubscribes from the trap topic. */
  readonly remove: () => void;

  /** Subscribes to the trap topic of `events` (only when asked for: it costs per trap). */
  constructor(events: EventBus) {
    this.remove = events.on("trap", (e: TrapEvent) => {
      const key = e.interrupt ? -1 - e.cause : e.cause;
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    });
  }

  /** Traps counted so far. */
  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** Lines "  count  name (kind N)", most frequent first. */
  lines(): string[] {
    return [...this.counts].sort((a, b) => b[1] - a[1]).map(([key, n]) => {
      const irq = key < 0;
      const cause = irq ? -1 - key : key;
      const name = causeName(cause, irq);
      return `  ${String(n).padStart(12)}  ${name} (${irq ? "interrupt" : "exception"} ${cause})`;
    });
  }
}

/** The translator's lines of the table (none when it is off). */
function translatorLines(m: VirtMachine): string[] {
  const t = m.hart.translator?.stats;
  if (t === undefined) return [];
  const share = t.translatedInstructions / Math.max(1, m.hart.retired);
  return [
    `  blocks compiled       ${t.compiled} (${t.live} live, ${t.liveInstructions} instructions)`,
    `  compile time          ${t.compileMs.toFixed(1)} ms`,
    `  block invalidations   ${t.invalidations} pages, ${t.flushes} flushes, ${t.evictions} pages evicted`,
    `  run translated        ${(share * 100).toFixed(1)} % of instructions`,
  ];
}

/** The hypervisor's exit table, most frequent first. */
function exitLines(hv: Hypervisor | null): string[] {
  if (!hv) return [];
  const exits = [...hv.exitCounts].sort((a, b) => b[1] - a[1]);
  const total = exits.reduce((a, [, n]) => a + n, 0);
  return [
    `  hypervisor exits      ${total}`,
    ...exits.map(([kind, n]) => `  ${String(n).padStart(12)}  ${kind}`),
  ];
}

/**
 * The `--stats` table's lines for machine `m` (under `hv`, or bare when null)
 * after `wallMs` of running; `traps` counted the traps, if anyone did.
 */
export function statsLines(
  m: VirtMachine,
  hv: Hypervisor | null,
  traps: TrapCounter | undefined,
  wallMs: number,
): string[] {
  const wallS = wallMs / 1000;
  const n = m.guestInstructions;
  return [
    "rvisor stats:",
    `  instructions retired  ${n}`,
    ...(hv ? [`  host instructions     ${m.hart.retired}`] : []),
    `  wall time             ${wallS.toFixed(3)} s`,
    `  MIPS                  ${(wallS > 0 ? n / wallS / 1e6 : 0).toFixed(1)}`,
    `  traps                 ${traps?.total ?? 0}`,
    ...(traps?.lines() ?? []),
    ...translatorLines(m),
    ...exitLines(hv),
  ];
}
