/**
 * Every guest is a bare-vs-hypervisor oracle: with the virtual clock (time
 * follows the guest's retired instructions, those the hypervisor emulates
 * included) a deterministic guest run bare and under the hypervisor prints the
 * same console bytes and takes the same traps, ecalls and timer interrupts at
 * the same guest instruction counts, seeing the same time. This runs a guest
 * both ways and reports the first difference.
 *
 * Input must reach both runs at the same guest instruction, so it is typed
 * from hooks (here: when the console shows a text) rather than between runs,
 * and `--until` pauses from the console hook, right after the same instruction
 * in both runs.
 *
 * ```sh
 * deno run -A scripts/bare-vs-hypervisor.ts --bios /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf \
 *   --kernel /usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin \
 *   --type-after "Hit any key to stop autoboot" --type " " --until "=> "
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createMachine, type Machine, type MachineConfig } from "../mod.ts";

const ECALLS = new Set([8, 9, 11]);

/** What a run shows of the guest. */
export interface GuestRun {
  /** Console output. */
  console: string;
  /** One line per trap the guest took: cause, pc, modes, guest instruction count, time; a7/a6/a0 for ecalls. */
  traps: string[];
  /** Guest instructions retired at the end. */
  guestInstructions: number;
  /** How the run ended (RunResult.stop). */
  stop: string;
}

/** Adds the hooks that type input and end a run (m.pause() or the guest's own halt). */
export type Driver = (machine: Machine, console: () => string) => void;

/**
 * Runs `config` bare or under the hypervisor with the virtual clock (and a
 * fixed RTC base unless given) until the guest halts, `drive`'s hooks pause
 * it, or `maxInstructions` host instructions.
 */
export async function observeGuest(
  config: MachineConfig,
  hypervisor: boolean,
  drive: Driver = () => {},
  maxInstructions = 200_000_000,
): Promise<GuestRun> {
  const m = createMachine({
    rtcBase: Date.UTC(2026, 0, 1),
    ...config,
    clock: "virtual",
    hypervisor,
  });
  let text = "";
  const traps: string[] = [];
  m.hook("console", (e) => {
    for (const b of e.bytes) text += String.fromCharCode(b);
  });
  // The guest's traps: the hart's own when bare, those the hypervisor injects under it.
  m.hook(hypervisor ? "guestTrap" : "trap", (e, mm) => {
    let line = `${e.interrupt ? "irq" : "exc"} ${e.cause} pc ${e.pc.toString(16)} ` +
      `${e.from}->${e.to} n ${mm.guestInstructions} time ${mm.readCsr("time")}`;
    if (!e.interrupt && ECALLS.has(e.cause)) {
      line += ` a7 ${mm.getReg("a7")} a6 ${mm.getReg("a6")} a0 ${mm.getReg("a0")}`;
    }
    traps.push(line);
  });
  drive(m, () => text);
  const r = await m.run({ maxInstructions });
  return { console: text, traps, guestInstructions: m.guestInstructions, stop: r.stop };
}

/**
 * The first difference between a bare run and a hypervisor run, or null if
 * they agree. A run that hit its instruction limit (host instructions: they
 * are not the same guest instruction in both modes) is compared up to where
 * the shorter one ended.
 */
export function firstDifference(bare: GuestRun, hv: GuestRun): string | null {
  const prefix = bare.stop === "limit" || hv.stop === "limit";
  const n = Math.min(bare.traps.length, hv.traps.length);
  let i = 0;
  while (i < n && bare.traps[i] === hv.traps[i]) i++;
  if (i < n || (!prefix && bare.traps.length !== hv.traps.length)) {
    return `trap ${i} (of ${bare.traps.length} bare, ${hv.traps.length} under the hypervisor):\n` +
      `  bare:       ${bare.traps[i] ?? "(none)"}\n  hypervisor: ${hv.traps[i] ?? "(none)"}` +
      (i > 0 ? `\n  before it, both: ${bare.traps[i - 1]}` : "");
  }
  const length = prefix ? Math.min(bare.console.length, hv.console.length) : Infinity;
  if (bare.console.slice(0, length) !== hv.console.slice(0, length)) {
    let c = 0;
    while (bare.console[c] === hv.console[c]) c++;
    return `console byte ${c}: bare ${JSON.stringify(bare.console.slice(c, c + 40))}, ` +
      `hypervisor ${JSON.stringify(hv.console.slice(c, c + 40))}`;
  }
  if (!prefix && (bare.guestInstructions !== hv.guestInstructions || bare.stop !== hv.stop)) {
    return `end: bare ${bare.stop} after ${bare.guestInstructions} instructions, ` +
      `hypervisor ${hv.stop} after ${hv.guestInstructions}`;
  }
  return null;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      bios: { type: "string" },
      kernel: { type: "string" },
      isa: { type: "string" },
      until: { type: "string" },
      "type-after": { type: "string" },
      type: { type: "string" },
      max: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || (!values.kernel && !values.bios)) {
    console.log(
      "usage: deno run -A scripts/bare-vs-hypervisor.ts [--bios FILE] --kernel FILE [--isa ISA]\n" +
        "         [--type-after TEXT --type TEXT] [--until TEXT] [--max N]",
    );
    Deno.exit(values.help ? 0 : 2);
  }
  if ((values["type-after"] === undefined) !== (values.type === undefined)) {
    console.error("bare-vs-hypervisor: --type-after and --type go together");
    Deno.exit(2);
  }
  const max = values.max === undefined ? undefined : Number(values.max);
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
    console.error(`bare-vs-hypervisor: --max ${values.max}: not a positive number of instructions`);
    Deno.exit(2);
  }
  const image = (path: string | undefined) =>
    path === undefined ? undefined : { name: path, bytes: Deno.readFileSync(path) };
  const config: MachineConfig = {
    bios: image(values.bios),
    kernel: image(values.kernel),
    isa: values.isa,
  };
  const drive: Driver = (m, text) => {
    let typed = values.type === undefined;
    m.hook("console", () => {
      if (!typed && text().includes(values["type-after"]!)) m.send(values.type!), typed = true;
      else if (typed && values.until !== undefined && text().endsWith(values.until)) m.pause();
    });
  };
  const bare = await observeGuest(config, false, drive, max);
  const hv = await observeGuest(config, true, drive, max);
  const diff = firstDifference(bare, hv);
  console.log(
    diff === null
      ? `same: ${bare.traps.length} traps, ${bare.console.length} console bytes, ` +
        `${bare.guestInstructions} guest instructions (${bare.stop})`
      : `first difference at ${diff}`,
  );
  Deno.exit(diff === null ? 0 : 1);
}
