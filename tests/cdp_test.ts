/**
 * The browser test driver (tests/cdp.ts) against a real headless Chromium:
 * pages over file:// and http://, evaluate with promises and errors, waitFor
 * and its timeout, typed keys, file inputs, screenshots, and that closing (also
 * on a throw) leaves no process and no profile behind.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CdpError, launchBrowser, PageError, TEST_OUT } from "./cdp.ts";
import { CHROMIUM, exists, hostTest, missing } from "../scripts/host-tools.ts";

const PAGE = `<!doctype html>
<title>cdp</title>
<input id="text" autofocus>
<input id="file" type="file">
<p id="out"></p>
<script>
  window.enters = 0;
  document.getElementById("text").addEventListener("keydown", (e) => {
    if (e.key === "Enter") window.enters++;
  });
  document.getElementById("file").addEventListener("change", async (e) => {
    window.picked = await e.target.files[0].text();
  });
  setTimeout(() => document.getElementById("out").textContent = "later", 300);
</script>`;

/** True while any process of group `pid` lives. */
function groupAlive(pid: number): boolean {
  try {
    Deno.kill(-pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** The profile folder the browser was started with, from its command line. */
function profileOf(pid: number): string {
  const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
  return cmdline.find((a) => a.startsWith("--user-data-dir="))!.slice("--user-data-dir=".length);
}

Deno.test(hostTest(
  "cdp: a file:// page: evaluate, waitFor, typed keys, a file input, a screenshot, then nothing left",
  missing(CHROMIUM),
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "rvisor-cdp-" });
    try {
      await Deno.writeTextFile(join(dir, "index.html"), PAGE);
      await Deno.writeTextFile(join(dir, "picked.txt"), "file contents\n");
      const browser = await launchBrowser();
      const pid = browser.pid;
      const profile = profileOf(pid);
      assert.ok(exists(profile));
      try {
        const page = await browser.newPage(`file://${dir}/index.html`);
        assert.equal(await page.evaluate("document.title"), "cdp");
        assert.equal(await page.evaluate("new Promise((r) => setTimeout(() => r(6 * 7), 50))"), 42);
        assert.equal(
          await page.waitFor("document.getElementById('out').textContent"),
          "later",
        );

        await page.evaluate("document.getElementById('text').focus()");
        // Every printable ASCII character, and one no US key types.
        const typed = "uname -a; Echo 'A_b' \"$X\" [1]/{2}\\|~`=+<>?!@#%^&*(),.:é";
        await page.type(`${typed}\n`);
        assert.equal(await page.evaluate("document.getElementById('text').value"), typed);
        assert.equal(await page.evaluate("window.enters"), 1);
        await page.press("Backspace");
        assert.equal(
          await page.evaluate("document.getElementById('text').value"),
          typed.slice(0, -1),
        );

        await page.setFiles("#file", [join(dir, "picked.txt")]);
        assert.equal(await page.waitFor("window.picked"), "file contents\n");
        await assert.rejects(page.setFiles("#none", []), /no element matches #none/);

        const shot = join(TEST_OUT, "cdp.png");
        await Deno.remove(shot).catch(() => {});
        await page.screenshot(shot);
        const png = await Deno.readFile(shot);
        assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
        // The IHDR chunk's width and height: the launch's default viewport.
        const view = new DataView(png.buffer, png.byteOffset);
        assert.deepEqual([view.getUint32(16), view.getUint32(20)], [1024, 768]);
      } finally {
        await browser.close();
      }
      assert.equal(groupAlive(pid), false, "browser processes left after close()");
      assert.equal(exists(profile), false, "profile left after close()");
      await browser.close(); // twice is harmless
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
));

Deno.test(hostTest(
  "cdp: an http:// page and its events; a throw, a rejection and a waitFor timeout are errors naming the expression",
  missing(CHROMIUM),
  async () => {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () =>
        new Response("<title>served</title><p>hi", {
          headers: { "content-type": "text/html" },
        }),
    );
    try {
      await using browser = await launchBrowser({ width: 400, height: 300 });
      const page = await browser.newPage();
      const requested: string[] = [];
      const off = page.on("Network.requestWillBeSent", (p) => {
        requested.push((p.request as { url: string }).url);
      });
      await page.send("Network.enable");
      const url = `http://127.0.0.1:${server.addr.port}/`;
      await page.goto(url);
      off();
      await page.goto(`${url}again`);
      assert.deepEqual(requested, [url]);
      assert.equal(await page.evaluate("document.title"), "served");
      assert.equal(await page.evaluate("innerWidth"), 400);
      await assert.rejects(page.evaluate("null.x"), (e) => {
        assert.ok(e instanceof PageError);
        assert.match(e.message, /^null\.x: TypeError/);
        return true;
      });
      await assert.rejects(page.evaluate("Promise.reject(new Error('nope'))"), /Error: nope/);
      await page.evaluate("console.log('from the page', 7)");
      await assert.rejects(page.waitFor("window.never", { timeoutMs: 300 }), (e) => {
        assert.ok(e instanceof CdpError);
        assert.match(e.message, /waited 300 ms for window\.never/);
        assert.match(e.message, /log: from the page 7/);
        return true;
      });
      await assert.rejects(
        page.goto("http://127.0.0.1:1/"),
        /cannot open http:\/\/127\.0\.0\.1:1\//,
      );
    } finally {
      await server.shutdown();
    }
  },
));

Deno.test(hostTest(
  "cdp: leaving an `await using` block by a throw ends the browser",
  missing(CHROMIUM),
  async () => {
    let pid = 0;
    await assert.rejects(async () => {
      await using browser = await launchBrowser();
      pid = browser.pid;
      await browser.newPage("about:blank");
      throw new Error("test failed");
    }, /test failed/);
    assert.notEqual(pid, 0);
    assert.equal(groupAlive(pid), false);
  },
));

Deno.test(hostTest(
  "cdp: a browser command that cannot start is one clear error",
  missing(CHROMIUM),
  async () => {
    await assert.rejects(
      launchBrowser({ executable: "rvisor-no-such-browser" }),
      /cannot start rvisor-no-such-browser: /,
    );
    await assert.rejects(
      launchBrowser({ executable: "false" }),
      /false: exited before listening for DevTools/,
    );
  },
));
