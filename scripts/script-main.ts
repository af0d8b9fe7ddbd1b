/**
 * What the example scripts share when run on their own (`deno run -A
 * scripts/NAME.ts [image] [--bare]`): build a machine for the image (default:
 * the embedded tinyos) with the virtual clock, so that runs are reproducible,
 * hand it to the script's setup function (the same default export that
 * `boot.ts --script` calls), and run it.
 *
 * @module
 */

import { createMachine, type Machine, type RunResult } from "../mod.ts";
import { tinyosElf } from "../guests/tinyos/image.ts";

/** What a script's default export looks like: it gets the machine before boot. */
export type ScriptSetup = (machine: Machine) => void | Promise<void>;

/** Command line of a standalone script run. */
export interface ScriptArgs {
  /** The guest image path, or undefined for the embedded tinyos. */
  image?: string;
  /** Run bare instead of under the hypervisor. */
  bare: boolean;
  /** Other arguments, in order (script-specific). */
  rest: string[];
}

/** Splits `args` into an optional image path, `--bare`, and the rest (`--name value` pairs). */
export function parseScriptArgs(args: readonly string[]): ScriptArgs {
  const rest: string[] = [];
  let image: string | undefined, bare = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--bare") bare = true;
    else if (a.startsWith("--")) rest.push(a, args[++i] ?? "");
    else if (image === undefined) image = a;
    else rest.push(a);
  }
  return { image, bare, rest };
}

/** The value of `--name` in `rest`, or `fallback`. */
export function option(rest: readonly string[], name: string, fallback: string): string {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 && i + 1 < rest.length ? rest[i + 1] : fallback;
}

/**
 * Creates the machine for a standalone run: `image` (a kernel started in
 * M-mode, as QEMU's `-bios none -kernel`) or tinyos, virtual clock.
 */
export function scriptMachine(args: ScriptArgs, fallbackImage?: string): Machine {
  const path = args.image ?? fallbackImage;
  const kernel = path === undefined
    ? { name: "tinyos.elf (embedded)", bytes: tinyosElf() }
    : { name: path, bytes: Deno.readFileSync(path) };
  return createMachine({ kernel, clock: "virtual", hypervisor: !args.bare });
}

/** Runs until `until` appears (or halt, or `maxInstructions`); fails loudly on a limit. */
export async function runUntil(
  machine: Machine,
  until: string | undefined,
  maxInstructions = 200_000_000,
): Promise<RunResult> {
  const r = await machine.run({ until, maxInstructions });
  if (r.stop === "limit") {
    throw new Error(`no '${until}' within ${maxInstructions} instructions`);
  }
  return r;
}
