/**
 * A shell session with a guest in a subprocess (boot.ts, the bundle, the
 * compiled binary, or QEMU): commands typed one per `$ ` prompt, as a person
 * would, so the output does not depend on when the input arrived.
 *
 * @module
 */

/** A session that takes longer than this is stuck (tinyos's take about 2 s). */
const SESSION_TIMEOUT_MS = 120_000;

/** How a session ended. */
export interface Session {
  /** Exit code. */
  code: number;
  /** Everything the program wrote to stdout. */
  stdout: string;
  /** Everything the program wrote to stderr. */
  stderr: string;
}

/**
 * Runs `cmd args` in `cwd` and types one of `commands` each time a new `$ `
 * prompt appears on stdout; returns when it exits.
 */
export async function promptSession(
  cmd: string,
  args: string[],
  cwd: string,
  commands: readonly string[],
): Promise<Session> {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), SESSION_TIMEOUT_MS);
  const stderr = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  let stdout = "";
  let typed = 0;
  try {
    for await (const chunk of child.stdout) {
      stdout += dec.decode(chunk, { stream: true });
      const prompts = stdout.split("$ ").length - 1;
      while (typed < Math.min(prompts, commands.length)) {
        await writer.write(enc.encode(commands[typed++] + "\n"));
      }
      if (typed === commands.length) {
        // Everything is typed; closing stdin lets a process that ignored it still end.
        await writer.close().catch(() => {});
        typed++;
      }
    }
  } finally {
    clearTimeout(timer);
  }
  const { code } = await child.status;
  return { code, stdout, stderr: await stderr };
}
