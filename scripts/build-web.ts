/**
 * `deno task web`: the static browser build of rvisor. web/ becomes a folder
 * (default web/dist/) of plain files to open from file:// or serve from any
 * static server, with nothing fetched from the network:
 *
 * - index.html: the page (web/index.html);
 * - main.js, main.css: the page's script (web/main.ts) with xterm.js and its
 *   stylesheet, bundled by `deno bundle --platform browser`;
 * - worker.js: the Web Worker's bundle (web/worker.ts: the machine, from
 *   core/, devices/ and hypervisor/ through mod.ts) as a string the page
 *   starts a worker from (file:// pages may not start a worker from a file).
 *
 * A bundle that names `Deno` is refused: browser-side code must not use
 * Deno's APIs (`deno task check` also type-checks the worker's module graph
 * against the browser's worker library only, web/worker.jsonc).
 *
 * Usage: `deno run -A scripts/build-web.ts [OUTDIR]`
 *
 * @module
 */

import { join } from "node:path";

/** The repository root (absolute, with a trailing slash). */
const ROOT: string = new URL("../", import.meta.url).pathname;

/** Where `deno task web` writes the build. */
export const WEB_DIST: string = `${ROOT}web/dist`;

/** The files a build writes into its folder. */
export const WEB_FILES = ["index.html", "main.js", "main.css", "worker.js"] as const;

/** `deno bundle` for the browser, minified (no comments, so no stray names in the output). */
async function bundle(entry: string, args: string[]): Promise<void> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "browser", "--format", "iife", "--minify", ...args, entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!r.success) {
    throw new Error(`deno bundle ${entry} failed:\n${new TextDecoder().decode(r.stderr).trim()}`);
  }
}

/** Throws if the bundle of `entry` names Deno, whose API browsers lack. */
function refuseDeno(entry: string, bundled: string): void {
  const use = /\bDeno\b.{0,60}/.exec(bundled);
  if (use) throw new Error(`${entry}'s bundle uses Deno's API, which browsers lack: ${use[0]}`);
}

/** Builds the page into `out` (created if missing; the build's files are overwritten). */
export async function buildWeb(out: string = WEB_DIST): Promise<void> {
  await Deno.mkdir(out, { recursive: true });
  const tmp = await Deno.makeTempDir({ prefix: "rvisor-web-" });
  try {
    await bundle("web/worker.ts", ["-o", join(tmp, "worker.js")]);
    const worker = await Deno.readTextFile(join(tmp, "worker.js"));
    refuseDeno("web/worker.ts", worker);
    await Deno.writeTextFile(
      join(out, "worker.js"),
      `var rvisorWorkerSource = ${JSON.stringify(worker)};\n`,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  await bundle("web/main.ts", ["--outdir", out]);
  refuseDeno("web/main.ts", await Deno.readTextFile(join(out, "main.js")));
  await Deno.copyFile(`${ROOT}web/index.html`, join(out, "index.html"));
}

if (import.meta.main) {
  const out = Deno.args[0] ?? WEB_DIST;
  try {
    await buildWeb(out);
  } catch (e) {
    console.error(`build-web: ${(e as Error).message}`);
    Deno.exit(1);
  }
  console.log(`rvisor web build: ${join(out, "index.html")} (open it, or serve the folder)`);
}
