/**
 * `deno task compile`: builds the single `rvisor` executable with
 * `deno compile`. The default guest needs no `--include`: boot.ts imports it
 * as a module (guests/tinyos/image.ts), so it is part of the compiled code.
 *
 * `deno compile` writes Deno's `denort` runtime with the code appended; it
 * downloads denort from Deno's servers unless the `DENORT_BIN` environment
 * variable names a local copy (of the same Deno version). Where that server
 * cannot be reached, deno's own error is a long chain ending in a DNS failure;
 * this wrapper says what is missing and how to proceed instead.
 *
 * Usage: `deno run -A scripts/compile.ts [-o OUTPUT]` (default: `rvisor` in
 * the repository root).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { V8_FLAGS } from "./host-tools.ts";

/** The repository root (absolute, with a trailing slash). */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/** How a compile ended. */
export type CompileResult =
  | { ok: true }
  /** `denortMissing`: the only problem is that denort could not be had. */
  | { ok: false; denortMissing: boolean; message: string };

/** The arguments given to `deno` (run in {@linkcode ROOT}) to compile rvisor into `output`. */
export function compileArgs(output: string): string[] {
  return ["compile", "-A", `--v8-flags=${V8_FLAGS}`, "--output", output, "boot.ts"];
}

/**
 * Compiles boot.ts into the executable `output`. Never throws for a failed
 * compile: the result says whether denort was the problem, so that callers
 * (this script, tests) can tell "cannot compile here" from "broken".
 */
export async function compileRvisor(output = `${ROOT}rvisor`): Promise<CompileResult> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(output),
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (result.success) return { ok: true };
  const stderr = new TextDecoder().decode(result.stderr);
  // deno reports both a failed download and a bad DENORT_BIN under "Setting up base binary".
  const denortMissing = /base binary|denort/i.test(stderr);
  return { ok: false, denortMissing, message: denortMissing ? denortHelp(stderr) : stderr };
}

/** One paragraph saying what is missing, why, and the ways forward. */
function denortHelp(stderr: string): string {
  const url = /https:\/\/\S+denort\S*\.zip/.exec(stderr)?.[0] ?? "Deno's download server";
  // The innermost cause is the last numbered line of "Caused by:" (a backtrace may follow).
  const causes = stderr.split(/\nStack backtrace:/)[0].split("\n").map((l) => l.trim());
  const cause = causes.filter((l) => /^\d+: /.test(l)).pop();
  const bin = Deno.env.get("DENORT_BIN");
  return [
    `cannot compile: deno compile needs Deno's denort base binary (Deno ${Deno.version.deno}).`,
    bin === undefined
      ? `It tried to download ${url} and failed${cause ? ` (${cause.replace(/^\d+: /, "")})` : ""}.`
      : `DENORT_BIN=${bin} was not usable${cause ? ` (${cause.replace(/^\d+: /, "")})` : ""}.`,
    "Set DENORT_BIN to a local denort of the same version, or use `deno task bundle`",
    "(rvisor.js, run with `deno run -A rvisor.js`), which needs no download.",
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { output: { type: "string", short: "o" } } });
  const output = values.output ?? `${ROOT}rvisor`;
  const r = await compileRvisor(output);
  if (r.ok) {
    console.log(`compile: wrote ${output}`);
  } else {
    console.error(r.denortMissing ? `compile: ${r.message}` : r.message.trimEnd());
    Deno.exit(1);
  }
}
