/**
 * The skip rules of the suite (scripts/host-tools.ts hostTest, scripts/test.ts):
 * a missing tool ignores a test with the reason in its name, or fails it under
 * RVISOR_REQUIRE_TOOLS=1; the test command lists the ignored tests at the end.
 *
 * @module
 */

import assert from "node:assert/strict";
import { compileArgs } from "../scripts/compile.ts";
import { hostTest, missing, REQUIRE_TOOLS, V8_FLAGS } from "../scripts/host-tools.ts";
import { ignoredTests, ignoreReason } from "../scripts/test.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const ABSENT = "rvisor-no-such-tool";

Deno.test("host-tools: missing() names each absent command and file, with its Debian package", () => {
  assert.deepEqual(missing("deno"), []);
  assert.deepEqual(missing(ABSENT, "/no/such/fw_jump.elf"), [
    `${ABSENT} is not installed`,
    "no /no/such/fw_jump.elf",
  ]);
});

Deno.test("host-tools: hostTest ignores with the reason, or fails under RVISOR_REQUIRE_TOOLS=1", async () => {
  let ran = false;
  const fn = () => {
    ran = true;
  };
  const before = Deno.env.get(REQUIRE_TOOLS);
  try {
    Deno.env.delete(REQUIRE_TOOLS);
    assert.deepEqual(hostTest("t", [], fn), { name: "t", fn });
    const ignored = hostTest("t", missing(ABSENT), fn, { sanitizeResources: false });
    assert.equal(ignored.name, `t (ignored: ${ABSENT} is not installed)`);
    assert.equal(ignored.ignore, true);
    assert.equal(ignored.sanitizeResources, false);

    Deno.env.set(REQUIRE_TOOLS, "1");
    const required = hostTest("t", missing(ABSENT), fn);
    assert.equal(required.name, "t");
    assert.notEqual(required.ignore, true);
    await assert.rejects(
      async () => await required.fn!({} as Deno.TestContext),
      new RegExp(`${ABSENT} is not installed \\(${REQUIRE_TOOLS}=1`),
    );
    assert.equal(ran, false);
  } finally {
    if (before === undefined) Deno.env.delete(REQUIRE_TOOLS);
    else Deno.env.set(REQUIRE_TOOLS, before);
  }
});

Deno.test("test command: JUnit skipped cases and the reason in their names", () => {
  const junit = `<testsuite>
    <testcase name="a (ignored: x &amp; y)" classname="./a_test.ts" time="0.000">
        <skipped/>
    </testcase>
    <testcase name="b" classname="./a_test.ts" time="0.003">
    </testcase>
    <testcase name="c &gt; step" classname="./a_test.ts" time="0.000">
        <skipped/>
    </testcase>
  </testsuite>`;
  assert.deepEqual(ignoredTests(junit), ["a (ignored: x & y)", "c > step"]);
  assert.equal(ignoreReason("a (ignored: x & y)"), "x & y");
  assert.equal(ignoreReason("c > step"), undefined);
});

/** Runs scripts/test.ts on one generated test file; its exit code and output. */
async function runTestCommand(source: string, env: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "rvisor-test-command-" });
  try {
    await Deno.writeTextFile(`${dir}/x_test.ts`, source);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}scripts/test.ts`, `${dir}/x_test.ts`],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, text: new TextDecoder().decode(out.stdout) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("test command: lists the ignored tests; under RVISOR_REQUIRE_TOOLS=1 one with no reason fails the run", async () => {
  const source = [
    'Deno.test({ name: "with a reason (ignored: no foo)", ignore: true, fn() {} });',
    'Deno.test({ name: "without one", ignore: true, fn() {} });',
    'Deno.test("runs", () => {});',
  ].join("\n");
  const plain = await runTestCommand(source, { [REQUIRE_TOOLS]: "0" });
  assert.equal(plain.code, 0, plain.text);
  assert.match(
    plain.text,
    /rvisor: 2 tests ignored\n {2}with a reason \(ignored: no foo\)\n {2}without one\n/,
  );
  const required = await runTestCommand(source, { [REQUIRE_TOOLS]: "1" });
  assert.equal(required.code, 1, required.text);
  assert.match(required.text, /rvisor: 1 ignored without '\(ignored: why\)' in the name/);
  const failing = await runTestCommand('Deno.test("fails", () => { throw new Error("x"); });', {
    [REQUIRE_TOOLS]: "0",
  });
  assert.equal(failing.code, 1, failing.text);
  assert.match(failing.text, /rvisor: 0 tests ignored/);
});

Deno.test("host-tools: every way rvisor is launched passes V8_FLAGS", () => {
  const flag = `--v8-flags=${V8_FLAGS}`;
  const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks;
  for (const task of ["boot", "bench"]) {
    assert.ok(tasks[task].split(" ").includes(flag), `deno task ${task}: ${tasks[task]}`);
  }
  assert.ok(compileArgs("out").includes(flag), "deno task compile");
  const boot = /^\s*exec deno run .*boot\.ts.*$/m.exec(
    Deno.readTextFileSync(`${ROOT}scripts/rvisor.sh`),
  );
  assert.ok(boot?.[0].split(" ").includes(flag), `scripts/rvisor.sh boot: ${boot?.[0]}`);
});
