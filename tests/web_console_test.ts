/**
 * `boot.ts --web`: the live console's HTTP server and WebSocket protocol,
 * driven from Deno as a browser's page would (tests/web_console_browser_test.ts
 * drives the page itself in a real browser).
 */

import * as assert from "node:assert/strict";
import type { ReportSeries } from "../hypervisor/report.ts";
import { HANG_GUARD_MS } from "../scripts/host-tools.ts";
import {
  startWebConsole,
  type WebConsoleRun,
  type WebMessage,
  WebSocketClient,
} from "./web_console.ts";
import { type BootRun, runBoot } from "./boot_cli.ts";

/** Runs `boot.ts args` to its end (for runs refused before the guest starts). */
function bootOnce(args: string[]): Promise<BootRun> {
  return runBoot(["--timeout", String(HANG_GUARD_MS / 1000), ...args]);
}

/** The one-line, exit-2 error of a refused --web, printed before the guest ran. */
function assertRefused(r: BootRun, ...mentions: string[]) {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  for (const m of mentions) assert.ok(lines[0].includes(m), `"${lines[0]}" mentions "${m}"`);
  assert.equal(r.stdout, "", "the guest never ran");
}

async function withConsole(
  args: string[],
  fn: (run: WebConsoleRun) => Promise<void>,
): Promise<void> {
  const run = await startWebConsole(args);
  try {
    await fn(run);
  } finally {
    await run.kill();
  }
}

Deno.test("web console: help typed over the WebSocket is answered; pause, step and resume; malformed and oversized messages are refused to that client while the guest runs on; poweroff ends the run", async () => {
  await withConsole([], async (run) => {
    const c = await WebSocketClient.connect(run.url);
    const hello = await c.next("hello");
    assert.equal(hello.protocol, 2);
    assert.equal(hello.mode, "hypervisor");
    assert.equal(hello.typist, true, "the first browser types");
    await c.waitText("$ ");
    c.input("help\r");
    await c.waitText("poweroff   stop the machine");

    // Run control: paused, the guest's count stands still; a step moves the pc; resumed, it runs.
    c.control("pause");
    const paused = await c.next("state", (m) => m.state === "paused");
    const before = (await c.next("stats")).guestInstructions as number;
    const later = (await c.next("stats")).guestInstructions as number;
    assert.equal(later, before, "no guest instruction runs while paused");
    assert.equal(paused.guestInstructions, before);
    c.control("step");
    const step = await c.next("done", (m) => m.action === "step");
    assert.equal(typeof step.pc, "number");
    const afterStep = await c.next("state", (m) => m.pc === step.pc);
    assert.ok((afterStep.guestInstructions as number) >= before, "the step ran the guest");
    c.control("resume");
    await c.next("state", (m) => m.state === "running");
    await c.next("stats", (m) => (m.guestInstructions as number) > before);

    // Bad requests: one error each, to this client; the guest keeps answering.
    const bad: [string | Uint8Array, RegExp][] = [
      ["not json", /malformed message \(not JSON\)/],
      ["[1,2]", /not a JSON object/],
      [JSON.stringify({ type: "shutdown" }), /unknown message type "shutdown"/],
      [JSON.stringify({ type: "control", action: "format" }), /unknown action "format"/],
      [JSON.stringify({ type: "input", data: 42 }), /data must be a string/],
      [JSON.stringify({ type: "input", data: "x".repeat(2000) }), /at most 1024/],
      [JSON.stringify({ type: "control", action: "step" }), /step refused: pause first/],
      [JSON.stringify({ type: "control", action: "save", name: "a.snap" }), /--web-snapshots/],
      ["x".repeat(100_000), /message of 100000 characters refused: at most 4096/],
      [new Uint8Array([1, 2, 3]), /binary messages are not accepted/],
    ];
    for (const [message, why] of bad) {
      c.sendRaw(message);
      const e = await c.next("error");
      assert.match(e.message as string, why);
    }
    c.input("echo still here\r");
    await c.waitText("still here\r\n");
    // The terminal rvisor runs in types into the same console.
    await run.type("echo from stdin\n");
    await c.waitText("from stdin\r\n");

    c.input("poweroff\r");
    const halted = await c.next("state", (m) => m.state === "halted");
    assert.equal(halted.message, "guest poweroff");
    await c.closed;
    const end = await run.end;
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /\$ help\r?\ncommands:/, "the host terminal shows the console too");
  });
});

