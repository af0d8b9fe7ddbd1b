/**
 * README.md's scripting section cannot rot: every ```ts block in it runs as a
 * script (from the repository root, so its `./mod.ts` import and file paths
 * resolve as a reader's copy would) and must exit 0 without writing to stderr.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
/** A generous hang guard per example (they boot tinyos, well under a second each). */
const HANG_MS = 120_000;

/** The ```ts blocks of the README section that starts with `heading`. */
function tsBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README.md has no section ${heading}`);
  const next = markdown.indexOf("\n## ", start + heading.length + 2);
  const section = markdown.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

const readme = Deno.readTextFileSync(new URL("README.md", ROOT));
const blocks = tsBlocks(readme, "## Scripting");

Deno.test("readme: the scripting section has its examples", () => {
  assert.ok(blocks.length >= 2, `${blocks.length} ts blocks`);
  assert.ok(blocks.some((b) => b.includes(".watch(") && b.includes("until")), "watch + until loop");
  assert.ok(blocks.some((b) => /hit\.old\b/.test(b) && /hit\.value\b/.test(b)), "watch old -> new");
  assert.ok(blocks.some((b) => /saveSnapshot/.test(b) && /loadSnapshot/.test(b)), "snapshots");
  assert.ok(blocks.some((b) => b.includes(".symbols()") && b.includes(".symbolize(")), "symbols");
});

blocks.forEach((code, i) => {
  const first = code.split("\n").find((l) => l.startsWith("const m"))?.trim() ?? "";
  Deno.test(`readme: scripting example ${i + 1} runs (${first})`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "rvisor-readme-" });
    try {
      // The example's relative imports are the repository's: point them there.
      const file = `${dir}/example.ts`;
      await Deno.writeTextFile(file, code.replaceAll(/from "\.\//g, `from "${ROOT.href}`));
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", file],
        cwd: ROOT.pathname,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const guard = setTimeout(() => child.kill(), HANG_MS);
      const { code: exit, stdout, stderr } = await child.output();
      clearTimeout(guard);
      const err = new TextDecoder().decode(stderr);
      assert.equal(exit, 0, `example ${i + 1} exited ${exit}:\n${err}`);
      assert.equal(err, "", "nothing on stderr");
      assert.notEqual(stdout.length, 0, "it printed what it shows");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
