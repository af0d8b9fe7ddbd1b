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

/**
 * Imports `path` (relative to the working directory) and returns a function
 * that runs its default export on a machine. Loading is separate from running
 * so that the import (which may take a while for TypeScript) happens before
 * the machine exists: with the host clock, time passes from its creation on.
 */
export async function loadScript(path: string): Promise<(machine: Machine) => Promise<void>> {
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(resolve(path)).href);
  } catch (e) {
    throw new ScriptError(`--script ${path}: cannot load: ${firstLine(e)}`);
  }
  const setup = mod.default;
  if (typeof setup !== "function") {
    throw new ScriptError(
      `--script ${path}: needs a default export: a function that receives the machine`,
    );
  }
  return async (machine) => {
    try {
      await setup(machine);
    } catch (e) {
      throw new ScriptError(`--script ${path}: ${firstLine(e)}`);
    }
  };
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0];
}