/** The columns of a run report's series (ReportSeries), each one entry per sample. */
const SERIES_COLUMNS: Exclude<keyof ReportSeries, "exits">[] = [
  "wallMs",
  "guestInstructions",
  "mtime",
  "mips",
  "hypervisorShare",
  "shadowPages",
  "reclaims",
];

/** A `series` message's columns: all there, one entry per sample it brings. */
function assertSeries(m: WebMessage): ReportSeries {
  const s = m.series as ReportSeries;
  const n = (m.samples as number) - (m.start as number);
  assert.ok(n > 0, `a series message brings samples: ${JSON.stringify(m).slice(0, 200)}`);
  for (const key of SERIES_COLUMNS) assert.equal(s[key].length, n, key);
  for (const [kind, column] of Object.entries(s.exits)) assert.equal(column.length, n, kind);
  return s;
}

Deno.test("web console: series messages bring the run report's new samples as they are taken, each from where the last ended; tables name the top trapping pcs; a late browser gets them all", async () => {
  await withConsole([], async (run) => {
    const c = await WebSocketClient.connect(run.url);
    await c.waitText("$ ");
    const first = await c.next("series");
    assert.equal(first.start, 0, "a new browser gets the recording from its start");
    assert.equal(first.mode, "hypervisor");
    assert.equal(typeof first.intervalMs, "number");
    let s = assertSeries(first);
    assert.equal(s.wallMs[0], 0);
    // Page faults and timer exits while the guest works.
    c.input("mem 64\r");
    let samples = first.samples as number;
    const exits: Record<string, number> = {};
    for (let i = 0; i < 4; i++) {
      const m = await c.next("series");
      assert.equal(m.epoch, first.epoch);
      assert.equal(m.start, samples, "each message starts where the one before ended");
      assert.ok((m.samples as number) > samples, "the recording grows");
      s = assertSeries(m);
      for (let j = 1; j < s.wallMs.length; j++) assert.ok(s.wallMs[j] > s.wallMs[j - 1]);
      for (const [kind, column] of Object.entries(s.exits)) {
        exits[kind] = (exits[kind] ?? 0) + column.reduce((a, b) => a + b, 0);
      }
      assert.ok(s.shadowPages.every((n) => n > 0), "the guest's page tables are shadowed");
      samples = m.samples as number;
    }
    assert.ok(
      Object.values(exits).some((n) => n > 0),
      `exits in the series: ${JSON.stringify(exits)}`,
    );

    const tables = await c.next("tables", (m) => (m.topPcs as unknown[]).length > 0);
    const top = tables.topPcs as { pc: string; symbol: string | null; count: number }[];
    assert.match(top[0].pc, /^0x[0-9a-f]+$/);
    assert.ok(top.some((p) => /^[A-Za-z_][\w.]*\+0x[0-9a-f]+$/.test(p.symbol ?? "")), "symbols");
    for (let i = 1; i < top.length; i++) assert.ok(top[i].count <= top[i - 1].count, "most first");
    assert.ok(Array.isArray(tables.csrs) && Array.isArray(tables.devices));

    // A browser that comes later gets every sample so far in its first message.
    const late = await WebSocketClient.connect(run.url);
    const all = await late.next("series");
    assert.equal(all.start, 0);
    assert.ok((all.samples as number) >= samples);
    assertSeries(all);
    assert.ok((await late.next("tables")).topPcs !== undefined);
    late.close();
    c.close();
  });
});

