/**
 * `boot.ts --web` in a real browser (headless Chromium through tests/cdp.ts):
 * the console page shows tinyos in xterm.js, keys typed into the terminal
 * reach the guest, the buttons pause, step and resume it, the charts of the
 * run report's series grow while the guest runs and the top trapping pcs are
 * listed with their symbols, a second browser watches until it takes over.
 * Screenshots go to tests/out/.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser, type Page, TEST_OUT } from "./cdp.ts";
import { CHROMIUM, hostTest, missing } from "../scripts/host-tools.ts";
import { startWebConsole } from "./web_console.ts";

/** tinyos's help lists this line last but one. */
const HELP_LINE = "mem N      touch N fresh heap pages (page faults), check, free them";
/** Tall enough for the terminal, the charts and the top-pc table in the screenshot. */
const WINDOW = { width: 1100, height: 1700 };

const click = (page: Page, id: string) =>
  page.evaluate(`document.getElementById(${JSON.stringify(id)}).click()`);

Deno.test(hostTest(
  "web console in Chromium: help typed into the terminal is answered there; pause, step and resume from the buttons; the report's charts grow and the top pcs have symbols; a second browser watches, then takes over",
  missing(CHROMIUM),
  async () => {
    const run = await startWebConsole();
    try {
      await using browser = await launchBrowser(WINDOW);
      const page = await browser.newPage(run.url);
      await page.waitFor("rvisor.state === 'running' && rvisor.typist");
      await page.waitFor("rvisor.screen().includes('\\n$ ')");
      await page.type("help\n");
      await page.waitFor(`rvisor.screen().includes(${JSON.stringify(HELP_LINE)})`);
      assert.match(await page.evaluate<string>("rvisor.screen()"), /\$ help\ncommands:\n {2}help/);

      // The terminal interprets what the guest sends: its "\b \b" echo of a backspace erases.
      await page.type("echo helq");
      await page.press("Backspace");
      await page.type("lo\n");
      await page.waitFor(`rvisor.screen().includes(${JSON.stringify("$ echo hello\nhello\n")})`);

      // The report's charts, as the report page has them, grow with the samples while the guest runs.
      const lengths = "Object.fromEntries(Object.entries(rvisor.charts.charts)" +
        ".map(([k, u]) => [k, u.data.map((c) => c.length)]))";
      await page.waitFor("rvisor.charts.charts.exits !== undefined");
      const before = await page.evaluate<Record<string, number[]>>(lengths);
      assert.deepEqual(Object.keys(before), ["mips", "exits", "shadow", "hypervisor"]);
      const n = before.mips[0];
      await page.waitFor(`rvisor.charts.charts.mips.data[0].length >= ${n + 5}`);
      const after = await page.evaluate<Record<string, number[]>>(lengths);
      for (const [name, columns] of Object.entries(after)) {
        const m = columns[0];
        assert.ok(m >= n + 5, `${name}: ${m} points after ${n}`);
        assert.deepEqual(columns, columns.map(() => m), `${name}: every column has every sample`);
      }
      // The page's columns are the report's series, which starts at wall time 0.
      assert.equal(await page.evaluate("rvisor.report.series.wallMs[0]"), 0);
      assert.ok(await page.evaluate<number>("Math.max(...rvisor.report.series.mips)") > 0, "MIPS");
      assert.ok(
        await page.evaluate<number>("Math.max(...rvisor.report.series.shadowPages)") > 0,
        "shadow pages in use",
      );
      // The top trapping pcs, with the guest's symbols, as the server sent them.
      await page.waitFor("document.querySelectorAll('#top-pcs tr').length > 1");
      const rows = await page.evaluate<string[][]>(
        "[...document.querySelectorAll('#top-pcs tr')].slice(1)" +
          ".map((r) => [...r.cells].map((c) => c.textContent))",
      );
      assert.ok(
        rows.some(([pc, symbol]) => /^0x[0-9a-f]+$/.test(pc) && /\+0x[0-9a-f]+$/.test(symbol)),
        JSON.stringify(rows.slice(0, 5)),
      );

      // A paste longer than one message may carry goes in pieces: no error, and the guest got it all.
      await page.send("Input.insertText", { text: " ".repeat(1500) });
      await page.type("echo pasted\n");
      await page.waitFor("rvisor.screen().includes('\\npasted\\n')");
      assert.deepEqual(await page.evaluate("rvisor.errors"), []);

      await click(page, "pause");
      await page.waitFor("rvisor.state === 'paused'");
      const pc = await page.evaluate<number>("rvisor.pc");
      await click(page, "step");
      await page.waitFor(`rvisor.pc !== ${pc}`);
      assert.match(
        await page.evaluate<string>("document.getElementById('status').textContent"),
        /^paused {2}pc 0x[0-9a-f]+$/,
      );
      // As a mouse click would, focus the button first: the page gives the keys back to the terminal.
      await page.evaluate("document.getElementById('resume').focus()");
      await click(page, "resume");
      await page.waitFor("rvisor.state === 'running'");
      await page.type("echo resumed\n");
      await page.waitFor("rvisor.screen().includes('\\nresumed')");

      const watcher = await browser.newPage(run.url);
      await watcher.waitFor("rvisor.state === 'running' && rvisor.screen().includes('resumed')");
      assert.equal(
        await watcher.evaluate("document.getElementById('role').textContent"),
        "watching",
      );
      assert.equal(await watcher.evaluate("document.getElementById('pause').disabled"), true);
      await click(watcher, "takeover");
      await watcher.waitFor("rvisor.typist");
      await page.waitFor("!rvisor.typist");
      await watcher.type("echo watcher types\n");
      await page.waitFor("rvisor.screen().includes('\\nwatcher types')");

      await page.screenshot(join(TEST_OUT, "web-console.png"));
      assert.deepEqual(page.log.filter((l) => l.startsWith("exception")), []);
      assert.deepEqual(watcher.log.filter((l) => l.startsWith("exception")), []);

      await watcher.type("poweroff\n");
      await page.waitFor("rvisor.state === 'halted'");
      // The page's notice is an ANSI-coloured line: yellow (palette colour 3), escapes not shown.
      const notice = await page.evaluate<[string, number]>(`(() => {
        const b = rvisor.term.buffer.active;
        for (let y = 0; y < b.length; y++) {
          const line = b.getLine(y);
          if (line.translateToString(true).startsWith("[rvisor: guest poweroff]")) {
            return [line.translateToString(true), line.getCell(0).getFgColor()];
          }
        }
        return null;
      })()`);
      assert.deepEqual(notice, ["[rvisor: guest poweroff]", 3]);
      assert.equal((await run.end).code, 0);
    } finally {
      await run.kill();
    }
  },
));
