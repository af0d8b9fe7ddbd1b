/**
 * boot.ts as a user runs it, for the tests of its command line: one process
 * from the repository root, stdin given and closed, and a hang guard.
 *
 * @module
 */

import { HANG_GUARD_MS } from "../scripts/host-tools.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** How a boot.ts run ended and what it printed. */
export interface BootRun {
  /** Exit code. */
  code: number;
  /** Everything on stdout. */
  stdout: string;
  /** Everything on stderr. */
  stderr: string;
}

/**
 * Runs `deno run -A boot.ts ...args` with `input` on stdin (then closed). A run
 * still going a minute past the hang guard is killed: runs meant to end by
 * themselves pass `--timeout`, so a kill shows up as a different exit code.
 */
export async function runBoot(args: string[], input = ""): Promise<BootRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "boot.ts", ...args],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  if (input) await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const guard = setTimeout(() => child.kill("SIGKILL"), HANG_GUARD_MS + 60_000);
  const out = await child.output();
  clearTimeout(guard);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
