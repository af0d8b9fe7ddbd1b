/**
 * `--script FILE`: loads a user script module and hands it the machine before
 * boot. The module's default export is a function that receives the
 * {@linkcode Machine} (scripts/ has examples); it may be async, and boot waits
 * for it.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Machine } from "../../hypervisor/machine.ts";

/** A script could not be loaded or its set-up failed: one line naming the file. */
export class ScriptError extends Error {
  override name = "ScriptError";
}

/** Imports `path` (relative to the working directory) and runs its default export on `machine`. */
export async function runScript(path: string, machine: Machine): Promise<void> {
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(resolve(path)).href);
  } catch (e) {
    throw new ScriptError(`--script ${path}: cannot load: ${firstLine(e)}`);
  }
  if (typeof mod.default !== "function") {
    throw new ScriptError(
      `--script ${path}: needs a default export: a function that receives the machine`,
    );
  }
  try {
    await mod.default(machine);
  } catch (e) {
    throw new ScriptError(`--script ${path}: ${firstLine(e)}`);
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0];
}
