/**
 * rvisor without the repository: `deno task bundle`'s rvisor.js and
 * `deno task compile`'s rvisor binary, each copied to a folder outside the
 * checkout, boot the embedded tinyos and answer shell commands.
 *
 * The compile test needs Deno's denort base binary, which `deno compile`
 * downloads; where it cannot (no network, no DENORT_BIN), the test is
 * registered as ignored with that reason in its name.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CompileResult, compileRvisor } from "../scripts/compile.ts";
import { promptSession, type Session } from "./prompt_session.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** Commands typed at tinyos's prompt, one per prompt. */
const COMMANDS = ["help", "echo hi", "poweroff"];

/** A scratch directory outside the repository (the system temp dir), removed after `fn`. */
async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "rvisor-bundle-" }));
  assert.ok(!dir.startsWith(ROOT), `${dir} is outside the repository ${ROOT}`);
  try {
    return await fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** deno.json's `bundle` task, with its output redirected to `output`. */
function bundleArgs(output: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  const task: string = config.tasks.bundle;
  const words = task.trim().split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "bundle"], `bundle task: ${task}`);
  const o = words.indexOf("-o");
  assert.ok(o > 0 && words[o + 1] === "rvisor.js", `bundle task writes rvisor.js: ${task}`);
  words[o + 1] = output;
  return words.slice(1);
}

/** Runs the bundle task into `dir`/rvisor.js and returns the file's path. */
async function bundleInto(dir: string): Promise<string> {
  const output = `${dir}/rvisor.js`;
  const r = await new Deno.Command(Deno.execPath(), {
    args: bundleArgs(output),
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assert.ok(r.success, `deno bundle failed:\n${new TextDecoder().decode(r.stderr)}`);
  return output;
}

/** The answers a tinyos session to COMMANDS must contain. */
function assertTinyosSession(r: Session): void {
  const text = r.stdout.replaceAll("\r\n", "\n");
  assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}\nstdout: ${text.slice(-1500)}`);
  assert.equal(r.stderr, "");
  assert.match(text, /tinyos: started sh \(pid 1\) and ticker \(pid 2\) in U-mode/);
  assert.match(text, /^\$ help\ncommands:\n/m);
  assert.match(text, /^ {2}poweroff {3}stop the machine$/m);
  assert.match(text, /^\$ echo hi\nhi\n\$ poweroff\n/m);
  assert.match(text, /tinyos: poweroff requested by pid 1 \(sh\)/);
}

Deno.test("bundle: rvisor.js copied outside the repository boots tinyos and answers", async () => {
  await withTemp(async (build) => {
    const bundle = await bundleInto(build);
    const size = Deno.statSync(bundle).size;
    // The guest (about 30 KB as ELF, 40 KB in base64) and the emulator, nothing else.
    assert.ok(size > 100_000 && size < 2_000_000, `rvisor.js is ${size} bytes`);
    const js = Deno.readTextFileSync(bundle);
    assert.ok(!js.includes(ROOT), "the bundle names no file of the checkout");
    await withTemp(async (elsewhere) => {
      Deno.copyFileSync(bundle, `${elsewhere}/rvisor.js`);
      // Under the hypervisor (boot.ts's default, with an HTML run report) and bare.
      for (const mode of [["--report", "run.html"], ["--no-hypervisor"]]) {
        const r = await promptSession(
          Deno.execPath(),
          ["run", "-A", "rvisor.js", "--clock", "virtual", ...mode],
          elsewhere,
          COMMANDS,
        );
        assertTinyosSession(r);
      }
      // The bundle carries uPlot (a text import of the npm package) into the page.
      const page = Deno.readTextFileSync(`${elsewhere}/run.html`);
      assert.ok(page.includes("/*! https://github.com/leeoniya/uPlot (v1.6.32) */"));
      assert.match(page, /"mode":"hypervisor"/);
      // QEMU's command line, as a Makefile written for QEMU gives it.
      Deno.copyFileSync(`${ROOT}guests/tinyos/tinyos.elf`, `${elsewhere}/tinyos.elf`);
      const qemuLine = ["-machine", "virt", "-bios", "none", "-kernel", "tinyos.elf", "-m", "128M"]
        .concat(["-smp", "1", "-nographic", "-icount", "shift=0"]);
      assertTinyosSession(
        await promptSession(
          Deno.execPath(),
          ["run", "-A", "rvisor.js", ...qemuLine],
          elsewhere,
          COMMANDS,
        ),
      );
      const help = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "rvisor.js", "-h"],
        cwd: elsewhere,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(help.stdout);
      assert.equal(help.code, 0, new TextDecoder().decode(help.stderr));
      assert.match(text, /^Usage: rvisor/);
      assert.match(text, /default guest: tinyos/);
      assert.match(text, /--bios/);
    });
  });
});

/** The compile attempt, made once as the module loads so the test's name can say if it ran. */
const COMPILE_DIR = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "rvisor-compile-" }));
const compiled: CompileResult = await compileRvisor(`${COMPILE_DIR}/rvisor`);
const COMPILE_SKIP = !compiled.ok && compiled.denortMissing;
if (COMPILE_SKIP) Deno.removeSync(COMPILE_DIR, { recursive: true });

Deno.test({
  name: COMPILE_SKIP
    ? "compile: the rvisor binary boots tinyos outside the repository " +
      "(ignored: no denort binary: deno compile cannot download it offline; set DENORT_BIN)"
    : "compile: the rvisor binary boots tinyos outside the repository",
  ignore: COMPILE_SKIP,
  async fn() {
    try {
      assert.ok(compiled.ok, `deno task compile failed:\n${!compiled.ok && compiled.message}`);
      await withTemp(async (elsewhere) => {
        const binary = `${elsewhere}/rvisor`;
        Deno.copyFileSync(`${COMPILE_DIR}/rvisor`, binary);
        Deno.chmodSync(binary, 0o755);
        assertTinyosSession(
          await promptSession(binary, ["--clock", "virtual"], elsewhere, COMMANDS),
        );
      });
    } finally {
      Deno.removeSync(COMPILE_DIR, { recursive: true });
    }
  },
});