Deno.test("web console: with --report the browsers watch the same recording the report file holds", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "rvisor-web-report-" });
  try {
    const json = `${dir}/run.json`;
    await withConsole(["--report", json], async (run) => {
      const c = await WebSocketClient.connect(run.url);
      await c.waitText("$ ");
      const first = await c.next("series");
      let seen = assertSeries(first).wallMs;
      while (seen.length < 5) seen = seen.concat(assertSeries(await c.next("series")).wallMs);
      c.input("poweroff\r");
      await c.closed;
      assert.equal((await run.end).code, 0);
      // One sampler: the samples the browser saw begin the report's series, unchanged.
      const data = JSON.parse(Deno.readTextFileSync(json));
      assert.deepEqual(data.series.wallMs.slice(0, seen.length), seen);
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("web console: two browsers watch, the first types; the other's keys are refused until it takes over", async () => {
  await withConsole([], async (run) => {
    const a = await WebSocketClient.connect(run.url);
    assert.equal((await a.next("hello")).typist, true);
    await a.waitText("$ ");
    const b = await WebSocketClient.connect(run.url);
    assert.equal((await b.next("hello")).typist, false, "the second browser watches");
    await b.waitText("tinyos: booting", "a new browser sees the console so far");

    b.input("echo from b\r");
    assert.match((await b.next("error")).message as string, /another browser types/);
    b.control("pause");
    assert.match((await b.next("error")).message as string, /only the typing browser/);
    a.input("echo from a\r");
    await a.waitText("from a\r\n");
    await b.waitText("from a\r\n", "watchers see the typist's session");

    b.control("takeover");
    assert.equal((await b.next("typist")).typist, true);
    assert.equal((await a.next("typist")).typist, false);
    a.input("echo a again\r");
    assert.match((await a.next("error")).message as string, /another browser types/);
    b.input("echo now b\r");
    await a.waitText("now b\r\n");

    // When the typist leaves, the browser connected longest types.
    b.close();
    await b.closed;
    assert.equal((await a.next("typist")).typist, true);
    a.input("poweroff\r");
    await a.closed;
    assert.equal((await run.end).code, 0);
  });
});

Deno.test("web console: snapshots save and load only under --web-snapshots with plain names; reset goes back to start-up", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "rvisor-web-" });
  try {
    await withConsole(["--web-snapshots", dir, "--clock", "virtual"], async (run) => {
      const c = await WebSocketClient.connect(run.url);
      assert.equal((await c.next("hello")).snapshots, true);
      await c.waitText("$ ");
      c.input("echo one\r");
      await c.waitText("one\r\n$ ");
      c.control("save", { name: "one.snap" });
      await c.next("done", (m) => m.action === "save");
      const saved = await c.next("state");
      assert.ok(Deno.statSync(`${dir}/one.snap`).size > 0);
      for (const name of ["../escape.snap", ".hidden", "a/b", "", 7]) {
        c.control("save", { name });
        assert.match((await c.next("error")).message as string, /refused: 1-64 letters/);
      }
      c.control("load", { name: "missing.snap" });
      assert.match((await c.next("error")).message as string, /missing\.snap: cannot read/);
      Deno.writeTextFileSync(`${dir}/junk.snap`, "not a snapshot");
      c.control("load", { name: "junk.snap" });
      assert.match((await c.next("error")).message as string, /^load: .*junk\.snap/);

      c.input("echo two\r");
      await c.waitText("two\r\n$ ");
      c.control("load", { name: "one.snap" });
      await c.next("done", (m) => m.action === "load");
      const loaded = await c.next("state");
      assert.equal(loaded.guestInstructions, saved.guestInstructions, "back to the saved count");
      assert.equal(loaded.pc, saved.pc);
      c.input("echo after load\r");
      await c.waitText("after load\r\n");

      c.control("reset");
      await c.next("notice", (m) => m.text === "machine reset");
      await c.waitText("tinyos: booting", "the guest boots again", c.textLength);
      await c.waitText("$ ");
      // The live report went on across the load and the reset (the machine's counts went back):
      // its counts never fall, so no interval's MIPS is negative.
      const after = (await c.next("series")).samples as number;
      await c.next("series", (m) => (m.samples as number) > after);
      const late = await WebSocketClient.connect(run.url);
      const { guestInstructions: g, mips } = assertSeries(await late.next("series"));
      for (let i = 1; i < g.length; i++) assert.ok(g[i] >= g[i - 1], `sample ${i}: ${g}`);
      assert.ok(mips.every((x) => x >= 0), `MIPS ${mips}`);
      late.close();
      c.input("poweroff\r");
      await c.closed;
      assert.equal((await run.end).code, 0);
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("web console: a script's breakpoint pauses the console, which steps and resumes from there; --timeout counts paused time", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "rvisor-web-" });
  try {
    const script = `${dir}/break.ts`;
    Deno.writeTextFileSync(
      script,
      `export default (m) => {
        const h = m.hookPc(m.symbol("sys_ps"), () => (h.remove(), true));
      };\n`,
    );
    await withConsole(["--script", script, "--timeout", "600"], async (run) => {
      const c = await WebSocketClient.connect(run.url);
      await c.waitText("$ ");
      c.input("ps\r");
      const hit = await c.next("state", (m) => m.state === "paused");
      const paused = c.textLength;
      assert.equal(hit.reason, "breakpoint");
      const start = hit.pc;
      c.control("step");
      const step = await c.next("done", (m) => m.action === "step");
      assert.notEqual(step.pc, start, "the step left the breakpoint's instruction");
      c.control("resume");
      await c.waitText("ticker", "ps's answer", paused);
      c.control("pause");
      await c.next("state", (m) => m.state === "paused");
      c.close();
    });
    // Paused from the start, the run still ends at its --timeout.
    const run = await startWebConsole(["--timeout", "8"]);
    try {
      const c = await WebSocketClient.connect(run.url);
      c.control("pause");
      await c.next("state", (m) => m.state === "paused");
      const end = await run.end;
      assert.equal(end.code, 124, end.stderr);
      assert.match(end.stderr, /timeout: guest still running after 8 s/);
    } finally {
      await run.kill();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("web console: the server answers only its own page's requests; a bare machine has no exits to send", async () => {
  await withConsole(["--no-hypervisor"], async (run) => {
    const c = await WebSocketClient.connect(run.url);
    assert.equal((await c.next("hello")).mode, "bare");
    const stats = await c.next("stats", (m) => (m.guestInstructions as number) > 0);
    assert.deepEqual(stats.exits, {});
    // The report's series of a bare run: MIPS, no exit, shadow or hypervisor columns.
    const bare = await c.next("series", (m) => (m.samples as number) > 1);
    assert.equal(bare.mode, "bare");
    const s = bare.series as Record<string, unknown>;
    assert.deepEqual([s.exits, s.hypervisorShare, s.shadowPages], [{}, [], []]);
    assert.equal((s.mips as number[]).length, (bare.samples as number) - (bare.start as number));
    const tables = await c.next("tables");
    assert.deepEqual([tables.csrs, tables.devices], [null, null]);
    c.close();
    const page = await fetch(run.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="\/console\.js">/);
    const xterm = await fetch(new URL("/vendor/xterm.js", run.url));
    assert.match(await xterm.text(), /export const Terminal = module\.exports\.Terminal;/);
    const uplot = await fetch(new URL("/vendor/uplot.js", run.url));
    assert.match(await uplot.text(), /export \{ uPlot as default \}/);
    const refused: [string, RequestInit, number, RegExp][] = [
      ["/etc/passwd", {}, 404, /no such page/],
      ["/", { method: "POST", body: "x" }, 405, /only GET/],
      ["/ws", {}, 400, /expected a WebSocket upgrade/],
    ];
    for (const [path, init, status, why] of refused) {
      const r = await fetch(new URL(path, run.url), init);
      assert.equal(r.status, status, path);
      assert.match(await r.text(), why);
    }
    // Another site's page in the user's browser must not reach the guest: the upgrade is refused.
    const upgrade = async (origin: string, host = new URL(run.url).host) => {
      const { hostname, port } = new URL(run.url);
      using conn = await Deno.connect({ hostname, port: Number(port) });
      await conn.write(new TextEncoder().encode(
        `GET /ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\n` +
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
          `Sec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n\r\n`,
      ));
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf);
      return new TextDecoder().decode(buf.subarray(0, n ?? 0));
    };
    assert.match(
      await upgrade("http://evil.example"),
      /^HTTP\/1\.1 403[^]*origin http:\/\/evil\.example refused/,
    );
    // DNS rebinding: a site whose name resolves to 127.0.0.1 is its own origin, but not loopback.
    const port = new URL(run.url).port;
    assert.match(
      await upgrade(`http://rebound.example:${port}`, `rebound.example:${port}`),
      /^HTTP\/1\.1 403[^]*host rebound\.example:\d+ refused/,
    );
    assert.match(await upgrade(run.url.replace(/\/$/, "")), /^HTTP\/1\.1 101 /, "its own page may");
    assert.match(
      await upgrade(`http://localhost:${port}`, `localhost:${port}`),
      /^HTTP\/1\.1 101 /,
      "so may the page opened as localhost",
    );
  });
});

Deno.test("web console: --web with a bad address, a port in use or misused flags exits 2 with one line before the guest runs", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  assertRefused(await bootOnce(["--web", String(port)]), "--web", `127.0.0.1:${port}`, "in use");
  assertRefused(await bootOnce(["--web", "nosuch.invalid:8080"]), "--web", "nosuch.invalid");
  assertRefused(await bootOnce(["--web", "1.2.3.4:8080"]), "--web", "cannot listen on 1.2.3.4");
  assertRefused(await bootOnce(["--web", "80800"]), "--web 80800", "port must be 0-65535");
  assertRefused(await bootOnce(["--web", "a:b:c"]), "--web a:b:c", "PORT or HOST:PORT");
  assertRefused(await bootOnce(["--web", "0", "--gdb", "0"]), "--web and --gdb");
  assertRefused(await bootOnce(["--web-snapshots", "/tmp"]), "--web-snapshots", "needs --web");
  assertRefused(
    await bootOnce(["--web", "0", "--web-snapshots", "/nonexistent-dir"]),
    "--web-snapshots /nonexistent-dir",
    "no such file",
  );
});
