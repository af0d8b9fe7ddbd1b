/**
 * rvisor in a real browser: `deno task web`'s static build, opened in
 * headless Chromium (tests/cdp.ts) from file:// and from a local http server,
 * boots tinyos in its Web Worker to the `$ ` prompt; keys typed into the
 * terminal reach the guest and its answers show on the terminal; nothing is
 * fetched from the network; a kernel the machine refuses is one error line;
 * Debian's Linux picked with the file inputs boots. Screenshots go to
 * tests/out/.
 *
 * @module
 */

import assert from "node:assert/strict";
import { extname, join } from "node:path";
import { launchBrowser, type Page, TEST_OUT } from "./cdp.ts";
import { CHROMIUM, HANG_GUARD_MS, hostTest, missing } from "../scripts/host-tools.ts";
import { WEB_FILES } from "../scripts/build-web.ts";
import { INIT_MARKER, linuxForTests } from "../scripts/fetch-linux.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** tinyos's help lists this line last but one. */
const HELP_LINE = "mem N      touch N fresh heap pages (page faults), check, free them";
/** A window tall enough for the whole page, terminal included, in the screenshots. */
const WINDOW = { width: 1100, height: 1000 };

/** Runs `deno task web OUT` (the command users run) into a temp folder, removed after `fn`. */
async function withBuild(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rvisor-web-test-" });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["task", "web", dir],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(r.success, `deno task web failed:\n${new TextDecoder().decode(r.stderr)}`);
    for (const f of WEB_FILES) assert.ok((await Deno.stat(join(dir, f))).size > 0, f);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every URL the page requests, from CDP's Network domain. */
async function recordRequests(page: Page): Promise<string[]> {
  const urls: string[] = [];
  page.on("Network.requestWillBeSent", (p) => urls.push((p.request as { url: string }).url));
  await page.send("Network.enable");
  return urls;
}

/** Waits until the page's machine runs tinyos and its shell prompts. */
async function waitForPrompt(page: Page): Promise<void> {
  await page.waitFor("rvisor.state === 'running' && rvisor.message === 'running tinyos'");
  await page.waitFor("rvisor.output.includes('\\n$ ') && rvisor.screen().includes('\\n$ ')");
}

/** Types `line` and Enter into the terminal and waits for `answer` on the terminal. */
async function command(page: Page, line: string, answer: string): Promise<void> {
  await page.type(`${line}\n`);
  await page.waitFor(`rvisor.screen().includes(${JSON.stringify(answer)})`);
}

Deno.test(hostTest(
  "web: the static build from file:// boots tinyos in its Worker, help answers on the terminal, poweroff halts; no network",
  missing(CHROMIUM),
  () =>
    withBuild(async (dir) => {
      const worker = await Deno.readTextFile(join(dir, "worker.js"));
      assert.doesNotMatch(worker, /\bDeno\b/);
      await using browser = await launchBrowser(WINDOW);
      const page = await browser.newPage();
      const requests = await recordRequests(page);
      await page.goto(`file://${dir}/index.html`);
      await waitForPrompt(page);
      await command(page, "help", HELP_LINE);
      // The answer follows the typed command, as the guest echoed it.
      const screen = await page.evaluate<string>("rvisor.screen()");
      assert.match(screen, /\$ help\ncommands:\n {2}help {7}this list\n/);
      await page.screenshot(join(TEST_OUT, "web-tinyos.png"));
      await page.type("poweroff\n");
      await page.waitFor("rvisor.state === 'halted'");
      assert.equal(await page.evaluate("rvisor.message"), "guest poweroff (exit code 0)");
      assert.deepEqual(
        requests.filter((u) => !/^(file|blob|data):/.test(u)),
        [],
        "requests beyond the build's files",
      );
      assert.deepEqual(
        requests.filter((u) => u.startsWith("file:")).map((u) => u.slice(`file://${dir}/`.length))
          .sort(),
        ["index.html", "main.css", "main.js", "worker.js"],
      );
      assert.deepEqual(page.log.filter((l) => l.startsWith("exception")), []);
    }),
));

Deno.test("web: deno task check fails on a Deno.* in the worker's module graph", async () => {
  const task: string = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.check;
  const guard = "deno check --config web/worker.jsonc web/worker.ts";
  assert.ok(task.includes(guard), `the check task runs ${guard}: ${task}`);
  const check = async (entry: string) => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--config", "web/worker.jsonc", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    return { ok: r.success, stderr: new TextDecoder().decode(r.stderr) };
  };
  const clean = await check("web/worker.ts");
  assert.ok(clean.ok, clean.stderr);
  // A worker whose graph uses Deno: the real mod.ts beside a Deno call.
  const dir = await Deno.makeTempDir({ prefix: "rvisor-deno-use-" });
  try {
    await Deno.writeTextFile(
      join(dir, "worker.ts"),
      `import { createMachine } from "${new URL("mod.ts", `file://${ROOT}`)}";\n` +
        "export const m = createMachine({ kernel: { name: 'k', bytes: Deno.readFileSync('k') } });\n",
    );
    const dirty = await check(join(dir, "worker.ts"));
    assert.equal(dirty.ok, false);
    assert.match(dirty.stderr, /Cannot find name 'Deno'/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
};

Deno.test(hostTest(
  "web: the static build served over http:// boots tinyos; Boot tinyos restarts it in a new Worker",
  missing(CHROMIUM),
  () =>
    withBuild(async (dir) => {
      const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
        const name = new URL(req.url).pathname.slice(1) || "index.html";
        if (!(WEB_FILES as readonly string[]).includes(name)) {
          return new Response(null, { status: 404 });
        }
        return new Response(await Deno.readFile(join(dir, name)), {
          headers: { "content-type": CONTENT_TYPES[extname(name)] },
        });
      });
      try {
        await using browser = await launchBrowser(WINDOW);
        const page = await browser.newPage();
        const requests = await recordRequests(page);
        const origin = `http://127.0.0.1:${server.addr.port}/`;
        await page.goto(origin);
        await waitForPrompt(page);
        await command(
          page,
          "echo hi-from chromium_1: 1+1=2 [ok]",
          "\nhi-from chromium_1: 1+1=2 [ok]\n",
        );
        await page.evaluate("document.getElementById('boot-tinyos').click()");
        await waitForPrompt(page);
        // A new boot: a fresh terminal and transcript.
        assert.doesNotMatch(await page.evaluate<string>("rvisor.output"), /hi-from chromium/);
        await command(page, "uptime", "ticks");
        assert.deepEqual(
          requests.filter((u) => !u.startsWith(origin) && !u.startsWith("blob:")),
          [],
        );
      } finally {
        await server.shutdown();
      }
    }),
));

Deno.test(hostTest(
  "web: a kernel file the machine refuses is one error line, and tinyos boots again after it",
  missing(CHROMIUM),
  () =>
    withBuild(async (dir) => {
      const bad = join(dir, "bad.elf");
      const bytes = new Uint8Array(64);
      bytes.set([0x7f, 0x45, 0x4c, 0x46]); // an ELF magic with nothing valid after it
      await Deno.writeFile(bad, bytes);
      await using browser = await launchBrowser(WINDOW);
      const page = await browser.newPage(`file://${dir}/index.html`);
      await waitForPrompt(page);
      await page.setFiles("#kernel", [bad]);
      await page.waitFor("!document.getElementById('boot-linux').disabled");
      await page.evaluate("document.getElementById('boot-linux').click()");
      await page.waitFor("rvisor.state === 'error'");
      assert.equal(
        await page.evaluate("document.getElementById('status').textContent"),
        "bad.elf: bad ELF class 0: expected 2 (64-bit)",
      );
      await page.evaluate("document.getElementById('boot-tinyos').click()");
      await waitForPrompt(page);
    }),
));

Deno.test(hostTest(
  "web: with hot code compiled to WebAssembly, tinyos boots in the Worker, answers and powers off",
  missing(CHROMIUM),
  () =>
    withBuild(async (dir) => {
      await using browser = await launchBrowser(WINDOW);
      const page = await browser.newPage(`file://${dir}/index.html`);
      await waitForPrompt(page);
      await page.evaluate(
        "document.getElementById('jit').value = 'wasm'; document.getElementById('boot-tinyos').click()",
      );
      await page.waitFor("rvisor.message === 'running tinyos with wasm blocks'");
      await page.waitFor("rvisor.output.includes('\\n$ ') && rvisor.screen().includes('\\n$ ')");
      await command(page, "help", HELP_LINE);
      await command(page, "uptime", "ticks");
      await page.type("poweroff\n");
      await page.waitFor("rvisor.state === 'halted'");
      assert.equal(await page.evaluate("rvisor.message"), "guest poweroff (exit code 0)");
      assert.deepEqual(page.log.filter((l) => l.startsWith("exception")), []);
    }),
));

const linux = await linuxForTests();

/**
 * Debian's Linux in the page, as a user boots it: the Image and the initramfs
 * picked with the file inputs (set through CDP, as a user's choice would),
 * the command line the page proposes, no firmware file (the hypervisor
 * answers SBI), the translator on. About a minute and a half to the shell on
 * a quiet 2-core machine.
 */
Deno.test(
  typeof linux === "string"
    ? { name: `web: Linux from the file inputs (ignored: ${linux})`, ignore: true, fn() {} }
    : hostTest(
      "web: a Linux Image + initramfs picked with the file inputs boot to busybox's shell; uname answers; poweroff",
      missing(CHROMIUM),
      () =>
        withBuild(async (dir) => {
          if (linux instanceof Error) throw linux;
          await using browser = await launchBrowser(WINDOW);
          const page = await browser.newPage(`file://${dir}/index.html`);
          await waitForPrompt(page);
          await page.setFiles("#kernel", [linux.kernel]);
          await page.setFiles("#initrd", [linux.initrd]);
          await page.waitFor("!document.getElementById('boot-linux').disabled");
          await page.evaluate("document.getElementById('boot-linux').click()");
          const kernelName = linux.kernel.split("/").pop();
          await page.waitFor(`rvisor.message === "running ${kernelName} + initrd.cpio"`);
          // The kernel's first lines: its banner, and the page's command line.
          await page.waitFor("rvisor.output.includes('Linux version 6.')");
          await page.waitFor(
            "rvisor.output.includes('Kernel command line: console=ttyS0 earlycon=sbi no4lvl panic=-1')",
          );
          const shell = `rvisor.output.includes(${JSON.stringify(INIT_MARKER)}) && ` +
            "rvisor.output.includes('~ # ')";
          await page.waitFor(shell, { timeoutMs: HANG_GUARD_MS, intervalMs: 1000 });
          // With the host clock a kernel line can land after the first prompt (a CI run saw
          // "hrtimer: interrupt took ..." there): an empty line asks busybox for a fresh one.
          await page.type("\n");
          await page.waitFor("rvisor.screen().trimEnd().endsWith('~ #')");
          await command(page, "uname -a", "riscv64 GNU/Linux");
          await page.screenshot(join(TEST_OUT, "web-linux.png"));
          await page.type("poweroff -f\n");
          await page.waitFor("rvisor.state === 'halted'");
          assert.equal(await page.evaluate("rvisor.message"), "guest poweroff (exit code 0)");
        }),
    ),
);
