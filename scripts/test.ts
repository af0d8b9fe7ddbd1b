/**
 * The test command behind `deno task test`: `deno test -A --parallel` over
 * tests/ (or the files and flags given), then how many tests were ignored and
 * why, read from the run's JUnit report, since `deno test` exits 0 with tests
 * ignored. Each ignored test names its reason (`... (ignored: why)`); under
 * RVISOR_REQUIRE_TOOLS=1 (`scripts/rvisor.sh test`) one that does not fails
 * the run.
 *
 * ```sh
 * deno run -A scripts/test.ts [deno test flags and files]
 * ```
 *
 * @module
 */

import { REQUIRE_TOOLS } from "./host-tools.ts";

/** The names of the tests and steps a JUnit report marks skipped. */
export function ignoredTests(junit: string): string[] {
  const unescape = (s: string) =>
    s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'").replace(/&amp;/g, "&");
  return [...junit.matchAll(/<testcase name="([^"]*)"[^>]*>\s*<skipped\/>/g)]
    .map((m) => unescape(m[1]));
}

/** The reason an ignored test gives in its name, or undefined if it gives none. */
export function ignoreReason(name: string): string | undefined {
  return name.match(/\(ignored: (.*)\)\s*$/)?.[1];
}

if (import.meta.main) {
  const report = await Deno.makeTempFile({ prefix: "rvisor-junit-", suffix: ".xml" });
  const args = Deno.args.length > 0 ? Deno.args : ["tests/"];
  let { code } = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--parallel", `--junit-path=${report}`, ...args],
  }).spawn().status;
  const ignored = ignoredTests(await Deno.readTextFile(report));
  await Deno.remove(report);
  const unexplained = ignored.filter((n) => ignoreReason(n) === undefined);
  console.log(`\nrvisor: ${ignored.length} test${ignored.length === 1 ? "" : "s"} ignored`);
  for (const name of ignored) console.log(`  ${name}`);
  if (unexplained.length > 0 && Deno.env.get(REQUIRE_TOOLS) === "1") {
    console.log(`rvisor: ${unexplained.length} ignored without '(ignored: why)' in the name`);
    code ||= 1;
  }
  Deno.exit(code);
}
